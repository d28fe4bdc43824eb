import DomainConfig
import Foundation
import Testing
@testable import Toolstack
import XenStoreProtocol

@Suite struct KernelImageTests {
    @Test func tinyPVKernelCarriesXensNotes() throws {
        guard case .elf(let notes) = try KernelImage.inspect(path: tinyKernel) else {
            Issue.record("tiny-pv is not read as an ELF")
            return
        }
        #expect(String(decoding: notes[XenElfNote.guestOS.rawValue]!.prefix { $0 != 0 }, as: UTF8.self) == "swxl-tiny")
        #expect(String(decoding: notes[XenElfNote.xenVersion.rawValue]!.prefix { $0 != 0 }, as: UTF8.self) == "xen-3.0")
        try KernelImage.check(path: tinyKernel, type: .pv)
    }

    @Test func elfWithoutXenNotesIsRefusedNamingWhatIsMissing() {
        #expect(throws: KernelImageError(path: "/bin/true",
            reason: "not a Xen-ELF binary: it has no Xen ELF notes (XEN_ELFNOTE_GUEST_OS, XEN_ELFNOTE_XEN_VERSION)")) {
            try KernelImage.check(path: "/bin/true", type: .pv)
        }
    }

    @Test func pvhNeedsThePVHEntryNote() {
        #expect(throws: KernelImageError(path: tinyKernel, reason: "missing Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY")) {
            try KernelImage.check(path: tinyKernel, type: .pvh)
        }
    }

    @Test func notAKernelAndMissingFiles() {
        #expect(throws: KernelImageError(path: "/etc/hostname", reason: "not a kernel image: neither an ELF nor a bzImage")) {
            try KernelImage.check(path: "/etc/hostname", type: .pv)
        }
        #expect(throws: KernelImageError(path: "/nonexistent/k", reason: "No such file or directory")) {
            try KernelImage.check(path: "/nonexistent/k", type: .pv)
        }
    }

    @Test func debiansBzImageAndGzipAreAccepted() throws {
        let boot = (try? FileManager.default.contentsOfDirectory(atPath: "/boot")) ?? []
        if let vmlinuz = boot.first(where: { $0.hasPrefix("vmlinuz-") }) {
            #expect(try KernelImage.inspect(path: "/boot/" + vmlinuz) == .bzImage)
            try KernelImage.check(path: "/boot/" + vmlinuz, type: .pv)
        }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let gz = dir + "/vmlinux.gz"
        #expect(FileManager.default.createFile(atPath: gz, contents: Data([0x1f, 0x8b, 8, 0, 0, 0, 0, 0])))
        #expect(try KernelImage.inspect(path: gz) == .gzip)
    }

    /// A synthetic ELF64 with one PT_NOTE holding the given Xen notes.
    static func elf(notes: [(UInt32, String)]) -> [UInt8] {
        var noteBytes: [UInt8] = []
        func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func le64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        for (type, desc) in notes {
            var d = Array(desc.utf8) + [0]
            while d.count % 4 != 0 { d.append(0) }
            noteBytes += le32(4) + le32(UInt32(d.count)) + le32(type) + Array("Xen\0".utf8) + d
        }
        var header = [UInt8](repeating: 0, count: 64)
        header[0...3] = [0x7f, 0x45, 0x4c, 0x46]
        header[4] = 2; header[5] = 1; header[6] = 1
        header.replaceSubrange(32..<40, with: le64(64))          // e_phoff
        header.replaceSubrange(54..<56, with: [56, 0])           // e_phentsize
        header.replaceSubrange(56..<58, with: [1, 0])            // e_phnum
        var ph = le32(4) + le32(4)                                // PT_NOTE, flags
        ph += le64(120) + le64(0) + le64(0) + le64(UInt64(noteBytes.count)) + le64(UInt64(noteBytes.count)) + le64(4)
        return header + ph + noteBytes
    }

    @Test func notesAreReadFromTheNoteSegment() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/k"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(Self.elf(notes: [(6, "linux"), (5, "xen-3.0")]))))
        try KernelImage.check(path: path, type: .pv)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(Self.elf(notes: [(6, "linux")]))))
        #expect(throws: KernelImageError(path: path, reason: "missing Xen ELF note XEN_ELFNOTE_XEN_VERSION")) {
            try KernelImage.check(path: path, type: .pv)
        }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(Self.elf(notes: [(6, "linux"), (5, "xen-2.0")]))))
        #expect(throws: KernelImageError(path: path, reason: "XEN_ELFNOTE_XEN_VERSION is \"xen-2.0\"; Xen only loads images built for xen-3.0")) {
            try KernelImage.check(path: path, type: .pv)
        }
    }
}

@Suite struct ProcessIdentityTests {
    @Test func aProcessIsKnownByItsPidAndStartTime() throws {
        let started = try #require(ProcessIdentity.startTime(of: getpid()))
        #expect(ProcessIdentity.isAlive(pid: getpid(), started: started))
        #expect(!ProcessIdentity.isAlive(pid: getpid(), started: started + 1))
        #expect(!ProcessIdentity.isAlive(pid: 0, started: 0))
        #expect(ProcessIdentity.startTime(of: pid_t(Int32.max)) == nil)
    }
}

@Suite struct StoreLayoutTests {
    @Test func diskNamesBecomeLinuxDeviceNumbers() {
        #expect(StoreLayout.diskDevid("xvda") == 51712)
        #expect(StoreLayout.diskDevid("xvdb") == 51728)
        #expect(StoreLayout.diskDevid("xvda1") == 51713)
        #expect(StoreLayout.diskDevid("xvdq") == (1 << 28) | (16 << 8))
        #expect(StoreLayout.diskDevid("hda") == 768)
        #expect(StoreLayout.diskDevid("hdc") == 5632)
        #expect(StoreLayout.diskDevid("sda") == 2048)
        #expect(StoreLayout.diskDevid("xvd") == nil)
        #expect(StoreLayout.diskDevid("floppy") == nil)
    }

    @Test func startTimeHasTwoDecimals() {
        #expect(StoreLayout.startTime(nanoseconds: 1_700_000_000_050_000_000) == "1700000000.05")
        #expect(StoreLayout.startTime(nanoseconds: 1_700_000_000_990_000_000) == "1700000000.99")
    }

    @Test func aPVGuestWithoutDevicesGetsExactlyXlsNodes() {
        let uuid = DomainHandle.parse("5fc58030-816f-4e1d-8178-e72443c04bbb")!
        let plan = DomainPlan(name: "g", uuid: uuid, memoryMiB: 64, vcpus: 1, kernel: "/k", cmdline: "quiet")
        let nodes = StoreLayout.nodes(domid: 7, plan: plan, build: BuildResult(storePort: 1, storeMFN: 100, consolePort: 2, consoleMFN: 101),
                                      startTimeNs: 1_700_000_000_000_000_000)
        let ro = "n0,r7", vm = "/vm/5fc58030-816f-4e1d-8178-e72443c04bbb", d = "/local/domain/7"
        let expected: [String] = [
            "\(d) = \"\"  (\(ro))", "\(d)/vm = \"\(vm)\"  (\(ro))", "\(d)/name = \"g\"  (\(ro))", "\(d)/domid = \"7\"  (\(ro))",
            "\(d)/device = \"\"  (\(ro))", "\(d)/control = \"\"  (\(ro))",
            "\(d)/control/shutdown = \"\"  (n7)", "\(d)/control/feature-poweroff = \"\"  (n7)",
            "\(d)/control/feature-reboot = \"\"  (n7)", "\(d)/control/feature-suspend = \"\"  (n7)", "\(d)/control/sysrq = \"\"  (n7)",
            "\(d)/control/platform-feature-multiprocessor-suspend = \"1\"  (\(ro))",
            "\(d)/control/platform-feature-xs_reset_watches = \"1\"  (\(ro))",
            "\(d)/device/suspend = \"\"  (\(ro))", "\(d)/device/suspend/event-channel = \"\"  (n7)",
            "\(d)/data = \"\"  (n7)", "\(d)/drivers = \"\"  (n7)", "\(d)/feature = \"\"  (n7)", "\(d)/attr = \"\"  (n7)", "\(d)/error = \"\"  (n7)",
            "\(d)/cpu = \"\"  (\(ro))", "\(d)/cpu/0 = \"\"  (\(ro))", "\(d)/cpu/0/availability = \"online\"  (\(ro))",
            "\(d)/memory = \"\"  (\(ro))", "\(d)/memory/static-max = \"65536\"  (\(ro))", "\(d)/memory/target = \"65536\"  (\(ro))",
            "\(d)/memory/videoram = \"0\"  (\(ro))",
            "\(d)/store = \"\"  (\(ro))", "\(d)/store/port = \"1\"  (\(ro))", "\(d)/store/ring-ref = \"100\"  (\(ro))",
            "\(vm) = \"\"  (\(ro))", "\(vm)/uuid = \"5fc58030-816f-4e1d-8178-e72443c04bbb\"  (\(ro))", "\(vm)/name = \"g\"  (\(ro))",
            "\(vm)/image = \"\"  (\(ro))", "\(vm)/image/ostype = \"linux\"  (\(ro))", "\(vm)/image/kernel = \"/k\"  (\(ro))",
            "\(vm)/image/ramdisk = \"\"  (\(ro))", "\(vm)/image/cmdline = \"quiet\"  (\(ro))",
            "\(vm)/start_time = \"1700000000.00\"  (\(ro))",
            "/libxl/7 = \"\"  (n0)", "/libxl/7/type = \"pv\"  (n0)", "/libxl/7/dm-version = \"qemu_xen\"  (n0)", "/libxl/7/device = \"\"  (n0)",
            "\(d)/console = \"\"  (\(ro))", "\(d)/console/backend = \"/local/domain/0/backend/console/7/0\"  (\(ro))",
            "\(d)/console/backend-id = \"0\"  (n7,r0)", "\(d)/console/limit = \"1048576\"  (\(ro))",
            "\(d)/console/type = \"xenconsoled\"  (\(ro))", "\(d)/console/output = \"pty\"  (\(ro))",
            "\(d)/console/tty = \"\"  (\(ro))", "\(d)/console/port = \"2\"  (\(ro))", "\(d)/console/ring-ref = \"101\"  (\(ro))",
            "/local/domain/0/backend/console/7/0 = \"\"  (\(ro))",
            "/local/domain/0/backend/console/7/0/frontend = \"\(d)/console\"  (\(ro))",
            "/local/domain/0/backend/console/7/0/frontend-id = \"7\"  (\(ro))",
            "/local/domain/0/backend/console/7/0/online = \"1\"  (\(ro))",
            "/local/domain/0/backend/console/7/0/state = \"1\"  (\(ro))",
            "/local/domain/0/backend/console/7/0/protocol = \"vt100\"  (\(ro))",
            "/libxl/7/device/console = \"\"  (n0)", "/libxl/7/device/console/0 = \"\"  (n0)",
            "/libxl/7/device/console/0/frontend = \"\(d)/console\"  (n0)",
            "/libxl/7/device/console/0/backend = \"/local/domain/0/backend/console/7/0\"  (n0)",
            "/libxl/7/device/console/0/frontend-id = \"7\"  (n0)", "/libxl/7/device/console/0/online = \"1\"  (n0)",
            "/libxl/7/device/console/0/state = \"1\"  (n0)", "/libxl/7/device/console/0/protocol = \"vt100\"  (n0)",
        ]
        #expect(nodes.map(\.description) == expected)
        // Parents before children: writing in order gives every node its own permissions.
        var seen: Set<String> = ["/", "/local", "/local/domain", "/vm", "/libxl", "/local/domain/0", "/local/domain/0/backend",
                                 "/local/domain/0/backend/console", "/local/domain/0/backend/console/7"]
        for node in nodes {
            #expect(seen.contains(XSPath.parent(of: node.path)), "\(node.path) before its parent")
            seen.insert(node.path)
        }
    }

    @Test func devicesGetFrontendBackendAndLibxlCopies() {
        let plan = DomainPlan(name: "g", uuid: [UInt8](repeating: 1, count: 16), memoryMiB: 64, kernel: "/k",
                              disks: [DiskPlan(vdev: "xvda", target: "/img", mode: "r")],
                              vifs: [VifPlan(mac: "00:16:3e:00:00:01", bridge: "br0")])
        let nodes = StoreLayout.nodes(domid: 3, plan: plan, build: BuildResult(storePort: 1, storeMFN: 1, consolePort: 2, consoleMFN: 2),
                                      startTimeNs: 0)
        let byPath = Dictionary(uniqueKeysWithValues: nodes.map { ($0.path, $0) })
        let front = "/local/domain/3/device/vbd/51712", back = "/local/domain/0/backend/vbd/3/51712"
        #expect(byPath[front]?.perms.description == "n3,r0")
        #expect(byPath[back]?.perms.description == "n0,r3")
        let backKeys = nodes.filter { XSPath.parent(of: $0.path) == back }.map { "\(XSPath.name(of: $0.path))=\($0.value)" }
        #expect(backKeys == ["frontend=\(front)", "frontend-id=3", "online=1", "removable=0", "bootable=1", "state=1",
                             "dev=xvda", "type=phy", "mode=r", "device-type=disk", "discard-enable=1",
                             "script=/etc/xen/scripts/block", "params=/img"])
        let frontKeys = nodes.filter { XSPath.parent(of: $0.path) == front }.map { "\(XSPath.name(of: $0.path))=\($0.value)" }
        #expect(frontKeys == ["backend=\(back)", "backend-id=0", "state=1", "virtual-device=51712", "device-type=disk"])
        let vifBack = nodes.filter { XSPath.parent(of: $0.path) == "/local/domain/0/backend/vif/3/0" }.map { "\(XSPath.name(of: $0.path))=\($0.value)" }
        #expect(vifBack == ["frontend=/local/domain/3/device/vif/0", "frontend-id=3", "online=1", "state=1",
                            "script=/etc/xen/scripts/vif-bridge", "mac=00:16:3e:00:00:01", "bridge=br0", "handle=0", "type=vif"])
        #expect(byPath["/libxl/3/device/vbd/51712/params"]?.value == "/img")
        #expect(byPath["/libxl/3/device/vif/0/backend"]?.value == "/local/domain/0/backend/vif/3/0")
    }
}

@Suite struct DomainPlanTests {
    @Test func planSurvivesItsEncoding() throws {
        let plan = DomainPlan(name: "web \\ 1", type: .pvh, memoryMiB: 256, maxMemoryMiB: 512, vcpus: 2, maxVCPUs: 4,
                              kernel: "/k", ramdisk: "/r", cmdline: "console=hvc0\nx=\\y", onPoweroff: .preserve,
                              onReboot: .renameRestart, onCrash: .coredumpDestroy,
                              disks: [DiskPlan(vdev: "xvdb", target: "/dev/vg/x", mode: "r", script: "block")],
                              vifs: [VifPlan(mac: "00:16:3e:00:00:02", bridge: nil, ip: "10.0.0.2")],
                              vkbs: 1, vfbs: 1, simGuestScript: "echo hi", configJSON: "{\n  \"a\": 1\n}")
        #expect(DomainPlan(encoded: plan.encoded) == plan)
    }

    @Test func configModelMapsToThePlan() throws {
        let text = """
            name = "web"
            uuid = "5fc58030-816f-4e1d-8178-e72443c04bbb"
            kernel = "/boot/k"
            ramdisk = "/boot/r"
            extra = "console=hvc0"
            memory = 256
            maxmem = 512
            vcpus = 2
            maxvcpus = 4
            on_reboot = "destroy"
            on_crash = "preserve"
            disk = [ "/img,raw,xvda,ro" ]
            vif = [ "mac=00:16:3e:00:00:09,bridge=xenbr0" ]
            sim_guest_script = "echo hello"
            """
        let result = DomainConfiguration.parse(text: text, fileName: "web.cfg")
        let config = try #require(result.configuration, "\(result.diagnostics)")
        var plan = try DomainPlan(config: config)
        #expect(plan.configJSON?.contains("\"name_label\"") == true)
        plan.configJSON = nil
        let expected = DomainPlan(name: "web", uuid: DomainHandle.parse("5fc58030-816f-4e1d-8178-e72443c04bbb")!, type: .pv,
                                  memoryMiB: 256, maxMemoryMiB: 512, vcpus: 2, maxVCPUs: 4, kernel: "/boot/k",
                                  ramdisk: "/boot/r", cmdline: "console=hvc0", onPoweroff: .destroy, onReboot: .destroy,
                                  onCrash: .preserve,
                                  disks: [DiskPlan(vdev: "xvda", target: "/img", mode: "r")],
                                  vifs: [VifPlan(mac: "00:16:3e:00:00:09", bridge: "xenbr0")],
                                  simGuestScript: "echo hello")
        #expect(plan == expected)
    }

    @Test func hvmWithoutKernelBootsHvmloader() throws {
        let result = DomainConfiguration.parse(text: "name = \"x\"\ntype = \"hvm\"\nmemory = 64\n", fileName: "x.cfg")
        let config = try #require(result.configuration, "\(result.diagnostics)")
        let plan = try DomainPlan(config: config)
        #expect(plan.kernel == DomainPlan.hvmLoader)
        #expect(plan.type == .hvm && plan.videoramKiB == 8192)
    }

    @Test func namesXlWouldReadAsSomethingElseAreRefused() {
        #expect(DomainPlan.validateName("web1") == nil)
        #expect(DomainPlan.validateName("") != nil)
        #expect(DomainPlan.validateName("123") != nil)
        #expect(DomainPlan.validateName("a/b") != nil)
    }
}

@Suite struct ToolstackCoreTests {
    @Test func createRecordsEverythingAndDestroyRemovesAll() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let plan = rig.plan("one")
        let id = try rig.toolstack.create(plan)
        #expect(id == 1)
        #expect(rig.store.introduced == [1])
        #expect(rig.store.nodes["/local/domain/1/name"]?.value == "one")
        #expect(try rig.toolstack.resolve("one") == 1)
        #expect(try rig.toolstack.resolve("1") == 1)
        #expect(try rig.toolstack.list().map(\.name) == ["Domain-0", "one"])
        #expect(rig.toolstack.record(1) == plan)
        #expect(throws: ToolstackError.nameInUse("one", domid: 1)) { _ = try rig.toolstack.create(rig.plan("one")) }
        try rig.toolstack.destroy(domid: 1)
        #expect(rig.store.nodes.isEmpty)
        #expect(rig.store.introduced.isEmpty)
        #expect(rig.leftovers().isEmpty)
        #expect(throws: ToolstackError.noSuchDomain("one")) { _ = try rig.toolstack.resolve("one") }
    }

    @Test(arguments: CreateStep.allCases)
    func aFailureAtAnyStepLeavesNothing(step: CreateStep) throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        rig.toolstack.faults = FaultInjection(step: step)
        #expect(throws: ToolstackError.injected(step)) { _ = try rig.toolstack.create(rig.plan("doomed")) }
        #expect(rig.store.nodes.isEmpty)
        #expect(rig.store.introduced.isEmpty)
        #expect(try rig.sim.listDomains().map(\.domid) == [0])
        #expect(rig.leftovers().isEmpty, "\(rig.leftovers())")
        #expect(try rig.sim.physInfo().freeKiB == (16 << 20) - (1 << 20))
    }

    @Test func realFailuresRollBackToo() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        var bad = rig.plan("badkernel")
        bad.kernel = "/etc/hostname"
        #expect(throws: ToolstackError.self) { _ = try rig.toolstack.create(bad) }
        rig.store.failCommitsWith = .EACCES
        #expect(throws: ToolstackError.store(StoreError("commit", error: .EACCES))) { _ = try rig.toolstack.create(rig.plan("nostore")) }
        rig.store.failCommitsWith = nil
        #expect(throws: ToolstackError.self) { _ = try rig.toolstack.create(rig.plan("huge", memory: 1 << 20)) }
        #expect(try rig.sim.listDomains().map(\.domid) == [0])
        #expect(rig.leftovers().isEmpty)
        #expect(rig.store.nodes.isEmpty)
    }

    /// The hypervisor's limit is the balloon target plus libxl's 1 MiB, and
    /// follows mem-set and mem-max; neither may cross the other's bound.
    @Test func memoryLimitsFollowLibxl() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        var plan = rig.plan("mem", memory: 128)
        plan.maxMemoryMiB = 256
        let id = try rig.toolstack.create(plan)
        func limit() throws -> UInt64? { try rig.sim.domainInfo(domid: id)?.maxMemoryKiB }
        #expect(try limit() == (128 + 1) << 10)
        try rig.toolstack.setMemoryTarget(domid: id, mib: 200)
        #expect(try limit() == (200 + 1) << 10)
        #expect(rig.store.nodes["/local/domain/\(id)/memory/target"]?.value == "\(200 << 10)")
        #expect(throws: ToolstackError.invalidPlan("memory_dynamic_max must be less than or equal to memory_static_max")) {
            try rig.toolstack.setMemoryTarget(domid: id, mib: 257)
        }
        #expect(throws: ToolstackError.invalidPlan("memory_static_max must be greater than or or equal to memory_dynamic_max")) {
            try rig.toolstack.setMemoryMax(domid: id, mib: 199)
        }
        try rig.toolstack.setMemoryMax(domid: id, mib: 512)
        #expect(try limit() == (512 + 1) << 10)
        #expect(rig.store.nodes["/local/domain/\(id)/memory/static-max"]?.value == "\(512 << 10)")
        try rig.toolstack.setMemoryTarget(domid: id, mib: 300)
        #expect(try limit() == (300 + 1) << 10)
        // Refused requests changed nothing.
        #expect(rig.store.nodes["/local/domain/\(id)/memory/target"]?.value == "\(300 << 10)")
    }

    @Test func actionsAfterShutdown() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        var plan = rig.plan("act")
        plan.onReboot = .restart
        plan.onPoweroff = .preserve
        let id = try rig.toolstack.create(plan)
        try rig.sim.shutdown(domid: id, reason: .reboot)
        let newID = try #require(try rig.toolstack.applyShutdownAction(domid: id, reason: .reboot))
        #expect(newID == 2)
        #expect(try rig.sim.domainInfo(domid: id) == nil)
        #expect(try rig.sim.domainInfo(domid: newID)?.uuid == plan.uuid)
        #expect(rig.store.nodes["/local/domain/2/vm"]?.value == "/vm/" + DomainHandle.format(plan.uuid))
        try rig.sim.shutdown(domid: newID, reason: .poweroff)
        #expect(try rig.toolstack.applyShutdownAction(domid: newID, reason: .poweroff) == nil)
        #expect(try rig.sim.domainInfo(domid: newID)?.shutdown == true)  // preserved
        #expect(rig.store.nodes["/local/domain/2/name"]?.value == "act")
    }

    @Test func filesOfAnOlderSwxlBecomeRows() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let plan = rig.plan("old")
        let id = try rig.sim.createDomain(DomainCreateSpec(uuid: plan.uuid, type: .pv, maxVCPUs: 1, maxMemoryKiB: 1024))
        let dir = rig.dir + "/toolstack"
        for sub in ["names", "domains", "journal"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
        }
        try "\(id)\n".write(toFile: dir + "/names/old", atomically: true, encoding: .utf8)
        try plan.encoded.write(toFile: dir + "/domains/\(id)", atomically: true, encoding: .utf8)
        // A create that died half way, with the old journal's lines.
        let dead = try rig.sim.createDomain(DomainCreateSpec(uuid: DomainHandle.random(), type: .pv, maxVCPUs: 1, maxMemoryKiB: 1024))
        #expect(FileManager.default.createFile(atPath: dir + "/names/dying", contents: Data()))
        try "name=dying\ndomid=\(dead)\nuuid=\(DomainHandle.format(DomainHandle.random()))\n".write(toFile: dir + "/journal/123-0", atomically: true, encoding: .utf8)
        let toolstack = Toolstack(hypervisor: rig.sim, store: rig.store, stateDir: rig.dir)
        toolstack.recoverInterruptedCreates()
        #expect(toolstack.record(id) == plan)
        #expect(try toolstack.resolve("old") == id)
        #expect(try rig.sim.listDomains().map(\.domid) == [0, id])
        #expect(toolstack.state.rows() == ["name old \(id)", "record \(id)"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix("toolstack.db") } == [])
    }

    @Test func aKilledCreateIsUndoneByTheNextCommand() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        // What a create that died after the store step leaves: its journal, not locked by anyone.
        let id = try rig.sim.createDomain(DomainCreateSpec(uuid: DomainHandle.random(), type: .pv, maxVCPUs: 1, maxMemoryKiB: 1024))
        let uuid = try #require(try rig.sim.domainInfo(domid: id)).uuid
        try rig.store.commit(removals: [], writes: [StoreNode("/local/domain/\(id)", "", XSPermissions(owner: 0)),
                                                   StoreNode("/vm/" + DomainHandle.format(uuid), "", XSPermissions(owner: 0)),
                                                   StoreNode("/local/domain/0/backend/vbd/\(id)/51712/state", "1", XSPermissions(owner: 0))])
        // Its journal names a process that is gone (this one, but started at another time).
        let me = try #require(ProcessIdentity.startTime(of: getpid()))
        let journal = try rig.toolstack.state.beginCreate(name: "ghost", owner: (getpid(), me + 1)) { _ in false }
        try rig.toolstack.state.noteDomain(journal: journal, domid: id, uuid: uuid)
        // A create still running is left alone.
        _ = try rig.toolstack.state.beginCreate(name: "alive", domainExists: { _ in false })
        #expect(rig.toolstack.state.interruptedCreates().map(\.name) == ["ghost"])
        #expect(throws: ToolstackError.nameInUse("alive", domid: 0)) { _ = try rig.toolstack.create(rig.plan("alive")) }
        rig.toolstack.recoverInterruptedCreates()
        #expect(try rig.sim.listDomains().map(\.domid) == [0])
        #expect(rig.store.nodes.keys.filter { !$0.hasSuffix("/vbd") }.isEmpty, "\(rig.store.nodes.keys.sorted())")
        #expect(rig.leftovers().filter { !$0.contains("alive") }.isEmpty, "\(rig.leftovers())")
        #expect(rig.toolstack.state.interruptedCreates().isEmpty)
        // The dead create's name is free again.
        #expect(try rig.toolstack.create(rig.plan("ghost")) == id + 1)
    }

    /// A create that finishes between another command's look at the journal
    /// and its look at the create's process (gone by then, having exited)
    /// must not be undone: only a journal row still as it was seen is
    /// adopted, and only once.
    @Test func aCreateThatFinishedMeanwhileIsNotUndone() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let me = try #require(ProcessIdentity.startTime(of: getpid()))
        // Seen with its process gone...
        let journal = try rig.toolstack.state.beginCreate(name: "done", owner: (getpid(), me + 1)) { _ in false }
        let seen = rig.toolstack.state.interruptedCreates()
        #expect(seen.map(\.name) == ["done"])
        // ...but it had finished: its row went before its process did.
        rig.toolstack.state.endCreate(journal: journal)
        #expect(seen.map { rig.toolstack.state.adopt($0) } == [false])
        // A row still there is adopted once: a second recoverer that saw it gets nothing.
        let dead = try rig.toolstack.state.beginCreate(name: "dead", owner: (getpid(), me + 1)) { _ in false }
        let seenTwice = rig.toolstack.state.interruptedCreates()
        #expect(seenTwice.map { rig.toolstack.state.adopt($0) } == [true])
        #expect(seenTwice.map { rig.toolstack.state.adopt($0) } == [false])
        // Adopted, it names this (live) process: no longer interrupted for anyone else.
        #expect(rig.toolstack.state.interruptedCreates().isEmpty)
        rig.toolstack.state.endCreate(journal: dead)
    }
}
