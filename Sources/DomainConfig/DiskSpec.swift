// xl-disk-configuration(5): one disk spec string to a DiskDevice.
//
// A spec is a comma-separated list of parameters. Named ones (`format=`,
// `vdev=`, `access=`, `devtype=`, `backend=`, `backendtype=`, `script=`, ...)
// and flags (`cdrom`, `direct-io-safe`, `discard`, ...) may come anywhere;
// the rest are positional: target, format, vdev, access (a deprecated form
// leaves out the format: target, vdev, access). `target=` takes the rest of
// the spec, commas included. Deprecated prefixes (`phy:`, `file:`, `tap:`,
// `tap2:`, `aio:`, `ioemu:`, `raw:`, `qcow:`, `qcow2:`, `vhd:`, `iscsi:`,
// `nbd:`, `enbd:`, `drbd:`) are taken off and, where they say something
// (a format or a block script), honoured. The behaviour follows libxlutil's
// disk scanner, parameter by parameter.

extension DiskDevice {
    /// Parses one spec; on failure returns every problem found, as messages.
    public static func parse(_ spec: String) -> Result<DiskDevice, DiskSpecError> {
        var p = DiskSpecParser(spec)
        return p.run()
    }
}

public struct DiskSpecError: Error, Sendable, Hashable, CustomStringConvertible {
    public var messages: [String]
    /// For each message, where in the spec (a UTF-8 byte offset) the problem
    /// is, when it is at one place.
    public var offsets: [Int?]
    /// The same problems as libxlutil's disk scanner words them after
    /// "config parsing error in disk specification: " (`message: near
    /// \`token' in \`spec'`), for the commands that print xl's lines.
    public var xlMessages: [String]

    init(messages: [String], offsets: [Int?]? = nil, xlMessages: [String]? = nil) {
        self.messages = messages
        self.offsets = offsets ?? messages.map { _ in nil }
        self.xlMessages = xlMessages ?? messages
    }

    public var description: String { messages.joined(separator: "; ") }
}

private struct DiskSpecParser {
    let spec: String
    var rest: Substring
    var errors: [String] = []
    var errorOffsets: [Int?] = []
    var xlErrors: [String] = []
    /// Where the parameter being read starts (a UTF-8 offset in the spec).
    var parameterStart = 0

    var target: String?
    var format: DiskDevice.Format?
    var vdev: String?
    var accessSet = false
    var readWrite = true
    var cdrom = false
    var backendType: DiskDevice.BackendType?
    var backendDomain: String?
    var script: String?
    var directIOSafe = false
    var discard: Bool?
    var options: [String: String] = [:]
    var hadDeprecatedPrefix = false

    init(_ spec: String) {
        self.spec = spec
        self.rest = Substring(spec)
    }

    mutating func err(_ message: String, near: some StringProtocol) {
        errors.append("\(message): near `\(near)` in disk spec `\(spec)`")
        xlErrors.append("\(message): near `\(near)' in `\(spec)'")
        // The place: `near` in the parameter being read (or the parameter itself).
        let bytes = Array(spec.utf8)
        let needle = Array(near.utf8)
        var at: Int? = parameterStart
        if !needle.isEmpty, needle.count <= bytes.count {
            for i in parameterStart...(bytes.count - needle.count) where Array(bytes[i..<i + needle.count]) == needle {
                at = i
                break
            }
        }
        errorOffsets.append(at)
    }

    /// A message that names the value itself (the disk table's), placed at
    /// `near`; `xl` is the scanner's own wording, when it has one.
    mutating func refuse(_ message: String, xl: String? = nil, near: some StringProtocol) {
        err(xl ?? message, near: near)
        errors[errors.count - 1] = "\(message) in disk spec `\(spec)`"
        if xl == nil { xlErrors[xlErrors.count - 1] = "\(message) in `\(spec)'" }
    }

    /// A problem with the whole spec (no token to point at).
    func whole(_ message: String) -> DiskSpecError {
        DiskSpecError(messages: ["\(message) in disk spec `\(spec)`"], xlMessages: ["\(message) in `\(spec)'"])
    }

    mutating func run() -> Result<DiskDevice, DiskSpecError> {
        while !rest.isEmpty, errors.isEmpty {
            // Whitespace before a parameter is ignored.
            var start = rest.utf8.startIndex
            while start < rest.utf8.endIndex, [0x20, 0x09, 0x0A].contains(rest.utf8[start]) {
                start = rest.utf8.index(after: start)
            }
            if start == rest.utf8.endIndex { break }
            rest = rest[start...]
            parameterStart = spec.utf8.distance(from: spec.utf8.startIndex, to: start)
            step()
        }
        if !errors.isEmpty { return .failure(DiskSpecError(messages: errors, offsets: errorOffsets, xlMessages: xlErrors)) }

        var finalFormat = format ?? .raw
        if cdrom, target == nil || target == "" { finalFormat = .empty }
        guard let vdev, !vdev.isEmpty else {
            return .failure(whole("no vdev specified"))
        }
        if target == nil && !cdrom {
            return .failure(whole("no target specified (and device not removable)"))
        }
        var disk = DiskDevice(target: (target?.isEmpty ?? true) ? nil : target, vdev: vdev)
        if !cdrom, disk.target == nil {
            return .failure(whole("no target specified (and device not removable)"))
        }
        disk.format = finalFormat
        disk.deviceType = cdrom ? .cdrom : .disk
        disk.access = (cdrom || !readWrite) ? .readOnly : .readWrite
        disk.backendType = backendType
        disk.backendDomain = backendDomain
        disk.script = script
        disk.directIOSafe = directIOSafe
        disk.discardEnable = discard
        disk.options = options
        return .success(disk)
    }

    /// The next parameter up to (and without) a comma, and the rest after it.
    mutating func takeParameter() -> Substring {
        if let comma = rest.utf8.firstIndex(of: UInt8(ascii: ",")) {
            let p = rest[..<comma]
            rest = rest[rest.index(after: comma)...]
            return p
        }
        let p = rest
        rest = rest[rest.endIndex...]
        return p
    }

    mutating func step() {
        // `target=` eats the rest of the spec, commas and all (a trailing comma is dropped).
        if rest.utf8.starts(with: "target=".utf8) {
            var value = rest.dropFirst("target=".count)
            if value.hasSuffix(",") { value = value.dropLast() }
            rest = rest[rest.endIndex...]
            target = saved(target, String(value), "target")
            return
        }
        // Deprecated prefixes, `word:` (only where the colon ends a lower-case word).
        if let prefix = deprecatedPrefix() {
            switch prefix {
            case "raw", "qcow", "qcow2", "vhd":
                hadDeprecatedPrefix = true
                setFormat(prefix)
            case "iscsi", "nbd", "enbd", "drbd":
                hadDeprecatedPrefix = true
                script = saved(script, "block-" + prefix, "script")
            case "tapdisk", "tap", "tap2", "aio", "ioemu", "file", "phy":
                hadDeprecatedPrefix = true
            default:
                err("unknown deprecated disk prefix", near: prefix + ":")
            }
            return
        }
        let parameter = takeParameter()
        if let eq = parameter.utf8.firstIndex(of: UInt8(ascii: "=")) {
            named(String(parameter[..<eq]), String(parameter[parameter.index(after: eq)...]), whole: parameter)
            return
        }
        switch parameter {
        case "cdrom": cdrom = true; return
        case "direct-io-safe": directIOSafe = true; return
        case "discard": discard = true; return
        case "no-discard": discard = false; return
        case "colo", "no-colo", "trusted", "untrusted":
            options[String(parameter)] = ""
            return
        default: break
        }
        positional(String(parameter))
    }

    /// `phy:` etc. at the start of the rest: a lower-case word and a colon,
    /// followed by the end or something other than a letter or digit.
    mutating func deprecatedPrefix() -> String? {
        guard let first = rest.utf8.first, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z") else { return nil }
        var end = rest.utf8.startIndex
        while end < rest.utf8.endIndex {
            let c = rest.utf8[end]
            if (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) {
                end = rest.utf8.index(after: end)
            } else {
                break
            }
        }
        guard end < rest.utf8.endIndex, rest.utf8[end] == UInt8(ascii: ":") else { return nil }
        let afterColon = rest.utf8.index(after: end)
        if afterColon < rest.utf8.endIndex {
            let c = rest.utf8[afterColon]
            if (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) {
                // Known prefixes still count when glued to a word (`tap:aio:`);
                // libxlutil's prefix rules take "the rest" as trailing context.
                let word = String(rest[rest.startIndex..<end])
                if !Self.knownPrefixes.contains(word) { return nil }
            }
        }
        let word = String(rest[rest.startIndex..<end])
        rest = rest[afterColon...]
        return word
    }

    static let knownPrefixes: Set<String> = [
        "raw", "qcow", "qcow2", "vhd", "iscsi", "nbd", "enbd", "drbd",
        "tapdisk", "tap", "tap2", "aio", "ioemu", "file", "phy",
    ]

    mutating func named(_ key: String, _ value: String, whole: Substring) {
        switch key {
        case "format": setFormat(value)
        case "devtype":
            switch value {
            case "cdrom": cdrom = true
            case "disk": cdrom = false
            default: refuse("unknown value for devtype `\(value)`", xl: "unknown value for type", near: whole)
            }
        case "access": setAccess(value)
        case "backend": backendDomain = saved(backendDomain, value, "backend")
        case "backendtype":
            if let t = DiskDevice.BackendType(rawValue: value) {
                if let b = backendType, b != t { err("backendtype respecified", near: whole) } else { backendType = t }
            } else {
                refuse("unknown value for backendtype `\(value)`", xl: "unknown value for backendtype", near: value)
            }
        case "vdev": vdev = saved(vdev, value, "vdev")
        case "script": script = saved(script, value, "script")
        default:
            switch DiskDevice.checkDiskOption(key, value) {
            case .accepted: options[key] = value
            case .refused(let message): refuse(message, near: whole)
            case .unknownKey: refuse(DiskDevice.description.unknownOption(key), xl: "unknown parameter", near: whole)
            }
        }
    }

    mutating func positional(_ value: String) {
        if target == nil {
            target = value
        } else if !hadDeprecatedPrefix && format == nil {
            if target == "", vdevAndDevtype(value) {
                format = .empty
            } else {
                setFormat(value)
            }
        } else if vdev == nil {
            if !vdevAndDevtype(value) { vdev = value }
        } else if !accessSet {
            accessSet = true
            setAccess(value)
        } else {
            err("too many positional parameters", near: value)
        }
    }

    /// `hdc:cdrom` (deprecated): a vdev with its device type.
    mutating func vdevAndDevtype(_ value: String) -> Bool {
        guard let colon = value.lastIndex(of: ":") else { return false }
        vdev = saved(vdev, String(value[..<colon]), "vdev")
        switch value[value.index(after: colon)...] {
        case "cdrom": cdrom = true
        case "disk": cdrom = false
        default: err("unknown deprecated type", near: value[value.index(after: colon)...])
        }
        return true
    }

    mutating func setFormat(_ value: String) {
        let f: DiskDevice.Format
        if value.isEmpty {
            f = .raw
        } else if let known = DiskDevice.Format(rawValue: value) {
            f = known
        } else {
            refuse("unknown value for format `\(value)`", xl: "unknown value for format", near: value)
            return
        }
        if let existing = format, existing != f {
            err("format respecified", near: value)
            return
        }
        format = f
    }

    mutating func setAccess(_ value: String) {
        switch value {
        case "r", "ro": readWrite = false
        case "rw", "w", "": readWrite = true
        default: refuse("unknown value for access `\(value)`", xl: "unknown value for access", near: value)
        }
    }

    /// The new value of a string parameter, or the old one (with an error) if it was already set.
    mutating func saved(_ existing: String?, _ value: String, _ what: String) -> String? {
        if let existing, !existing.isEmpty {
            err("\(what) respecified", near: value)
            return existing
        }
        return value
    }
}
