import PropertyBased
import Testing
@testable import DomainConfig

/// The xl, SXP and JSON readers agree: the same device, written in each
/// format, gives the same model or is refused with the same messages; and
/// every writer's output reads back, in every format, to the model written.
@Suite struct CodecAgreementTests {
    @Test func randomModelsReadTheSameFromEveryWriter() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int.max)) { seed in
            let c = randomModel(seed: UInt64(seed), withConsoles: false)
            for (text, format) in [(c.xlText(), ConfigFormat.xl), (c.sxpText(), .sxp), (c.jsonText(), .json)] {
                let again = reread(text, format)
                #expect(again.errors == [], "\(format):\n\(text)")
                #expect(again.configuration == c, "\(format):\n\(text)")
                // And what the reader made is written the same way again.
                #expect(again.configuration?.xlText() == c.xlText())
                #expect(again.configuration?.jsonText() == c.jsonText())
                #expect(again.configuration?.sxpText() == c.sxpText())
            }
        }
    }

    /// xend's vcpu_avail mask is any size: a guest with 64 vCPUs or more, some
    /// offline at start, reads back from SXP (it came back with all online).
    @Test func manyVCPUsSomeOnlineAtStart() throws {
        for (online, max) in [(3, 4), (62, 64), (63, 64), (64, 65), (100, 4096), (4095, 4096)] {
            var c = randomModel(seed: UInt64(online), withConsoles: true)
            c.VCPUs_at_startup = online
            c.VCPUs_max = max
            c.cpus = nil
            let again = reread(c.sxpText(), .sxp)
            #expect(again.errors == [])
            #expect(again.configuration == c, "\(online) of \(max)")
        }
        #expect(VCPUMask.lowest(3) == "7")
        #expect(VCPUMask.lowest(64) == "18446744073709551615")
        #expect(VCPUMask.count("18446744073709551615") == 64)
        #expect(VCPUMask.count("0x5") == 2)
        #expect(VCPUMask.count("-1") == nil)
        #expect(VCPUMask.count("1e3") == nil)
    }

    @Test func randomDeviceSpecsGetTheSameAnswerFromEveryReader() async {
        await propertyCheck(count: 1000, input: Gen.int(in: 0...Int.max)) { seed in
            let spec = RandomDevice(seed: UInt64(seed))
            var answers: [(ConfigFormat, String, Answer)] = []
            for format in [ConfigFormat.xl, .sxp, .json] {
                guard let text = spec.config(format) else { continue }
                answers.append((format, text, Answer(DomainConfiguration.parse(text: text, fileName: "t", format: format,
                                                                               options: fixedOptions))))
            }
            guard let (firstFormat, firstText, first) = answers.first else { return }
            for (format, text, answer) in answers.dropFirst() {
                #expect(answer == first, "\(firstFormat) and \(format) disagree:\n\(firstText)\n\(text)")
            }
        }
    }

    /// The disagreements the table removed, one example each (all found by
    /// the property test above or by reading the old readers).
    @Test func formerDisagreements() {
        func json(_ kind: String, _ device: String) -> [String] {
            let text = #"{"name_label": "g", "PV_kernel": "/k", "devices": {"\#(kind)": [\#(device)]}}"#
            return DomainConfiguration.parse(text: text, fileName: "t", format: .json, options: fixedOptions).errors.map(\.message)
        }
        #expect(json("vif", #"{"mtu": -5}"#) == ["devices.vif[0].mtu: vif mtu must be a positive integer, not `-5`"])
        #expect(json("vif", #"{"type": "tap", "rate": "fast"}"#) == [
            "devices.vif[0].type: vif type must be `vif` or `ioemu`, not `tap`",
            "devices.vif[0].rate: bad vif rate `fast`: expected e.g. `10Mb/s`, `100KB/s` or `1GB/s@20ms` (units K, M, G; B bytes, b bits)",
        ])
        #expect(json("vif", #"{"options": {"color": "red"}}"#) == ["devices.vif[0].options.color: unknown vif parameter `color`"])
        #expect(json("vfb", #"{"vncdisplay": -1}"#) == ["devices.vfb[0].vncdisplay: vfb vncdisplay must be a number, not `-1`"])
        #expect(json("vkb", #"{"backend_type": "x11"}"#) == ["devices.vkb[0].backend_type: vkb backend-type must be `qemu` or `linux`, not `x11`"])
        #expect(json("channel", #"{"name": "a", "connection": "socket"}"#) == ["devices.channel[0]: a socket channel needs `path=`"])
        #expect(json("pci", #"{"bdf": "00:02.0", "vslot": 32}"#) == ["devices.pci[0].vslot: bad pci vslot 32: expected a slot from 0 to 31 (0x1f)"])
        #expect(json("disk", #"{"vdev": "floppy", "target": "/x"}"#)
            == ["devices.disk[0]: bad vdev `floppy`: expected a name like xvda, xvdb2, hda (to hdd), sdb (to sdp) or d0p1"])
        #expect(json("disk", #"{"vdev": "xvda", "target": "/x"}, {"vdev": "51712", "target": "/y"}"#)
            == ["devices.disk[1]: duplicate vdev `51712` (the same device as `xvda`)"])
        // A comma xl's spec could not carry, as the SXP reader refuses it; a
        // disk's target (last in the spec, taking the rest) may hold one.
        #expect(json("vif", #"{"bridge": "xenbr0,x"}"#) == ["devices.vif[0].bridge: `bridge` holds a `,`, which xl's vif spec cannot carry in a value"])
        #expect(json("vfb", #"{"vnc": true, "keymap": "en,x"}"#) == ["devices.vfb[0].keymap: `keymap` holds a `,`, which xl's vfb spec cannot carry in a value"])
        #expect(json("disk", #"{"vdev": "xvda", "target": "/a,b"}"#) == [])
        // A cdrom is read-only and without a target an empty drive, whatever the reader.
        let cdrom = DomainConfiguration.parse(text: #"{"name_label": "g", "PV_kernel": "/k", "devices": {"disk": [{"vdev": "hdc", "device_type": "cdrom", "access": "rw"}]}}"#,
                                              fileName: "t", format: .json, options: fixedOptions)
        #expect(cdrom.configuration?.disks == [disk(nil, "hdc", format: .empty, access: .readOnly, cdrom: true)])

        // What the xl and SXP writers cannot say is refused (a size in bytes, not MiB).
        let bytes = DomainConfiguration.parse(text: #"{"name_label": "g", "PV_kernel": "/k", "memory_dynamic_max": 1000}"#,
                                              fileName: "t", format: .json, options: fixedOptions)
        #expect(bytes.errors.map(\.message) == ["memory_dynamic_max: must be a whole number of MiB from 1 MiB to 2^40 MiB, not 1000 bytes"])
        // Nor a PV guest without a kernel, which xl refuses.
        #expect(DomainConfiguration.parse(text: "(vm (name g) (image (linux (args x))))", fileName: "t", format: .sxp,
                                          options: fixedOptions).errors.map(\.message)
            == ["a PV guest needs `kernel` (or `bootloader`): e.g. `kernel = \"/boot/vmlinuz\"`"])

        let sxp = DomainConfiguration.parse(text: "(vm (name g) (image (linux (kernel /k))) (device (vfb (vnc maybe))) (device (pci (dev (bus 0) (slot 2) (func 0) (rdm_policy lax)))))",
                                            fileName: "t", format: .sxp, options: fixedOptions)
        #expect(sxp.errors.map(\.message) == ["vfb `vnc` must be 0 or 1, not `maybe`", "pci rdm_policy must be `strict` or `relaxed`, not `lax`"])
    }
}

/// What a reader made of a config: the model, or its error messages without
/// the context each format adds (JSON's path before, xl's "in vif spec `...`"
/// and "(first used at line N)" after), sorted.
enum Answer: Equatable {
    case model(DomainConfiguration)
    case refused([String])

    init(_ r: ParseResult) {
        if let c = r.configuration {
            self = .model(c)
            return
        }
        self = .refused(r.errors.map { Self.core($0.message) }.sorted())
    }

    static func core(_ message: String) -> String {
        var m = Substring(message)
        if m.hasPrefix("devices."), let colon = m.firstRange(of: ": ") { m = m[colon.upperBound...] }
        for kind in ["vif", "vfb", "vkb", "channel", "disk"] {
            if let r = m.firstRange(of: " in \(kind) spec `") { m = m[..<r.lowerBound] }
        }
        if let r = m.firstRange(of: " (first used at line ") { m = m[..<r.lowerBound] }
        return String(m)
    }
}

/// A random device spec: for each field maybe a value, valid or not, as text.
struct RandomDevice {
    var kind: String
    /// (field, value) in each kind's canonical order.
    var fields: [(String, String)] = []
    var options: [(String, String)] = []

    static let values: [String: [(String, [String])]] = [
        "vif": [
            ("mac", ["00:16:3e:01:02:03", "01:00:00:00:00:00", "zz", "00:16:3e:01:02"]),
            ("bridge", ["xenbr0"]), ("ip", ["10.0.0.2"]), ("script", ["vif-bridge"]), ("model", ["e1000"]),
            ("type", ["vif", "ioemu", "tap"]), ("vifname", ["v0"]),
            ("rate", ["10Mb/s", "1GB/s@20ms", "fast", "0MB/s", "100kb/s"]),
            ("mtu", ["1500", "9000", "0", "-5", "99999999999999999999", "1.5", "0x10", "abc"]),
            ("backend", ["netdom"]), ("gatewaydev", ["eth0"]),
        ],
        "vfb": [
            ("vnc", ["1", "0", "yes", "off", "maybe"]), ("sdl", ["1", "0", "2"]), ("vnclisten", ["0.0.0.0"]),
            ("vncdisplay", ["0", "3", "-1", "x", "017"]), ("vncunused", ["1", "0", "true", "nope"]), ("vncpasswd", ["pw"]),
            ("opengl", ["1", "0"]), ("display", [":0"]), ("xauthority", ["/root/.Xauthority"]), ("keymap", ["de"]),
            ("backend", ["dom1"]),
        ],
        "vkb": [("backend", ["dom1"]), ("backend-type", ["qemu", "linux", "x11"])],
        "channel": [("name", ["org.a", "org.b", ""]), ("connection", ["pty", "socket", "tcp"]), ("path", ["/run/s"]),
                    ("backend", ["dom1"])],
        "pci": [("vslot", ["5", "31", "32", "127"]), ("permissive", ["1", "0", "2", "x"]), ("msitranslate", ["1", "0"]),
                ("seize", ["0", "1"]), ("power_mgmt", ["1", "y"]), ("rdm_policy", ["strict", "relaxed", "lax"])],
        "disk": [
            ("target", ["/img/a", ""]), ("format", ["raw", "qcow2", "zip"]), ("vdev", ["xvda", "hdc", "51712", "bogus"]),
            ("access", ["rw", "ro", "rx"]), ("devtype", ["disk", "cdrom"]), ("backendtype", ["phy", "qdisk", "nope"]),
            ("backend", ["stor"]), ("script", ["block-x"]), ("direct-io-safe", ["1"]), ("discard", ["1", "0"]),
        ],
    ]
    static let optionValues: [String: [(String, String)]] = [
        "vif": [("accel", "x"), ("devid", "3"), ("devid", "x"), ("color", "red"), ("colo_y", "1")],
        "vkb": [("unique-id", "k0"), ("width", "10"), ("color", "red")],
        "disk": [("colo", ""), ("specification", "xen"), ("specification", "bad"), ("grant_usage", "1"), ("grant_usage", "2"),
                 ("color", "red")],
    ]
    /// Values no reader accepts for a disk; xl's disk grammar stops at its first problem, so a disk gets at most one.
    static let badDiskValues: Set<String> = ["zip", "bogus", "rx", "nope", "bad", "2", "red"]

    init(seed: UInt64) {
        var g = SeededGenerator(state: seed)
        let kinds = Self.values.keys.sorted()
        kind = kinds.randomElement(using: &g)!
        var bad = 0
        for (field, choices) in Self.values[kind]! where Bool.random(using: &g) {
            let value = choices.randomElement(using: &g)!
            if kind == "disk", Self.badDiskValues.contains(value) {
                guard bad == 0 else { continue }
                bad += 1
            }
            fields.append((field, value))
        }
        var seen = Set<String>()
        for _ in 0..<Int.random(in: 0...2, using: &g) {
            guard let (key, value) = Self.optionValues[kind]?.randomElement(using: &g), seen.insert(key).inserted else { continue }
            if kind == "disk", Self.badDiskValues.contains(value) {
                guard bad == 0 else { continue }
                bad += 1
            }
            options.append((key, value))
        }
        // A disk always names a vdev, and a pci device is at 00:02.0.
        if kind == "disk", !fields.contains(where: { $0.0 == "vdev" }) { fields.append(("vdev", "xvdb")) }
    }

    func value(_ field: String) -> String? { fields.first { $0.0 == field }?.1 }

    /// A whole config holding the device, or nil when the format cannot say it.
    func config(_ format: ConfigFormat) -> String? {
        switch format {
        case .xl:
            return "name = \"g\"\nkernel = \"/k\"\n\(kind) = [ '\(xlSpec)' ]\n"
        case .sxp:
            return "(vm (name g) (image (linux (kernel /k))) (device \(sxp)))\n"
        case .json:
            guard let device = json else { return nil }
            return #"{"name_label": "g", "PV_kernel": "/k", "devices": {"\#(kind)": [\#(device)]}}"#
        default:
            return nil
        }
    }

    var xlSpec: String {
        switch kind {
        case "pci":
            return (["00:02.0"] + fields.map { $0.0 == "vslot" ? "vslot=" + hexOrSelf($0.1) : "\($0.0)=\($0.1)" }
                + options.map { "\($0.0)=\($0.1)" }).joined(separator: ",")
        case "disk":
            var parts: [String] = []
            for (field, value) in fields where field != "target" {
                switch field {
                case "direct-io-safe": parts.append(field)
                case "discard": parts.append(value == "1" ? "discard" : "no-discard")
                default: parts.append("\(field)=\(value)")
                }
            }
            parts += options.map { $0.1.isEmpty ? $0.0 : "\($0.0)=\($0.1)" }
            if let target = value("target") { parts.append("target=" + target) }
            return parts.joined(separator: ",")
        default:
            return (fields + options).map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        }
    }

    var sxp: String {
        func atom(_ s: String) -> String { sxpQuote(s) }
        let optionItems = options.map { "(option \(atom($0.0)) \(atom($0.1)))" }
        switch kind {
        case "pci":
            let items = fields.map { "(\($0.0) \($0.0 == "vslot" ? "0x" + hexOrSelf($0.1) : atom($0.1)))" }
            return "(pci (dev (domain 0x0000) (bus 0x00) (slot 0x02) (func 0x0) " + items.joined(separator: " ") + "))"
        case "disk":
            var items: [String] = []
            for (field, value) in fields {
                switch field {
                case "target": items.append("(uname \(atom(value)))")
                case "vdev": items.append("(dev \(atom(value + (self.value("devtype") == "cdrom" ? ":cdrom" : ""))))")
                case "devtype": break
                case "access": items.append("(mode \(value))")
                case "direct-io-safe": items.append("(direct_io_safe 1)")
                default: items.append("(\(field) \(atom(value)))")
                }
            }
            return "(vbd " + (items + optionItems).joined(separator: " ") + ")"
        default:
            let head = kind == "vkb" ? "vkbd" : kind
            return "(\(head) " + (fields.map { "(\($0.0) \(atom($0.1)))" } + optionItems).joined(separator: " ") + ")"
        }
    }

    /// Fields typed as JSON types them; nil when a value has no JSON spelling
    /// (a flag that is not 0 or 1 in some form, an integer that is no JSON number).
    var json: String? {
        let integers: Set<String> = ["mtu", "vncdisplay", "vslot"]
        let flags: Set<String> = ["vnc", "sdl", "vncunused", "opengl", "direct-io-safe", "discard"]
        let cFlags: Set<String> = ["permissive", "msitranslate", "seize", "power_mgmt"]
        let names = ["backend-type": "backend_type", "backendtype": "backend_type", "devtype": "device_type",
                     "direct-io-safe": "direct_io_safe"]
        var members: [String] = kind == "pci" ? [#""bdf": "00:02.0""#] : []
        for (field, value) in fields {
            let name = jsonQuote(names[field] ?? field)
            if integers.contains(field) {
                guard case .success((.number, _)) = JSONValue.parse(value) else { return nil }
                members.append("\(name): \(value)")
            } else if flags.contains(field) {
                guard let b = parseFlag(value) else { return nil }
                members.append("\(name): \(b)")
            } else if cFlags.contains(field) {
                guard let n = parseCInteger(value) else { return nil }
                members.append("\(name): \(n != 0)")
            } else {
                members.append("\(name): \(jsonQuote(value))")
            }
        }
        if !options.isEmpty {
            members.append(#""options": {"# + options.map { "\(jsonQuote($0.0)): \(jsonQuote($0.1))" }.joined(separator: ", ") + "}")
        }
        return "{" + members.joined(separator: ", ") + "}"
    }

    /// A decimal slot number as the hex text xl and SXP spell it.
    func hexOrSelf(_ decimal: String) -> String { Int(decimal).map { String($0, radix: 16) } ?? decimal }
}
