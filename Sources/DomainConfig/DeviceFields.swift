// One description per device kind: for each field, its name in an xl spec,
// in SXP and in JSON, where it lives in the model, and the one check its
// values pass. The xl spec parser and emitter, the SXP reader and writer and
// the JSON reader and writer all walk these tables, so that the three readers
// accept and refuse the same values with the same message (libxl's IDL
// lesson, without a generator). What one format spells its own way (xl's
// positional disk syntax and `netdev`, SXP's `(option k v)` and the runtime
// fields xend wrote, JSON's `options` object) is a small hook in that
// format's code.

/// How a field's value is typed in JSON. xl and SXP write every value as
/// text: integers in decimal, flags as 0 or 1.
enum FieldKind: Sendable {
    case text, integer, flag
}

/// A field's name in each format; nil when the format spells the field its
/// own way (a hook) or not at all.
struct FieldNames: Sendable, ExpressibleByStringLiteral {
    var xl: String?
    var sxp: String?
    var json: String?

    init(xl: String?, sxp: String?, json: String?) {
        (self.xl, self.sxp, self.json) = (xl, sxp, json)
    }

    /// The same name everywhere.
    init(stringLiteral name: String) { self.init(xl: name, sxp: name, json: name) }
}

/// One field of a device kind.
struct DeviceField<Device: Sendable>: Sendable {
    var names: FieldNames
    var kind: FieldKind
    /// The value as text; nil when it is absent and so not written.
    var text: @Sendable (Device) -> String?
    /// Checks a value given as text and stores it; the message when refused.
    var store: @Sendable (inout Device, String) -> String?
}

/// Whether an option (a `key=value` kept as given in `options`) is one the device knows.
enum OptionVerdict: Sendable, Equatable {
    case accepted
    /// The key is not one of the device's: each reader says so in its own words.
    case unknownKey
    case refused(String)
}

/// The table of one device kind.
struct DeviceDescription<Device: Sendable>: Sendable {
    /// Its name in messages (`vif`, `disk`).
    var name: String
    /// Its fields, in the order every writer writes them.
    var fields: [DeviceField<Device>]
    /// Where the kind keeps the `key=value` options it passes on as given, if it does.
    var options: (WritableKeyPath<Device, [String: String]> & Sendable)?
    var checkOption: @Sendable (String, String) -> OptionVerdict = { _, _ in .unknownKey }
    /// The device before any field is read.
    var blank: Device
    /// Checks and completes a device once all its fields are read (nothing
    /// when `fieldsFailed`, to report each problem once); the messages.
    var finish: @Sendable (inout Device, _ fieldsFailed: Bool) -> [String] = { _, _ in [] }

    func field(xl key: String) -> DeviceField<Device>? { fields.first { $0.names.xl == key } }
    func field(sxp key: String) -> DeviceField<Device>? { fields.first { $0.names.sxp == key } }
    func field(json key: String) -> DeviceField<Device>? { fields.first { $0.names.json == key } }

    /// Whether xl.cfg spells the device as a `key=value,...` spec.
    var hasXLSpec: Bool { fields.contains { $0.names.xl != nil } }

    /// A value read from SXP or JSON that xl's spec could not carry: a
    /// comma would split it (`commaAllowed`: a disk's target, which is last
    /// and takes the rest). The message names the field as the reader spells it.
    func commaProblem(_ key: String, _ value: String, commaAllowed: Bool = false) -> String? {
        guard hasXLSpec, !commaAllowed, value.contains(",") else { return nil }
        return "`\(key)` holds a `,`, which xl's \(name) spec cannot carry in a value"
    }

    /// What readers say of an option key the device does not know.
    func unknownOption(_ key: String) -> String { "unknown \(name) parameter `\(key)`" }

    /// Checks an option and keeps it; the message when refused.
    func storeOption(_ device: inout Device, _ key: String, _ value: String) -> String? {
        guard let options else { return unknownOption(key) }
        switch checkOption(key, value) {
        case .accepted:
            device[keyPath: options][key] = value
            return nil
        case .unknownKey: return unknownOption(key)
        case .refused(let message): return message
        }
    }
}

// MARK: - Field builders

extension DeviceField {
    /// The field at `path`, which every device has: `write` gives a value's
    /// text (nil: not written), `read` the value of a text (nil: refused with `message`).
    static func at<Value>(_ names: FieldNames, _ kind: FieldKind, _ path: WritableKeyPath<Device, Value> & Sendable,
                          write: @escaping @Sendable (Value) -> String?, read: @escaping @Sendable (String) -> Value?,
                          message: @escaping @Sendable (String) -> String) -> DeviceField {
        DeviceField(names: names, kind: kind, text: { write($0[keyPath: path]) }, store: { device, text in
            guard let value = read(text) else { return message(text) }
            device[keyPath: path] = value
            return nil
        })
    }

    /// The optional field at `path`, written when it is there.
    static func optional<Value>(_ names: FieldNames, _ kind: FieldKind, _ path: WritableKeyPath<Device, Value?> & Sendable,
                                write: @escaping @Sendable (Value) -> String, read: @escaping @Sendable (String) -> Value?,
                                message: @escaping @Sendable (String) -> String) -> DeviceField {
        DeviceField(names: names, kind: kind, text: { $0[keyPath: path].map(write) }, store: { device, text in
            guard let value = read(text) else { return message(text) }
            device[keyPath: path] = value
            return nil
        })
    }

    /// A text field; `check` gives the message for a value it refuses.
    static func string(_ names: FieldNames, _ path: WritableKeyPath<Device, String?> & Sendable,
                       check: @escaping @Sendable (String) -> String? = { _ in nil }) -> DeviceField {
        optional(names, .text, path, write: { $0 }, read: { check($0) == nil ? $0 : nil }, message: { check($0) ?? "" })
    }

    /// A text field every device has (written always).
    static func string(_ names: FieldNames, _ path: WritableKeyPath<Device, String> & Sendable,
                       check: @escaping @Sendable (String) -> String? = { _ in nil }) -> DeviceField {
        at(names, .text, path, write: { $0 }, read: { check($0) == nil ? $0 : nil }, message: { check($0) ?? "" })
    }

    /// A text field that takes one of `values`.
    static func oneOf(_ names: FieldNames, _ values: [String], _ path: WritableKeyPath<Device, String?> & Sendable,
                      message: @escaping @Sendable (String) -> String) -> DeviceField {
        optional(names, .text, path, write: { $0 }, read: { values.contains($0) ? $0 : nil }, message: message)
    }

    /// A field of an enumeration, written by its raw value.
    static func enumeration<E: RawRepresentable & Sendable>(_ names: FieldNames, _ path: WritableKeyPath<Device, E> & Sendable,
                                                            message: @escaping @Sendable (String) -> String) -> DeviceField
    where E.RawValue == String {
        at(names, .text, path, write: { $0.rawValue }, read: { E(rawValue: $0) }, message: message)
    }

    static func enumeration<E: RawRepresentable & Sendable>(_ names: FieldNames, _ path: WritableKeyPath<Device, E?> & Sendable,
                                                            message: @escaping @Sendable (String) -> String) -> DeviceField
    where E.RawValue == String {
        optional(names, .text, path, write: { $0.rawValue }, read: { E(rawValue: $0) }, message: message)
    }

    /// An integer as C's strtol reads it (`0x1f`, `017`), in `range`.
    static func integer(_ names: FieldNames, _ path: WritableKeyPath<Device, Int?> & Sendable, in range: ClosedRange<Int>,
                        message: @escaping @Sendable (String) -> String) -> DeviceField {
        optional(names, .integer, path, write: { String($0) }, read: { parseCInteger($0).flatMap { range.contains($0) ? $0 : nil } },
           message: message)
    }

    /// A flag: `parse` reads the text.
    static func flag(_ names: FieldNames, _ path: WritableKeyPath<Device, Bool?> & Sendable,
                     parse: @escaping @Sendable (String) -> Bool?, message: @escaping @Sendable (String) -> String) -> DeviceField {
        optional(names, .flag, path, write: { $0 ? "1" : "0" }, read: parse, message: message)
    }

    /// A flag every device has (written always).
    static func flag(_ names: FieldNames, _ path: WritableKeyPath<Device, Bool> & Sendable,
                     parse: @escaping @Sendable (String) -> Bool?, message: @escaping @Sendable (String) -> String) -> DeviceField {
        at(names, .flag, path, write: { $0 ? "1" : "0" }, read: parse, message: message)
    }

    /// A flag that is written only when set.
    static func presence(_ names: FieldNames, _ path: WritableKeyPath<Device, Bool> & Sendable,
                         parse: @escaping @Sendable (String) -> Bool?, message: @escaping @Sendable (String) -> String) -> DeviceField {
        at(names, .flag, path, write: { $0 ? "1" : nil }, read: parse, message: message)
    }
}

/// `1`, `yes`, `true`, `on` or `0`, `no`, `false`, `off`; a bare word (nil) is true.
func parseFlag(_ value: String?) -> Bool? {
    guard let value else { return true }
    switch value {
    case "1", "yes", "true", "on": return true
    case "0", "no", "false", "off": return false
    default: return nil
    }
}

/// A C integer, non-zero for true (libxlutil's reading of pci options).
private func parseIntegerFlag(_ value: String) -> Bool? { parseCInteger(value).map { $0 != 0 } }

// MARK: - The tables

extension DiskDevice {
    /// The disk's fields. xl's spec grammar (positional parameters, deprecated
    /// prefixes, `target=` last) is DiskSpec.swift's; SXP's `uname`, `dev` and
    /// `mode` are ModelSXP.swift's.
    static let description = DeviceDescription<DiskDevice>(
        name: "disk",
        fields: [
            .string(FieldNames(xl: nil, sxp: nil, json: "target"), \.target),
            .enumeration("format", \.format, message: { "unknown value for format `\($0)`" }),
            .string(FieldNames(xl: "vdev", sxp: nil, json: "vdev"), \.vdev),
            .enumeration(FieldNames(xl: "access", sxp: nil, json: "access"), \.access,
                         message: { "unknown value for access `\($0)`" }),
            .enumeration(FieldNames(xl: nil, sxp: nil, json: "device_type"), \.deviceType,
                         message: { "unknown value for devtype `\($0)`" }),
            .enumeration(FieldNames(xl: "backendtype", sxp: "backendtype", json: "backend_type"), \.backendType,
                         message: { "unknown value for backendtype `\($0)`" }),
            .string("backend", \.backendDomain),
            .string("script", \.script),
            .presence(FieldNames(xl: nil, sxp: "direct_io_safe", json: "direct_io_safe"), \.directIOSafe,
                      parse: { parseFlag($0) }, message: { "disk direct_io_safe must be 0 or 1, not `\($0)`" }),
            .flag(FieldNames(xl: nil, sxp: "discard", json: "discard"), \.discardEnable,
                  parse: { parseFlag($0) }, message: { "disk discard must be 0 or 1, not `\($0)`" }),
        ],
        options: \DiskDevice.options,
        checkOption: checkDiskOption,
        blank: DiskDevice(target: nil, vdev: ""),
        finish: { disk, failed in
            disk.normalize()
            guard !failed else { return [] }
            // In xl's order: the spec is checked before the vdev's name.
            if disk.vdev.isEmpty { return ["no vdev specified"] }
            if disk.target == nil, disk.deviceType != .cdrom { return ["no target specified (and device not removable)"] }
            return vdevProblem(disk.vdev).map { [$0] } ?? []
        })

    /// Why `vdev` is not a disk name Xen knows, or nil.
    @Sendable static func vdevProblem(_ vdev: String) -> String? {
        if vdev.isEmpty { return "no vdev specified" }
        if deviceNumber(ofVdev: vdev) != nil { return nil }
        return "bad vdev `\(vdev)`: expected a name like xvda, xvdb2, hda (to hdd), sdb (to sdp) or d0p1"
    }

    /// Options xl's disk spec knows; the flags (`colo`, `trusted`, ...) have no value.
    static let flagOptions: Set<String> = ["colo", "no-colo", "trusted", "untrusted"]

    @Sendable static func checkDiskOption(_ key: String, _ value: String) -> OptionVerdict {
        switch key {
        case _ where flagOptions.contains(key):
            return value.isEmpty ? .accepted : .refused("disk `\(key)` takes no value, not `\(value)`")
        case "specification":
            return value == "xen" || value == "virtio" ? .accepted : .refused("unknown value for specification `\(value)`")
        case "grant_usage":
            return value == "0" || value == "1" ? .accepted : .refused("unknown value for grant_usage `\(value)`")
        case "colo-host", "colo-port", "colo-export", "active-disk", "hidden-disk":
            return .accepted
        default:
            return .unknownKey
        }
    }

    /// What every reader makes of a disk once read, as xl's does: an empty
    /// target is none, and a cdrom is read-only and, without a target, an
    /// empty drive.
    mutating func normalize() {
        if target == "" { target = nil }
        if deviceType == .cdrom {
            access = .readOnly
            if target == nil { format = .empty }
        }
    }
}

extension NetworkInterface {
    static let description = DeviceDescription<NetworkInterface>(
        name: "vif",
        fields: [
            DeviceField(names: "mac", kind: .text, text: { $0.mac?.description }, store: { vif, value in
                guard let mac = MACAddress(value) else {
                    return "bad MAC address `\(value)`: expected six hex octets like 00:16:3e:12:34:56"
                }
                if mac.isMulticast {
                    return "MAC address `\(value)` is a multicast address (the low bit of the first octet is set)"
                }
                vif.mac = mac
                return nil
            }),
            .string("bridge", \.bridge),
            .string("ip", \.ip),
            .string("script", \.script),
            .string("model", \.model),
            .oneOf("type", ["vif", "ioemu"], \.type, message: { "vif type must be `vif` or `ioemu`, not `\($0)`" }),
            .string("vifname", \.vifname),
            .string("rate", \.rate, check: { isValidRate($0) ? nil :
                "bad vif rate `\($0)`: expected e.g. `10Mb/s`, `100KB/s` or `1GB/s@20ms` (units K, M, G; B bytes, b bits)" }),
            .integer("mtu", \.mtu, in: 1...Int.max, message: { "vif mtu must be a positive integer, not `\($0)`" }),
            .string("backend", \.backend),
            .string("gatewaydev", \.gatewaydev),
        ],
        options: \NetworkInterface.options,
        checkOption: { key, value in
            switch key {
            case "devid":
                if let n = Int(value), n >= 0 { return .accepted }
                return .refused("vif devid must be a number, not `\(value)`")
            case "accel", "trusted", "untrusted", "forwarddev": return .accepted
            default: return key.hasPrefix("colo_") ? .accepted : .unknownKey  // COLO settings, passed on as given
            }
        },
        blank: NetworkInterface())
}

extension FramebufferDevice {
    static let description: DeviceDescription<FramebufferDevice> = {
        func flagMessage(_ key: String) -> @Sendable (String) -> String { { "vfb `\(key)` must be 0 or 1, not `\($0)`" } }
        return DeviceDescription(
            name: "vfb",
            fields: [
                .flag("vnc", \.vnc, parse: { parseFlag($0) }, message: flagMessage("vnc")),
                .flag("sdl", \.sdl, parse: { parseFlag($0) }, message: flagMessage("sdl")),
                .string("vnclisten", \.vnclisten),
                .integer("vncdisplay", \.vncdisplay, in: 0...Int.max, message: { "vfb vncdisplay must be a number, not `\($0)`" }),
                .flag("vncunused", \.vncunused, parse: { parseFlag($0) }, message: flagMessage("vncunused")),
                .string("vncpasswd", \.vncpasswd),
                .flag("opengl", \.opengl, parse: { parseFlag($0) }, message: flagMessage("opengl")),
                .string("display", \.display),
                .string("xauthority", \.xauthority),
                .string("keymap", \.keymap),
                .string("backend", \.backend),
            ],
            blank: FramebufferDevice())
    }()

    /// xm's `type=vnc` / `type=sdl` (xl specs and SXP): which display to turn on.
    mutating func setType(_ value: String) -> String? {
        switch value {
        case "vnc": vnc = true
        case "sdl": sdl = true
        default: return "vfb type must be `vnc` or `sdl`, not `\(value)`"
        }
        return nil
    }
}

extension KeyboardDevice {
    static let optionKeys: Set<String> = [
        "unique-id", "feature-disable-keyboard", "feature-disable-pointer", "feature-abs-pointer", "feature-raw-pointer",
        "feature-multi-touch", "width", "height", "multi-touch-width", "multi-touch-height", "multi-touch-num-contacts",
    ]

    static let description = DeviceDescription<KeyboardDevice>(
        name: "vkb",
        fields: [
            .string("backend", \.backend),
            .oneOf(FieldNames(xl: "backend-type", sxp: "backend-type", json: "backend_type"), ["qemu", "linux"], \.backendType,
                   message: { "vkb backend-type must be `qemu` or `linux`, not `\($0)`" }),
        ],
        options: \KeyboardDevice.options,
        checkOption: { key, _ in optionKeys.contains(key) ? .accepted : .unknownKey },
        blank: KeyboardDevice())
}

extension ChannelDevice {
    static let description = DeviceDescription<ChannelDevice>(
        name: "channel",
        fields: [
            .string("name", \.name),
            .string("connection", \.connection, check: { $0 == "pty" || $0 == "socket" ? nil :
                "channel connection must be `pty` or `socket`, not `\($0)`" }),
            .string("path", \.path),
            .string("backend", \.backend),
        ],
        blank: ChannelDevice(name: "", connection: ""),
        finish: { channel, failed in
            var problems: [String] = []
            if channel.name.isEmpty { problems.append("a channel needs `name=`") }
            if channel.connection.isEmpty, !failed { problems.append("a channel needs `connection=pty` or `connection=socket`") }
            if channel.connection == "socket", channel.path == nil { problems.append("a socket channel needs `path=`") }
            return problems
        })
}

extension ConsoleDevice {
    /// xl.cfg has no console key (xl always gives a guest its console): SXP and JSON only.
    static let description = DeviceDescription<ConsoleDevice>(
        name: "console",
        fields: [
            .string(FieldNames(xl: nil, sxp: "protocol", json: "protocol"), \.protocolName),
            .string(FieldNames(xl: nil, sxp: "location", json: "location"), \.location),
            .string(FieldNames(xl: nil, sxp: "backend", json: "backend"), \.backend),
        ],
        blank: ConsoleDevice())
}

extension PCIDevice {
    /// The options after the address. The address and the virtual slot are
    /// spelled differently in each format (`BDF@VSLOT`; SXP's `(domain ..)
    /// (bus ..)`; JSON's `bdf`): see `vslotProblem`.
    static let description: DeviceDescription<PCIDevice> = {
        func flagMessage(_ key: String) -> @Sendable (String) -> String { { "pci option `\(key)` must be 0 or 1, not `\($0)`" } }
        return DeviceDescription(
            name: "pci",
            fields: [
                .flag("permissive", \.permissive, parse: parseIntegerFlag, message: flagMessage("permissive")),
                .flag("msitranslate", \.msitranslate, parse: parseIntegerFlag, message: flagMessage("msitranslate")),
                .flag("seize", \.seize, parse: parseIntegerFlag, message: flagMessage("seize")),
                .flag("power_mgmt", \.powerManagement, parse: parseIntegerFlag, message: flagMessage("power_mgmt")),
                .oneOf("rdm_policy", ["strict", "relaxed"], \.rdmPolicy,
                       message: { "pci rdm_policy must be `strict` or `relaxed`, not `\($0)`" }),
            ],
            blank: PCIDevice(bus: 0, device: 0, function: 0))
    }()

    /// Why a virtual slot is refused, or nil.
    static func vslotProblem(_ slot: Int) -> String? {
        (0...0x1F).contains(slot) ? nil : "bad pci vslot \(slot): expected a slot from 0 to 31 (0x1f)"
    }
}

// MARK: - Checks across a domain's devices

/// The duplicates xl refuses among a domain's devices (two names for one
/// disk, one MAC or vif devid twice, one channel name twice), checked by
/// every reader.
/// `Place` is where a device was read, to say where the first one is.
struct DeviceDuplicates<Place> {
    private var disks: [Int: (vdev: String, at: Place)] = [:]
    private var macs: [MACAddress: Place] = [:]
    private var vifDevids: [UInt32: Place] = [:]
    private var vifCount = 0
    private var channels: [String: Place] = [:]

    /// nil, or why `disk` repeats one before it and where that one is.
    mutating func check(_ disk: DiskDevice, at place: Place) -> (message: String, first: Place)? {
        guard let number = disk.deviceNumber else { return nil }
        if let first = disks[number] {
            let same = first.vdev == disk.vdev ? "" : " (the same device as `\(first.vdev)`)"
            return ("duplicate vdev `\(disk.vdev)`\(same)", first.at)
        }
        disks[number] = (disk.vdev, place)
        return nil
    }

    /// Vifs must come in the config's order: a vif's devid is its index
    /// unless its spec says `devid=`.
    mutating func check(_ vif: NetworkInterface, at place: Place) -> (message: String, first: Place)? {
        let devid = vif.devid(index: vifCount)
        vifCount += 1
        if let first = vifDevids[devid] { return ("duplicate vif devid \(devid)", first) }
        vifDevids[devid] = place
        guard let mac = vif.mac else { return nil }
        if let first = macs[mac] { return ("duplicate MAC address \(mac)", first) }
        macs[mac] = place
        return nil
    }

    mutating func check(_ channel: ChannelDevice, at place: Place) -> (message: String, first: Place)? {
        if let first = channels[channel.name] { return ("duplicate channel name `\(channel.name)`", first) }
        channels[channel.name] = place
        return nil
    }
}
