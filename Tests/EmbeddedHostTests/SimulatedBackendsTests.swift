import DomainConfig
import Foundation
import Glibc
import Testing
@testable import EmbeddedHost
import SwxlSystem
import Toolstack

/// The embedded host's backends refuse what Xen's would, in Xen's words.
@Suite struct SimulatedBackendsTests {
    static func config(disks: [DiskDevice] = [], vifs: [NetworkInterface] = []) -> DomainConfiguration {
        var config = DomainConfiguration(name_label: "web", uuid: .random())
        config.memory_dynamic_max = 64 << 20
        config.memory_static_max = 64 << 20
        config.PV_kernel = tinyKernel
        config.disks = disks
        config.vifs = vifs
        return config
    }

    static func vif(bridge: String?, script: String? = nil, backend: String? = nil) -> NetworkInterface {
        var vif = NetworkInterface()
        vif.bridge = bridge
        vif.script = script
        vif.backend = backend
        return vif
    }

    /// The embedded host runs no script: a disk's own `script=` or a vif's
    /// own script is refused before anything is written; Xen's `block`,
    /// `vif-bridge`, `vif-route` and `vif-nat` are played.
    @Test func scriptsItCannotRunAreRefused() throws {
        let backends = SimulatedBackends()
        var scripted = DiskDevice(target: "iqn.2001-05.com.example:disk", vdev: "xvdc")
        scripted.script = "block-iscsi"
        let disk = try #require(DeviceEntry.disk(scripted, index: 2, domid: 0, protocol: nil))
        #expect(throws: HypervisorError("add disk 2", errno: ENOSYS,
            "Disk vdev=xvdc: script=/etc/xen/scripts/block-iscsi cannot run on the embedded host, which runs no hotplug scripts (it plays Xen's block and vif-bridge/vif-route/vif-nat)")) {
            try backends.check(disk)
        }
        let own = DeviceEntry.vif(Self.vif(bridge: nil, script: "/usr/local/bin/my-vif"), devid: 1, domid: 0, type: .pv)
        #expect(throws: HypervisorError("add vif 1", errno: ENOSYS,
            "vif 1: script=/usr/local/bin/my-vif cannot run on the embedded host, which runs no hotplug scripts (it plays Xen's block and vif-bridge/vif-route/vif-nat)")) {
            try backends.check(own)
        }
        for script in [nil, "vif-bridge", "vif-route", "/etc/xen/scripts/vif-nat"] {
            try backends.check(DeviceEntry.vif(Self.vif(bridge: nil, script: script), devid: 0, domid: 0, type: .pv))
        }
        try backends.check(try #require(DeviceEntry.disk(DiskDevice(target: "/x", vdev: "xvda"), index: 0, domid: 0, protocol: nil)))
    }

    /// The kernel's part: InitWait when added, Closed when closing; never a
    /// backend brought back once removed.
    @Test func theKernelsStatesArePlayed() throws {
        let store = DictionaryStore()
        let entry = DeviceEntry.vif(Self.vif(bridge: "br0"), devid: 0, domid: 5, type: .pv)
        try store.commit(removals: [], writes: entry.nodes)
        let backends = SimulatedBackends()
        backends.kernelStep(entry.handle, .added, store: store)
        #expect(store.nodes[entry.handle.backendPath + "/state"] == "2")
        backends.kernelStep(entry.handle, .closing, store: store)
        #expect(store.nodes[entry.handle.backendPath + "/state"] == "6")
        try store.remove(entry.handle.backendPath)
        backends.kernelStep(entry.handle, .added, store: store)
        #expect(store.nodes.keys.filter { $0.hasPrefix(entry.handle.backendPath) }.isEmpty)
    }

    /// vif-bridge's test is `ip link show <bridge>`: any interface of that
    /// name; xenbrN is taken as ethN when ethN is a bridge; no bridge at
    /// all is libxl's xenbr0. Other scripts and driver domains are not
    /// checked. A refusal leaves the script's `hotplug-error` as Xen's does.
    @Test func bridgesThatAreNoInterfaceAreRefused() throws {
        let net = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: net) }
        for path in ["br0", "eth1/bridge", "eth2"] {
            try FileManager.default.createDirectory(atPath: net + "/" + path, withIntermediateDirectories: true)
        }
        func attach(_ backends: SimulatedBackends, _ vifs: [NetworkInterface]) -> (DictionaryStore, [HypervisorError?]) {
            let store = DictionaryStore()
            let entries = vifs.enumerated().map { DeviceEntry.vif($1, devid: UInt32($0), domid: 5, type: .pv) }
            for e in entries { try? store.commit(removals: [], writes: e.nodes) }
            return (store, backends.hotplug(entries.map(\.handle), .add, store: store))
        }
        let backends = SimulatedBackends(pretendBridges: ["pretend0"], networkInterfaces: net)
        let fine = [Self.vif(bridge: "br0"), Self.vif(bridge: "xenbr1"), Self.vif(bridge: "pretend0"), Self.vif(bridge: "eth2"),
                    Self.vif(bridge: "gone0", script: "vif-route"), Self.vif(bridge: "gone0", backend: "2")]
        let (store, results) = attach(backends, fine)
        #expect(results == Array(repeating: nil, count: fine.count))
        #expect((0..<5).map { store.nodes["/local/domain/0/backend/vif/5/\($0)/hotplug-status"] } == Array(repeating: "connected", count: 5))
        func refusal(_ index: Int, _ reason: String) -> HypervisorError {
            HypervisorError("add vif \(index)", errno: ENODEV, "/etc/xen/scripts/vif-bridge online failed: \(reason)")
        }
        let (refused, bad) = attach(backends, fine + [Self.vif(bridge: "xenbr2")])
        #expect(bad.last == refusal(6, "Could not find bridge device xenbr2"))
        #expect(refused.nodes["/local/domain/0/backend/vif/5/6/hotplug-error"] == "Could not find bridge device xenbr2")
        #expect(refused.nodes["/local/domain/0/backend/vif/5/6/hotplug-status"] == "error")
        #expect(attach(backends, [Self.vif(bridge: nil)]).1 == [refusal(0, "Could not find bridge device xenbr0")])
        #expect(attach(backends, [Self.vif(bridge: "gone0", script: "/etc/xen/scripts/vif-bridge")]).1
                == [refusal(0, "Could not find bridge device gone0")])
        // No bridge named and none on the machine: the script has none to take.
        try FileManager.default.removeItem(atPath: net + "/eth1")
        let bare = SimulatedBackends(networkInterfaces: net)
        #expect(attach(bare, [Self.vif(bridge: "")]).1 == [refusal(0, "Could not find bridge, and none was specified")])
    }

    @Test func theEnvironmentNamesThePretendedBridges() {
        #expect(SimulatedBackends(environment: ["SWXL_EMBEDDED_BRIDGES": "xenbr0,br1 br2,"])
                == SimulatedBackends(pretendBridges: ["xenbr0", "br1", "br2"]))
        #expect(SimulatedBackends(environment: [:]) == SimulatedBackends())
    }

    /// Through the embedded host's toolstack: a missing disk image costs
    /// nothing at all, a missing bridge is found after the layout is written
    /// and rolled back; either way the host and xenstore hold what they held.
    @Test func refusedCreatesLeaveTheHostAsItWas() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = DictionaryStore()
        let host = ToolstackHost.embedded(paths: HostPaths(stateDir: dir), store: store,
                                          environment: ["SWXL_EMBEDDED_BRIDGES": "swxlbr7"], program: "/bin/false")
        let hypervisor = host.toolstack.hypervisor
        let running = try host.toolstack.create(Self.config(vifs: [Self.vif(bridge: "swxlbr7")]))
        let nodes = store.nodes, domains = try hypervisor.listDomains().map(\.domid), records = host.toolstack.hasRecordedDomains

        var disk = Self.config(disks: [DiskDevice(target: dir + "/missing.img", vdev: "xvda")])
        disk.name_label = "nodisk"
        #expect(throws: ToolstackError.hypervisor(HypervisorError("add disk 0", errno: ENOENT,
            "Disk vdev=xvda failed to stat: \(dir)/missing.img: No such file or directory"))) { _ = try host.toolstack.create(disk) }
        var vif = Self.config(vifs: [Self.vif(bridge: "swxlbr7"), Self.vif(bridge: "swxlbr8")])
        vif.name_label = "nobridge"
        #expect(throws: ToolstackError.hypervisor(HypervisorError("add vif 1", errno: ENODEV,
            "/etc/xen/scripts/vif-bridge online failed: Could not find bridge device swxlbr8"))) { _ = try host.toolstack.create(vif) }

        #expect(store.nodes == nodes)
        #expect(store.introduced == [running])
        #expect(try hypervisor.listDomains().map(\.domid) == domains)
        #expect(host.toolstack.hasRecordedDomains == records)
        #expect(throws: ToolstackError.noSuchDomain("nobridge")) { _ = try host.toolstack.resolve("nobridge") }
        #expect(throws: ToolstackError.noSuchDomain("nodisk")) { _ = try host.toolstack.resolve("nodisk") }
    }

    /// `physical-device` as `stat -c %t:%T` prints a device's numbers
    /// (glibc's dev_t: minor bits 0-7 and 20-31, major bits 8-19 and 32-43).
    @Test func deviceNumbersAsTheBlockScriptWritesThem() {
        var st = stat()
        #expect(stat("/dev/null", &st) == 0 && SimulatedBackends.majorMinor(st.st_rdev) == "1:3")
        #expect(stat("/dev/zero", &st) == 0 && SimulatedBackends.majorMinor(st.st_rdev) == "1:5")
        let wide = dev_t(0x12c) & 0xff | (dev_t(0x103) << 8) | (dev_t(0x12c & ~0xff) << 12) | (dev_t(0x1000 & ~0xfff) << 32)
        #expect(SimulatedBackends.majorMinor(wide) == "1103:12c")
    }
}
