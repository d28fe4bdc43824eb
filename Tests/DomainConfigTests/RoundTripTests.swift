import PropertyBased
import Testing
@testable import DomainConfig

/// A small deterministic generator (SplitMix64), so that a seed makes one model.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A random but valid model; `consoles` only when the format can hold them (not xl).
func randomModel(seed: UInt64, withConsoles: Bool) -> DomainConfiguration {
    var g = SeededGenerator(state: seed)
    func pick<T>(_ items: [T]) -> T { items.randomElement(using: &g)! }
    func chance(_ p: Double = 0.5) -> Bool { Double.random(in: 0..<1, using: &g) < p }
    func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &g) }
    func word(_ alphabet: String = "abcdefghijklmnopqrstuvwxyz0123456789", _ n: ClosedRange<Int> = 1...8) -> String {
        String((0..<int(n)).map { _ in alphabet.randomElement(using: &g)! })
    }
    func text() -> String {
        // Anything a string may hold: quotes, backslashes, control characters, Unicode.
        let alphabet = Array("abc XYZ 019 =,;#[]()'\"\\\t\n\u{7}\u{1b}éü☃𝄞-_/:.")
        return String((0..<int(0...24)).map { _ in alphabet.randomElement(using: &g)! })
    }

    var name = word("abcdefghijklmnopqrstuvwxyzABCZ0123456789_-.:", 1...20)
    if name.allSatisfy(\.isNumber) || name == "Domain-0" { name = "g" + name }
    var bytes = [UInt8](repeating: 0, count: 16)
    for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &g) }
    var c = DomainConfiguration(name_label: name, uuid: DomainUUID(bytes: bytes)!)
    c.type = pick(DomainType.allCases)
    let mem = UInt64(int(1...8192))
    c.memory_dynamic_max = mem << 20
    c.memory_static_max = (mem + UInt64(chance() ? 0 : int(0...4096))) << 20
    c.VCPUs_at_startup = int(1...16)
    c.VCPUs_max = c.VCPUs_at_startup + (chance() ? 0 : int(1...16))
    func affinity() -> CPUAffinity {
        switch int(0...4) {
        case 0: return .all
        case 4: return try! CPUAffinity.parse(pick(["all,^0", "0-3,nodes:1", "nodes:0-1,^nodes:1"])).get()
        case 1: return .nodes(Array(Set((0..<int(1...3)).map { _ in int(0...3) })).sorted())
        default: return .cpus(Array(Set((0..<int(1...6)).map { _ in int(0...63) })).sorted())
        }
    }
    if chance() { c.cpus = chance(0.8) ? affinity() : .perVCPU((0..<int(1...3)).map { _ in affinity() }) }
    if chance(0.3) { c.cpus_soft = affinity() }
    c.actions_after_shutdown = pick(DomainAction.allCases)
    c.actions_after_reboot = pick(DomainAction.allCases)
    c.actions_after_crash = pick(DomainAction.allCases)
    c.actions_after_watchdog = pick(DomainAction.allCases)
    c.actions_after_soft_reset = pick(DomainAction.allCases)
    c.PV_kernel = "/boot/" + word()
    if chance() { c.PV_ramdisk = "/boot/initrd-" + word() }
    if chance() { c.PV_args = text() }
    if chance(0.2) {
        c.PV_bootloader = "/usr/bin/" + word()
        c.PV_bootloader_args = (0..<int(0...3)).map { _ in "-" + word() }
    }

    var vdevs = Set<String>()
    for _ in 0..<int(0...4) {
        let vdev: String
        switch int(0...2) {
        case 0: vdev = "xvd" + word("abcdefgh", 1...2)
        case 1: vdev = "hd" + word("abcd", 1...1)
        default: vdev = "sd" + word("abcdefghijklmnop", 1...1) + (chance() ? String(int(1...15)) : "")
        }
        guard vdevs.insert(vdev).inserted else { continue }
        let cdrom = chance(0.2)
        let target: String? = cdrom && chance() ? nil : "/" + word("abc/,=.-_0123", 1...20)
        var d = DiskDevice(target: target, vdev: vdev)
        d.format = target == nil ? .empty : pick([.raw, .qcow, .qcow2, .vhd, .qed])
        d.deviceType = cdrom ? .cdrom : .disk
        d.access = cdrom || chance(0.3) ? .readOnly : .readWrite
        if chance(0.3) { d.backendType = pick(DiskDevice.BackendType.allCases) }
        if chance(0.2) { d.backendDomain = "dom" + word() }
        if chance(0.2) { d.script = "block-" + word() }
        d.directIOSafe = chance(0.2)
        if chance(0.3) { d.discardEnable = chance() }
        c.disks.append(d)
    }
    var macs = Set<MACAddress>()
    for _ in 0..<int(0...3) {
        var v = NetworkInterface()
        if chance() {
            let mac = MACAddress(bytes: [0x00, 0x16, 0x3e, UInt8(int(0...127)), UInt8(int(0...255)), UInt8(int(0...255))])!
            if macs.insert(mac).inserted { v.mac = mac }
        }
        if chance() { v.bridge = "br" + word() }
        if chance(0.3) { v.ip = "10.0.\(int(0...255)).\(int(1...254))" }
        if chance(0.3) { v.script = "vif-" + word() }
        if chance(0.3) { v.model = pick(["e1000", "rtl8139", "virtio-net"]) }
        if chance(0.3) { v.type = pick(["vif", "ioemu"]) }
        if chance(0.3) { v.vifname = "v" + word() }
        if chance(0.3) { v.rate = "\(int(1...999))\(pick(["", "K", "M", "G"]))\(pick(["b", "B"]))/s" + (chance() ? "@\(int(1...99))ms" : "") }
        if chance(0.3) { v.mtu = int(576...9000) }
        if chance(0.2) { v.backend = "net" + word() }
        if chance(0.2) { v.gatewaydev = "eth" + word("0123456789", 1...1) }
        c.vifs.append(v)
    }
    for _ in 0..<int(0...1) {
        var f = FramebufferDevice()
        f.vnc = chance()
        f.sdl = chance()
        if chance() { f.vnclisten = "127.0.0.\(int(1...9))" }
        if chance() { f.vncdisplay = int(0...99) }
        if chance() { f.vncunused = chance() }
        if chance() { f.vncpasswd = word() }
        if chance() { f.opengl = chance() }
        if chance() { f.keymap = pick(["en-us", "de", "fr"]) }
        c.vfbs.append(f)
    }
    for _ in 0..<int(0...1) {
        var k = KeyboardDevice()
        if chance() { k.backend = "dom" + word() }
        if chance() { k.backendType = pick(["qemu", "linux"]) }
        c.vkbs.append(k)
    }
    var channelNames = Set<String>()
    for _ in 0..<int(0...2) {
        let n = "org." + word()
        guard channelNames.insert(n).inserted else { continue }
        let socket = chance()
        c.channels.append(ChannelDevice(name: n, connection: socket ? "socket" : "pty",
                                        path: socket ? "/run/" + word() : nil, backend: chance(0.2) ? "dom" + word() : nil))
    }
    if withConsoles, chance(0.3) {
        var con = ConsoleDevice()
        if chance() { con.location = String(int(1...9)) }
        c.consoles.append(con)
    }
    for _ in 0..<int(0...2) {
        var p = PCIDevice(domain: int(0...2), bus: int(0...255), device: int(0...31), function: int(0...7))
        if chance(0.2) { p.allFunctions = true; p.function = 0 }
        if chance() { p.vslot = int(0...31) }
        if chance() { p.permissive = chance() }
        if chance() { p.msitranslate = chance() }
        if chance() { p.seize = chance() }
        if chance() { p.powerManagement = chance() }
        if chance() { p.rdmPolicy = pick(["strict", "relaxed"]) }
        c.pcis.append(p)
    }
    if chance(0.3) { c.serials = (0..<int(1...2)).map { _ in pick(["pty", "/dev/ttyS0", "file:/tmp/s"]) } }
    let scalarKeys = ["acpi", "apic", "boot", "viridian", "device_model_version", "localtime", "hap", "sdl", "vnc", "keymap"]
    for key in scalarKeys where chance(0.2) {
        c.platform[key] = pick([String(int(0...9)), "0x1f", "010", text(), word()])
    }
    for key in ["usbdev", "soundhw", "dtdev"] where chance(0.15) {
        c.platformLists[key] = (0..<int(0...3)).map { _ in text() }
    }
    let zero = SourceLocation(line: 0, column: 0)
    func value(_ depth: Int) -> ConfigValue {
        if depth > 1 || chance(0.6) { return .string(chance() ? String(int(0...999)) : text(), zero) }
        return .list((0..<int(0...3)).map { _ in value(depth + 1) }, zero)
    }
    for _ in 0..<int(0...2) where chance(0.3) {
        c.unknown["x_" + word()] = value(0)
    }
    return c
}

func reread(_ text: String, _ format: ConfigFormat) -> ParseResult {
    DomainConfiguration.parse(text: text, fileName: "emitted", format: format,
                              options: ParseOptions(makeUUID: { Issue.record("a uuid was made"); return fixedUUID }))
}

@Suite struct RoundTripTests {
    @Test func examplesRoundTripInEveryFormat() throws {
        let root = String(#filePath.split(separator: "/").dropLast(3).joined(separator: "/"))
        for name in ["pv-guest.cfg", "pvh-guest.cfg", "hvm-guest.cfg", "legacy-xm.cfg", "guest.sxp"] {
            let r = DomainConfiguration.load(path: "/" + root + "/examples/" + name)
            let c = try #require(r.configuration, "\(name): \(r.diagnostics)")
            for (text, format) in [(c.xlText(), ConfigFormat.xl), (c.sxpText(), .sxp), (c.jsonText(), .json)] {
                let again = reread(text, format)
                #expect(again.errors == [], "\(name) as \(format)")
                #expect(again.configuration == c, "\(name) as \(format):\n\(text)")
            }
        }
    }

    @Test func jsonIsStable() {
        let c = randomModel(seed: 7, withConsoles: true)
        let once = c.jsonText()
        #expect(reread(once, .json).configuration?.jsonText() == once)
    }

    @Test func emittedFormatsAreDetected() {
        let c = randomModel(seed: 11, withConsoles: false)
        #expect(reread(c.sxpText(), .auto).format == .sxp)
        #expect(reread(c.jsonText(), .auto).format == .json)
        #expect(reread(c.xlText(), .auto).format == .xl)
    }

    @Test func randomModelsRoundTripThroughXl() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int.max)) { seed in
            let c = randomModel(seed: UInt64(seed), withConsoles: false)
            let text = c.xlText()
            let again = reread(text, .xl)
            #expect(again.errors == [], "\(text)")
            #expect(again.configuration == c, "\(text)")
        }
    }

    @Test func randomModelsRoundTripThroughSXP() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int.max)) { seed in
            let c = randomModel(seed: UInt64(seed), withConsoles: true)
            let text = c.sxpText()
            let again = reread(text, .sxp)
            #expect(again.errors == [], "\(text)")
            #expect(again.configuration == c, "\(text)")
        }
    }

    @Test func randomModelsRoundTripThroughJSON() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int.max)) { seed in
            let c = randomModel(seed: UInt64(seed), withConsoles: true)
            let text = c.jsonText()
            let again = reread(text, .json)
            #expect(again.errors == [], "\(text)")
            #expect(again.configuration == c, "\(text)")
        }
    }

    @Test func randomDiskSpecsRoundTrip() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int.max)) { seed in
            for d in randomModel(seed: UInt64(seed), withConsoles: false).disks {
                #expect((try? DiskDevice.parse(d.specification).get()) == d, "\(d.specification)")
            }
        }
    }
}

/// No input, however random, crashes a parser; and the result is coherent.
@Suite struct FuzzTests {
    static let characters: [Character] = Array("abcnmexyzAZ0189_.-+=;,#[](){}:'\"\\ \t\n\r\u{0}\u{7}é☃")
    static let tokens: [String] = [
        "name", "memory", "disk", "vif", "kernel", " = ", "+=", "\"g\"", "'x'", "[", "]", ",", "\n", ";", "#c\n", "0x1f",
        "010", "1.5", "\\x4", "\\101", "\"\\", "'''", "\"\"\"", "True", "None", "(", ")", "(vm", "(name g)", "{", "}",
        "\"a\":", "null", "phy:", "tap:aio:", "target=", "vdev=xvda", "cdrom", ",,", "-1", "import", "\r", "é",
    ]

    func check(_ text: String) {
        for format in ConfigFormat.allCases {
            let r = DomainConfiguration.parse(text: text, fileName: "f", format: format, options: fixedOptions)
            #expect((r.configuration == nil) == !r.errors.isEmpty)
            #expect(r.diagnostics.allSatisfy { $0.location.line >= 1 && $0.location.column >= 1 })
            if let c = r.configuration {
                // Whatever was accepted can be written out and read back.
                #expect(reread(c.jsonText(), .json).configuration == c)
            }
        }
        _ = DiskDevice.parse(text)
        _ = NetworkInterface.parse(text)
        _ = PCIDevice.parse(text)
        _ = CPUAffinity.parse(text)
        _ = DomainConfiguration.parse(text: "name=\"g\"\nkernel=\"/k\"\n", fileName: "f", format: .xl,
                                      overrides: [text], options: fixedOptions)
    }

    @Test func randomCharacters() async {
        let gen = Gen<Character?>.element(of: Self.characters).map { $0 ?? "a" }.string(of: 0...120)
        await propertyCheck(count: 500, input: gen) { check($0) }
    }

    @Test func randomTokens() async {
        let gen = Gen<String?>.element(of: Self.tokens).map { $0 ?? "" }.array(of: 0...40).map { $0.joined() }
        await propertyCheck(count: 500, input: gen) { check($0) }
    }

    @Test func randomBytes() async {
        await propertyCheck(count: 300, input: Gen.latin1.string(of: 0...200)) { check($0) }
    }
}
