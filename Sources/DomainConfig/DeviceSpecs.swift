// The other device spec strings: vif, vfb, vkb, channel, pci, and CPU lists.
// Each parser returns the device or the messages of every problem found.

/// Splits `k=v,k=v` into pairs (a word without `=` has an empty value, `nil`).
func keyValuePairs(_ spec: String) -> [(key: String, value: String?)] {
    spec.split(separator: ",", omittingEmptySubsequences: true).compactMap { part in
        let item = part.drop { $0 == " " || $0 == "\t" }
        if item.isEmpty { return nil }
        if let eq = item.firstIndex(of: "=") {
            return (String(item[..<eq]), String(item[item.index(after: eq)...]))
        }
        return (String(item), nil)
    }
}

/// C's strtol with base 0 over the whole string: `0x1f`, `017` (octal), `-3`, `42`.
func parseCInteger(_ text: String) -> Int? {
    var s = Substring(text)
    while let f = s.first, f == " " || f == "\t" || f == "\n" { s = s.dropFirst() }
    var negative = false
    if s.first == "-" || s.first == "+" {
        negative = s.first == "-"
        s = s.dropFirst()
    }
    guard !s.isEmpty else { return nil }
    let value: Int?
    if s.count > 2, s.hasPrefix("0x") || s.hasPrefix("0X") {
        value = Int(s.dropFirst(2), radix: 16)
    } else if s.count > 1, s.hasPrefix("0") {
        value = Int(s.dropFirst(), radix: 8)
    } else {
        value = Int(s, radix: 10)
    }
    guard let v = value, v >= 0 else { return nil }
    return negative ? -v : v
}

extension NetworkInterface {
    /// One `vif` spec (xl-network-configuration(5)); `''` is a default vif.
    public static func parse(_ spec: String) -> Result<NetworkInterface, DeviceSpecError> {
        var vif = NetworkInterface()
        var errors: [String] = []
        for (key, value) in keyValuePairs(spec) {
            guard let value else {
                errors.append("`\(key)` needs a value (`\(key)=...`) in vif spec `\(spec)`")
                continue
            }
            switch key {
            case "mac":
                if let mac = MACAddress(value) {
                    if mac.isMulticast {
                        errors.append("MAC address `\(value)` is a multicast address (the low bit of the first octet is set)")
                    }
                    vif.mac = mac
                } else {
                    errors.append("bad MAC address `\(value)`: expected six hex octets like 00:16:3e:12:34:56")
                }
            case "bridge": vif.bridge = value
            case "ip": vif.ip = value
            case "script": vif.script = value
            case "model": vif.model = value
            case "type":
                if value == "vif" || value == "ioemu" { vif.type = value } else {
                    errors.append("vif type must be `vif` or `ioemu`, not `\(value)`")
                }
            case "vifname": vif.vifname = value
            case "rate":
                if isValidRate(value) { vif.rate = value } else {
                    errors.append("bad vif rate `\(value)`: expected e.g. `10Mb/s` or `1GB/s@20ms`")
                }
            case "mtu":
                if let m = parseCInteger(value), m > 0 { vif.mtu = m } else {
                    errors.append("vif mtu must be a positive integer, not `\(value)`")
                }
            case "backend": vif.backend = value
            case "gatewaydev": vif.gatewaydev = value
            case "accel", "devid", "trusted", "untrusted", "forwarddev", "netdev", "colo_sock_mirror_id",
                 "colo_sock_mirror_ip", "colo_sock_mirror_port", "colo_filter_mirror_queue", "bridge_vlan":
                vif.options[key] = value
            default:
                errors.append("unknown vif parameter `\(key)` in vif spec `\(spec)`")
            }
        }
        return errors.isEmpty ? .success(vif) : .failure(DeviceSpecError(messages: errors))
    }

    /// `RATE[@INTERVAL]`, RATE = number + B|b + /s with an optional k/K/m/M/g/G, INTERVAL = number + s|ms|us.
    static func isValidRate(_ rate: String) -> Bool {
        let parts = rate.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count <= 2, let amount = parts.first else { return false }
        guard amount.hasSuffix("/s") else { return false }
        var unit = amount.dropLast(2)
        guard unit.last == "B" || unit.last == "b" else { return false }
        unit = unit.dropLast()
        if let m = unit.last, "kKmMgG".contains(m) { unit = unit.dropLast() }
        guard !unit.isEmpty, unit.allSatisfy(\.isNumber) else { return false }
        if parts.count == 2 {
            var interval = parts[1]
            for suffix in ["ms", "us", "s"] where interval.hasSuffix(suffix) {
                interval = interval.dropLast(suffix.count)
                return !interval.isEmpty && interval.allSatisfy(\.isNumber)
            }
            return false
        }
        return true
    }
}

public struct DeviceSpecError: Error, Sendable, Hashable, CustomStringConvertible {
    public var messages: [String]
    public var description: String { messages.joined(separator: "; ") }
}

func parseFlag(_ value: String?) -> Bool? {
    guard let value else { return true }
    switch value {
    case "1", "yes", "true", "on": return true
    case "0", "no", "false", "off": return false
    default: return nil
    }
}

extension FramebufferDevice {
    /// One `vfb` spec: `vnc=1,vnclisten=0.0.0.0,vncdisplay=1,sdl=0,...`.
    public static func parse(_ spec: String) -> Result<FramebufferDevice, DeviceSpecError> {
        var vfb = FramebufferDevice()
        var errors: [String] = []
        for (key, value) in keyValuePairs(spec) {
            func flag() -> Bool? {
                guard let b = parseFlag(value) else {
                    errors.append("vfb `\(key)` must be 0 or 1, not `\(value ?? "")`")
                    return nil
                }
                return b
            }
            switch key {
            case "vnc": vfb.vnc = flag() ?? false
            case "sdl": vfb.sdl = flag() ?? false
            case "opengl": vfb.opengl = flag()
            case "vncunused": vfb.vncunused = flag()
            case "vnclisten": vfb.vnclisten = value ?? ""
            case "vncpasswd": vfb.vncpasswd = value ?? ""
            case "vncdisplay":
                if let v = value.flatMap(parseCInteger), v >= 0 { vfb.vncdisplay = v } else {
                    errors.append("vfb vncdisplay must be a number, not `\(value ?? "")`")
                }
            case "display": vfb.display = value ?? ""
            case "xauthority": vfb.xauthority = value ?? ""
            case "keymap": vfb.keymap = value ?? ""
            case "backend": vfb.backend = value ?? ""
            case "type":
                // xm's `vfb = [ 'type=vnc' ]`.
                switch value {
                case "vnc": vfb.vnc = true
                case "sdl": vfb.sdl = true
                default: errors.append("vfb type must be `vnc` or `sdl`, not `\(value ?? "")`")
                }
            default:
                errors.append("unknown vfb parameter `\(key)` in vfb spec `\(spec)`")
            }
        }
        return errors.isEmpty ? .success(vfb) : .failure(DeviceSpecError(messages: errors))
    }
}

extension KeyboardDevice {
    /// One `vkb` spec: `backend=DOM,backend-type=qemu|linux,...`.
    public static func parse(_ spec: String) -> Result<KeyboardDevice, DeviceSpecError> {
        var vkb = KeyboardDevice()
        var errors: [String] = []
        for (key, value) in keyValuePairs(spec) {
            switch key {
            case "backend": vkb.backend = value ?? ""
            case "backend-type":
                if value == "qemu" || value == "linux" { vkb.backendType = value } else {
                    errors.append("vkb backend-type must be `qemu` or `linux`, not `\(value ?? "")`")
                }
            case "unique-id", "feature-disable-keyboard", "feature-disable-pointer", "feature-abs-pointer",
                 "feature-raw-pointer", "feature-multi-touch", "width", "height", "multi-touch-width",
                 "multi-touch-height", "multi-touch-num-contacts":
                vkb.options[key] = value ?? ""
            default:
                errors.append("unknown vkb parameter `\(key)` in vkb spec `\(spec)`")
            }
        }
        return errors.isEmpty ? .success(vkb) : .failure(DeviceSpecError(messages: errors))
    }
}

extension ChannelDevice {
    /// One `channel` spec: `name=NAME,connection=pty|socket[,path=PATH][,backend=DOM]`.
    public static func parse(_ spec: String) -> Result<ChannelDevice, DeviceSpecError> {
        var name: String?
        var connection: String?
        var path: String?
        var backend: String?
        var errors: [String] = []
        for (key, value) in keyValuePairs(spec) {
            switch key {
            case "name": name = value
            case "connection":
                if value == "pty" || value == "socket" { connection = value } else {
                    errors.append("channel connection must be `pty` or `socket`, not `\(value ?? "")`")
                }
            case "path": path = value
            case "backend": backend = value
            default: errors.append("unknown channel parameter `\(key)` in channel spec `\(spec)`")
            }
        }
        if name == nil || name == "" { errors.append("a channel needs `name=` in channel spec `\(spec)`") }
        if connection == nil, errors.isEmpty { errors.append("a channel needs `connection=pty` or `connection=socket` in `\(spec)`") }
        if connection == "socket", path == nil { errors.append("a socket channel needs `path=` in channel spec `\(spec)`") }
        guard errors.isEmpty, let name, let connection else { return .failure(DeviceSpecError(messages: errors)) }
        return .success(ChannelDevice(name: name, connection: connection, path: path, backend: backend))
    }
}

extension PCIDevice {
    /// One `pci` spec: `[DDDD:]BB:DD.F[@VSLOT][,permissive=1,msitranslate=1,seize=1,power_mgmt=1,rdm_policy=strict|relaxed]`.
    public static func parse(_ spec: String) -> Result<PCIDevice, DeviceSpecError> {
        var parts = spec.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let bdfText = parts.removeFirst().trimmingSpaces
        var errors: [String] = []
        var slotText: String?
        var bdfPart = bdfText
        if let at = bdfText.firstIndex(of: "@") {
            bdfPart = String(bdfText[..<at])
            slotText = String(bdfText[bdfText.index(after: at)...])
        }
        let fields = bdfPart.split(separator: ":", omittingEmptySubsequences: false)
        var device: PCIDevice?
        if (2...3).contains(fields.count), let dot = fields.last!.firstIndex(of: ".") {
            let last = fields.last!
            let domain = fields.count == 3 ? Int(fields[0], radix: 16) : 0
            let bus = Int(fields[fields.count - 2], radix: 16)
            let dev = Int(last[..<dot], radix: 16)
            let fn = Int(last[last.index(after: dot)...], radix: 16)
            if let domain, let bus, let dev, let fn, domain <= 0xFFFF, bus <= 0xFF, dev <= 0x1F, fn <= 7,
               fields.allSatisfy({ !$0.isEmpty }) {
                device = PCIDevice(domain: domain, bus: bus, device: dev, function: fn)
            }
        }
        guard var device else {
            return .failure(DeviceSpecError(messages: ["bad PCI address `\(bdfText)`: expected [DDDD:]BB:DD.F, e.g. 0000:03:00.0"]))
        }
        if let slotText {
            if let s = Int(slotText, radix: 16), s <= 0x1F { device.vslot = s } else {
                errors.append("bad PCI virtual slot `@\(slotText)`: expected a hex number up to 1f")
            }
        }
        for option in parts where !option.isEmpty {
            let kv = keyValuePairs(option)
            guard let (key, value) = kv.first else { continue }
            switch key {
            case "permissive", "msitranslate", "seize", "power_mgmt":
                guard let b = parseFlag(value) else {
                    errors.append("pci option `\(key)` must be 0 or 1, not `\(value ?? "")`")
                    continue
                }
                switch key {
                case "permissive": device.permissive = b
                case "msitranslate": device.msitranslate = b
                case "seize": device.seize = b
                default: device.powerManagement = b
                }
            case "rdm_policy":
                if value == "strict" || value == "relaxed" { device.rdmPolicy = value } else {
                    errors.append("pci rdm_policy must be `strict` or `relaxed`, not `\(value ?? "")`")
                }
            case "vslot":
                if let v = value.flatMap({ Int($0.hasPrefix("0x") ? String($0.dropFirst(2)) : $0, radix: 16) }), v <= 0x1F {
                    device.vslot = v
                } else {
                    errors.append("bad pci vslot `\(value ?? "")`")
                }
            default:
                errors.append("unknown pci option `\(key)` in pci spec `\(spec)`")
            }
        }
        return errors.isEmpty ? .success(device) : .failure(DeviceSpecError(messages: errors))
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}

extension CPUAffinity {
    /// `all`, `nodes:0-1`, or a CPU list `0-3,^2,6` (`^` takes CPUs out).
    public static func parse(_ text: String) -> Result<CPUAffinity, DeviceSpecError> {
        let spec = text.trimmingSpaces
        if spec == "all" { return .success(.all) }
        var isNodes = false
        var body = Substring(spec)
        if body.hasPrefix("nodes:") {
            isNodes = true
            body = body.dropFirst("nodes:".count)
        } else if body.hasPrefix("node:") {
            isNodes = true
            body = body.dropFirst("node:".count)
        }
        var set = Set<Int>()
        var removed = Set<Int>()
        for item in body.split(separator: ",", omittingEmptySubsequences: false) {
            var part = item
            let negate = part.first == "^"
            if negate { part = part.dropFirst() }
            let range: ClosedRange<Int>
            if part == "all" {
                return .failure(DeviceSpecError(messages: ["`all` cannot be combined with other CPUs in `\(spec)`"]))
            }
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            if bounds.count == 1, let a = Int(bounds[0]), a >= 0 {
                range = a...a
            } else if bounds.count == 2, let a = Int(bounds[0]), let b = Int(bounds[1]), a >= 0, a <= b {
                range = a...b
            } else {
                return .failure(DeviceSpecError(messages: ["bad CPU list `\(spec)`: expected e.g. `0-3,^2,6`, `nodes:0` or `all`"]))
            }
            guard range.upperBound < 4096 else {
                return .failure(DeviceSpecError(messages: ["CPU number \(range.upperBound) in `\(spec)` is too large"]))
            }
            if negate { removed.formUnion(range) } else { set.formUnion(range) }
        }
        let result = set.subtracting(removed).sorted()
        if result.isEmpty {
            return .failure(DeviceSpecError(messages: ["CPU list `\(spec)` selects no CPU"]))
        }
        return .success(isNodes ? .nodes(result) : .cpus(result))
    }

    /// The canonical text form (`all`, `nodes:0-1`, `0-3,6`); per-vCPU lists have no single text.
    public var specification: String {
        switch self {
        case .all: return "all"
        case .cpus(let c): return Self.ranges(c)
        case .nodes(let n): return "nodes:" + Self.ranges(n)
        case .perVCPU(let list): return list.map(\.specification).joined(separator: " ")
        }
    }

    static func ranges(_ values: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        while i < values.count {
            var j = i
            while j + 1 < values.count, values[j + 1] == values[j] + 1 { j += 1 }
            parts.append(i == j ? "\(values[i])" : "\(values[i])-\(values[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }
}
