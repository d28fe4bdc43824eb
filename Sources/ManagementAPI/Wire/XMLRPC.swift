// XML-RPC as XAPI speaks it: a methodCall in, a methodResponse out whose
// one parameter is XAPI's envelope struct. Pure: bytes to values and back.
//
// Reading takes what XML-RPC clients send (a value's type element or bare
// text for a string; int, i4, i8, boolean, double, string, dateTime.iso8601,
// base64, array, struct, nil). Writing follows XAPI (its rpclib): strings
// and integers as bare text in <value> (so integers reach clients as decimal
// strings), booleans as 0/1, struct keys sorted; the envelope's Status first.

/// Why a request could not be read; the text says where and what.
public struct WireError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A method call as either envelope brings it.
public struct XenAPICall: Equatable, Sendable {
    public var method: String
    public var params: [XenAPIValue]
    public init(method: String, params: [XenAPIValue]) {
        self.method = method
        self.params = params
    }
}

public enum XMLRPC {
    /// Values nested deeper than this are refused (a hostile body must not
    /// exhaust the stack).
    public static let maximumDepth = 64

    // MARK: reading

    /// Parses a `<methodCall>` document.
    public static func parseCall(_ bytes: [UInt8]) throws(WireError) -> XenAPICall {
        var reader = XMLReader(bytes)
        try reader.skipProlog()
        try reader.open("methodCall")
        try reader.open("methodName")
        let method = try reader.text(until: "methodName")
        guard !method.isEmpty else { throw WireError("empty <methodName>") }
        var params: [XenAPIValue] = []
        if try reader.peekIsOpen("params") {
            if try !reader.openMaybeEmpty("params") {
                while try reader.peekIsOpen("param") {
                    if try reader.openMaybeEmpty("param") { throw WireError("empty <param>") }
                    params.append(try reader.value(depth: 0))
                    try reader.close("param")
                }
                try reader.close("params")
            }
        }
        try reader.close("methodCall")
        try reader.expectEnd()
        return XenAPICall(method: method, params: params)
    }

    /// Parses one `<value>...</value>` (for tests and clients).
    public static func parseValue(_ bytes: [UInt8]) throws(WireError) -> XenAPIValue {
        var reader = XMLReader(bytes)
        try reader.skipProlog()
        let value = try reader.value(depth: 0)
        try reader.expectEnd()
        return value
    }

    /// Parses a `<methodResponse>` holding XAPI's envelope (for tests and clients).
    public static func parseResponse(_ bytes: [UInt8]) throws(WireError) -> XenAPIResult {
        var reader = XMLReader(bytes)
        try reader.skipProlog()
        try reader.open("methodResponse")
        try reader.open("params")
        try reader.open("param")
        let envelope = try reader.value(depth: 0)
        try reader.close("param")
        try reader.close("params")
        try reader.close("methodResponse")
        try reader.expectEnd()
        return try XenAPIEnvelope.result(of: envelope)
    }

    // MARK: writing

    /// The methodResponse for `result`, with XAPI's envelope.
    public static func response(_ result: XenAPIResult) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        var orders = StructKeyOrders()
        out.append("<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>")
        switch result {
        case .success(let value):
            out.append("<member><name>Status</name><value>Success</value></member><member><name>Value</name>")
            write(value, orders: &orders, to: &out)
            out.append("</member>")
        case .failure(let description):
            out.append("<member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name>")
            write(.array(description.map { .string($0) }), orders: &orders, to: &out)
            out.append("</member>")
        }
        out.append("</struct></value></param></params></methodResponse>")
        return out
    }

    /// A methodCall (for tests and clients).
    public static func call(_ call: XenAPICall) -> [UInt8] {
        var out: [UInt8] = []
        out.append("<?xml version=\"1.0\"?><methodCall><methodName>")
        appendEscaped(call.method, to: &out)
        out.append("</methodName><params>")
        for param in call.params {
            out.append("<param>")
            write(param, to: &out)
            out.append("</param>")
        }
        out.append("</params></methodCall>")
        return out
    }

    /// One `<value>` as XAPI writes it.
    public static func valueText(_ value: XenAPIValue) -> String {
        var out: [UInt8] = []
        write(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func write(_ value: XenAPIValue, to out: inout [UInt8]) {
        var orders = StructKeyOrders()
        write(value, orders: &orders, to: &out)
    }

    /// Written as bytes, straight into `out` (a thousand VM records are
    /// a few MB of XML); the structs' key orders from `orders`.
    static func write(_ value: XenAPIValue, orders: inout StructKeyOrders, to out: inout [UInt8]) {
        switch value {
        case .string(let s):
            out.append("<value>")
            appendEscaped(s, to: &out)
            out.append("</value>")
        case .int(let i):
            out.append("<value>")
            out.appendDecimal(i)
            out.append("</value>")
        case .bool(let b): out.append(b ? "<value><boolean>1</boolean></value>" : "<value><boolean>0</boolean></value>")
        case .double(let d): out += "<value><double>\(d)</double></value>".utf8
        case .dateTime(let s):
            out.append("<value><dateTime.iso8601>")
            appendEscaped(s, to: &out)
            out.append("</dateTime.iso8601></value>")
        case .null: out.append("<value><nil/></value>")
        case .array(let items):
            out.append("<value><array><data>")
            for item in items { write(item, orders: &orders, to: &out) }
            out.append("</data></array></value>")
        case .struct(let members):
            out.append("<value><struct>")
            writeMembers(members, orders: &orders, out: &out, separator: nil, head: memberHead) { value, orders, out in
                write(value, orders: &orders, to: &out)
                out.append("</member>")
            }
            out.append("</struct></value>")
        }
    }

    /// `<member><name>key</name>`.
    static func memberHead(_ key: String) -> [UInt8] {
        var head: [UInt8] = []
        head.append("<member><name>")
        appendEscaped(key, to: &head)
        head.append("</name>")
        return head
    }

    /// Text as XML character data. Characters XML 1.0 cannot carry at all
    /// (controls other than tab, LF and CR) are left out, as XAPI does.
    static func escape(_ text: String) -> String {
        var out: [UInt8] = []
        appendEscaped(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes ``appendEscaped(_:to:)`` must look at: controls, `<>&"`,
    /// and 0xEF (which begins U+FFFE and U+FFFF).
    private static let special: [Bool] = (0...255).map { b in
        b < 0x20 || b == 0x3C || b == 0x3E || b == 0x26 || b == 0x22 || b == 0xEF
    }

    /// ``escape(_:)`` on the text's UTF-8 bytes, appended to `out`: text
    /// with nothing to escape (nearly all) is copied as it is.
    static func appendEscaped(_ text: String, to out: inout [UInt8]) {
        text.withUTF8Bytes { bytes in
            let plain = special.withUnsafeBufferPointer { table in !bytes.contains { table[Int($0)] } }
            if plain {
                out.append(contentsOf: bytes)
                return
            }
            var i = 0
            while i < bytes.count {
                let b = bytes[i]
                switch b {
                case UInt8(ascii: "<"): out.append("&lt;")
                case UInt8(ascii: ">"): out.append("&gt;")
                case UInt8(ascii: "&"): out.append("&amp;")
                case UInt8(ascii: "\""): out.append("&quot;")
                case UInt8(ascii: "\r"): out.append("&#13;")
                case UInt8(ascii: "\t"), UInt8(ascii: "\n"): out.append(b)
                case 0..<0x20: break
                // U+FFFE and U+FFFF (EF BF BE, EF BF BF) are not XML characters.
                case 0xEF where i + 2 < bytes.count && bytes[i + 1] == 0xBF && bytes[i + 2] >= 0xBE:
                    i += 3
                    continue
                default: out.append(b)
                }
                i += 1
            }
        }
    }
}

/// XAPI's envelope: `{Status: Success, Value}` or `{Status: Failure, ErrorDescription}`.
public enum XenAPIEnvelope {
    public static func value(of result: XenAPIResult) -> XenAPIValue {
        switch result {
        case .success(let value): return .struct(["Status": .string("Success"), "Value": value])
        case .failure(let description):
            return .struct(["Status": .string("Failure"), "ErrorDescription": .array(description.map { .string($0) })])
        }
    }

    public static func result(of envelope: XenAPIValue) throws(WireError) -> XenAPIResult {
        guard case .struct(let members) = envelope, case .string(let status)? = members["Status"] else {
            throw WireError("the response is not XAPI's envelope (no Status)")
        }
        switch status {
        case "Success":
            guard let value = members["Value"] else { throw WireError("a Success without Value") }
            return .success(value)
        case "Failure":
            guard case .array(let items)? = members["ErrorDescription"] else { throw WireError("a Failure without ErrorDescription") }
            var strings: [String] = []
            for item in items {
                guard case .string(let s) = item else { throw WireError("ErrorDescription holds a non-string") }
                strings.append(s)
            }
            return .failure(strings)
        default:
            throw WireError("unknown Status '\(status)'")
        }
    }
}

/// A pull reader for the XML subset XML-RPC uses: elements without
/// meaningful attributes, character data with the predefined and numeric
/// entities, CDATA, comments and processing instructions skipped. A DOCTYPE
/// is refused (no entity definitions to expand).
struct XMLReader {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private enum Token: Equatable {
        case open(String, empty: Bool)
        case close(String)
        case text(String)
        case end
    }

    /// The byte offset, for error messages.
    private var position: String { "at byte \(index)" }

    mutating func skipProlog() throws(WireError) {
        // A UTF-8 byte order mark.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
    }

    /// The next token, skipping comments and processing instructions.
    private mutating func next() throws(WireError) -> Token {
        while true {
            guard index < bytes.count else { return .end }
            if bytes[index] != UInt8(ascii: "<") { return .text(try characterData()) }
            if starts(with: "<?") {
                try skip(past: "?>", what: "processing instruction")
                continue
            }
            if starts(with: "<!--") {
                try skip(past: "-->", what: "comment")
                continue
            }
            if starts(with: "<![CDATA[") {
                let start = index + 9
                guard let end = find("]]>", from: start) else { throw WireError("unterminated CDATA section \(position)") }
                let text = try utf8(bytes[start..<end])
                index = end + 3
                // Character data may continue after the section.
                var rest = ""
                if index < bytes.count, bytes[index] != UInt8(ascii: "<") { rest = try characterData() }
                return .text(text + rest)
            }
            if starts(with: "<!") { throw WireError("a DOCTYPE or other declaration is not accepted \(position)") }
            return try tag()
        }
    }

    private func starts(with text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        let p = text.utf8Start
        for i in 0..<count where bytes[index + i] != p[i] { return false }
        return true
    }

    private func find(_ text: StaticString, from start: Int) -> Int? {
        let count = text.utf8CodeUnitCount
        let p = text.utf8Start
        var i = start
        while i + count <= bytes.count {
            var match = true
            for j in 0..<count where bytes[i + j] != p[j] {
                match = false
                break
            }
            if match { return i }
            i += 1
        }
        return nil
    }

    private mutating func skip(past terminator: StaticString, what: String) throws(WireError) {
        guard let end = find(terminator, from: index + 2) else { throw WireError("unterminated \(what) \(position)") }
        index = end + terminator.utf8CodeUnitCount
    }

    private func utf8(_ slice: ArraySlice<UInt8>) throws(WireError) -> String {
        guard let text = String(validating: slice, as: UTF8.self) else { throw WireError("text that is not UTF-8 \(position)") }
        return text
    }

    private static func isNameByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
            || b == UInt8(ascii: "_") || b == UInt8(ascii: ":") || b >= 0x80
    }

    private static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D
    }

    /// `<name attr="...">`, `<name/>` or `</name>`.
    private mutating func tag() throws(WireError) -> Token {
        let start = index
        index += 1
        let closing = index < bytes.count && bytes[index] == UInt8(ascii: "/")
        if closing { index += 1 }
        let nameStart = index
        while index < bytes.count, Self.isNameByte(bytes[index]) { index += 1 }
        guard index > nameStart else { throw WireError("a malformed tag at byte \(start)") }
        let name = try utf8(bytes[nameStart..<index])
        // Attributes (ignored) up to '>' or '/>'; quoted values may hold '>'.
        var quote: UInt8? = nil
        while index < bytes.count {
            let b = bytes[index]
            if let q = quote {
                if b == q { quote = nil }
            } else if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                if closing { throw WireError("attributes in closing tag </\(name)> at byte \(start)") }
                quote = b
            } else if b == UInt8(ascii: ">") {
                index += 1
                return closing ? .close(name) : .open(name, empty: false)
            } else if b == UInt8(ascii: "/"), !closing, index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ">") {
                index += 2
                return .open(name, empty: true)
            } else if b == UInt8(ascii: "<") {
                break
            }
            index += 1
        }
        throw WireError("unterminated tag <\(name) at byte \(start)")
    }

    /// Character data up to the next '<', entities decoded.
    private mutating func characterData() throws(WireError) -> String {
        var out: [UInt8] = []
        while index < bytes.count, bytes[index] != UInt8(ascii: "<") {
            let b = bytes[index]
            if b == UInt8(ascii: "&") {
                guard let semicolon = bytes[index...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else {
                    throw WireError("an unterminated entity reference \(position)")
                }
                let name = String(decoding: bytes[(index + 1)..<semicolon], as: UTF8.self)
                switch name {
                case "lt": out.append(UInt8(ascii: "<"))
                case "gt": out.append(UInt8(ascii: ">"))
                case "amp": out.append(UInt8(ascii: "&"))
                case "quot": out.append(UInt8(ascii: "\""))
                case "apos": out.append(UInt8(ascii: "'"))
                default:
                    var code: UInt32? = nil
                    if name.hasPrefix("#x") || name.hasPrefix("#X") {
                        code = UInt32(name.dropFirst(2), radix: 16)
                    } else if name.hasPrefix("#") {
                        code = UInt32(name.dropFirst(), radix: 10)
                    } else {
                        throw WireError("unknown entity &\(name); \(position)")
                    }
                    guard let value = code, let scalar = Unicode.Scalar(value), value != 0 else {
                        throw WireError("a bad character reference &\(name); \(position)")
                    }
                    out += Array(String(Character(scalar)).utf8)
                }
                index = semicolon + 1
            } else {
                out.append(b)
                index += 1
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw WireError("text that is not UTF-8 \(position)") }
        return text
    }

    private static func isBlank(_ text: String) -> Bool {
        text.utf8.allSatisfy(isSpace)
    }

    /// The next token other than blank text.
    private mutating func nextSignificant() throws(WireError) -> Token {
        while true {
            let token = try next()
            if case .text(let t) = token, Self.isBlank(t) { continue }
            return token
        }
    }

    private mutating func peekSignificant() throws(WireError) -> Token {
        let saved = index
        let token = try nextSignificant()
        index = saved
        return token
    }

    private static func describe(_ token: Token) -> String {
        switch token {
        case .open(let name, _): return "<\(name)>"
        case .close(let name): return "</\(name)>"
        case .text(let t): return "text '\(t.prefix(40))'"
        case .end: return "the end of the document"
        }
    }

    /// `<name>` (not `<name/>`).
    mutating func open(_ name: String) throws(WireError) {
        let at = position
        let token = try nextSignificant()
        guard token == .open(name, empty: false) else {
            throw WireError("expected <\(name)> but found \(Self.describe(token)) \(at)")
        }
    }

    /// `<name>` or `<name/>`; true if it was empty.
    mutating func openMaybeEmpty(_ name: String) throws(WireError) -> Bool {
        let at = position
        let token = try nextSignificant()
        switch token {
        case .open(name, let empty): return empty
        default: throw WireError("expected <\(name)> but found \(Self.describe(token)) \(at)")
        }
    }

    mutating func peekIsOpen(_ name: String) throws(WireError) -> Bool {
        if case .open(name, _) = try peekSignificant() { return true }
        return false
    }

    mutating func close(_ name: String) throws(WireError) {
        let at = position
        let token = try nextSignificant()
        guard token == .close(name) else {
            throw WireError("expected </\(name)> but found \(Self.describe(token)) \(at)")
        }
    }

    mutating func expectEnd() throws(WireError) {
        let at = position
        let token = try nextSignificant()
        guard token == .end else { throw WireError("unexpected \(Self.describe(token)) after the document \(at)") }
    }

    /// The text of an element whose open tag was read, and its close tag.
    mutating func text(until name: String) throws(WireError) -> String {
        let at = position
        var text = ""
        while true {
            let token = try next()
            switch token {
            case .text(let t): text += t
            case .close(name): return text
            default: throw WireError("expected text and </\(name)> but found \(Self.describe(token)) \(at)")
            }
        }
    }

    /// One `<value>...</value>`.
    mutating func value(depth: Int) throws(WireError) -> XenAPIValue {
        guard depth < XMLRPC.maximumDepth else { throw WireError("values nested more than \(XMLRPC.maximumDepth) deep \(position)") }
        if try openMaybeEmpty("value") { return .string("") }
        // Bare text (a string), or blank text around a type element.
        let saved = index
        var text = ""
        var token = try next()
        while case .text(let t) = token {
            text += t
            token = try next()
        }
        switch token {
        case .close("value"):
            return .string(text)
        case .open(let type, let empty):
            guard Self.isBlank(text) else {
                throw WireError("text and <\(type)> mixed in a <value> \(position)")
            }
            let value = try typed(type, empty: empty, depth: depth)
            try close("value")
            return value
        default:
            index = saved
            throw WireError("expected a value's type or text but found \(Self.describe(token)) \(position)")
        }
    }

    private mutating func scalarText(_ type: String, empty: Bool) throws(WireError) -> String {
        empty ? "" : try text(until: type)
    }

    private mutating func typed(_ type: String, empty: Bool, depth: Int) throws(WireError) -> XenAPIValue {
        let at = position
        switch type {
        case "string":
            return .string(try scalarText(type, empty: empty))
        case "int", "i4", "i8":
            let text = try scalarText(type, empty: empty)
            let trimmed = Self.trim(text)
            let digits = trimmed.hasPrefix("+") ? String(trimmed.dropFirst()) : trimmed
            guard let n = Int64(digits) else { throw WireError("<\(type)> holds '\(text.prefix(40))', not a 64-bit integer \(at)") }
            if type == "i4", Int32(exactly: n) == nil { throw WireError("<i4> holds \(n), beyond 32 bits \(at)") }
            return .int(n)
        case "boolean":
            let text = Self.trim(try scalarText(type, empty: empty))
            switch text {
            case "1": return .bool(true)
            case "0": return .bool(false)
            default: throw WireError("<boolean> holds '\(text.prefix(40))', not 0 or 1 \(at)")
            }
        case "double":
            let text = Self.trim(try scalarText(type, empty: empty))
            guard let d = Double(text), d.isFinite, !text.contains(where: { $0.isLetter && $0 != "e" && $0 != "E" }) else {
                throw WireError("<double> holds '\(text.prefix(40))', not a finite number \(at)")
            }
            return .double(d)
        case "dateTime.iso8601":
            let text = Self.trim(try scalarText(type, empty: empty))
            guard !text.isEmpty else { throw WireError("an empty <dateTime.iso8601> \(at)") }
            return .dateTime(text)
        case "base64":
            let text = try scalarText(type, empty: empty)
            guard let decoded = Base64.decode(text) else { throw WireError("<base64> holds text that is not base64 \(at)") }
            guard let string = String(validating: decoded, as: UTF8.self) else {
                throw WireError("<base64> holds bytes that are not UTF-8 text \(at)")
            }
            return .string(string)
        case "nil":
            if !empty { try close("nil") }
            return .null
        case "array":
            if empty { return .array([]) }
            var items: [XenAPIValue] = []
            if try !openMaybeEmpty("data") {
                while try peekIsOpen("value") { items.append(try value(depth: depth + 1)) }
                try close("data")
            }
            try close("array")
            return .array(items)
        case "struct":
            if empty { return .struct([:]) }
            var members: [String: XenAPIValue] = [:]
            while try peekIsOpen("member") {
                if try openMaybeEmpty("member") { throw WireError("an empty <member> \(position)") }
                let nameAt = position
                let name: String
                if try openMaybeEmpty("name") { name = "" } else { name = try text(until: "name") }
                let member = try value(depth: depth + 1)
                try close("member")
                guard members.updateValue(member, forKey: name) == nil else {
                    throw WireError("struct member '\(name.prefix(40))' given twice \(nameAt)")
                }
            }
            try close("struct")
            return .struct(members)
        default:
            throw WireError("unknown value type <\(type)> \(at)")
        }
    }

    private static func trim(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var start = 0, end = bytes.count
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}

/// Standard base64 (RFC 4648), whitespace ignored, for XML-RPC's <base64>.
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        var padding = 0
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): guard padding == 0 else { return nil }; values.append(b - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): guard padding == 0 else { return nil }; values.append(b - 97 + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): guard padding == 0 else { return nil }; values.append(b - 48 + 52)
            case UInt8(ascii: "+"): guard padding == 0 else { return nil }; values.append(62)
            case UInt8(ascii: "/"): guard padding == 0 else { return nil }; values.append(63)
            case UInt8(ascii: "="): padding += 1
            case 0x20, 0x09, 0x0A, 0x0D: continue
            default: return nil
            }
        }
        guard padding <= 2, (values.count + padding) % 4 == 0 else { return nil }
        guard values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i + 4 <= values.count {
            let n = UInt32(values[i]) << 18 | UInt32(values[i + 1]) << 12 | UInt32(values[i + 2]) << 6 | UInt32(values[i + 3])
            out += [UInt8(n >> 16), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
            i += 4
        }
        let rest = values.count - i
        if rest == 2 {
            let n = UInt32(values[i]) << 18 | UInt32(values[i + 1]) << 12
            out.append(UInt8(n >> 16))
        } else if rest == 3 {
            let n = UInt32(values[i]) << 18 | UInt32(values[i + 1]) << 12 | UInt32(values[i + 2]) << 6
            out += [UInt8(n >> 16), UInt8(n >> 8 & 0xff)]
        }
        return out
    }
}
