// A small JSON reader and writer (no Foundation): objects keep their key order.

/// A JSON value: what the config's JSON codec reads and writes, and what
/// every other JSON swxl prints (`list --json`, `info --json`) is written
/// with, so that all of it is quoted and laid out one way.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    /// Numbers keep their text, so that 64-bit integers stay exact.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public func hash(into h: inout Hasher) {
        switch self {
        case .null: h.combine(0)
        case .bool(let b): h.combine(b)
        case .number(let n): h.combine(n)
        case .string(let s): h.combine(s)
        case .array(let a): h.combine(a)
        case .object(let o): for (k, v) in o { h.combine(k); h.combine(v) }
        }
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members.first { $0.0 == key }?.1 }
        return nil
    }

    // MARK: writing

    /// Pretty-printed with two-space indents (no final newline). Arrays of
    /// strings and numbers stay on one line; so does every value nested
    /// deeper than `inlineBelow` levels (a table of one-line rows: 1).
    public func serialized(indent: Int = 0, inlineBelow depth: Int? = nil) -> String {
        var out = ""
        write(to: &out, indent: indent, inlineAt: depth.map { indent + $0 })
        return out
    }

    /// On one line: `{"a": 1, "b": [2, 3]}`.
    public func inlineSerialized() -> String {
        switch self {
        case .array(let items):
            return "[" + items.map { $0.inlineSerialized() }.joined(separator: ", ") + "]"
        case .object(let members):
            return "{" + members.map { jsonQuote($0.0) + ": " + $0.1.inlineSerialized() }.joined(separator: ", ") + "}"
        default:
            return serialized()
        }
    }

    private func write(to out: inout String, indent: Int, inlineAt: Int? = nil) {
        if let inlineAt, indent >= inlineAt {
            out += inlineSerialized()
            return
        }
        let pad = String(repeating: "  ", count: indent + 1)
        let closePad = String(repeating: "  ", count: indent)
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): out += jsonQuote(s)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            if items.allSatisfy({ if case .string = $0 { return true }; if case .number = $0 { return true }; return false }) {
                out += "[" + items.map { $0.serialized() }.joined(separator: ", ") + "]"
                return
            }
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += pad
                item.write(to: &out, indent: indent + 1, inlineAt: inlineAt)
                out += i + 1 < items.count ? ",\n" : "\n"
            }
            out += closePad + "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{\n"
            for (i, (k, v)) in members.enumerated() {
                out += pad + jsonQuote(k) + ": "
                v.write(to: &out, indent: indent + 1, inlineAt: inlineAt)
                out += i + 1 < members.count ? ",\n" : "\n"
            }
            out += closePad + "}"
        }
    }

    // MARK: reading

    struct ParseError: Error {
        var location: SourceLocation
        var message: String
    }

    /// The value, and where each value starts, keyed by its path
    /// (`devices.disk[0].vdev`; the top level is `""`).
    static func parse(_ text: String) -> Result<(JSONValue, [String: SourceLocation]), ParseError> {
        var p = JSONParser(bytes: Array(text.utf8))
        do {
            p.skipSpace()
            let v = try p.value(depth: 0, path: "")
            p.skipSpace()
            if p.pos < p.bytes.count { throw p.error("unexpected text after the JSON value") }
            return .success((v, p.locations))
        } catch let e as ParseError {
            return .failure(e)
        } catch {
            return .failure(ParseError(location: SourceLocation(line: 1, column: 1), message: "\(error)"))
        }
    }
}

/// JSON text for other modules: the CLI's and the toolstack's JSON output
/// quotes strings the same way the config's JSON does.
public enum JSONText {
    /// `s` as a JSON string literal: quotes and backslashes escaped, control
    /// characters (and DEL) as `\n`, `\r`, `\t` or `\u00XX`.
    public static func quoted(_ s: String) -> String {
        escapedQuoted(s) { "\\u" + hex($0, 4) }
    }
}

func jsonQuote(_ s: String) -> String { JSONText.quoted(s) }

/// `s` between `quote`s with the quote, `\`, newline, return and tab
/// escaped with a backslash, and other control characters (and DEL) as
/// `control` spells them: the common core of JSON, xl.cfg and SXP string
/// literals.
func escapedQuoted(_ s: String, quote: Unicode.Scalar = "\"", control: (Int) -> String) -> String {
    var out = String(quote)
    for u in s.unicodeScalars {
        switch u {
        case quote: out += "\\" + String(quote)
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 || u.value == 0x7f {
                out += control(Int(u.value))
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + String(quote)
}

private struct JSONParser {
    let bytes: [UInt8]
    var pos = 0
    var line = 1
    var lineStart = 0
    var locations: [String: SourceLocation] = [:]

    init(bytes: [UInt8]) { self.bytes = bytes }

    func error(_ message: String) -> JSONValue.ParseError {
        JSONValue.ParseError(location: SourceLocation(line: line, column: pos - lineStart + 1), message: message)
    }

    mutating func skipSpace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): pos += 1
            case UInt8(ascii: "\n"): pos += 1; line += 1; lineStart = pos
            default: return
            }
        }
    }

    mutating func expect(_ word: String) throws {
        let w = Array(word.utf8)
        guard pos + w.count <= bytes.count, Array(bytes[pos..<pos + w.count]) == w else {
            throw error("expected `\(word)`")
        }
        pos += w.count
    }

    mutating func value(depth: Int, path: String) throws -> JSONValue {
        guard depth < 200 else { throw error("nested too deeply") }
        locations[path] = SourceLocation(line: line, column: pos - lineStart + 1)
        guard pos < bytes.count else { throw error("unexpected end of the JSON text") }
        switch bytes[pos] {
        case UInt8(ascii: "{"):
            pos += 1
            var members: [(String, JSONValue)] = []
            skipSpace()
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(members) }
            while true {
                skipSpace()
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw error("expected a quoted key") }
                let key = try string()
                if members.contains(where: { $0.0 == key }) { throw error("duplicate key \"\(key)\"") }
                skipSpace()
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw error("expected `:`") }
                pos += 1
                skipSpace()
                members.append((key, try value(depth: depth + 1, path: path.isEmpty ? key : path + "." + key)))
                skipSpace()
                guard pos < bytes.count else { throw error("unexpected end inside an object") }
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(members) }
                throw error("expected `,` or `}`")
            }
        case UInt8(ascii: "["):
            pos += 1
            var items: [JSONValue] = []
            skipSpace()
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1, path: path + "[\(items.count)]"))
                skipSpace()
                guard pos < bytes.count else { throw error("unexpected end inside an array") }
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
                throw error("expected `,` or `]`")
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = pos
            pos += 1
            while pos < bytes.count, "0123456789.eE+-".utf8.contains(bytes[pos]) { pos += 1 }
            let text = String(decoding: bytes[start..<pos], as: UTF8.self)
            guard Double(text) != nil else { throw error("bad number `\(text)`") }
            return .number(text)
        default:
            throw error("unexpected character")
        }
    }

    mutating func string() throws -> String {
        pos += 1
        var out: [UInt8] = []
        while true {
            guard pos < bytes.count else { throw error("unterminated string") }
            let c = bytes[pos]
            pos += 1
            if c == UInt8(ascii: "\"") { break }
            if c < 0x20 { throw error("control character in a string") }
            if c != UInt8(ascii: "\\") { out.append(c); continue }
            guard pos < bytes.count else { throw error("unterminated string") }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                        throw error("lone surrogate in \\u escape")
                    }
                    pos += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("bad surrogate pair") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar), scalar != 0 else { throw error("bad \\u escape") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                throw error("bad escape in a string")
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return s
    }

    mutating func hex4() throws -> UInt32 {
        guard pos + 4 <= bytes.count else { throw error("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let d = hexDigitValue(bytes[pos]) else { throw error("bad \\u escape") }
            v = v << 4 | UInt32(d)
            pos += 1
        }
        return v
    }
}
