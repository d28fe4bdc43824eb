import Foundation
import Testing
@testable import DomainConfig

func disk(_ target: String?, _ vdev: String, format: DiskDevice.Format = .raw, access: DiskDevice.Access = .readWrite,
          cdrom: Bool = false) -> DiskDevice {
    var d = DiskDevice(target: target, vdev: vdev)
    d.format = format
    d.access = access
    d.deviceType = cdrom ? .cdrom : .disk
    return d
}

func model(_ name: String, _ type: DomainType = .pv, memoryMiB: UInt64 = 32, maxmemMiB: UInt64? = nil,
           vcpus: Int = 1, maxvcpus: Int? = nil) -> DomainConfiguration {
    var c = DomainConfiguration(name_label: name, uuid: fixedUUID)
    c.type = type
    c.memory_dynamic_max = memoryMiB << 20
    c.memory_static_max = (maxmemMiB ?? memoryMiB) << 20
    c.VCPUs_at_startup = vcpus
    c.VCPUs_max = maxvcpus ?? vcpus
    return c
}

func readXenExample(_ name: String) throws -> ParseResult {
    let path = "/etc/xen/" + name
    try #require(FileManager.default.fileExists(atPath: path), "Xen's \(path) is missing (xen-utils-4.17 installs it)")
    let text = try String(contentsOfFile: path, encoding: .utf8)
    return DomainConfiguration.parse(text: text, fileName: path, options: fixedOptions)
}

@Suite struct XenExampleTests {
    @Test func hvmExample() throws {
        let r = try readXenExample("xlexample.hvm")
        var expected = model("example.hvm", .hvm, memoryMiB: 128, vcpus: 2)
        expected.vifs = [NetworkInterface()]
        expected.disks = [disk("/dev/vg/guest-volume", "xvda")]
        expected.platform = ["sdl": "1"]
        #expect(r.diagnostics == [])
        #expect(r.format == .xl)
        #expect(r.configuration == expected)
    }

    @Test func pvLinuxExample() throws {
        let r = try readXenExample("xlexample.pvlinux")
        var expected = model("example.pvlinux", .pv, memoryMiB: 128, vcpus: 2)
        expected.PV_kernel = "/boot/vmlinuz"
        expected.PV_args = "root=/dev/xvda1"
        expected.vifs = [NetworkInterface()]
        expected.disks = [disk("/dev/vg/guest-volume", "xvda")]
        #expect(r.diagnostics == [])
        #expect(r.configuration == expected)
    }

    @Test func pvhLinuxExample() throws {
        let r = try readXenExample("xlexample.pvhlinux")
        var expected = model("example.pvhlinux", .pvh, memoryMiB: 512, vcpus: 4)
        expected.PV_kernel = "/boot/vmlinuz"
        expected.PV_args = "root=/dev/xvda1"
        expected.vifs = [NetworkInterface()]
        expected.disks = [disk("/dev/zvol/tank/guest-volume", "xvda")]
        #expect(r.diagnostics == [])
        #expect(r.configuration == expected)
    }
}

@Suite struct ModelTests {
    @Test func defaultsAreThoseOfXlCfg() {
        let r = parseXL("name = \"g\"\nkernel = \"/k\"\n")
        var expected = model("g")
        expected.PV_kernel = "/k"
        #expect(r.diagnostics == [])
        #expect(r.configuration == expected)
        let c = r.configuration!
        #expect(c.actions_after_shutdown == .destroy)
        #expect(c.actions_after_reboot == .restart)
        #expect(c.actions_after_crash == .destroy)
        #expect(c.actions_after_watchdog == .destroy)
        #expect(c.actions_after_soft_reset == .softReset)
        #expect(c.memoryMiB == 32 && c.maxmemMiB == 32)
    }

    @Test func everyTypedKey() {
        let r = parseXL("""
        name = "full"
        uuid = "6B0A2E0C-1111-4222-8333-444455556666"
        type = "pvh"
        memory = 256
        maxmem = 1024
        vcpus = 2
        maxvcpus = 4
        cpus = "0-3,^1"
        cpus_soft = "nodes:0"
        on_poweroff = "preserve"
        on_reboot = "rename-restart"
        on_crash = "coredump-destroy"
        on_watchdog = "coredump-restart"
        on_soft_reset = "destroy"
        kernel = "/boot/k"
        ramdisk = "/boot/r"
        cmdline = "console=hvc0"
        bootloader_args = [ "-q", "--entry=1" ]
        disk = [ "/img/a,qcow2,xvda,rw", "vdev=xvdb,access=ro,target=/img/b" ]
        vif = [ "mac=00:16:3E:01:02:03,bridge=br0,ip=10.0.0.2,script=vif-bridge,model=e1000,type=ioemu,vifname=v0,rate=10Mb/s@20ms,mtu=9000,backend=netdom,gatewaydev=eth0" ]
        vfb = [ "vnc=1,vnclisten=0.0.0.0,vncdisplay=3,vncunused=0,vncpasswd=pw,sdl=0,keymap=de" ]
        vkb = [ "backend-type=linux" ]
        channel = [ "name=org.example.0,connection=pty" ]
        pci = [ "0000:03:00.1@04,permissive=1,rdm_policy=relaxed", "04:00.0" ]
        serial = [ "pty", "/dev/ttyS0" ]
        acpi = 1
        usbdev = [ "hostbus=1,hostaddr=2" ]
        """)
        var e = model("full", .pvh, memoryMiB: 256, maxmemMiB: 1024, vcpus: 2, maxvcpus: 4)
        e.uuid = DomainUUID("6b0a2e0c-1111-4222-8333-444455556666")!
        e.cpus = .cpus([0, 2, 3])
        e.cpus_soft = .nodes([0])
        e.actions_after_shutdown = .preserve
        e.actions_after_reboot = .renameRestart
        e.actions_after_crash = .coredumpDestroy
        e.actions_after_watchdog = .coredumpRestart
        e.actions_after_soft_reset = .destroy
        e.PV_kernel = "/boot/k"
        e.PV_ramdisk = "/boot/r"
        e.PV_args = "console=hvc0"
        e.PV_bootloader_args = ["-q", "--entry=1"]
        e.disks = [disk("/img/a", "xvda", format: .qcow2), disk("/img/b", "xvdb", access: .readOnly)]
        var vif = NetworkInterface()
        vif.mac = MACAddress("00:16:3e:01:02:03")
        vif.bridge = "br0"
        vif.ip = "10.0.0.2"
        vif.script = "vif-bridge"
        vif.model = "e1000"
        vif.type = "ioemu"
        vif.vifname = "v0"
        vif.rate = "10Mb/s@20ms"
        vif.mtu = 9000
        vif.backend = "netdom"
        vif.gatewaydev = "eth0"
        e.vifs = [vif]
        var vfb = FramebufferDevice()
        vfb.vnc = true
        vfb.vnclisten = "0.0.0.0"
        vfb.vncdisplay = 3
        vfb.vncunused = false
        vfb.vncpasswd = "pw"
        vfb.sdl = false
        vfb.keymap = "de"
        e.vfbs = [vfb]
        var vkb = KeyboardDevice()
        vkb.backendType = "linux"
        e.vkbs = [vkb]
        e.channels = [ChannelDevice(name: "org.example.0", connection: "pty")]
        var p1 = PCIDevice(domain: 0, bus: 3, device: 0, function: 1)
        p1.vslot = 4
        p1.permissive = true
        p1.rdmPolicy = "relaxed"
        e.pcis = [p1, PCIDevice(bus: 4, device: 0, function: 0)]
        e.serials = ["pty", "/dev/ttyS0"]
        e.platform = ["acpi": "1"]
        e.platformLists = ["usbdev": ["hostbus=1,hostaddr=2"]]
        #expect(r.diagnostics == [])
        #expect(r.configuration == e)
    }

    @Test func rootAndExtraMakeTheCommandLine() {
        #expect(parseXL("name=\"g\"\nkernel=\"/k\"\nroot=\"/dev/xvda1 ro\"\nextra=\"quiet\"\n").configuration?.PV_args == "root=/dev/xvda1 ro quiet")
        #expect(parseXL("name=\"g\"\nkernel=\"/k\"\nroot=\"/dev/xvda1\"\n").configuration?.PV_args == "root=/dev/xvda1")
        let both = parseXL("name=\"g\"\nkernel=\"/k\"\ncmdline=\"c\"\nextra=\"e\"\n")
        #expect(both.configuration?.PV_args == "c")
        #expect(messages(both) == ["t.cfg:4:1: warning: `extra` is ignored because `cmdline` is set"])
    }

    @Test func builderHvmIsTheOldWayToSayTypeHvm() {
        #expect(parseXL("name=\"g\"\nbuilder=\"hvm\"\n").configuration?.type == .hvm)
    }

    @Test func everyValidationErrorInOneRun() {
        let r = parseXL("""
        name = "bad name"
        type = "pvx"
        memory = 0
        vcpus = 4
        maxvcpus = 2
        on_crash = "restrat"
        uuid = "not-a-uuid"
        disk = [ "/a,raw,xvda,rw", "/b,raw,xvda,rw", "/c,raw,floppy0,rw" ]
        vif = [ "mac=01:16:3e:00:00:01", "mac=00:16:3e:zz:00:01", "bridge" ]
        pci = [ "03:00" ]
        cpus = "3-1"
        channel = [ "connection=socket" ]
        kernel = [ "/k" ]
        """)
        #expect(r.configuration == nil)
        #expect(messages(r) == [
            "t.cfg:1:8: error: the domain name \"bad name\" contains a space: only letters, digits and _ - . : / + are allowed",
            "t.cfg:2:8: error: `type` must be pv, pvh or hvm, not \"pvx\"",
            "t.cfg:3:10: error: `memory` must be at least 1, not 0",
            "t.cfg:4:9: error: `vcpus` (4) is above `maxvcpus` (2)",
            "t.cfg:6:12: error: `on_crash` must be one of destroy, restart, rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset, not \"restrat\" (did you mean \"restart\"?)",
            "t.cfg:7:8: error: bad uuid \"not-a-uuid\": expected 8-4-4-4-12 hex digits",
            "t.cfg:8:28: error: duplicate vdev `xvda` (first used at line 8)",
            "t.cfg:8:46: error: bad vdev `floppy0`: expected a name like xvda, xvdb2, hda (to hdd), sdb (to sdp) or d0p1",
            "t.cfg:9:9: error: MAC address `01:16:3e:00:00:01` is a multicast address (the low bit of the first octet is set)",
            "t.cfg:9:34: error: bad MAC address `00:16:3e:zz:00:01`: expected six hex octets like 00:16:3e:12:34:56",
            "t.cfg:9:59: error: `bridge` needs a value (`bridge=...`) in vif spec `bridge`",
            "t.cfg:10:9: error: bad PCI address `03:00`: expected [DDDD:]BB:DD.F, e.g. 0000:03:00.0",
            "t.cfg:11:8: error: `cpus`: bad CPU list `3-1`: the range `3-1` runs backwards",
            "t.cfg:12:13: error: a channel needs `name=` in channel spec `connection=socket`",
            "t.cfg:12:13: error: a socket channel needs `path=` in channel spec `connection=socket`",
            "t.cfg:13:10: error: `kernel` must be a single value, not a list",
        ])
    }

    @Test func missingNameAndKernel() {
        let r = parseXL("memory = 64\n")
        #expect(messages(r) == [
            "t.cfg:1:1: error: missing `name`: every domain needs one, e.g. `name = \"guest\"`",
            "t.cfg:1:1: error: a PV guest needs `kernel` (or `bootloader`): e.g. `kernel = \"/boot/vmlinuz\"`",
        ])
    }

    @Test func memoryDefaultsToMaxmemAsInLibxl() {
        let c = parseXL("name=\"g\"\nkernel=\"/k\"\nmaxmem=512\n").configuration
        #expect(c?.memoryMiB == 512)
        #expect(c?.maxmemMiB == 512)
    }

    @Test func maxmemBelowMemory() {
        let r = parseXL("name=\"g\"\nkernel=\"/k\"\nmemory=512\nmaxmem=256\n")
        #expect(messages(r) == ["t.cfg:4:8: error: `maxmem` (256 MiB) is below `memory` (512 MiB): maxmem must be at least memory"])
    }

    @Test func namesXendWouldRefuse() {
        #expect(nameProblem("web-1.example:a/b+c_d") == nil)
        #expect(nameProblem("") == "the domain name is empty")
        #expect(nameProblem("Domain-0") == "the name \"Domain-0\" belongs to dom0")
        #expect(nameProblem("42") == "the domain name \"42\" is all digits: it would be taken for a domain id")
        #expect(nameProblem("a;b") == "the domain name \"a;b\" contains `;`: only letters, digits and _ - . : / + are allowed")
        #expect(nameProblem(String(repeating: "a", count: 65)) == "the domain name is longer than 64 characters")
    }

    @Test func unknownKeysWarnWithASuggestionAndAreKept() {
        let r = parseXL("name=\"g\"\nkernel=\"/k\"\nmemroy=128\nfrobnicate=[1]\n")
        #expect(messages(r) == [
            "t.cfg:3:1: warning: unknown key `memroy` (did you mean `memory`?)",
            "t.cfg:4:1: warning: unknown key `frobnicate`",
        ])
        let zero = SourceLocation(line: 0, column: 0)
        #expect(r.configuration?.unknown == ["memroy": .string("128", zero), "frobnicate": .list([.string("1", zero)], zero)])
    }

    /// `sim_guest_script` is swxl's own key (the embedded host's simulated guest), not a typo.
    @Test func simGuestScriptIsAKnownKey() {
        let r = parseXL("name=\"g\"\nkernel=\"/k\"\nsim_guest_script=\"/bin/guest.sh\"\n")
        #expect(messages(r) == [])
        #expect(r.configuration?.platform == ["sim_guest_script": "/bin/guest.sh"])
        #expect(r.configuration?.unknown == [:])
    }

    @Test func kernelFilesMustExistUnlessABootloaderReadsThem() {
        let options = ParseOptions(baseDirectory: "/cfg", fileExists: { $0 == "/cfg/kernels/ok" }, makeUUID: { fixedUUID })
        let ok = parseXL("name=\"g\"\nkernel=\"kernels/ok\"\n", options: options)
        #expect(ok.configuration?.PV_kernel == "/cfg/kernels/ok")
        let missing = parseXL("name=\"g\"\nkernel=\"kernels/gone\"\nramdisk=\"/boot/initrd\"\n", options: options)
        #expect(messages(missing) == [
            "t.cfg:2:8: error: kernel file \"kernels/gone\" (/cfg/kernels/gone) does not exist",
            "t.cfg:3:9: error: ramdisk file \"/boot/initrd\" does not exist",
        ])
        let bootloader = parseXL("name=\"g\"\nkernel=\"/inside/guest\"\nbootloader=\"pygrub\"\n", options: options)
        #expect(bootloader.diagnostics == [])
    }

    @Test func relativeDiskPathsResolveAgainstTheConfigDirectory() {
        let options = ParseOptions(baseDirectory: "/cfg/", makeUUID: { fixedUUID })
        let r = parseXL("name=\"g\"\nkernel=\"/k\"\ndisk=['img/a.img,raw,xvda,rw','/abs,raw,xvdb,rw','iscsi:iqn.x,xvdc,w']\n", options: options)
        #expect(r.configuration?.disks.map(\.target) == ["/cfg/img/a.img", "/abs", "iqn.x"])
    }

    @Test func overridesActLikeExtraLines() {
        let base = "name = \"g\"\nkernel = \"/k\"\nmemory = 128\nvif = [ 'bridge=a' ]\n"
        let r = parseXL(base, overrides: ["memory=512", "name=web1", "vif+=['bridge=b']", "extra=\"quiet splash\""])
        #expect(r.diagnostics == [])
        #expect(r.configuration?.memoryMiB == 512)
        #expect(r.configuration?.name_label == "web1")
        #expect(r.configuration?.vifs.map(\.bridge) == ["a", "b"])
        #expect(r.configuration?.PV_args == "quiet splash")

        let bad = parseXL(base, overrides: ["noequals", "Memory=1", "memory=0"])
        #expect(messages(bad) == [
            "<command line>:1:1: error: bad override `noequals`: expected KEY=VALUE, e.g. memory=512 or name=web1",
            "<command line>:2:1: error: bad override `Memory=1`: expected KEY=VALUE, e.g. memory=512 or name=web1",
            "<command line>:3:8: error: `memory` must be at least 1, not 0",
        ])
    }

    @Test func hvmVsTypeMismatchesAreCaught() {
        let r = parseXL("name=\"g\"\ntype=\"pvh\"\n")
        #expect(messages(r) == ["t.cfg:1:1: error: a PVH guest needs `kernel` (or `bootloader` or `firmware`)"])
    }

    @Test func diskSpecProblemsArePlacedInsideTheSpec() {
        let r = parseXL("name=\"g\"\nkernel=\"/k\"\ndisk = [ '/a,qcow3,xvda', \"vdev=xvdb,bogus=1,target=/b\", '\\x2fc,raw,xvdc,rx' ]\n")
        #expect(messages(r) == [
            "t.cfg:3:14: error: unknown value for format `qcow3` in disk spec `/a,qcow3,xvda`",
            "t.cfg:3:38: error: unknown disk parameter `bogus` in disk spec `vdev=xvdb,bogus=1,target=/b`",
            // Written with an escape: the place is the string's.
            "t.cfg:3:58: error: unknown value for access `rx` in disk spec `/c,raw,xvdc,rx`",
        ])
    }
}

/// A `vkb`'s options in libxl's JSON, as xl's parse_vkb_config fills
/// libxl_device_vkb (they were dropped: only the devid was written).
@Suite struct KeyboardJSONTests {
    /// C's strtoul(s, NULL, 0), which xl reads each number and flag with.
    @Test func numbersAreReadAsStrtoulReadsThem() {
        let cases: [(String, UInt64)] = [("768", 768), ("0x400", 1024), ("0X1f", 31), ("010", 8), ("09", 0),
                                         ("0x", 0), ("  12abc", 12), ("+5", 5), ("-1", .max), ("abc", 0), ("", 0),
                                         ("99999999999999999999", .max)]
        for (text, value) in cases { #expect(xlStrtoul(text) == value, "\(text)") }
    }

    /// The vfb's own keyboard keeps only its devid; the config's keyboards
    /// carry backend, type, unique id, the features (true when not 0;
    /// multi-touch on when one of its sizes is given) and the sizes, in the
    /// IDL's order, with what is unset left out.
    @Test func keyboardsCarryTheirOptions() throws {
        let r = DomainConfiguration.parse(text: """
            name = "k"
            kernel = "/k"
            memory = 64
            vfb = [ 'vnc=1' ]
            vkb = [ 'backend=Domain-0,backend-type=linux,unique-id=kb1,feature-abs-pointer=1,width=0x400,height=768', \
            'backend-type=qemu,multi-touch-width=10,multi-touch-height=20,multi-touch-num-contacts=5,feature-disable-keyboard=2,feature-raw-pointer=0' ]
            """, fileName: "k.cfg", format: .xl, options: fixedOptions)
        let config = try #require(r.configuration, "\(r.diagnostics)")
        guard case .object(let top) = config.libxlParsedConfig(host: LibxlHostFacts()).json,
              let vkbs = top.first(where: { $0.0 == "vkbs" })?.1 else {
            Issue.record("no vkbs")
            return
        }
        #expect(vkbs == .array([
            .object([("devid", .number("0"))]),
            .object([("backend_domname", .string("Domain-0")), ("devid", .number("1")), ("backend_type", .string("linux")),
                     ("unique_id", .string("kb1")), ("feature_abs_pointer", .bool(true)),
                     ("width", .number("1024")), ("height", .number("768"))]),
            .object([("devid", .number("2")), ("backend_type", .string("qemu")), ("feature_disable_keyboard", .bool(true)),
                     ("feature_multi_touch", .bool(true)), ("multi_touch_width", .number("10")),
                     ("multi_touch_height", .number("20")), ("multi_touch_num_contacts", .number("5"))]),
        ]))
    }
}
