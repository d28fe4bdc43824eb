import Foundation
import Testing
@testable import DomainConfig

/// Legacy xm files as they were written for xend (Xen 3.x era).
@Suite struct XMTests {
    func read(_ text: String) -> ParseResult {
        DomainConfiguration.parse(text: text, fileName: "xm.cfg", format: .auto, options: fixedOptions)
    }

    @Test func xmexample1() throws {
        let r = read("""
        #  -*- mode: python; -*-
        #============================================================================
        # Python configuration setup for 'xm create'.
        #============================================================================

        # Kernel image file.
        kernel = "/boot/vmlinuz-2.6.18-xen"

        # Optional ramdisk.
        ramdisk = "/boot/initrd.img-2.6.18-xen"

        # Initial memory allocation (in megabytes) for the new domain.
        memory = 64

        # A name for your domain. All domains must have different names.
        name = "ExampleDomain"

        # Number of Virtual CPUS to use, default is 1
        vcpus = 1

        vif = [ '' ]

        disk = [ 'phy:hda1,hda1,w' ]

        # Set root device.
        root = "/dev/hda1 ro"

        # Sets runlevel 4.
        extra = "4"
        """)
        var e = model("ExampleDomain", memoryMiB: 64)
        e.PV_kernel = "/boot/vmlinuz-2.6.18-xen"
        e.PV_ramdisk = "/boot/initrd.img-2.6.18-xen"
        e.PV_args = "root=/dev/hda1 ro 4"
        e.vifs = [NetworkInterface()]
        e.disks = [disk("hda1", "hda1")]
        #expect(r.diagnostics == [])
        #expect(r.format == .xl)  // plain assignments are valid xl.cfg too
        #expect(r.configuration == e)
    }

    @Test func pythonLiterals() throws {
        let r = read("""
        name = 'literals'
        kernel = r'/boot/vmlinuz\\xen'
        memory = 0x100
        maxmem = 512L
        vcpus = 0o2
        cpus = '0-1'
        localtime = True
        acpi = False
        ramdisk = None
        disk = ( 'phy:/dev/vg/a,xvda,w',
                 "file:/img/b,xvdb,r", )
        vif = [ 'bridge=' "xenbr0" ]
        extra = \"\"\"console=hvc0
        quiet\"\"\"
        rtc_timeoffset = -3600
        on_crash = \\
            'preserve'
        """)
        var e = model("literals", memoryMiB: 256, maxmemMiB: 512, vcpus: 2)
        e.PV_kernel = "/boot/vmlinuz\\xen"
        e.cpus = .cpus([0, 1])
        e.platform = ["localtime": "1", "acpi": "0", "rtc_timeoffset": "-3600"]
        e.disks = [disk("/dev/vg/a", "xvda"), disk("/img/b", "xvdb", access: .readOnly)]
        var vif = NetworkInterface()
        vif.bridge = "xenbr0"
        e.vifs = [vif]
        e.PV_args = "console=hvc0\nquiet"
        e.actions_after_crash = .preserve
        #expect(r.diagnostics == [])
        #expect(r.format == .xm)
        #expect(r.configuration == e)
    }

    @Test func pythonCodeIsRefusedWithWhatToWriteInstead() {
        let r = read("""
        import os, re
        arch = os.uname()[4]
        if re.search('64', arch):
            arch_libdir = 'lib64'
        else:
            arch_libdir = 'lib'
        kernel = "/usr/lib/xen/boot/hvmloader"
        builder = 'hvm'
        memory = 128 * 2
        name = "hvm" + str(1)
        device_model = '/usr/' + arch_libdir + '/xen/bin/qemu-dm'
        def helper(): pass
        """)
        let hint = "write the value itself, e.g. `memory = 512` or `disk = [ 'phy:/dev/vg/guest,xvda,w' ]`"
        #expect(r.format == .xm)
        #expect(r.configuration == nil)
        #expect(r.errors.map(\.description) == [
            "xm.cfg:1:1: error: xm-style Python code is not executed (a Python `import` statement); \(hint)",
            "xm.cfg:2:8: error: xm-style Python code is not executed (`os.uname()[4]`); \(hint)",
            "xm.cfg:3:1: error: xm-style Python code is not executed (a Python `if` statement); \(hint)",
            "xm.cfg:5:1: error: xm-style Python code is not executed (a Python `else` statement); \(hint)",
            "xm.cfg:9:14: error: xm-style Python code is not executed (`*` after the value of `memory`); \(hint)",
            "xm.cfg:10:14: error: xm-style Python code is not executed (`+` after the value of `name`); \(hint)",
            "xm.cfg:11:24: error: xm-style Python code is not executed (`+` after the value of `device_model`); \(hint)",
            "xm.cfg:12:1: error: xm-style Python code is not executed (a Python `def` statement); \(hint)",
            "xm.cfg:1:1: error: missing `name`: every domain needs one, e.g. `name = \"guest\"`",
        ].sorted { a, b in
            func key(_ s: String) -> (Int, Int) {
                let p = s.split(separator: ":")
                return (Int(p[1])!, Int(p[2])!)
            }
            return key(a) < key(b)
        })
    }

    @Test func explicitXmFormatAcceptsXmOnlySyntax() {
        let r = DomainConfiguration.parse(text: "name = 'x'\nkernel = '/k'\nacpi = True\n", fileName: "f", format: .xm, options: fixedOptions)
        #expect(r.format == .xm)
        #expect(r.configuration?.platform == ["acpi": "1"])
        // The same file as xl.cfg: `True` is not a value there.
        let xl = DomainConfiguration.parse(text: "name = 'x'\nkernel = '/k'\nacpi = True\n", fileName: "f", format: .xl, options: fixedOptions)
        #expect(xl.errors.map(\.description) == ["f:3:8: error: unexpected name `True`: expected a value (a string, a number or a [list])"])
    }

    @Test func xmEraDevicesAndOptions() {
        let r = read("""
        name = "xm-devices"
        bootloader = "/usr/bin/pygrub"
        memory = 512
        vfb = [ 'type=vnc,vncunused=1,vnclisten=0.0.0.0' ]
        pci = [ '01:00.0', '0000:02:00.1' ]
        on_poweroff = 'destroy'
        on_reboot   = 'restart'
        on_crash    = 'restart'
        vif = [ 'mac=00:16:3e:00:00:11, bridge=xenbr0, vifname=web0', 'type=ioemu, bridge=xenbr1' ]
        """)
        #expect(r.diagnostics == [])
        let c = r.configuration
        #expect(c?.PV_bootloader == "/usr/bin/pygrub")
        #expect(c?.vfbs.first?.vnc == true)
        #expect(c?.vfbs.first?.vncunused == true)
        #expect(c?.pcis.map(\.bdf) == ["0000:01:00.0", "0000:02:00.1"])
        #expect(c?.actions_after_crash == .restart)
        #expect(c?.vifs.map(\.vifname) == ["web0", nil])
        #expect(c?.vifs.map(\.type) == [nil, "ioemu"])
    }
}

@Suite struct XMHVMTests {
    @Test func xendsHvmloaderKernelIsDropped() {
        let text = """
        kernel = "/usr/lib/xen/boot/hvmloader"
        builder = 'hvm'
        name = "old-hvm"
        memory = 256
        acpi = 1
        boot = "dc"
        vnc = 1
        bootloader_args = "--q --x"
        """
        let r = DomainConfiguration.parse(text: text, fileName: "old.cfg", format: .xm, options: fixedOptions)
        #expect(r.diagnostics.map(\.description) == [
            "old.cfg:1:10: warning: `kernel = \"/usr/lib/xen/boot/hvmloader\"` is xend's way to name the HVM firmware; ignored (xl loads hvmloader itself)",
            "old.cfg:8:19: warning: `bootloader_args` as a string is deprecated: write a list, e.g. [ \"--entry=1\" ]",
        ])
        var e = model("old-hvm", .hvm, memoryMiB: 256)
        e.platform = ["acpi": "1", "boot": "dc", "vnc": "1"]
        e.PV_bootloader_args = ["--q", "--x"]
        #expect(r.configuration == e)
        // Any other HVM kernel is a direct kernel boot and is kept.
        let direct = text.replacingOccurrences(of: "/usr/lib/xen/boot/hvmloader", with: "/boot/vmlinuz")
        #expect(DomainConfiguration.parse(text: direct, fileName: "old.cfg", format: .xl, options: fixedOptions).configuration?.PV_kernel
                == "/boot/vmlinuz")
    }
}
