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
        let uuid = DomainUUID("5fc58030-816f-4e1d-8178-e72443c04bbb")!
        let config = guestConfig("g", uuid: uuid, memoryMiB: 64, kernel: "/k", cmdline: "quiet")
        let build = BuildResult(storePort: 1, storeMFN: 100, consolePort: 2, consoleMFN: 101)
        let nodes = StoreLayout.nodes(domid: 7, config: config, build: build, startTimeNs: 1_700_000_000_000_000_000)
            + StoreLayout.consoleNodes(domid: 7, build: build)
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

    /// What a disk is in xenstore, from the model: its backend kind and type
    /// (from the format unless named), `params` (QEMU's with the format),
    /// `mode` and `removable`.
    @Test func disksAreWrittenAsLibxlWritesThem() throws {
        let result = DomainConfiguration.parse(text: """
            name="g"
            kernel="/k"
            disk=[ '/dev/vg/a,raw,xvda,rw', '/img/b.qcow2,qcow2,xvdb,ro', ',,hdc:cdrom,r', 'backendtype=qdisk,/dev/x,raw,xvdc', 'backendtype=tap,/t,vhd,xvdd', 'backendtype=standalone,/s,raw,xvde', 'backend=3,/z,raw,xvdf' ]
            """, fileName: "t.cfg")
        let disks = try #require(result.configuration, "\(result.diagnostics)").disks
        #expect(disks.map(\.backendKind) == ["vbd", "qdisk", "qdisk", "qdisk", "vbd3", "vbd", "vbd"])
        #expect(disks.map(\.backendTypeName) == ["phy", "qdisk", "qdisk", "qdisk", "tap", "phy", "phy"])
        #expect(disks.map(\.params) == ["/dev/vg/a", "qcow2:/img/b.qcow2", "empty:", "/dev/x", "/t", "/s", "/z"])
        #expect(disks.map(\.mode) == ["w", "r", "r", "w", "w", "w", "w"])
        #expect(disks.map(\.removable) == [false, false, true, false, false, false, false])
        #expect(disks.map(\.backendDomid) == [0, 0, 0, 0, 0, 0, 3])
    }
}

@Suite struct ConfigResolutionTests {
    static let chosenMAC = MACAddress("00:16:3e:7f:00:01")!

    @Test func aConfigIsResolvedAsLibxlWould() throws {
        let text = """
            name = "web"
            uuid = "5fc58030-816f-4e1d-8178-e72443c04bbb"
            kernel = "boot/k"
            ramdisk = "/boot/r"
            extra = "console=hvc0"
            memory = 256
            maxmem = 512
            vcpus = 2
            maxvcpus = 4
            on_reboot = "destroy"
            on_crash = "preserve"
            disk = [ "img,raw,xvda,ro", "script=block-iscsi,vdev=xvdb,target=iqn.x:y" ]
            vif = [ "mac=00:16:3e:00:00:09,bridge=xenbr0", "bridge=xenbr1" ]
            sim_guest_script = "echo hello"
            """
        // Read without a directory: its paths stay relative until resolved.
        let result = DomainConfiguration.parse(text: text, fileName: "web.cfg")
        let config = try #require(result.configuration, "\(result.diagnostics)")
        let resolved = try config.resolved(randomMAC: { Self.chosenMAC }, currentDirectory: { "/srv/guests" })

        var expected = DomainConfiguration(name_label: "web", uuid: DomainUUID("5fc58030-816f-4e1d-8178-e72443c04bbb")!)
        expected.memory_dynamic_max = 256 << 20
        expected.memory_static_max = 512 << 20
        expected.VCPUs_at_startup = 2
        expected.VCPUs_max = 4
        expected.actions_after_reboot = .destroy
        expected.actions_after_crash = .preserve
        expected.PV_kernel = "/srv/guests/boot/k"
        expected.PV_ramdisk = "/boot/r"
        expected.PV_args = "console=hvc0"
        expected.platform = [DomainConfiguration.simGuestScriptKey: "echo hello"]
        var image = DiskDevice(target: "/srv/guests/img", vdev: "xvda")
        image.access = .readOnly
        var iscsi = DiskDevice(target: "iqn.x:y", vdev: "xvdb")  // a block script's name for it: not a path
        iscsi.script = "block-iscsi"
        expected.disks = [image, iscsi]
        var given = NetworkInterface(), chosen = NetworkInterface()
        given.mac = MACAddress("00:16:3e:00:00:09")
        given.bridge = "xenbr0"
        chosen.mac = Self.chosenMAC
        chosen.bridge = "xenbr1"
        expected.vifs = [given, chosen]
        #expect(resolved == expected)
        // Resolving again changes nothing: a restart creates the record as it is.
        #expect(try resolved.resolved(randomMAC: { MACAddress("00:16:3e:00:00:ff")! }, currentDirectory: { "/elsewhere" }) == resolved)
    }

    @Test func hvmWithoutKernelBootsHvmloaderWithItsVideoRAM() throws {
        let result = DomainConfiguration.parse(text: "name = \"x\"\ntype = \"hvm\"\nmemory = 64\n", fileName: "x.cfg")
        let config = try #require(result.configuration, "\(result.diagnostics)")
        var resolved = try config.resolved()
        #expect(resolved.PV_kernel == DomainConfiguration.hvmLoader)
        #expect(resolved.platform == ["videoram": "8"])
        func videoRAM(_ c: DomainConfiguration) -> String? {
            StoreLayout.nodes(domid: 1, config: c, build: BuildResult(storePort: 1, storeMFN: 1, consolePort: 2, consoleMFN: 2), startTimeNs: 0)
                .first { $0.path == "/local/domain/1/memory/videoram" }?.value
        }
        #expect(videoRAM(resolved) == "8192")
        resolved.platform["videoram"] = "16"
        #expect(videoRAM(try resolved.resolved()) == "16384")
        #expect(videoRAM(try guestConfig("pv", kernel: "/k").resolved()) == "0")
    }

    @Test func whatCreateCannotUseIsRefusedInXlsWords() throws {
        var noKernel = guestConfig("web", kernel: "")
        noKernel.PV_kernel = nil
        #expect(throws: ToolstackError.invalid("no kernel: a pv guest needs `kernel = \"...\"` (bootloaders are not supported)")) {
            _ = try noKernel.resolved()
        }
        #expect(throws: ToolstackError.invalid("domain name \"123\" is all digits and would be read as a domid")) {
            _ = try guestConfig("123", kernel: "/k").resolved()
        }
        var tiny = guestConfig("tiny", kernel: "/k")
        tiny.memory_dynamic_max = 512 << 10
        #expect(throws: ToolstackError.invalid("memory must be more than 0 MB")) { _ = try tiny.resolved() }
        // Create resolves: it refuses the same, and nothing is left behind.
        let rig = try Rig()
        defer { rig.cleanup() }
        #expect(throws: ToolstackError.invalid("memory must be more than 0 MB")) { _ = try rig.toolstack.create(tiny) }
        #expect(rig.leftovers().isEmpty && rig.store.nodes.isEmpty)
    }

    /// Memory goes to the hypervisor and xenstore in whole MiB: the record says what was given.
    @Test func memoryIsResolvedToWholeMiB() throws {
        var config = guestConfig("m", memoryMiB: 100, kernel: tinyKernel)
        config.memory_dynamic_max += 4096
        config.memory_static_max = 64 << 20
        let resolved = try config.resolved()
        #expect(resolved.memory_dynamic_max == 100 << 20 && resolved.memory_static_max == 100 << 20)
        let rig = try Rig()
        defer { rig.cleanup() }
        let id = try rig.toolstack.create(config)
        #expect(rig.toolstack.record(id) == resolved)
        #expect(try rig.sim.domainInfo(domid: id)?.maxMemoryKiB == (100 + 1) << 10)
    }

    @Test func namesXlWouldReadAsSomethingElseAreRefused() {
        #expect(DomainConfiguration.validateName("web1") == nil)
        #expect(DomainConfiguration.validateName("") == "the domain name is empty")
        #expect(DomainConfiguration.validateName("123") == "domain name \"123\" is all digits and would be read as a domid")
        #expect(DomainConfiguration.validateName("a/b") == "domain name \"a/b\" contains '/' or a control character")
    }

    /// libxl masks only the first random octet (the next two are whole), in Xen's 00:16:3e.
    @Test func randomMACsAreXensWithLibxlsRandomBits() throws {
        let macs = (0..<256).map { _ in MACAddress.randomXen() }
        #expect(macs.allSatisfy { Array($0.bytes.prefix(3)) == [0x00, 0x16, 0x3e] && $0.bytes[3] < 0x80 })
        // With 256 draws, a false failure has odds of 2^-256.
        #expect(macs.contains { $0.bytes[4] >= 0x80 } && macs.contains { $0.bytes[5] >= 0x80 })
        // Resolving uses it.
        var config = guestConfig("n", kernel: "/k")
        config.vifs = [NetworkInterface()]
        let mac = try #require(try config.resolved().vifs.first?.mac)
        #expect(Array(mac.bytes.prefix(3)) == [0x00, 0x16, 0x3e] && mac.bytes[3] < 0x80)
    }

    @Test func eachShutdownReasonHasItsAction() {
        var config = guestConfig("a", kernel: "/k")
        config.actions_after_shutdown = .preserve
        config.actions_after_reboot = .renameRestart
        config.actions_after_crash = .coredumpDestroy
        config.actions_after_watchdog = .restart
        config.actions_after_soft_reset = .destroy
        #expect(ShutdownReason.allCases.map { config.action(for: $0) }
                == [.preserve, .renameRestart, .preserve, .coredumpDestroy, .restart, .destroy])
        #expect(DomainAction.allCases.map(\.effective)
                == [.destroy, .restart, .renameRestart, .preserve, .destroy, .restart, .restart])
    }
}

@Suite struct ToolstackCoreTests {
    @Test func createRecordsEverythingAndDestroyRemovesAll() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let config = rig.config("one")
        let id = try rig.toolstack.create(config)
        #expect(id == 1)
        #expect(rig.store.introduced == [1])
        #expect(rig.store.nodes["/local/domain/1/name"]?.value == "one")
        #expect(try rig.toolstack.resolve("one") == 1)
        #expect(try rig.toolstack.resolve("1") == 1)
        #expect(try rig.toolstack.list().map(\.name) == ["Domain-0", "one"])
        #expect(rig.toolstack.record(1) == config)
        #expect(throws: ToolstackError.nameInUse("one", domid: 1)) { _ = try rig.toolstack.create(rig.config("one")) }
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
        #expect(throws: ToolstackError.injected(step)) { _ = try rig.toolstack.create(rig.config("doomed")) }
        #expect(rig.store.nodes.isEmpty)
        #expect(rig.store.introduced.isEmpty)
        #expect(try rig.sim.listDomains().map(\.domid) == [0])
        #expect(rig.leftovers().isEmpty, "\(rig.leftovers())")
        #expect(try rig.sim.physInfo().freeKiB == (16 << 20) - (1 << 20))
    }

    @Test func realFailuresRollBackToo() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        var bad = rig.config("badkernel")
        bad.PV_kernel = "/etc/hostname"
        #expect(throws: ToolstackError.self) { _ = try rig.toolstack.create(bad) }
        rig.store.failCommitsWith = .EACCES
        #expect(throws: ToolstackError.store(StoreError("commit", error: .EACCES))) { _ = try rig.toolstack.create(rig.config("nostore")) }
        rig.store.failCommitsWith = nil
        #expect(throws: ToolstackError.self) { _ = try rig.toolstack.create(rig.config("huge", memory: 1 << 20)) }
        #expect(try rig.sim.listDomains().map(\.domid) == [0])
        #expect(rig.leftovers().isEmpty)
        #expect(rig.store.nodes.isEmpty)
    }

    /// The hypervisor's limit is the balloon target plus libxl's 1 MiB, and
    /// follows mem-set and mem-max; neither may cross the other's bound.
    @Test func memoryLimitsFollowLibxl() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        var config = rig.config("mem", memory: 128)
        config.memory_static_max = 256 << 20
        let id = try rig.toolstack.create(config)
        func limit() throws -> UInt64? { try rig.sim.domainInfo(domid: id)?.maxMemoryKiB }
        #expect(try limit() == (128 + 1) << 10)
        try rig.toolstack.setMemoryTarget(domid: id, mib: 200)
        #expect(try limit() == (200 + 1) << 10)
        #expect(rig.store.nodes["/local/domain/\(id)/memory/target"]?.value == "\(200 << 10)")
        #expect(throws: ToolstackError.invalid("memory_dynamic_max must be less than or equal to memory_static_max")) {
            try rig.toolstack.setMemoryTarget(domid: id, mib: 257)
        }
        #expect(throws: ToolstackError.invalid("memory_static_max must be greater than or or equal to memory_dynamic_max")) {
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
        var config = rig.config("act")
        config.actions_after_reboot = .restart
        config.actions_after_shutdown = .preserve
        let id = try rig.toolstack.create(config)
        try rig.sim.shutdown(domid: id, reason: .reboot)
        let newID = try #require(try rig.toolstack.applyShutdownAction(domid: id, reason: .reboot))
        #expect(newID == 2)
        #expect(try rig.sim.domainInfo(domid: id) == nil)
        #expect(try rig.sim.domainInfo(domid: newID)?.uuid == config.uuid)
        #expect(rig.store.nodes["/local/domain/2/vm"]?.value == "/vm/" + config.uuid.description)
        try rig.sim.shutdown(domid: newID, reason: .poweroff)
        #expect(try rig.toolstack.applyShutdownAction(domid: newID, reason: .poweroff) == nil)
        #expect(try rig.sim.domainInfo(domid: newID)?.shutdown == true)  // preserved
        #expect(rig.store.nodes["/local/domain/2/name"]?.value == "act")
    }

    @Test func filesOfAnOlderSwxlBecomeRows() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        // Its record: a plan as the last swxl with plans wrote it.
        let id = try rig.sim.createDomain(DomainCreateSpec(uuid: LegacyRecordTests.pvGuest.uuid, type: .pv, maxVCPUs: 1, maxMemoryKiB: 1024))
        let dir = rig.dir + "/toolstack"
        for sub in ["names", "domains", "journal"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
        }
        try "\(id)\n".write(toFile: dir + "/names/web2", atomically: true, encoding: .utf8)
        try recordOfAPVGuest.write(toFile: dir + "/domains/\(id)", atomically: true, encoding: .utf8)
        // A create that died half way, with the old journal's lines.
        let dead = try rig.sim.createDomain(DomainCreateSpec(uuid: DomainUUID.random(), type: .pv, maxVCPUs: 1, maxMemoryKiB: 1024))
        #expect(FileManager.default.createFile(atPath: dir + "/names/dying", contents: Data()))
        try "name=dying\ndomid=\(dead)\nuuid=\(DomainUUID.random())\n".write(toFile: dir + "/journal/123-0", atomically: true, encoding: .utf8)
        let toolstack = Toolstack(hypervisor: rig.sim, store: rig.store, stateDir: rig.dir)
        toolstack.recoverInterruptedCreates()
        #expect(toolstack.record(id) == LegacyRecordTests.pvGuest)
        #expect(try toolstack.resolve("web2") == id)
        #expect(try rig.sim.listDomains().map(\.domid) == [0, id])
        #expect(toolstack.state.rows() == ["name web2 \(id)", "record \(id)"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix("toolstack.db") } == [])
    }

    @Test func aKilledCreateIsUndoneByTheNextCommand() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        // What a create that died after the store step leaves: its journal, not locked by anyone.
        let id = try rig.sim.createDomain(DomainCreateSpec(uuid: DomainUUID.random(), type: .pv, maxVCPUs: 1, maxMemoryKiB: 1024))
        let uuid = try #require(try rig.sim.domainInfo(domid: id)).uuid
        try rig.store.commit(removals: [], writes: [StoreNode("/local/domain/\(id)", "", XSPermissions(owner: 0)),
                                                   StoreNode("/vm/" + uuid.description, "", XSPermissions(owner: 0)),
                                                   StoreNode("/local/domain/0/backend/vbd/\(id)/51712/state", "1", XSPermissions(owner: 0))])
        // Its journal names a process that is gone (this one, but started at another time).
        let me = try #require(ProcessIdentity.startTime(of: getpid()))
        let journal = try rig.toolstack.state.beginCreate(name: "ghost", owner: (getpid(), me + 1)) { _ in false }
        try rig.toolstack.state.noteDomain(journal: journal, domid: id, uuid: uuid)
        // A create still running is left alone.
        _ = try rig.toolstack.state.beginCreate(name: "alive", domainExists: { _ in false })
        #expect(rig.toolstack.state.interruptedCreates().map(\.name) == ["ghost"])
        #expect(throws: ToolstackError.nameInUse("alive", domid: 0)) { _ = try rig.toolstack.create(rig.config("alive")) }
        rig.toolstack.recoverInterruptedCreates()
        #expect(try rig.sim.listDomains().map(\.domid) == [0])
        #expect(rig.store.nodes.keys.filter { !$0.hasSuffix("/vbd") }.isEmpty, "\(rig.store.nodes.keys.sorted())")
        #expect(rig.leftovers().filter { !$0.contains("alive") }.isEmpty, "\(rig.leftovers())")
        #expect(rig.toolstack.state.interruptedCreates().isEmpty)
        // The dead create's name is free again.
        #expect(try rig.toolstack.create(rig.config("ghost")) == id + 1)
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
