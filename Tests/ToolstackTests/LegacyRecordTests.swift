import DomainConfig
import Foundation
import Testing
@testable import Toolstack

/// Records the previous swxl wrote (its `key=value` plans, see
/// LegacyRecords.swift) are read as the configs they describe, once, when
/// the database holding them is opened.
@Suite struct LegacyRecordTests {
    /// What `recordOfAPVGuest` describes.
    static let pvGuest: DomainConfiguration = {
        var c = DomainConfiguration(name_label: "web2", uuid: DomainUUID("5fc58030-816f-4e1d-8178-e72443c04bbb")!)
        c.memory_dynamic_max = 64 << 20
        c.memory_static_max = 96 << 20
        c.VCPUs_at_startup = 2
        c.VCPUs_max = 3
        c.actions_after_reboot = .renameRestart
        c.actions_after_crash = .preserve
        c.PV_kernel = "sub/tiny-pv"
        c.PV_args = "console=hvc0 quiet"
        c.platform = [DomainConfiguration.simGuestScriptKey: "echo hello"]
        var raw = DiskDevice(target: "/tmp/swxl-rec/disk.img", vdev: "xvda")
        raw.format = .raw
        var qcow = DiskDevice(target: "/tmp/swxl-rec/b.qcow2", vdev: "xvdb")
        qcow.format = .qcow2
        qcow.access = .readOnly
        var cdrom = DiskDevice(target: nil, vdev: "hdc")
        cdrom.format = .empty
        cdrom.access = .readOnly
        cdrom.deviceType = .cdrom
        c.disks = [raw, qcow, cdrom]
        var first = NetworkInterface(), second = NetworkInterface()
        first.mac = MACAddress("00:16:3e:12:34:56")
        first.bridge = "xenbr0"
        first.ip = "10.0.0.2"
        second.mac = MACAddress("00:16:3e:42:0f:0f")  // chosen by that create
        second.bridge = "xenbr1"
        c.vifs = [first, second]
        var vfb = FramebufferDevice()
        vfb.vnc = true
        vfb.sdl = false  // the old record says so
        c.vfbs = [vfb]
        return c
    }()

    /// What `recordOfAnHVMGuest` describes.
    static let hvmGuest: DomainConfiguration = {
        var c = DomainConfiguration(name_label: "win", uuid: DomainUUID("0d3b7d2c-3a9e-4c55-9d0a-1f2e3d4c5b6a")!)
        c.type = .hvm
        c.actions_after_shutdown = .coredumpDestroy
        c.PV_kernel = DomainConfiguration.hvmLoader
        c.platform = ["videoram": "8"]
        return c
    }()

    /// The domain's layout and its console's (its devices are written
    /// one by one, each as libxl writes it: see DeviceTests).
    static func layout(_ config: DomainConfiguration, domid: UInt32) -> String {
        let build = BuildResult(storePort: 1, storeMFN: 100, consolePort: 2, consoleMFN: 101)
        return (StoreLayout.nodes(domid: domid, config: config, build: build, startTimeNs: 1_700_000_000_000_000_000)
                + StoreLayout.consoleNodes(domid: domid, build: build)).map { $0.description + "\n" }.joined()
    }

    /// The plan's layout without its devices' lines (issue 11 gave devices
    /// libxl's full tables, written per device; the rest is unchanged).
    static func withoutDevices(_ layout: String) -> String {
        let kinds = ["vbd", "qdisk", "vif", "vfb", "vkbd"]
        return layout.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            !kinds.contains { line.contains("/device/\($0)") || line.contains("/backend/\($0)/") }
        }.joined(separator: "\n")
    }

    @Test func aRecordReadsAsTheConfigItWasMadeFrom() {
        #expect(LegacyRecord.configuration(from: recordOfAPVGuest) == Self.pvGuest)
        #expect(LegacyRecord.configuration(from: recordOfAnHVMGuest) == Self.hvmGuest)
        #expect(LegacyRecord.configuration(from: "name=x\n") == nil)
    }

    /// The config read gives the domain the xenstore layout the plan gave it.
    @Test func theImportedConfigHasThePlansLayout() {
        #expect(Self.layout(Self.pvGuest, domid: 1) == Self.withoutDevices(layoutOfAPVGuest))
        #expect(Self.layout(Self.hvmGuest, domid: 2) == Self.withoutDevices(layoutOfAnHVMGuest))
    }

    /// A record without the config JSON (an older swxl's) still gives its
    /// domain the same layout: devices are read from the plan's own lines.
    @Test func aRecordWithoutItsConfigJSONStillGivesTheSameLayout() throws {
        let plan = recordOfAPVGuest.split(separator: "\n").filter { !$0.hasPrefix("config_json=") }.joined(separator: "\n") + "\n"
        let config = try #require(LegacyRecord.configuration(from: plan))
        #expect(Self.layout(config, domid: 1) == Self.withoutDevices(layoutOfAPVGuest))
        #expect(DeviceEntry.all(domid: 1, config: config, protocol: "x86_64-abi")
                == DeviceEntry.all(domid: 1, config: Self.pvGuest, protocol: "x86_64-abi"))
        #expect(config.vfbs.count == 1 && config.disks.count == 3 && config.vifs.map(\.mac) == Self.pvGuest.vifs.map(\.mac))
    }

    /// A toolstack.db of the previous swxl: its `record` table held plans in
    /// a `plan` column. Opening it turns them into the configs' JSON, once;
    /// the domains then list, rename and restart as before.
    @Test func aDatabaseOfThePreviousSwxlIsImportedWhenOpened() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let dir = rig.dir + "/toolstack"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // The restart below builds the PV guest again: its kernel must be found from here.
        let restartable = recordOfAPVGuest.replacingOccurrences(of: "kernel=sub/tiny-pv\n", with: "kernel=\(tinyKernel)\n")
        do {
            let old = try StateDatabase(path: dir + "/toolstack.db", schema: """
                CREATE TABLE name(name TEXT PRIMARY KEY, domid INTEGER) WITHOUT ROWID;
                CREATE TABLE record(domid INTEGER PRIMARY KEY, plan TEXT NOT NULL);
                CREATE TABLE journal(id INTEGER PRIMARY KEY, pid INTEGER NOT NULL, started INTEGER NOT NULL,
                    name TEXT NOT NULL, domid INTEGER, uuid TEXT);
                """)
            try old.query("INSERT INTO name VALUES('web2', 1), ('win', 2)")
            try old.query("INSERT INTO record VALUES(1, ?), (2, ?), (3, 'not a plan')", .text(restartable), .text(recordOfAnHVMGuest))
        }
        for guest in [Self.pvGuest, Self.hvmGuest] {
            _ = try rig.sim.createDomain(DomainCreateSpec(uuid: guest.uuid, type: guest.type, maxVCPUs: 1, maxMemoryKiB: 1024))
        }
        var pv = Self.pvGuest
        pv.PV_kernel = tinyKernel

        #expect(rig.toolstack.record(1) == pv)
        #expect(rig.toolstack.record(2) == Self.hvmGuest)
        #expect(rig.toolstack.state.rows() == ["name web2 1", "name win 2", "record 1", "record 2"])
        let stored = try StateDatabase(path: dir + "/toolstack.db", schema: "")
        #expect(try stored.query("SELECT domid, config FROM record ORDER BY domid")
                == [[.int(1), .text(pv.jsonText())], [.int(2), .text(Self.hvmGuest.jsonText())]])
        // Another toolstack opening it later finds nothing more to do.
        #expect(Toolstack(hypervisor: rig.sim, store: rig.store, stateDir: rig.dir).record(1) == pv)

        try rig.toolstack.rename(domid: 1, to: "web3")
        pv.name_label = "web3"
        #expect(rig.toolstack.record(1) == pv)
        #expect(try rig.toolstack.resolve("web3") == 1)
        // on_reboot = rename-restart: created again from the record. Its
        // disks (a missing image, a qcow2, an empty cdrom) are refused since
        // swxl serves disks as libxl chooses their backends: without them.
        pv.disks = []
        try rig.toolstack.state.record(pv, domid: 1)
        try rig.sim.shutdown(domid: 1, reason: .reboot)
        let again = try #require(try rig.toolstack.applyShutdownAction(domid: 1, reason: .reboot))
        #expect(rig.toolstack.record(again) == pv)
        #expect(try rig.sim.domainInfo(domid: again)?.uuid == pv.uuid)
    }
}
