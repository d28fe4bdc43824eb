import DomainConfig
import Foundation
import Glibc
import Testing
@testable import Toolstack
import XenStoreProtocol

/// Devices as libxl 4.17 writes, connects and removes them.
@Suite struct DeviceTests {
    // MARK: libxl's tables

    /// A disk image, `format=raw, vdev=xvda, access=rw, target=/img`, for
    /// PV guest 1: libxl's `device_disk_add` keys in its order, with its
    /// permissions, then libxl's copy (research/real-devices.md §3.1).
    @Test func aDiskIsWrittenAsLibxlWritesIt() throws {
        let entry = try #require(DeviceEntry.disk(DiskDevice(target: "/img", vdev: "xvda"), index: 0, domid: 1, protocol: "x86_64-abi"))
        let f = "/local/domain/1/device/vbd/51712", b = "/local/domain/0/backend/vbd/1/51712", l = "/libxl/1/device/vbd/51712"
        let backKeys = ["params = \"/img\"", "script = \"/etc/xen/scripts/block\"", "frontend-id = \"1\"", "online = \"1\"",
                        "removable = \"0\"", "bootable = \"1\"", "state = \"1\"", "dev = \"xvda\"", "type = \"phy\"", "mode = \"w\"",
                        "device-type = \"disk\"", "discard-enable = \"1\"", "specification = \"xen\""]
        let expected = ["/local/domain/1/device/vbd = \"\"  (n0,r1)",
                        "\(f) = \"\"  (n1,r0)", "\(f)/backend = \"\(b)\"  (n1,r0)", "\(f)/backend-id = \"0\"  (n1,r0)",
                        "\(f)/state = \"1\"  (n1,r0)", "\(f)/virtual-device = \"51712\"  (n1,r0)",
                        "\(f)/device-type = \"disk\"  (n1,r0)", "\(f)/trusted = \"1\"  (n1,r0)", "\(f)/protocol = \"x86_64-abi\"  (n1,r0)",
                        "\(b) = \"\"  (n0,r1)", "\(b)/frontend = \"\(f)\"  (n0,r1)"]
            + backKeys.map { "\(b)/\($0)  (n0,r1)" }
            + ["/libxl/1/device/vbd = \"\"  (n0)", "\(l) = \"\"  (n0)", "\(l)/frontend = \"\(f)\"  (n0)", "\(l)/backend = \"\(b)\"  (n0)"]
            + backKeys.map { "\(l)/\($0)  (n0)" }
        #expect(entry.nodes.map(\.description) == expected)
        #expect(entry.removals == [l, f, b])
        #expect(entry.handle == DeviceHandle(domid: 1, kind: "vbd", backendKind: "vbd", devid: 51712,
                                             script: "/etc/xen/scripts/block", label: "disk 0"))

        // Read-only, no discard, direct I/O, a user's script: libxl's variants.
        var disk = DiskDevice(target: "iqn.x:y", vdev: "xvdb")
        disk.access = .readOnly
        disk.directIOSafe = true
        disk.script = "block-iscsi"
        let other = try #require(DeviceEntry.disk(disk, index: 1, domid: 2, protocol: nil))
        #expect(other.back.map { "\($0.0)=\($0.1)" } == [
            "params=iqn.x:y", "script=/etc/xen/scripts/block-iscsi", "frontend-id=2", "online=1", "removable=0", "bootable=1",
            "state=1", "dev=xvdb", "type=phy", "mode=r", "device-type=disk", "direct-io-safe=1", "discard-enable=0", "specification=xen"])
        #expect(other.front.map { "\($0.0)=\($0.1)" } == ["backend-id=0", "state=1", "virtual-device=51728", "device-type=disk", "trusted=1"])
    }

    /// `mac=00:16:3e:12:34:56, bridge=xenbr0` for guest 1: the generic
    /// keys, then `libxl__set_xenstore_nic`'s, `mtu` read-only to the guest,
    /// `hotplug-status` empty so that netback waits for the script (§3.3).
    @Test func aVifIsWrittenAsLibxlWritesIt() {
        var vif = NetworkInterface()
        vif.mac = MACAddress("00:16:3e:12:34:56")
        let entry = DeviceEntry.vif(vif, devid: 0, domid: 1, type: .pv)
        let f = "/local/domain/1/device/vif/0", b = "/local/domain/0/backend/vif/1/0", l = "/libxl/1/device/vif/0"
        let backKeys = ["frontend-id = \"1\"", "online = \"1\"", "state = \"1\"", "script = \"/etc/xen/scripts/vif-bridge\"",
                        "mac = \"00:16:3e:12:34:56\"", "bridge = \"xenbr0\"", "handle = \"0\"", "type = \"vif\"", "hotplug-status = \"\""]
        let expected = ["/local/domain/1/device/vif = \"\"  (n0,r1)",
                        "\(f) = \"\"  (n1,r0)", "\(f)/backend = \"\(b)\"  (n1,r0)", "\(f)/backend-id = \"0\"  (n1,r0)",
                        "\(f)/state = \"1\"  (n1,r0)", "\(f)/handle = \"0\"  (n1,r0)", "\(f)/mac = \"00:16:3e:12:34:56\"  (n1,r0)",
                        "\(f)/trusted = \"1\"  (n1,r0)", "\(f)/mtu = \"1500\"  (n0,r1)",
                        "\(b) = \"\"  (n0,r1)", "\(b)/frontend = \"\(f)\"  (n0,r1)"]
            + backKeys.map { "\(b)/\($0)  (n0,r1)" }
            + ["/libxl/1/device/vif = \"\"  (n0)", "\(l) = \"\"  (n0)", "\(l)/frontend = \"\(f)\"  (n0)", "\(l)/backend = \"\(b)\"  (n0)"]
            + backKeys.map { "\(l)/\($0)  (n0)" }
        #expect(entry.nodes.map(\.description) == expected)

        // Every optional key, in libxl's order; an HVM guest's ioemu type is kept.
        var full = vif
        full.vifname = "web0"; full.ip = "10.0.0.2"; full.gatewaydev = "eth0"; full.rate = "10Mb/s"; full.mtu = 9000
        full.bridge = "br1"; full.script = "vif-route"; full.type = "ioemu"
        #expect(DeviceEntry.vif(full, devid: 2, domid: 3, type: .hvm).back.map { "\($0.0)=\($0.1)" } == [
            "frontend-id=3", "online=1", "state=1", "script=/etc/xen/scripts/vif-route", "vifname=web0", "mac=00:16:3e:12:34:56",
            "ip=10.0.0.2", "gatewaydev=eth0", "rate=62500,50000", "mtu=9000", "bridge=br1", "handle=2", "type=ioemu", "hotplug-status="])
        #expect(DeviceEntry.vif(full, devid: 2, domid: 3, type: .pv).back.first { $0.0 == "type" }?.1 == "vif")
        #expect(DeviceEntry.vif(full, devid: 2, domid: 3, type: .pv).readOnlyFront.map { "\($0.0)=\($0.1)" } == ["mtu=9000"])
    }

    // MARK: create, destroy

    static func config(_ rig: Rig, _ name: String) -> DomainConfiguration {
        var config = rig.config(name)
        config.disks = [DiskDevice(target: tinyKernel, vdev: "xvda")]
        config.vifs = [NetworkInterface()]
        return config
    }

    /// The domain's layout with its console before INTRODUCE (xenconsoled
    /// finds the console whole when told of the domain), then disks, then
    /// networks, every backend in InitWait before the scripts, which run
    /// side by side; destroy closes them all, then runs the scripts, then
    /// removes everything.
    @Test func createAndDestroyGoInLibxlsOrder() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let id = try rig.toolstack.create(Self.config(rig, "web"))
        #expect(rig.sim.devices.log == ["check disk 0", "check vif 0", "kernel added disk 0", "kernel added vif 0",
                                        "hotplug add disk 0", "hotplug add vif 0"])
        // The domain with its console, INTRODUCE, then the devices in libxl's order: the disk, the vif.
        #expect(rig.store.commitLog.filter { !$0.hasSuffix("/state") } == ["/local/domain/\(id)", "introduce \(id)",
                                                                             "/local/domain/\(id)/device/vbd", "/local/domain/\(id)/device/vif"])
        let consoleRing = rig.store.nodes["/local/domain/\(id)/console/ring-ref"]?.value
        #expect(consoleRing != nil)
        #expect(rig.store.consoleRingAtIntroduce[id] == .some(consoleRing))
        let entries = DeviceEntry.all(domid: id, config: try #require(rig.toolstack.record(id)), protocol: "x86_64-abi")
        for entry in entries {
            for node in entry.nodes where node.path != entry.handle.backendPath + "/state" {
                #expect(rig.store.nodes[node.path]?.value == node.value, "\(node.path)")
            }
            #expect(rig.store.nodes[entry.handle.backendPath + "/state"]?.value == "2")
        }
        #expect(rig.toolstack.devicesInStore(domid: id).map(\.label) == ["disk xvda", "vif 0"])
        try rig.toolstack.destroy(domid: id)
        #expect(rig.sim.devices.log.dropFirst(6) == ["kernel closing disk xvda", "kernel closing vif 0",
                                                     "hotplug remove disk xvda", "hotplug remove vif 0"])
        #expect(rig.store.nodes.isEmpty, "\(rig.store.nodes.keys.sorted())")
        #expect(rig.leftovers().isEmpty)
    }

    /// A device that fails (its script, or a backend that never reaches
    /// InitWait) fails the create with its reason, and leaves no domain,
    /// node or record; the devices already added are removed with their scripts.
    @Test func aFailingDeviceUndoesTheCreate() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let refusal = HypervisorError("add vif 0", errno: EIO, "/etc/xen/scripts/vif-bridge online failed: Could not find bridge device xenbr0")
        rig.sim.devices.failingScript = ("vif 0", refusal)
        #expect(throws: ToolstackError.hypervisor(refusal)) { _ = try rig.toolstack.create(Self.config(rig, "web")) }
        #expect(rig.sim.devices.log == ["check disk 0", "check vif 0", "kernel added disk 0", "kernel added vif 0",
                                        "hotplug add disk 0", "hotplug add vif 0",
                                        "kernel closing disk 0", "kernel closing vif 0",
                                        "hotplug remove disk 0", "hotplug remove vif 0"])
        #expect(rig.store.nodes.isEmpty, "\(rig.store.nodes.keys.sorted())")
        #expect(rig.store.introduced.isEmpty)
        #expect(rig.leftovers().isEmpty, "\(rig.leftovers())")

        rig.sim.devices.failingScript = nil
        rig.sim.devices.silentKernel = ["disk 0"]
        rig.toolstack.deviceTimeouts = DeviceTimeouts(initMs: 50, destroyMs: 50)
        let id = 2  // the first create had domain 1
        #expect(throws: ToolstackError.hypervisor(HypervisorError("add disk 0", errno: ETIMEDOUT,
            "unable to add device with path /local/domain/0/backend/vbd/\(id)/51712"))) { _ = try rig.toolstack.create(Self.config(rig, "web")) }
        #expect(rig.store.nodes.isEmpty, "\(rig.store.nodes.keys.sorted())")
        #expect(rig.leftovers().isEmpty, "\(rig.leftovers())")

        // A refusal before anything is written costs nothing.
        rig.sim.devices.silentKernel = []
        let early = HypervisorError("add vif 0", errno: ENOSYS, "no")
        rig.sim.devices.checkFailure = early
        let commits = rig.store.commits
        #expect(throws: ToolstackError.hypervisor(early)) { _ = try rig.toolstack.create(Self.config(rig, "web")) }
        #expect(rig.store.commits == commits)
    }

    /// Detaching: the frontend kept for the guest to close; a backend that
    /// never closes is tried again with the frontend removed, then given up
    /// (no script run for it: libxl skips it too), its entries removed all
    /// the same; a script that fails to remove is ignored, as libxl does.
    @Test func detachClosesOrForcesThenCleansUp() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        rig.toolstack.deviceTimeouts = DeviceTimeouts(initMs: 1000, destroyMs: 50)
        var config = Self.config(rig, "web")
        config.vifs.append(NetworkInterface())
        let id = try rig.toolstack.create(config)
        let vifs = rig.toolstack.devicesInStore(domid: id).filter { $0.kind == "vif" }
        #expect(vifs.map(\.label) == ["vif 0", "vif 1"])
        let start = rig.sim.devices.log.count

        rig.sim.devices.failingScript = ("vif 0", HypervisorError("remove vif 0", errno: EIO, "ip: cannot find device"))
        try rig.toolstack.detach(vifs[0], force: false)
        #expect(rig.store.nodes[vifs[0].frontendPath + "/state"] == nil && rig.store.nodes[vifs[0].backendPath + "/state"] == nil)

        rig.sim.devices.silentKernel = ["vif 1"]
        #expect(throws: ToolstackError.hypervisor(HypervisorError("remove vif 1", errno: ETIMEDOUT,
            "unable to remove device with path \(vifs[1].backendPath)"))) { try rig.toolstack.detach(vifs[1], force: false) }
        #expect(Array(rig.sim.devices.log[start...]) == ["kernel closing vif 0", "hotplug remove vif 0",
                                                         "kernel closing vif 1", "kernel closing vif 1"])
        #expect(rig.store.nodes.keys.filter { $0.contains("/vif/") }.isEmpty, "\(rig.store.nodes.keys.sorted())")
        // The record forgot both.
        #expect(rig.toolstack.record(id)?.vifs.isEmpty == true)
        #expect(rig.toolstack.record(id)?.disks.count == 1)
    }

    // MARK: backend choice

    /// libxl stats a disk's target when it chooses the backend itself (or
    /// phy/standalone) in dom0 without a script; what only QEMU serves, or
    /// blktap, swxl refuses, naming what is missing; stat failures first.
    @Test func disksAreCheckedAsLibxlChoosesTheirBackend() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = dir + "/a.img", missing = dir + "/missing.img"
        #expect(FileManager.default.createFile(atPath: image, contents: Data()))
        func config(_ disks: [DiskDevice]) -> DomainConfiguration {
            var c = guestConfig("g", kernel: "/k")
            c.disks = disks
            return c
        }
        var scripted = DiskDevice(target: "iqn.2001-05.com.example:disk", vdev: "xvdc")
        scripted.script = "block-iscsi"
        var driverDomain = DiskDevice(target: missing, vdev: "xvde")
        driverDomain.backendDomain = "3"
        let fine = [DiskDevice(target: image, vdev: "xvda"), scripted, driverDomain]
        try DiskBackendChoice.check(config(fine))

        for backendType in [nil, DiskDevice.BackendType.phy, .standalone] {
            var disk = DiskDevice(target: missing, vdev: "xvdb")
            disk.backendType = backendType
            #expect(throws: HypervisorError("add disk 3", errno: ENOENT,
                                            "Disk vdev=xvdb failed to stat: \(missing): No such file or directory")) {
                try DiskBackendChoice.check(config(fine + [disk]))
            }
        }
        var cdrom = DiskDevice(target: nil, vdev: "hdc")
        cdrom.format = .empty
        cdrom.deviceType = .cdrom
        var qcow = DiskDevice(target: image, vdev: "xvdd")
        qcow.format = .qcow2
        var qdisk = DiskDevice(target: image, vdev: "xvdf")
        qdisk.backendType = .qdisk
        var tap = DiskDevice(target: image, vdev: "xvdg")
        tap.backendType = .tap
        func qemu(_ index: Int, _ vdev: String, _ why: String) -> HypervisorError {
            HypervisorError("add disk \(index)", errno: ENOSYS,
                            "Disk vdev=\(vdev) needs QEMU's qdisk backend (\(why)), and swxl does not start QEMU (qemu-system-xen): use a raw image or a block device")
        }
        #expect(throws: qemu(0, "hdc", "an empty cdrom drive")) { try DiskBackendChoice.check(config([cdrom, DiskDevice(target: image, vdev: "xvda")])) }
        #expect(throws: qemu(1, "xvdd", "format qcow2")) { try DiskBackendChoice.check(config(fine.prefix(1) + [qcow])) }
        #expect(throws: qemu(0, "xvdf", "backendtype=qdisk")) { try DiskBackendChoice.check(config([qdisk])) }
        #expect(throws: qemu(0, "xvda", "\(dir) is neither a block device nor a regular file")) {
            try DiskBackendChoice.check(config([DiskDevice(target: dir, vdev: "xvda")]))
        }
        #expect(throws: HypervisorError("add disk 0", errno: EINVAL,
            "Disk vdev=xvdg, backend tap unsuitable because blktap not available: no suitable backend for disk xvdg")) {
            try DiskBackendChoice.check(config([tap]))
        }
        // A stat failure is found before a disk only QEMU would serve.
        #expect(throws: HypervisorError("add disk 1", errno: ENOENT, "Disk vdev=xvdb failed to stat: \(missing): No such file or directory")) {
            try DiskBackendChoice.check(config([cdrom, DiskDevice(target: missing, vdev: "xvdb")]))
        }
    }
}

/// The wait for a backend's state, over a real connection: a watch on each
/// path, woken by another connection's write; a timeout when nothing comes.
@Suite struct StoreWaitTests {
    @Test(.timeLimit(.minutes(1)))
    func aWaitWakesOnAWriteAndTimesOut() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let socket = dir + "/socket"
        let daemon = try LiveDaemon(socketPath: socket, stateDir: dir)
        defer { daemon.stop() }
        let store = try XenStoreAccess(socketPath: socket)
        let paths = ["/local/domain/0/backend/vbd/1/51712/state", "/local/domain/0/backend/vif/1/0/state"]
        for p in paths { try store.write(p, "1") }
        let writer = Thread {
            usleep(100_000)
            guard let other = try? XenStoreAccess(socketPath: socket) else { return }
            for p in paths { try? other.write(p, "2"); usleep(20_000) }
        }
        writer.start()
        var looks = 0
        let start = Date()
        let reached = try store.wait(for: paths, timeoutMs: 10_000) { values in
            looks += 1
            return values.allSatisfy { $0 == "2" }
        }
        #expect(reached)
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(looks >= 2 && looks < 10, "looked again on each change, not in a loop: \(looks)")
        // Nothing changes: false after the timeout; a stale event of the last wait is not taken for a change.
        let again = Date()
        #expect(try store.wait(for: paths, timeoutMs: 100) { $0.allSatisfy { $0 == "3" } } == false)
        #expect(Date().timeIntervalSince(again) >= 0.09)
    }
}
