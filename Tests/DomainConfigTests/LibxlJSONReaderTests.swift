import DomainConfig
import Testing

/// Reading libxl's JSON of a config back into the model: what `xl save`
/// and `xl migrate` put in a stream (libxl_retrieve_domain_configuration,
/// the `config` of `list -l`), and what swxl writes there.
@Suite struct LibxlJSONReaderTests {
    /// The `config` of a `list -l` fixture's one domain, as its JSON text.
    func savedConfig(_ fixture: String) throws -> String {
        let text = try readText(libxlFixtures + fixture)
        // The fixture is `[{"domid": N, "config": {...}}]`: the config is the object after `"config": `.
        let start = try #require(text.range(of: "\"config\": "))
        var body = String(text[start.upperBound...])
        // Drop the closing "}\n]" of the entry and the list.
        body = String(body.dropLast(body.count - (body.range(of: "\n    }\n]", options: .backwards)!.lowerBound.utf16Offset(in: body))))
        return body
    }

    /// What xl save writes for the harness's guest made by xl: read whole.
    @Test func readsWhatXlSavesForAnXlMadeGuest() throws {
        let reading = DomainConfiguration.fromLibxlJSON(try savedConfig("xl-list-l-xl"))
        #expect(reading.errors == [])
        #expect(reading.warnings == [])
        var expected = DomainConfiguration(name_label: "guest", uuid: DomainUUID("c1997b28-0ca8-496c-9c63-15b46bd19632")!)
        expected.type = .pv
        expected.VCPUs_max = 1
        expected.VCPUs_at_startup = 1
        expected.memory_static_max = 128 << 20
        expected.memory_dynamic_max = 128 << 20
        expected.PV_kernel = "/guest/vmlinuz"
        expected.PV_args = "console=hvc0 quiet"
        expected.PV_ramdisk = "/guest/initrd.gz"
        expected.platform["cpu_weight"] = "256"
        expected.actions_after_shutdown = .destroy
        expected.actions_after_reboot = .restart
        expected.actions_after_crash = .preserve
        expected.actions_after_watchdog = .destroy
        expected.actions_after_soft_reset = .softReset
        #expect(reading.configuration == expected)
    }

    /// A guest with a disk and a vif (libxl adds colo_restore_enable and nictype).
    @Test func readsDisksAndNicsWithTheirDevids() throws {
        let reading = DomainConfiguration.fromLibxlJSON(try savedConfig("xl-list-l-dev-xl"))
        #expect(reading.errors == [])
        #expect(reading.warnings == [])
        let c = try #require(reading.configuration)
        var disk = DiskDevice(target: "/srv/xq/disk1.img", vdev: "xvda")
        disk.format = .raw
        disk.access = .readWrite
        #expect(c.disks == [disk])
        var nic = NetworkInterface()
        nic.mac = MACAddress("00:16:3e:4b:79:90")
        nic.bridge = "xenbr0"
        #expect(c.vifs == [nic])
        #expect(c.name_label == "devguest")
    }

    /// The model through swxl's writer and back: what the reader carries over comes back unchanged.
    @Test func swxlsOwnJSONReadsBack() throws {
        var c = try harnessConfig("scripts/xen-qemu/guest.cfg")
        c.VCPUs_max = 4
        c.VCPUs_at_startup = 2
        c.memory_static_max = 512 << 20
        c.memory_dynamic_max = 256 << 20
        var disk = DiskDevice(target: "/images/a.img", vdev: "xvdb")
        disk.access = .readOnly
        c.disks = [disk]
        var nic0 = NetworkInterface()
        nic0.mac = MACAddress("00:16:3e:00:00:01")
        nic0.bridge = "br1"
        var nic1 = NetworkInterface()
        nic1.script = "vif-route"
        nic1.ip = "10.0.0.2"
        c.vifs = [nic0, nic1]
        c.actions_after_crash = .coredumpRestart
        let facts = LibxlRunningFacts(name: c.name_label, uuid: c.uuid, onlineVCPUs: [0, 1], targetKiB: 256 << 10,
                                      staticMaxKiB: 512 << 10, scheduler: "credit2", weight: 512, cap: 50)
        let json = c.libxlRunningConfig(host: LibxlHostFacts(), running: facts).json.yajlBeautified()
        let reading = DomainConfiguration.fromLibxlJSON(json)
        #expect(reading.errors == [])
        #expect(reading.warnings == [])
        var expected = c
        expected.platform["cpu_weight"] = "512"
        expected.platform["cap"] = "50"
        #expect(reading.configuration == expected)
    }

    /// A config from the harness's libxl-json set and what xl 4.17 wrote
    /// for it (`create -n`, the same libxl_domain_config as a save carries):
    /// the JSON read back is the model the file parses to, with the
    /// fixture's uuid (the file has none) and what libxl's JSON cannot say
    /// apart (`root` + `extra` are one command line there, as in the model).
    func fileAndXlJSON(_ name: String) throws -> (file: DomainConfiguration, read: LibxlJSONReading) {
        var file = try harnessConfig("scripts/xen-qemu/libxl-json/\(name).cfg")
        let reading = DomainConfiguration.fromLibxlJSON(try readText(libxlFixtures + "xl-create-n-" + name))
        if let uuid = reading.configuration?.uuid { file.uuid = uuid }
        return (file, reading)
    }

    /// `cpus = "0-1"` with 4 vCPUs: xl writes that map for each of them.
    @Test func readsHardAffinityAsXlWritesIt() throws {
        let (file, reading) = try fileAndXlJSON("vcpus-actions")
        #expect(reading.errors == [])
        #expect(reading.warnings == [])
        #expect(file.cpus == .cpus([0, 1]))
        #expect(reading.configuration == file)
    }

    /// A vfb (with the vkb xl adds for it) and a channel; `maxvcpus`
    /// without `vcpus` (no avail_vcpus: libxl brings vCPU 0 alone online).
    @Test func readsFramebuffersKeyboardsAndChannelsAsXlWritesThem() throws {
        for name in ["pv-vfb-channel", "maxvcpus-vfb-off"] {
            let (file, reading) = try fileAndXlJSON(name)
            #expect(reading.errors == [], "\(name)")
            #expect(reading.warnings == [], "\(name)")
            #expect(!file.vfbs.isEmpty, "\(name)")
            #expect(reading.configuration == file, "\(name)")
        }
    }

    /// Everything this reader carries, through swxl's writer and back:
    /// per-vCPU hard and soft affinity, vfbs and the config's own vkbs,
    /// pty and socket channels, PCI devices.
    @Test func devicesAndAffinityReadBackFromSwxlsJSON() throws {
        var c = try harnessConfig("scripts/xen-qemu/guest.cfg")
        c.VCPUs_max = 3
        c.VCPUs_at_startup = 3
        c.cpus = .perVCPU([.cpus([0]), .cpus([1, 2])])
        c.cpus_soft = .cpus([2, 3])
        var vfb = FramebufferDevice()
        vfb.vnc = true
        vfb.vnclisten = "0.0.0.0"
        vfb.vncdisplay = 3
        vfb.vncunused = false
        vfb.vncpasswd = "pw"
        vfb.sdl = false
        vfb.keymap = "fr"
        c.vfbs = [vfb]
        // The config's own keyboards with every option xl's parse_vkb_config takes.
        var linux = KeyboardDevice()
        linux.backend = "Domain-0"
        linux.backendType = "linux"
        linux.options = ["unique-id": "kb1", "feature-abs-pointer": "1", "feature-raw-pointer": "1",
                         "feature-disable-pointer": "1", "width": "1024", "height": "768"]
        var qemu = KeyboardDevice()
        qemu.backendType = "qemu"
        qemu.options = ["feature-disable-keyboard": "1", "multi-touch-width": "10", "multi-touch-height": "20",
                        "multi-touch-num-contacts": "5"]
        var touch = KeyboardDevice()
        touch.backendType = "linux"
        touch.options = ["feature-multi-touch": "1"]
        c.vkbs = [KeyboardDevice(), linux, qemu, touch]
        c.channels = [ChannelDevice(name: "org.qemu.guest_agent.0", connection: "pty"),
                      ChannelDevice(name: "x.y", connection: "socket", path: "/run/x.sock", backend: "dom0")]
        var pci = PCIDevice(domain: 0, bus: 3, device: 0x1f, function: 2)
        pci.vslot = 5
        pci.permissive = true
        pci.seize = true
        pci.rdmPolicy = "relaxed"
        c.pcis = [pci, PCIDevice(bus: 4, device: 0, function: 0)]
        let host = LibxlHostFacts(hardAffinity: [[0], [1, 2]], softAffinity: [[2, 3], [2, 3], [2, 3]])
        let json = c.libxlParsedJSONText(host: host)
        let reading = DomainConfiguration.fromLibxlJSON(json)
        #expect(reading.errors == [])
        #expect(reading.warnings == [])
        // (xl turns e820_host on for a PV guest with PCI devices, xl_parse.c, and the JSON says so)
        var expected = c
        expected.platform["e820_host"] = "1"
        #expect(reading.configuration == expected)
    }

    /// A vkb that is not as xl makes a vfb's, devids out of order, a
    /// channel without its connection: errors, nothing restored; members
    /// not carried over are named.
    @Test func devicesThatAreNotAsXlWritesThemAreErrors() {
        let head = """
            {"c_info": {"type": "pv", "name": "a", "uuid": "c1997b28-0ca8-496c-9c63-15b46bd19632"},
             "b_info": {"max_vcpus": 2, "vcpu_hard_affinity": [[1], []], "type.pv": {}},
            """
        let bad = DomainConfiguration.fromLibxlJSON(head + """
             "vfbs": [{"devid": 1}], "vkbs": [{"devid": 0, "backend_type": "qemu"}],
             "channels": [{"devid": 0, "name": "c"}], "pcidevs": [{"bus": "x"}]}
            """)
        #expect(bad.configuration == nil)
        #expect(bad.errors == ["libxl config: b_info.vcpu_hard_affinity[1] selects no CPU",
                               "libxl config: vfbs[0] has devid 1; swxl keeps devids 0, 1, ... in order",
                               "libxl config: channels[0] has no connection (pty or socket)",
                               "libxl config: pcidevs[0].bus is not an integer",
                               "libxl config: vkbs[0] is vfbs[0]'s keyboard, but not as xl makes it"])
        let odd = DomainConfiguration.fromLibxlJSON(head.replacingOccurrences(of: "[[1], []]", with: "[[1], [1]]") + """
             "vfbs": [{"devid": 0, "vnc": {"enable": "True", "vnc_extra": 1}}],
             "vkbs": [{"devid": 0, "vkb_extra": 1}, {"devid": 1, "backend_domname": "d1", "backend_type": "linux"}]}
            """)
        #expect(odd.errors == [])
        var vfb = FramebufferDevice()
        vfb.vnc = true
        var vkb = KeyboardDevice()
        vkb.backend = "d1"
        vkb.backendType = "linux"
        #expect(odd.configuration?.vfbs == [vfb])
        #expect(odd.configuration?.vkbs == [vkb])
        #expect(odd.configuration?.cpus == .cpus([1]))
        #expect(odd.warnings == ["libxl config: vfbs.vnc.vnc_extra is not carried over by swxl (ignored)",
                                 "libxl config: vkbs.vkb_extra is not carried over by swxl (ignored)"])
    }

    @Test func whatIsNotCarriedOverIsWarnedAboutAndBadValuesAreErrors() {
        let unknown = DomainConfiguration.fromLibxlJSON("""
            {"c_info": {"type": "pv", "name": "a", "uuid": "c1997b28-0ca8-496c-9c63-15b46bd19632", "pool_name": "p"},
             "b_info": {"max_vcpus": 1, "target_memkb": 65536, "type.pv": {}, "nodemap": [0]},
             "usbdevs": [{"type": "hostdev"}]}
            """)
        #expect(unknown.errors == [])
        #expect(unknown.warnings == ["libxl config: c_info.pool_name is not carried over by swxl (ignored)",
                                     "libxl config: b_info.nodemap is not carried over by swxl (ignored)",
                                     "libxl config: usbdevs is not carried over by swxl (ignored)"])
        #expect(unknown.configuration?.memory_static_max == 64 << 20)
        let bad = DomainConfiguration.fromLibxlJSON("""
            {"c_info": {"type": "pv", "name": "a", "uuid": "nope"}, "b_info": {"max_vcpus": "one", "type.hvm": {}}}
            """)
        #expect(bad.configuration == nil)
        #expect(bad.errors == ["libxl config: c_info.uuid \"nope\" is not a UUID",
                               "libxl config: c_info.uuid is missing"])
        let badBuild = DomainConfiguration.fromLibxlJSON("""
            {"c_info": {"type": "pv", "name": "a", "uuid": "c1997b28-0ca8-496c-9c63-15b46bd19632"},
             "b_info": {"max_vcpus": "one", "type.hvm": {}, "max_memkb": 1000}}
            """)
        #expect(badBuild.configuration == nil)
        #expect(badBuild.errors == ["libxl config: b_info.max_vcpus is not an integer",
                                    "libxl config: b_info has type.hvm for a pv guest",
                                    "libxl config: b_info.max_memkb 1000 is not whole MiB"])
        #expect(DomainConfiguration.fromLibxlJSON("{\"c_info\": ").errors.count == 1)
        #expect(DomainConfiguration.fromLibxlJSON("[]").errors == ["libxl config: not a JSON object"])
    }
}
