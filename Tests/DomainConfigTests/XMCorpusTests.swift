import Testing
@testable import DomainConfig

/// Real-world shapes of xm-era config files (Xen 3.x, SLES 10/11, CentOS 5).
let xmCorpus: [(name: String, text: String)] = [
    ("sles-pv", """
    name="sles11"
    description="SLES 11 SP1 paravirtual"
    uuid="9a0c1c7e-2f2a-4a34-b5d1-2a6b3e6b7f10"
    memory=1024
    maxmem=2048
    vcpus=2
    on_poweroff="destroy"
    on_reboot="restart"
    on_crash="destroy"
    localtime=0
    keymap="en-us"
    builder="linux"
    bootloader="/usr/bin/pygrub"
    bootargs=""
    extra="xencons=tty "
    disk=[ 'file:/var/lib/xen/images/sles11/disk0,xvda,w', 'phy:/dev/sr0,xvdb:cdrom,r', ]
    vif=[ 'mac=00:16:3e:4f:5a:01,bridge=br0', ]
    vfb=['type=vnc,vncunused=1']
    """),
    ("centos-hvm", """
    name = "centos5-hvm"
    builder = "hvm"
    memory = 512
    vcpus = 1
    pae = 1
    acpi = 1
    apic = 1
    localtime = 0
    on_poweroff = "destroy"
    on_reboot = "restart"
    on_crash = "restart"
    device_model = "/usr/lib64/xen/bin/qemu-dm"
    kernel = "/usr/lib/xen/boot/hvmloader"
    boot = "dc"
    disk = [ "phy:/dev/VolGroup00/centos,hda,w", "file:/iso/CentOS-5.5-x86_64-bin-DVD-1of2.iso,hdc:cdrom,r" ]
    vif = [ "mac=00:16:3e:10:20:30,bridge=xenbr0,script=vif-bridge,type=ioemu" ]
    serial = "pty"
    usb = 1
    usbdevice = "tablet"
    sdl = 0
    vnc = 1
    vncunused = 1
    vnclisten = "0.0.0.0"
    """),
    ("xen3-xmexample2-static", """
    # xmexample2 without its vmid arithmetic: the values written out.
    kernel = "/boot/vmlinuz-2.6.16-xen"
    memory = 64
    name = "VM1"
    cpus = "1"
    vcpus = 1
    vif = [ 'ip=192.168.1.1' ]
    disk = [ 'phy:sda1,sda1,w', 'phy:sda6,sda6,r' ]
    root = "/dev/sda1 ro"
    extra = "4 VMID=1 usr=/dev/sda6"
    """),
    ("debian-xen-tools", """
    #
    # Configuration file for the Xen instance web1, created
    # by xen-tools 4.2 on Mon Jan  1 00:00:00 2012.
    #

    #
    #  Kernel + memory size
    #
    kernel      = '/boot/vmlinuz-2.6.32-5-xen-amd64'
    ramdisk     = '/boot/initrd.img-2.6.32-5-xen-amd64'

    vcpus       = '2'
    memory      = '512'

    #
    #  Disk device(s).
    #
    root        = '/dev/xvda2 ro'
    disk        = [
                      'phy:/dev/vg0/web1-disk,xvda2,w',
                      'phy:/dev/vg0/web1-swap,xvda1,w',
                  ]

    #
    #  Physical volumes
    #

    #
    #  Hostname
    #
    name        = 'web1'

    #
    #  Networking
    #
    dhcp        = 'dhcp'
    vif         = [ 'mac=00:16:3E:AB:CD:EF' ]

    #
    #  Behaviour
    #
    on_poweroff = 'destroy'
    on_reboot   = 'restart'
    on_crash    = 'restart'
    """),
]

@Suite struct XMCorpusTests {
    func read(_ text: String) -> ParseResult {
        DomainConfiguration.parse(text: text, fileName: "xm.cfg", options: fixedOptions)
    }

    @Test(arguments: xmCorpus.map(\.name))
    func corpusFileReadsWithoutProblems(name: String) throws {
        let text = try #require(xmCorpus.first { $0.name == name }).text
        let r = read(text)
        #expect(r.errors == [], "\(name)")
        #expect(r.warnings.allSatisfy { $0.message.contains("hvmloader") }, "\(name): \(r.warnings)")
        #expect(r.configuration != nil)
    }

    @Test func slesValues() throws {
        let c = try #require(read(xmCorpus[0].text).configuration)
        #expect(c.uuid.description == "9a0c1c7e-2f2a-4a34-b5d1-2a6b3e6b7f10")
        #expect(c.memoryMiB == 1024 && c.maxmemMiB == 2048)
        #expect(c.PV_bootloader == "/usr/bin/pygrub")
        #expect(c.PV_args == "xencons=tty ")
        #expect(c.disks == [disk("/var/lib/xen/images/sles11/disk0", "xvda"),
                            disk("/dev/sr0", "xvdb", access: .readOnly, cdrom: true)])
        #expect(c.vfbs.map(\.vnc) == [true])
        #expect(c.platform["bootargs"] == "")
        #expect(c.platform["description"] == "SLES 11 SP1 paravirtual")
    }

    @Test func centosHvmValues() throws {
        let r = read(xmCorpus[1].text)
        #expect(r.format == .xl)  // plain assignments: valid xl.cfg as well
        let c = try #require(r.configuration)
        #expect(c.type == .hvm)
        #expect(c.PV_kernel == nil)
        #expect(c.actions_after_crash == .restart)
        #expect(c.disks.map(\.deviceType) == [.disk, .cdrom])
        #expect(c.disks.map(\.deviceNumber) == [768, 5632])
        #expect(c.vifs.first?.type == "ioemu")
        #expect(c.serials == ["pty"])
        #expect(c.platform["usbdevice"] == "tablet")
        #expect(c.platform["device_model"] == "/usr/lib64/xen/bin/qemu-dm")
    }

    @Test func xmexample2Values() throws {
        let c = try #require(read(xmCorpus[2].text).configuration)
        #expect(c.cpus == .cpus([1]))
        #expect(c.vifs.first?.ip == "192.168.1.1")
        #expect(c.disks.map(\.target) == ["sda1", "sda6"])
        #expect(c.disks.map(\.access) == [.readWrite, .readOnly])
        #expect(c.PV_args == "root=/dev/sda1 ro 4 VMID=1 usr=/dev/sda6")
    }

    @Test func xenToolsValues() throws {
        let c = try #require(read(xmCorpus[3].text).configuration)
        // Numbers written as strings ('512') read as numbers, as xl's strtol does.
        #expect(c.memoryMiB == 512)
        #expect(c.VCPUs_at_startup == 2)
        #expect(c.PV_ramdisk == "/boot/initrd.img-2.6.32-5-xen-amd64")
        #expect(c.disks.map(\.vdev) == ["xvda2", "xvda1"])
        #expect(c.vifs.first?.mac?.description == "00:16:3e:ab:cd:ef")
        #expect(c.platform["dhcp"] == "dhcp")
    }
}
