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

    /// libxl stats a disk's target when it chooses the backend itself (or
    /// phy/standalone) in dom0 without a script; the rest it leaves to others.
    @Test func disksLibxlWouldFailToStatAreRefused() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = dir + "/a.img", missing = dir + "/missing.img"
        #expect(FileManager.default.createFile(atPath: image, contents: Data()))
        let backends = SimulatedBackends()
        var cdrom = DiskDevice(target: nil, vdev: "hdc")
        cdrom.format = .empty
        cdrom.deviceType = .cdrom
        var scripted = DiskDevice(target: "iqn.2001-05.com.example:disk", vdev: "xvdc")
        scripted.script = "block-iscsi"
        var qdisk = DiskDevice(target: missing, vdev: "xvdd")
        qdisk.backendType = .qdisk
        var driverDomain = DiskDevice(target: missing, vdev: "xvde")
        driverDomain.backendDomain = "3"
        let fine = [cdrom, DiskDevice(target: image, vdev: "xvda"), scripted, qdisk, driverDomain]
        try backends.checkDisks(Self.config(disks: fine))

        for backendType in [nil, DiskDevice.BackendType.phy, .standalone] {
            var disk = DiskDevice(target: missing, vdev: "xvdb")
            disk.backendType = backendType
            #expect(throws: HypervisorError("add disk 5", errno: ENOENT,
                                            "Disk vdev=xvdb failed to stat: \(missing): No such file or directory")) {
                try backends.checkDisks(Self.config(disks: fine + [disk]))
            }
        }
        var inFile = DiskDevice(target: image + "/x", vdev: "xvdb")
        inFile.backendDomain = "Domain-0"
        #expect(throws: HypervisorError("add disk 0", errno: ENOTDIR,
                                        "Disk vdev=xvdb failed to stat: \(image)/x: Not a directory")) {
            try backends.checkDisks(Self.config(disks: [inFile]))
        }
    }

    /// vif-bridge's test is `ip link show <bridge>`: any interface of that
    /// name; xenbrN is taken as ethN when ethN is a bridge; no bridge at
    /// all is libxl's xenbr0. Other scripts and driver domains are not checked.
    @Test func bridgesThatAreNoInterfaceAreRefused() throws {
        let net = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: net) }
        for path in ["br0", "eth1/bridge", "eth2"] {
            try FileManager.default.createDirectory(atPath: net + "/" + path, withIntermediateDirectories: true)
        }
        let backends = SimulatedBackends(pretendBridges: ["pretend0"], networkInterfaces: net)
        let fine = [Self.vif(bridge: "br0"), Self.vif(bridge: "xenbr1"), Self.vif(bridge: "pretend0"), Self.vif(bridge: "eth2"),
                    Self.vif(bridge: "gone0", script: "vif-route"), Self.vif(bridge: "gone0", backend: "2"), Self.vif(bridge: "")]
        try backends.checkNetworks(Self.config(vifs: fine))
        func refusal(_ index: Int, _ reason: String) -> HypervisorError {
            HypervisorError("add vif \(index)", errno: ENODEV, "/etc/xen/scripts/vif-bridge online failed: \(reason)")
        }
        #expect(throws: refusal(7, "Could not find bridge device xenbr2")) {
            try backends.checkNetworks(Self.config(vifs: fine + [Self.vif(bridge: "xenbr2")]))
        }
        #expect(throws: refusal(0, "Could not find bridge device xenbr0")) {
            try backends.checkNetworks(Self.config(vifs: [Self.vif(bridge: nil)]))
        }
        #expect(throws: refusal(0, "Could not find bridge device gone0")) {
            try backends.checkNetworks(Self.config(vifs: [Self.vif(bridge: "gone0", script: "/etc/xen/scripts/vif-bridge")]))
        }
        // No bridge named and none on the machine: the script has none to take.
        try FileManager.default.removeItem(atPath: net + "/eth1")
        let bare = SimulatedBackends(networkInterfaces: net)
        #expect(throws: refusal(0, "Could not find bridge, and none was specified")) {
            try bare.checkNetworks(Self.config(vifs: [Self.vif(bridge: "")]))
        }
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
}
