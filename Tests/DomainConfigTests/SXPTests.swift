import Testing
@testable import DomainConfig

@Suite struct SXPTests {
    func read(_ text: String) -> ParseResult {
        DomainConfiguration.parse(text: text, fileName: "g.sxp", format: .auto, options: fixedOptions)
    }

    @Test func theIssuesExample() {
        let r = read("(vm (name g) (memory 256) (image (linux (kernel /boot/vmlinuz) (ramdisk /boot/initrd) (args 'console=hvc0'))) (device (vbd (uname phy:/dev/vg/g) (dev xvda) (mode w))) (device (vif (bridge xenbr0) (mac 00:16:3e:00:00:01))))")
        var e = model("g", memoryMiB: 256)
        e.PV_kernel = "/boot/vmlinuz"
        e.PV_ramdisk = "/boot/initrd"
        e.PV_args = "console=hvc0"
        e.disks = [disk("/dev/vg/g", "xvda")]
        var vif = NetworkInterface()
        vif.bridge = "xenbr0"
        vif.mac = MACAddress("00:16:3e:00:00:01")
        e.vifs = [vif]
        #expect(r.diagnostics == [])
        #expect(r.format == .sxp)
        #expect(r.configuration == e)
    }

    /// As `xm list -l` printed a running HVM domain: runtime fields are ignored.
    @Test func xmListLongOutput() {
        let r = read("""
        (domain
            (domid 3)
            (on_crash restart)
            (uuid 5d4b6bd7-bd2e-2a09-0a96-bc5f6e4a8a6c)
            (bootloader_args )
            (vcpus 2)
            (name winxp)
            (on_poweroff destroy)
            (on_reboot restart)
            (bootloader )
            (maxmem 512)
            (memory 512)
            (shadow_memory 5)
            (cpu_weight 256)
            (cpu_cap 0)
            (features )
            (on_xend_start ignore)
            (on_xend_stop ignore)
            (start_time 1228468146.85)
            (cpu_time 24.531006371)
            (online_vcpus 2)
            (image
                (hvm
                    (kernel /usr/lib/xen/boot/hvmloader)
                    (device_model /usr/lib64/xen/bin/qemu-dm)
                    (acpi 1)
                    (apic 1)
                    (boot dc)
                    (serial pty)
                    (vnc 1)
                    (notes (SUSPEND_CANCEL 1))
                )
            )
            (status 2)
            (state -b----)
            (store_mfn 262142)
            (device
                (vif
                    (bridge xenbr0)
                    (mac 00:16:3e:58:04:3f)
                    (script vif-bridge)
                    (uuid 41b0f4ad-3a6b-1bb6-5f87-6bc1f64ea8bc)
                    (backend 0)
                    (type ioemu)
                )
            )
            (device
                (vbd
                    (uname file:/var/lib/xen/images/winxp.img)
                    (uuid 0c39a9d8-0c18-2bcc-b3f8-48f7f3e6c79b)
                    (mode w)
                    (dev hda:disk)
                    (backend 0)
                    (bootable 1)
                )
            )
            (device
                (vbd
                    (uname file:/srv/iso/winxp.iso)
                    (mode r)
                    (dev hdc:cdrom)
                )
            )
            (device (vfb (vnc 1) (vncunused 1) (location 127.0.0.1:5900)))
            (device (console (protocol vt100) (location 2)))
        )
        """)
        #expect(r.errors == [])
        #expect(r.warnings == [])
        var e = model("winxp", .hvm, memoryMiB: 512, vcpus: 2)
        e.uuid = DomainUUID("5d4b6bd7-bd2e-2a09-0a96-bc5f6e4a8a6c")!
        e.actions_after_crash = .restart
        e.PV_kernel = "/usr/lib/xen/boot/hvmloader"
        e.platform = ["device_model": "/usr/lib64/xen/bin/qemu-dm", "acpi": "1", "apic": "1", "boot": "dc", "vnc": "1"]
        e.serials = ["pty"]
        var vif = NetworkInterface()
        vif.bridge = "xenbr0"
        vif.mac = MACAddress("00:16:3e:58:04:3f")
        vif.script = "vif-bridge"
        vif.type = "ioemu"
        e.vifs = [vif]
        e.disks = [disk("/var/lib/xen/images/winxp.img", "hda"),
                   disk("/srv/iso/winxp.iso", "hdc", access: .readOnly, cdrom: true)]
        var vfb = FramebufferDevice()
        vfb.vnc = true
        vfb.vncunused = true
        e.vfbs = [vfb]
        var con = ConsoleDevice()
        con.location = "2"
        e.consoles = [con]
        #expect(r.configuration == e)
    }

    @Test func xendUnamePrefixes() throws {
        let r = read("""
        (vm (name g) (image (linux (kernel /k)))
            (device (vbd (uname tap:aio:/img/a) (dev xvda) (mode w)))
            (device (vbd (uname tap:qcow2:/img/b) (dev xvdb) (mode r)))
            (device (vbd (uname tap2:tapdisk:vhd:/img/c) (dev xvdc) (mode w)))
            (device (vbd (uname iscsi:iqn.2001-05.com.example:disk) (dev xvdd) (mode w)))
            (device (vbd (dev hdc:cdrom) (mode r))))
        """)
        var iscsi = disk("iqn.2001-05.com.example:disk", "xvdd")
        iscsi.script = "block-iscsi"
        #expect(r.diagnostics == [])
        #expect(try #require(r.configuration).disks == [
            disk("/img/a", "xvda"), disk("/img/b", "xvdb", format: .qcow2, access: .readOnly), disk("/img/c", "xvdc", format: .vhd),
            iscsi, disk(nil, "hdc", format: .empty, access: .readOnly, cdrom: true),
        ])
    }

    @Test func syntaxErrorsHaveTheirPlace() {
        #expect(read("(vm (name g)\n  (memory 1").errors.map(\.description) == ["g.sxp:2:3: error: unbalanced `(`: the list is not closed"])
        #expect(read("(vm (name 'g)").errors.map(\.description) == ["g.sxp:1:11: error: unterminated string"])
        #expect(read("(vm (name g)))").errors.map(\.description) == ["g.sxp:1:14: error: unbalanced `)`"])
        #expect(read("(config (name g))").errors.map(\.description) == ["g.sxp:1:1: error: an SXP config is one `(vm ...)` expression"])
    }

    @Test func modelErrorsHaveTheirPlace() {
        let r = read("""
        (vm (name 'a b')
            (memory 512) (maxmem 256)
            (on_crash explode)
            (image (linux (kernel /k)))
            (device (vbd (uname phy:/dev/x) (dev xvda) (mode x)))
            (device (vif (mac 01:00:00:00:00:00)))
            (colour blue))
        """)
        #expect(r.diagnostics.map(\.description) == [
            "g.sxp:1:5: error: the domain name \"a b\" contains a space: only letters, digits and _ - . : / + are allowed",
            "g.sxp:2:18: error: `maxmem` (256 MiB) is below `memory` (512 MiB)",
            "g.sxp:3:5: error: `on_crash` must be one of destroy, restart, rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset, not \"explode\"",
            "g.sxp:5:48: error: unknown value for access `x`",
            "g.sxp:6:18: error: MAC address `01:00:00:00:00:00` is a multicast address (the low bit of the first octet is set)",
            "g.sxp:7:5: warning: unknown field `colour`",
        ])
    }

    @Test func quotingAndEscapes() {
        let e = SExpr.list([.atom("args", SourceLocation(line: 0, column: 0)),
                            .atom("it's \"x\"\n\\", SourceLocation(line: 0, column: 0))], SourceLocation(line: 0, column: 0))
        #expect(e.text() == #"(args 'it\'s "x"\n\\')"#)
        let (parsed, d) = SXPParser.parse(text: e.text(), file: "f")
        #expect(d == [])
        #expect(parsed.first?.items?[1].atom == "it's \"x\"\n\\")
        #expect(sxpQuote("phy:/dev/vg/g") == "phy:/dev/vg/g")
        #expect(sxpQuote("console=hvc0") == "'console=hvc0'")
        #expect(sxpQuote("") == "''")
    }
}

@Suite struct OverridesOnOtherFormatsTests {
    @Test func overridesApplyToSXPAndJSON() throws {
        let sxp = "(vm (name g) (memory 256) (image (linux (kernel /k))))"
        let r = DomainConfiguration.parse(text: sxp, fileName: "g.sxp", overrides: ["memory=512", "name=web1"], options: fixedOptions)
        #expect(r.diagnostics == [])
        #expect(r.format == .sxp)
        #expect(r.configuration?.memoryMiB == 512)
        #expect(r.configuration?.name_label == "web1")

        let json = try #require(r.configuration).jsonText()
        let j = DomainConfiguration.parse(text: json, fileName: "g.json", overrides: ["vcpus=2", "maxvcpus=1"], options: fixedOptions)
        #expect(j.configuration == nil)
        #expect(j.diagnostics.map(\.description) == ["<command line>:1:7: error: `vcpus` (2) is above `maxvcpus` (1)"])
    }
}

@Suite struct JSONInputTests {
    func read(_ text: String) -> ParseResult {
        DomainConfiguration.parse(text: text, fileName: "g.json", options: fixedOptions)
    }

    @Test func problemsAreReportedAtTheirValue() {
        let r = read("""
        {
          "name_label": "g",
          "type": "xen",
          "memory_dynamic_max": "lots",
          "devices": {
            "disk": [
              { "vdev": "xvda", "target": "/x", "format": "zip" },
              { "target": "/y" }
            ]
          },
          "colour": "blue"
        }
        """)
        #expect(r.configuration == nil)
        #expect(r.diagnostics.map(\.description) == [
            // The type read as pv, the default, which needs a kernel.
            "g.json:1:1: error: a PV guest needs `kernel` (or `bootloader`): e.g. `kernel = \"/boot/vmlinuz\"`",
            "g.json:3:11: error: type: unknown value \"xen\"",
            "g.json:4:25: error: memory_dynamic_max: must be a non-negative integer",
            "g.json:7:51: error: devices.disk[0].format: unknown value for format `zip`",
            "g.json:8:7: error: devices.disk[1]: no vdev specified",
            "g.json:11:13: error: colour: unknown field",
        ])
    }

    @Test func syntaxErrors() {
        #expect(read("{\n  \"name_label\": \"g\",\n}").diagnostics.map(\.description) == ["g.json:3:1: error: bad JSON: expected a quoted key"])
        #expect(read("{\"a\": 1, \"a\": 2}").diagnostics.map(\.description) == ["g.json:1:13: error: bad JSON: duplicate key \"a\""])
        #expect(read("{\"name_label\": \"\\ud800\"}").diagnostics.map(\.description) == ["g.json:1:23: error: bad JSON: lone surrogate in \\u escape"])
    }

    @Test func unicodeEscapesAndMinimalInput() {
        let r = read(#"{"name_label": "g\u00e9", "PV_kernel": "/k", "PV_args": "\ud834\udd1e \n"}"#)
        #expect(r.errors.map(\.description) == ["g.json:1:16: error: name_label: the domain name \"gé\" contains `é`: only letters, digits and _ - . : / + are allowed"])
        let ok = read(#"{"name_label": "g", "PV_kernel": "/k", "PV_args": "\ud834\udd1e \n"}"#)
        #expect(ok.configuration?.PV_args == "𝄞 \n")
        #expect(ok.configuration?.memoryMiB == 32)
    }
}
