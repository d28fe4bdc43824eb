/// A call's parameters after the session, read by position with XAPI's
/// leniency: an integer may come as a decimal string (as XAPI writes
/// them) or as a real integer, a boolean as `true`/`false` text or a real one.
struct Arguments: Sendable {
    /// The method's canonical name (`VM.start`).
    let method: String
    let values: [XenAPIValue]

    var count: Int { values.count }

    func string(_ index: Int, _ name: String) throws(XenAPIError) -> String {
        guard case .string(let s) = values[index] else { throw .fieldType(name) }
        return s
    }

    func bool(_ index: Int, _ name: String) throws(XenAPIError) -> Bool {
        switch values[index] {
        case .bool(let b): return b
        case .string("true"), .string("True"), .string("1"): return true
        case .string("false"), .string("False"), .string("0"): return false
        default: throw .fieldType(name)
        }
    }

    func int(_ index: Int, _ name: String) throws(XenAPIError) -> Int64 {
        switch values[index] {
        case .int(let i): return i
        case .string(let s): if let i = Int64(s) { return i }
        case .double(let d): if d == d.rounded(), abs(d) < 9e18 { return Int64(d) }
        default: break
        }
        throw .fieldType(name)
    }

    func double(_ index: Int, _ name: String) throws(XenAPIError) -> Double {
        switch values[index] {
        case .double(let d): return d
        case .int(let i): return Double(i)
        case .string(let s): if let d = Double(s) { return d }
        default: break
        }
        throw .fieldType(name)
    }

    func map(_ index: Int, _ name: String) throws(XenAPIError) -> [String: XenAPIValue] {
        guard case .struct(let m) = values[index] else { throw .fieldType(name) }
        return m
    }

    func stringMap(_ index: Int, _ name: String) throws(XenAPIError) -> [String: String] {
        var out: [String: String] = [:]
        for (key, value) in try map(index, name) {
            guard case .string(let s) = value else { throw .fieldType(name) }
            out[key] = s
        }
        return out
    }

    func stringList(_ index: Int, _ name: String) throws(XenAPIError) -> [String] {
        guard case .array(let items) = values[index] else { throw .fieldType(name) }
        var out: [String] = []
        for item in items {
            guard case .string(let s) = item else { throw .fieldType(name) }
            out.append(s)
        }
        return out
    }
}

/// Shorthands for building records.
extension XenAPIValue {
    static func str(_ s: String) -> XenAPIValue { .string(s) }
    /// XAPI's integers in records: decimal strings.
    static func num<I: BinaryInteger>(_ i: I) -> XenAPIValue { .string(String(i)) }
    static func strings(_ items: [String]) -> XenAPIValue { .array(items.map { .string($0) }) }
    static func stringMap(_ m: [String: String]) -> XenAPIValue { .struct(m.mapValues { .string($0) }) }
    static let emptyMap = XenAPIValue.struct([:])
    static let emptyList = XenAPIValue.array([])
    static let nullRef = XenAPIValue.string(ObjectIDs.null)
    static let epoch = XenAPIValue.dateTime("19700101T00:00:00Z")

    /// XML-RPC's dateTime text, as XAPI writes it (`20261204T13:18:30Z`).
    static func date(unixSeconds: UInt64) -> XenAPIValue { .dateTime(XenAPIDate.text(unixSeconds: unixSeconds)) }
}

enum XenAPIDate {
    /// `YYYYMMDDTHH:MM:SSZ` for a time in seconds since the epoch (UTC).
    static func text(unixSeconds: UInt64) -> String {
        let days = Int64(unixSeconds / 86400), secs = Int(unixSeconds % 86400)
        // Civil from days (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)\(two(month))\(two(day))T\(two(Int64(secs / 3600))):\(two(Int64(secs / 60 % 60))):\(two(Int64(secs % 60)))Z"
    }

    static func now() -> XenAPIValue {
        .date(unixSeconds: SystemClockSeconds.now())
    }
}
