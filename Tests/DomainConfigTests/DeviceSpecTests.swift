import Testing
@testable import DomainConfig

@Suite struct DiskSpecTests {
    func parsed(_ spec: String) throws -> DiskDevice { try DiskDevice.parse(spec).get() }

    func failure(_ spec: String) -> [String] {
        if case .failure(let e) = DiskDevice.parse(spec) { return e.messages }
        return []
    }

    @Test func positionalForms() throws {
        #expect(try parsed("/dev/vg/a,raw,xvda,rw") == disk("/dev/vg/a", "xvda"))
        #expect(try parsed("/img/a,qcow2,xvdb,ro") == disk("/img/a", "xvdb", format: .qcow2, access: .readOnly))
        #expect(try parsed("/img/a,,xvdc") == disk("/img/a", "xvdc"))
        #expect(try parsed("/img/a,vhd,hda,r") == disk("/img/a", "hda", format: .vhd, access: .readOnly))
    }

    @Test func keyValueFormsAndFlags() throws {
        var expected = disk("/img/a,b", "xvda", format: .qed, access: .readOnly)
        expected.backendType = .qdisk
        expected.backendDomain = "stor"
        expected.script = "block-x"
        expected.directIOSafe = true
        expected.discardEnable = false
        #expect(try parsed("format=qed, vdev=xvda, access=ro, backendtype=qdisk, backend=stor, script=block-x, direct-io-safe, no-discard, target=/img/a,b") == expected)
        #expect(try parsed("vdev=xvda,discard,target=/x").discardEnable == true)
    }

    @Test func targetSwallowsTheRestCommasIncluded() throws {
        #expect(try parsed("vdev=xvda,target=/a,b=c,d,").target == "/a,b=c,d")
    }

    @Test func cdroms() throws {
        #expect(try parsed(",,hdc:cdrom,r") == disk(nil, "hdc", format: .empty, access: .readOnly, cdrom: true))
        #expect(try parsed("vdev=hdc,cdrom") == disk(nil, "hdc", format: .empty, access: .readOnly, cdrom: true))
        #expect(try parsed("/x.iso,raw,hdc,devtype=cdrom") == disk("/x.iso", "hdc", access: .readOnly, cdrom: true))
        #expect(try parsed("file:/x.iso,hdc:cdrom,r") == disk("/x.iso", "hdc", access: .readOnly, cdrom: true))
    }

    @Test func deprecatedPrefixes() throws {
        #expect(try parsed("phy:/dev/vg/a,xvda,w") == disk("/dev/vg/a", "xvda"))
        #expect(try parsed("file:/img/a,xvda,r") == disk("/img/a", "xvda", access: .readOnly))
        #expect(try parsed("tap:aio:/img/a,xvda,w") == disk("/img/a", "xvda"))
        #expect(try parsed("tap:qcow2:/img/a,xvda,w") == disk("/img/a", "xvda", format: .qcow2))
        #expect(try parsed("tap2:vhd:/img/a,xvda,w") == disk("/img/a", "xvda", format: .vhd))
        #expect(try parsed("qcow:/img/a,xvda,w") == disk("/img/a", "xvda", format: .qcow))
        var iscsi = disk("iqn.2001-05.com.example:d", "xvda")
        iscsi.script = "block-iscsi"
        #expect(try parsed("iscsi:iqn.2001-05.com.example:d,xvda,w") == iscsi)
        #expect(try parsed("nbd:host:1234,xvda,w").script == "block-nbd")
    }

    @Test func errors() {
        #expect(failure("/x") == ["no vdev specified in disk spec `/x`"])
        #expect(failure("foo:/x,xvda") == ["unknown deprecated disk prefix: near `foo:` in disk spec `foo:/x,xvda`"])
        #expect(failure("/x,raw,xvda,rw,extra") == ["too many positional parameters: near `extra` in disk spec `/x,raw,xvda,rw,extra`"])
        #expect(failure("/x,qcow3,xvda") == ["unknown value for format `qcow3` in disk spec `/x,qcow3,xvda`"])
        #expect(failure("/x,raw,xvda,rx") == ["unknown value for access `rx` in disk spec `/x,raw,xvda,rx`"])
        #expect(failure("vdev=xvda") == ["no target specified (and device not removable) in disk spec `vdev=xvda`"])
        #expect(failure("bogus=1,/x,raw,xvda") == ["unknown disk parameter `bogus` in disk spec `bogus=1,/x,raw,xvda`"])
        #expect(failure("vdev=xvda,vdev=xvdb,target=/x") == ["vdev respecified: near `xvdb` in disk spec `vdev=xvda,vdev=xvdb,target=/x`"])
        #expect(failure("/x,raw,xvda,format=qcow2") == ["format respecified: near `qcow2` in disk spec `/x,raw,xvda,format=qcow2`"])
        #expect(failure("") == ["no vdev specified in disk spec ``"])
    }

    @Test func canonicalSpecReadsBackTheSame() throws {
        for spec in ["/dev/vg/a,raw,xvda,rw", ",,hdc:cdrom,r", "format=qed,vdev=xvda,backendtype=tap,backend=d,script=s,direct-io-safe,no-discard,colo,colo-host=h,target=/a,b",
                     "iscsi:iqn.x,xvda,w"] {
            let d = try parsed(spec)
            #expect(try parsed(d.specification) == d, "\(spec) -> \(d.specification)")
        }
    }
}

@Suite struct OtherDeviceSpecTests {
    @Test func vif() throws {
        var expected = NetworkInterface()
        expected.mac = MACAddress(bytes: [0, 0x16, 0x3e, 0xaa, 0xbb, 0xcc])
        expected.bridge = "xenbr0"
        expected.options = ["accel": "x"]
        #expect(try NetworkInterface.parse("mac=00:16:3e:AA:BB:CC, bridge=xenbr0,accel=x").get() == expected)
        #expect(try NetworkInterface.parse("").get() == NetworkInterface())
        #expect(NetworkInterface.isValidRate("10Mb/s"))
        #expect(NetworkInterface.isValidRate("1GB/s@20ms"))
        #expect(NetworkInterface.isValidRate("100Kb/s@5us"))
        #expect(!NetworkInterface.isValidRate("100kb/s"))  // units are K, M, G
        #expect(!NetworkInterface.isValidRate("0MB/s"))
        #expect(!NetworkInterface.isValidRate("1MB/s@0ms"))
        var v = NetworkInterface()
        v.rate = "10Mb/s@20ms"
        #expect(v.rateLimit! == (25_000, 20_000))
        v.rate = "1GB/s"
        #expect(v.rateLimit! == (50_000_000, 50_000))
        #expect(!NetworkInterface.isValidRate("10Mb"))
        #expect(!NetworkInterface.isValidRate("fast"))
        if case .failure(let e) = NetworkInterface.parse("rate=fast,mtu=0,type=tap,color=red") {
            #expect(e.messages == [
                "bad vif rate `fast`: expected e.g. `10Mb/s`, `100KB/s` or `1GB/s@20ms` (units K, M, G; B bytes, b bits)",
                "vif mtu must be a positive integer, not `0`",
                "vif type must be `vif` or `ioemu`, not `tap`",
                "unknown vif parameter `color` in vif spec `rate=fast,mtu=0,type=tap,color=red`",
            ])
        } else {
            Issue.record("bad vif accepted")
        }
    }

    @Test func macAddresses() {
        #expect(MACAddress("00:16:3e:01:02:03")?.description == "00:16:3e:01:02:03")
        #expect(MACAddress("00-16-3E-01-02-03")?.description == "00:16:3e:01:02:03")
        #expect(MACAddress("00:16:3e:01:02") == nil)
        #expect(MACAddress("00:16:3e:01:02:003") == nil)
        #expect(MACAddress("00:16:3e:01:02:0g") == nil)
        let random = MACAddress.randomXen()
        #expect(Array(random.bytes.prefix(3)) == [0x00, 0x16, 0x3e])
        #expect(!random.isMulticast)
    }

    @Test func uuids() {
        let u = DomainUUID("6B0A2E0C-1111-4222-8333-444455556666")
        #expect(u?.description == "6b0a2e0c-1111-4222-8333-444455556666")
        #expect(DomainUUID("6b0a2e0c111142228333444455556666") == u)
        #expect(DomainUUID("6b0a2e0c-1111-4222-8333-44445555666") == nil)
        #expect(DomainUUID("6b0a2e0c+1111-4222-8333-444455556666") == nil)
        let r = DomainUUID.random()
        #expect(r.bytes[6] >> 4 == 4)
        #expect(r.bytes[8] >> 6 == 2)
        #expect(DomainUUID.random() != r)
    }

    @Test func pci() throws {
        var p = PCIDevice(domain: 1, bus: 0x1f, device: 0x1e, function: 7)
        p.vslot = 0x1a
        p.msitranslate = false
        p.seize = true
        p.powerManagement = true
        p.rdmPolicy = "strict"
        let parsed = try PCIDevice.parse("0001:1f:1e.7@1a,msitranslate=0,seize=1,power_mgmt=1,rdm_policy=strict").get()
        #expect(parsed == p)
        #expect(parsed.bdf == "0001:1f:1e.7")
        #expect(try PCIDevice.parse(parsed.specification).get() == parsed)
        #expect(throws: DeviceSpecError.self) { try PCIDevice.parse("00:20.0").get() }  // device above 1f
        #expect(throws: DeviceSpecError.self) { try PCIDevice.parse("00:02.8").get() }  // function above 7
        #expect(throws: DeviceSpecError.self) { try PCIDevice.parse("00:02.0,frob=1").get() }
        #expect(throws: DeviceSpecError.self) { try PCIDevice.parse("00:02.0, permissive=1").get() }  // no spaces, as in xl
        var all = PCIDevice(bus: 0, device: 2, function: 0)
        all.allFunctions = true
        all.vslot = 5
        #expect(try PCIDevice.parse("vslot=5,bdf=00:02.*").get() == all)
        #expect(all.specification == "0000:00:02.*@05")
        if case .failure(let e) = PCIDevice.parse("name=nic0") {
            #expect(e.messages == ["pci `name=` (a device made assignable by name) is not supported: give its address, e.g. `0000:03:00.0`"])
        } else {
            Issue.record("name= accepted")
        }
    }

    @Test func channels() throws {
        #expect(try ChannelDevice.parse("name=a,connection=socket,path=/s").get() == ChannelDevice(name: "a", connection: "socket", path: "/s"))
        if case .failure(let e) = ChannelDevice.parse("name=a,connection=tcp") {
            #expect(e.messages == ["channel connection must be `pty` or `socket`, not `tcp`"])
        } else {
            Issue.record("bad channel accepted")
        }
    }

    @Test func framebuffersAndKeyboards() throws {
        var f = FramebufferDevice()
        f.sdl = true
        f.display = ":0"
        f.xauthority = "/root/.Xauthority"
        f.opengl = true
        #expect(try FramebufferDevice.parse("sdl=1,display=:0,xauthority=/root/.Xauthority,opengl=1").get() == f)
        #expect(try FramebufferDevice.parse("type=vnc").get().vnc == true)
        #expect(throws: DeviceSpecError.self) { try FramebufferDevice.parse("vnc=maybe").get() }
        var k = KeyboardDevice()
        k.backend = "dom1"
        k.options = ["unique-id": "k0"]
        #expect(try KeyboardDevice.parse("backend=dom1,unique-id=k0").get() == k)
        #expect(throws: DeviceSpecError.self) { try KeyboardDevice.parse("backend-type=x11").get() }
    }

    @Test func cpuAffinity() throws {
        #expect(try CPUAffinity.parse("all").get() == .all)
        #expect(try CPUAffinity.parse("0-3,^2,6").get() == .cpus([0, 1, 3, 6]))
        #expect(try CPUAffinity.parse("nodes:0-1").get() == .nodes([0, 1]))
        #expect(try CPUAffinity.parse("5").get() == .cpus([5]))
        #expect(CPUAffinity.cpus([0, 1, 3, 6, 7, 8]).specification == "0-1,3,6-8")
        #expect(try CPUAffinity.parse("nodes:0,node:2").get() == .nodes([0, 2]))
        #expect(CPUAffinity.nodes([0, 1, 3]).specification == "nodes:0-1,nodes:3")
        #expect(try CPUAffinity.parse("nodes:0-1,3").get() == .mixed("nodes:0-1,3"))
        #expect(try CPUAffinity.parse("nodes:all").get() == .all)
        #expect(try CPUAffinity.parse("1,,2").get() == .cpus([1, 2]))
        #expect(try CPUAffinity.parse("all,^0").get() == .mixed("all,^0"))
        #expect(try CPUAffinity.parse("0-3,node:1").get() == .mixed("0-3,nodes:1"))
        #expect(try CPUAffinity.parse("nodes:0-1,^nodes:1").get() == .mixed("nodes:0-1,^nodes:1"))
        #expect(try CPUAffinity.parse("^nodes:1,0-7").get() == .mixed("^nodes:1,0-7"))
        #expect(throws: DeviceSpecError.self) { try CPUAffinity.parse("^all").get() }
        #expect(throws: DeviceSpecError.self) { try CPUAffinity.parse(",").get() }
        #expect(throws: DeviceSpecError.self) { try CPUAffinity.parse("0-3,^0-3").get() }
        #expect(throws: DeviceSpecError.self) { try CPUAffinity.parse("a-b").get() }
        #expect(throws: DeviceSpecError.self) { try CPUAffinity.parse("").get() }
        #expect(throws: DeviceSpecError.self) { try CPUAffinity.parse("99999").get() }
    }

    @Test func vdevNamesAndDeviceNumbers() {
        let expected: [String: Int] = [
            "xvda": 51712, "xvdb": 51728, "xvda1": 51713, "xvdp15": 202 << 8 | 15 << 4 | 15,
            "xvdq": 1 << 28 | 16 << 8, "xvda16": 1 << 28 | 16, "xvdaa": 1 << 28 | 26 << 8,
            "hda": 768, "hdb": 832, "hdc": 5632, "hdd1": 22 << 8 | 1 << 6 | 1, "sda": 2048, "sdb3": 2048 + 16 + 3,
            "d0p1": 51713, "d16p0": 1 << 28 | 16 << 8, "51712": 51712, "0x10": 16,
        ]
        for (vdev, number) in expected {
            #expect(DiskDevice.deviceNumber(ofVdev: vdev) == number, "\(vdev)")
        }
        for bad in ["xvd", "floppy", "xvd1", "d", "d0", "dp1", "d1p", "sda-1", "", "hde", "sdq", "xvda0", "xvda01", "xvda256", "hda64", "sda16"] {
            #expect(DiskDevice.deviceNumber(ofVdev: bad) == nil, "\(bad)")
        }
    }

    @Test func sameDeviceUnderTwoNamesIsADuplicate() {
        let r = parseXL("name=\"g\"\nkernel=\"/k\"\ndisk=['/a,raw,xvda,rw','/b,raw,51712,rw']\n")
        #expect(messages(r) == ["t.cfg:3:24: error: duplicate vdev `51712` (the same device as `xvda`) (first used at line 3)"])
    }

    /// A vif's devid is its index unless `devid=` says (xl's ARRAY_EXTEND_INIT,
    /// then parse_nic_config); two vifs on one devid are refused.
    @Test func vifDevidsAreTheIndexUnlessGiven() {
        let ok = parseXL("name=\"g\"\nkernel=\"/k\"\nvif=['bridge=a','devid=5','bridge=b']\n")
        #expect(messages(ok) == [])
        #expect(ok.configuration?.vifs.enumerated().map { $1.devid(index: $0) } == [0, 5, 2])
        let clash = parseXL("name=\"g\"\nkernel=\"/k\"\nvif=['bridge=a','devid=0']\n")
        #expect(messages(clash) == ["t.cfg:3:17: error: duplicate vif devid 0 (first used at line 3)"])
    }
}
