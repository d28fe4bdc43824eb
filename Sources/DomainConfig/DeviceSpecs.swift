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

extension DeviceDescription {
    /// Reads one xl `key=value,...` spec with this table. A bare word (no `=`)
    /// is `needsValue`'s message, or else the empty text (true for a flag).
    /// `special` handles xl's own keys (`netdev`, `type`): the message, nil
    /// for fine, or no result when the key is not one of them.
    func parseXL(_ spec: String, needsValue: Bool = false,
                 special: [String: (inout Device, String) -> String?] = [:]) -> Result<Device, DeviceSpecError> {
        var device = blank
        var errors: [String] = []
        for (key, given) in keyValuePairs(spec) {
            guard let value = given ?? (needsValue ? nil : field(xl: key)?.kind == .flag ? "1" : "") else {
                errors.append("`\(key)` needs a value (`\(key)=...`) in \(name) spec `\(spec)`")
                continue
            }
            let problem: String?
            if let handle = special[key] {
                problem = handle(&device, value)
            } else if let field = field(xl: key) {
                problem = field.store(&device, value)
            } else if options != nil, checkOption(key, value) != .unknownKey {
                problem = storeOption(&device, key, value)
            } else {
                problem = unknownOption(key) + " in \(name) spec `\(spec)`"
            }
            if let problem { errors.append(problem) }
        }
        errors += finish(&device, !errors.isEmpty).map { $0 + " in \(name) spec `\(spec)`" }
        return errors.isEmpty ? .success(device) : .failure(DeviceSpecError(messages: errors))
    }

    /// The canonical xl spec: `key=value` for each field xl names, then the options by key.
    func xlSpec(_ device: Device) -> [String] {
        var parts = fields.compactMap { field in field.names.xl.flatMap { key in field.text(device).map { "\(key)=\($0)" } } }
        if let options {
            let o = device[keyPath: options]
            parts += o.keys.sorted().map { "\($0)=\(o[$0]!)" }
        }
        return parts
    }
}

extension NetworkInterface {
    /// One `vif` spec (xl-network-configuration(5)); `''` is a default vif.
    public static func parse(_ spec: String) -> Result<NetworkInterface, DeviceSpecError> {
        // netdev: xl's old name for gatewaydev.
        description.parseXL(spec, needsValue: true, special: ["netdev": { (vif: inout NetworkInterface, value: String) -> String? in
            vif.gatewaydev = value
            return nil
        }])
    }

    /// `RATE[@INTERVAL]` as libxlutil reads it: RATE is a number, an optional
    /// `K`/`M`/`G` (×1000) and `B/s` (bytes) or `b/s` (bits); INTERVAL is a
    /// number and `s` (the default), `ms` or `us`; 50ms when not given.
    static func isValidRate(_ rate: String) -> Bool { parseRate(rate) != nil }

    /// The credit-based scheduler's view of `rate` (what xenstore's vif
    /// `rate` holds): bytes per interval and the interval in microseconds.
    public var rateLimit: (bytesPerInterval: UInt64, intervalMicroseconds: UInt32)? {
        rate.flatMap(Self.parseRate)
    }

    static func parseRate(_ rate: String) -> (bytesPerInterval: UInt64, intervalMicroseconds: UInt32)? {
        let parts = rate.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        // RATE: digits, [GMK]?, [Bb], "/s".
        var amount = Substring(parts[0])
        guard amount.hasSuffix("/s") else { return nil }
        amount = amount.dropLast(2)
        guard let unit = amount.last, unit == "B" || unit == "b" else { return nil }
        amount = amount.dropLast()
        var scale: UInt64 = 1
        if let m = amount.last, m == "K" || m == "M" || m == "G" {
            scale = m == "K" ? 1000 : m == "M" ? 1_000_000 : 1_000_000_000
            amount = amount.dropLast()
        }
        guard !amount.isEmpty, amount.allSatisfy(\.isASCIIDigit), let n = UInt64(amount), n > 0, n <= UInt64(UInt32.max) else {
            return nil
        }
        var bytesPerSecond = n * scale
        if unit == "b" { bytesPerSecond /= 8 }
        // INTERVAL: digits, then s, ms, us, m or u (or nothing: seconds).
        var micros: UInt64 = 50_000
        if parts.count == 2 {
            var text = Substring(parts[1])
            var unitScale: UInt64 = 1_000_000
            if text.hasSuffix("s") { text = text.dropLast() }
            if text.hasSuffix("m") { unitScale = 1000; text = text.dropLast() }
            else if text.hasSuffix("u") { unitScale = 1; text = text.dropLast() }
            guard !text.isEmpty, text.allSatisfy(\.isASCIIDigit), let i = UInt64(text), i > 0, i <= UInt64(UInt32.max) else {
                return nil
            }
            micros = i * unitScale
            guard micros <= UInt64(UInt32.max) else { return nil }
        }
        guard bytesPerSecond <= UInt64.max / micros else { return nil }
        return (bytesPerSecond * micros / 1_000_000, UInt32(micros))
    }
}

public struct DeviceSpecError: Error, Sendable, Hashable, CustomStringConvertible {
    public var messages: [String]
    public var description: String { messages.joined(separator: "; ") }
}

extension FramebufferDevice {
    /// One `vfb` spec: `vnc=1,vnclisten=0.0.0.0,vncdisplay=1,sdl=0,...` (xm's `type=vnc` too).
    public static func parse(_ spec: String) -> Result<FramebufferDevice, DeviceSpecError> {
        description.parseXL(spec, special: ["type": { $0.setType($1) }])
    }
}

extension KeyboardDevice {
    /// One `vkb` spec: `backend=DOM,backend-type=qemu|linux,...`.
    public static func parse(_ spec: String) -> Result<KeyboardDevice, DeviceSpecError> {
        description.parseXL(spec)
    }
}

extension ChannelDevice {
    /// One `channel` spec: `name=NAME,connection=pty|socket[,path=PATH][,backend=DOM]`.
    public static func parse(_ spec: String) -> Result<ChannelDevice, DeviceSpecError> {
        description.parseXL(spec)
    }
}

extension PCIDevice {
    /// One `pci` spec (xl-pci-configuration(5)), as libxlutil reads it:
    /// `[DDDD:]BB:DD.F[@VSLOT]` first (F may be `*`: every function), or `bdf=`
    /// anywhere, then `,KEY=VALUE` options: `vslot=` (hex), `permissive=`,
    /// `msitranslate=`, `seize=`, `power_mgmt=` (integers, non-zero is true),
    /// `rdm_policy=strict|relaxed`. No spaces.
    public static func parse(_ spec: String) -> Result<PCIDevice, DeviceSpecError> {
        var errors: [String] = []
        var device: PCIDevice?
        var flags: [(String, String)] = []
        for (index, part) in spec.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            guard let eq = part.firstIndex(of: "=") else {
                if index == 0, device == nil {
                    device = parseAddress(String(part), &errors)
                } else {
                    errors.append("`\(part)` in pci spec `\(spec)`: options are KEY=VALUE, and the address comes first")
                }
                continue
            }
            let key = String(part[..<eq]), value = String(part[part.index(after: eq)...])
            switch key {
            case "bdf":
                if device != nil {
                    errors.append("the PCI address is given twice in pci spec `\(spec)`")
                } else {
                    device = parseAddress(value, &errors)
                    if device?.vslot != nil { errors.append("`bdf=` takes no `@VSLOT`: write `vslot=`") }
                }
            case "name":
                errors.append("pci `name=` (a device made assignable by name) is not supported: give its address, e.g. `0000:03:00.0`")
            default:
                flags.append((key, value))
            }
        }
        guard var device else {
            if errors.isEmpty { errors.append("no PCI address in pci spec `\(spec)`: expected [DDDD:]BB:DD.F, e.g. 0000:03:00.0") }
            return .failure(DeviceSpecError(messages: errors))
        }
        for (key, value) in flags {
            if key == "vslot" {
                if let v = Int(value, radix: 16), device.vslot == nil {
                    if let problem = vslotProblem(v) { errors.append(problem) } else { device.vslot = v }
                } else {
                    errors.append("bad pci vslot `\(value)`: expected a hex number up to 1f, given once")
                }
            } else if let field = description.field(xl: key) {
                if let problem = field.store(&device, value) { errors.append(problem) }
            } else {
                errors.append("unknown pci option `\(key)` in pci spec `\(spec)`")
            }
        }
        return errors.isEmpty ? .success(device) : .failure(DeviceSpecError(messages: errors))
    }

    /// `[DDDD:]BB:DD.F[@VSLOT]`, hex fields; F may be `*`.
    private static func parseAddress(_ text: String, _ errors: inout [String]) -> PCIDevice? {
        var address = Substring(text)
        var slotText: Substring?
        if let at = address.firstIndex(of: "@") {
            slotText = address[address.index(after: at)...]
            address = address[..<at]
        }
        func hexField(_ s: Substring, max: Int) -> Int? {
            guard !s.isEmpty, s.allSatisfy(\.isHexDigit), let v = Int(s, radix: 16), v <= max else { return nil }
            return v
        }
        let fields = address.split(separator: ":", omittingEmptySubsequences: false)
        guard (2...3).contains(fields.count), let dot = fields.last!.firstIndex(of: ".") else {
            errors.append("bad PCI address `\(text)`: expected [DDDD:]BB:DD.F, e.g. 0000:03:00.0")
            return nil
        }
        let last = fields.last!
        let functionText = last[last.index(after: dot)...]
        let domain = fields.count == 3 ? hexField(fields[0], max: 0xFFFF) : 0
        let bus = hexField(fields[fields.count - 2], max: 0xFF)
        let slot = hexField(last[..<dot], max: 0x1F)
        let allFunctions = functionText == "*"
        let function = allFunctions ? 0 : hexField(functionText, max: 7)
        guard let domain, let bus, let slot, let function else {
            errors.append("bad PCI address `\(text)`: expected [DDDD:]BB:DD.F with device up to 1f and function up to 7 (or *)")
            return nil
        }
        var device = PCIDevice(domain: domain, bus: bus, device: slot, function: function)
        device.allFunctions = allFunctions
        if let slotText {
            guard let v = hexField(slotText, max: 0x1F) else {
                errors.append("bad PCI virtual slot `@\(slotText)`: expected a hex number up to 1f")
                return nil
            }
            device.vslot = v
        }
        return device
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
    /// A CPU list as xl reads it: comma-separated items, each optionally
    /// `^` (take out) and `node:`/`nodes:` (whole NUMA nodes), then `all`,
    /// a number or a range `A-B` (decimal). `"0-3,^2,6"`, `"nodes:0"`, `"all"`.
    public static func parse(_ text: String) -> Result<CPUAffinity, DeviceSpecError> {
        struct Item { var exclude: Bool; var nodes: Bool; var range: ClosedRange<Int>? }  // nil range: all
        func fail(_ why: String) -> Result<CPUAffinity, DeviceSpecError> {
            .failure(DeviceSpecError(messages: ["bad CPU list `\(text)`: \(why)"]))
        }
        var items: [Item] = []
        for token in text.split(separator: ",") {
            var t = token
            let exclude = t.first == "^"
            if exclude { t = t.dropFirst() }
            var nodes = false
            for prefix in ["nodes:", "node:"] where t.hasPrefix(prefix) {
                nodes = true
                t = t.dropFirst(prefix.count)
                break
            }
            if t == "all" {
                if exclude { return fail("`^` cannot take out `all`") }
                items.append(Item(exclude: false, nodes: nodes, range: nil))
                continue
            }
            let bounds = t.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            guard bounds.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }),
                  let a = Int(bounds[0]), let b = bounds.count == 2 ? Int(bounds[1]) : a else {
                return fail("`\(token)` is not a number, a range A-B, or all (e.g. `0-3,^2,6`, `nodes:0`)")
            }
            guard a <= b else { return fail("the range `\(token)` runs backwards") }
            guard b < 4096 else { return fail("\(b) is above the 4095 this toolstack handles") }
            items.append(Item(exclude: exclude, nodes: nodes, range: a...b))
        }
        guard !items.isEmpty else { return fail("it names no CPU") }

        // `all` (or `nodes:all`) alone.
        if items.count == 1, items[0].range == nil { return .success(.all) }
        // Only CPUs: resolved here.
        if items.allSatisfy({ !$0.nodes && $0.range != nil }) {
            var set = Set<Int>()
            for item in items where !item.exclude { set.formUnion(item.range!) }
            for item in items where item.exclude { set.subtract(item.range!) }
            if set.isEmpty { return fail("it selects no CPU") }
            return .success(.cpus(set.sorted()))
        }
        // Only whole nodes, none taken out.
        if items.allSatisfy({ $0.nodes && !$0.exclude && $0.range != nil }) {
            var set = Set<Int>()
            for item in items { set.formUnion(item.range!) }
            return .success(.nodes(set.sorted()))
        }
        // The rest needs the host's topology: kept, in canonical form.
        let canonical = items.map { item in
            (item.exclude ? "^" : "") + (item.nodes ? "nodes:" : "")
                + (item.range.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" } ?? "all")
        }.joined(separator: ",")
        return .success(.mixed(canonical))
    }

    /// The canonical text form (`all`, `nodes:0-1`, `0-3,6`); per-vCPU lists have no single text.
    public var specification: String {
        switch self {
        case .all: return "all"
        case .cpus(let c): return Self.ranges(c)
        // xl reads `nodes:` per item: "nodes:0-1,3" would be node 0-1 and CPU 3.
        case .nodes(let n): return Self.ranges(n).split(separator: ",").map { "nodes:" + $0 }.joined(separator: ",")
        case .perVCPU(let list): return list.map(\.specification).joined(separator: " ")
        case .mixed(let text): return text
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
