// JSON-RPC 1.0 and 2.0 as XAPI answers them at /jsonrpc (its rpclib and
// the wire-protocol documentation): a request is an object with `method`,
// `params` (an array; in 2.0 also an object, passed as one struct, or
// absent) and `id` (a string or an integer, never null: XAPI accepts no
// notifications), `"jsonrpc": "2.0"` choosing 2.0. The answer carries the
// call's value itself, not XAPI's envelope:
//   1.0: {"result": v, "error": null, "id": id} or {"result": null, "error": [code, args...], "id": id}
//   2.0: {"jsonrpc": "2.0", "result": v, "id": id} or
//        {"jsonrpc": "2.0", "error": {"code": 1, "message": code, "data": [args...]}, "id": id}

public enum JSONRPC {
    public enum Version: Equatable, Sendable {
        case v1
        case v2
    }

    /// A request's id, given back in its response.
    public enum ID: Equatable, Sendable {
        case string(String)
        case int(Int64)
    }

    public struct Request: Equatable, Sendable {
        public var version: Version
        public var id: ID
        public var call: XenAPICall
        public init(version: Version, id: ID, call: XenAPICall) {
            self.version = version
            self.id = id
            self.call = call
        }
    }

    public static func parseRequest(_ bytes: [UInt8]) throws(WireError) -> Request {
        let document = try JSONReader.parse(bytes)
        guard case .struct(let members) = document.value else { throw WireError("the request is not a JSON object") }
        guard let methodValue = members["method"] else { throw WireError("the request has no 'method'") }
        guard case .string(let method) = methodValue, !method.isEmpty else { throw WireError("'method' is not a non-empty string") }
        let version: Version
        switch members["jsonrpc"] {
        case nil: version = .v1
        case .string("2.0")?: version = .v2
        default: throw WireError("'jsonrpc' is not \"2.0\"")
        }
        let params: [XenAPIValue]
        switch (version, members["params"]) {
        case (_, .array(let items)?): params = items
        case (.v2, nil), (.v2, .null?): params = []
        case (.v2, .struct(let object)?): params = [.struct(object)]
        case (.v1, nil): throw WireError("the request has no 'params'")
        default: throw WireError("'params' is not an array")
        }
        let id: ID
        switch members["id"] {
        case .string(let s)?: id = .string(s)
        case .int(let i)?: id = .int(i)
        case nil, .null?: throw WireError("the request has no 'id' (notifications are not accepted)")
        default: throw WireError("'id' is not a string or an integer")
        }
        return Request(version: version, id: id, call: XenAPICall(method: method, params: params))
    }

    /// The response to a request of `version` and `id`.
    public static func response(_ result: XenAPIResult, version: Version, id: ID) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        var orders = StructKeyOrders()
        switch (version, result) {
        case (.v1, .success(let value)):
            out.append("{\"result\":")
            JSONWriter.write(value, orders: &orders, to: &out)
            out.append(",\"error\":null,\"id\":")
        case (.v1, .failure(let description)):
            out.append("{\"result\":null,\"error\":")
            JSONWriter.write(.array(description.map { .string($0) }), orders: &orders, to: &out)
            out.append(",\"id\":")
        case (.v2, .success(let value)):
            out.append("{\"jsonrpc\":\"2.0\",\"result\":")
            JSONWriter.write(value, orders: &orders, to: &out)
            out.append(",\"id\":")
        case (.v2, .failure(let description)):
            out.append("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":")
            JSONWriter.appendQuoted(description.first ?? "INTERNAL_ERROR", to: &out)
            out.append(",\"data\":")
            JSONWriter.write(.array(description.dropFirst().map { .string($0) }), orders: &orders, to: &out)
            out.append("},\"id\":")
        }
        switch id {
        case .string(let s): JSONWriter.appendQuoted(s, to: &out)
        case .int(let i): out.appendDecimal(i)
        }
        out.append("}")
        return out
    }

    /// A request (for tests and clients).
    public static func request(_ call: XenAPICall, version: Version, id: ID) -> [UInt8] {
        let idText: String
        switch id {
        case .string(let s): idText = JSONWriter.quoted(s)
        case .int(let i): idText = "\(i)"
        }
        let head = version == .v2 ? "{\"jsonrpc\":\"2.0\"," : "{"
        return Array((head + "\"method\":" + JSONWriter.quoted(call.method) + ",\"params\":"
            + JSONWriter.text(.array(call.params)) + ",\"id\":" + idText + "}").utf8)
    }

    /// Reads a response back (for tests and clients): the result and the id.
    public static func parseResponse(_ bytes: [UInt8]) throws(WireError) -> (result: XenAPIResult, id: ID) {
        let document = try JSONReader.parse(bytes)
        guard case .struct(let members) = document.value else { throw WireError("the response is not a JSON object") }
        let id: ID
        switch members["id"] {
        case .string(let s)?: id = .string(s)
        case .int(let i)?: id = .int(i)
        default: throw WireError("the response has no usable 'id'")
        }
        func strings(_ value: XenAPIValue?) throws(WireError) -> [String] {
            guard case .array(let items)? = value else { throw WireError("error data is not an array") }
            var out: [String] = []
            for item in items {
                guard case .string(let s) = item else { throw WireError("error data holds a non-string") }
                out.append(s)
            }
            return out
        }
        if members["jsonrpc"] == .string("2.0") {
            if let result = members["result"], members["error"] == nil { return (.success(result), id) }
            guard case .struct(let error)? = members["error"], case .string(let code)? = error["message"] else {
                throw WireError("a 2.0 response with neither result nor error object")
            }
            return (.failure([code] + (try strings(error["data"] ?? .array([])))), id)
        }
        if let error = members["error"], error != .null { return (.failure(try strings(error)), id) }
        guard let result = members["result"] else { throw WireError("a 1.0 response without result") }
        return (.success(result), id)
    }
}

/// JSON text to values: numbers without a fraction or exponent are
/// integers (64-bit; beyond is an error), others doubles; objects are
/// structs (a key given twice is an error); nesting is limited.
enum JSONReader {
    struct Document { var value: XenAPIValue }

    static let maximumDepth = 64

    static func parse(_ bytes: [UInt8]) throws(WireError) -> Document {
        var parser = Parser(bytes: bytes)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.index == bytes.count else { throw WireError("text after the JSON value at byte \(parser.index)") }
        return Document(value: value)
    }

    struct Parser {
        let bytes: [UInt8]
        var index = 0

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        func fail(_ what: String) -> WireError { WireError("\(what) at byte \(index)") }

        mutating func literal(_ word: String, _ value: XenAPIValue) throws(WireError) -> XenAPIValue {
            let w = Array(word.utf8)
            guard index + w.count <= bytes.count, Array(bytes[index..<index + w.count]) == w else { throw fail("invalid JSON") }
            index += w.count
            return value
        }

        mutating func value(depth: Int) throws(WireError) -> XenAPIValue {
            guard depth < JSONReader.maximumDepth else { throw fail("JSON nested more than \(JSONReader.maximumDepth) deep") }
            guard index < bytes.count else { throw fail("unexpected end of JSON") }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var members: [String: XenAPIValue] = [:]
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .struct(members) }
                while true {
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected an object key") }
                    let keyAt = index
                    let key = try string()
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    index += 1
                    skipSpace()
                    let member = try value(depth: depth + 1)
                    guard members.updateValue(member, forKey: key) == nil else {
                        throw WireError("object key '\(key.prefix(40))' given twice at byte \(keyAt)")
                    }
                    skipSpace()
                    guard index < bytes.count else { throw fail("unexpected end of JSON") }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "}") { index += 1; return .struct(members) }
                    throw fail("expected ',' or '}'")
                }
            case UInt8(ascii: "["):
                index += 1
                var items: [XenAPIValue] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    guard index < bytes.count else { throw fail("unexpected end of JSON") }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                    throw fail("expected ',' or ']'")
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw fail("invalid JSON")
            }
        }

        mutating func number() throws(WireError) -> XenAPIValue {
            let start = index
            var integral = true
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            func digits(_ p: inout Parser) -> Int {
                let s = p.index
                while p.index < p.bytes.count, p.bytes[p.index] >= 0x30, p.bytes[p.index] <= 0x39 { p.index += 1 }
                return p.index - s
            }
            let intStart = index
            let intDigits = digits(&self)
            guard intDigits > 0 else { throw fail("invalid number") }
            if intDigits > 1, bytes[intStart] == UInt8(ascii: "0") { throw WireError("a number with a leading zero at byte \(start)") }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                integral = false
                index += 1
                guard digits(&self) > 0 else { throw fail("invalid number") }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                integral = false
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits(&self) > 0 else { throw fail("invalid number") }
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if integral {
                guard let n = Int64(text) else { throw WireError("the integer \(text.prefix(40)) is beyond 64 bits at byte \(start)") }
                return .int(n)
            }
            guard let d = Double(text), d.isFinite else { throw WireError("the number \(text.prefix(40)) is out of range at byte \(start)") }
            return .double(d)
        }

        mutating func hex4() throws(WireError) -> UInt32 {
            guard index + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
                throw fail("a bad \\u escape")
            }
            index += 4
            return v
        }

        mutating func string() throws(WireError) -> String {
            index += 1  // the opening quote
            var out: [UInt8] = []
            while true {
                guard index < bytes.count else { throw fail("an unterminated string") }
                let b = bytes[index]
                index += 1
                switch b {
                case UInt8(ascii: "\""):
                    guard let text = String(validating: out, as: UTF8.self) else { throw fail("a string that is not UTF-8") }
                    return text
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { throw fail("an unterminated string") }
                    let e = bytes[index]
                    index += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if (0xD800..<0xDC00).contains(code) {
                            guard index + 2 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                                throw fail("a lone surrogate in \\u escapes")
                            }
                            index += 2
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw fail("a lone surrogate in \\u escapes") }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else { throw fail("a lone surrogate in \\u escapes") }
                        out += Array(String(Character(scalar)).utf8)
                    default: throw fail("an unknown escape")
                    }
                default:
                    guard b >= 0x20 else { throw fail("a control character in a string") }
                    out.append(b)
                }
            }
        }
    }
}

/// Values to JSON text: compact, struct keys sorted, strings escaped as
/// JSON requires (other characters as UTF-8); written as bytes.
enum JSONWriter {
    static func text(_ value: XenAPIValue) -> String {
        var out: [UInt8] = []
        var orders = StructKeyOrders()
        write(value, orders: &orders, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func write(_ value: XenAPIValue, orders: inout StructKeyOrders, to out: inout [UInt8]) {
        switch value {
        case .string(let s), .dateTime(let s): appendQuoted(s, to: &out)
        case .int(let i): out.appendDecimal(i)
        case .bool(let b): out.append(b ? "true" : "false")
        case .double(let d):
            // JSON has no infinities or NaN: they go as strings, not as null.
            if d.isFinite { out += "\(d)".utf8 } else { appendQuoted("\(d)", to: &out) }
        case .null: out.append("null")
        case .array(let items):
            out.append("[")
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(item, orders: &orders, to: &out)
            }
            out.append("]")
        case .struct(let members):
            out.append("{")
            writeMembers(members, orders: &orders, out: &out, separator: UInt8(ascii: ","), head: keyHead) { value, orders, out in
                write(value, orders: &orders, to: &out)
            }
            out.append("}")
        }
    }

    /// `"key":`.
    static func keyHead(_ key: String) -> [UInt8] {
        var head: [UInt8] = []
        appendQuoted(key, to: &head)
        head.append(UInt8(ascii: ":"))
        return head
    }

    static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        appendQuoted(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes ``appendQuoted(_:to:)`` must escape: controls, `"` and `\\`.
    private static let special: [Bool] = (0...255).map { b in b < 0x20 || b == 0x22 || b == 0x5C }

    /// `s` as a JSON string; text with nothing to escape is copied as it is.
    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        s.withUTF8Bytes { bytes in
            let plain = special.withUnsafeBufferPointer { table in !bytes.contains { table[Int($0)] } }
            if plain {
                out.append(contentsOf: bytes)
                return
            }
            let hex: StaticString = "0123456789abcdef"
            for b in bytes {
                switch b {
                case UInt8(ascii: "\""): out.append("\\\"")
                case UInt8(ascii: "\\"): out.append("\\\\")
                case UInt8(ascii: "\n"): out.append("\\n")
                case UInt8(ascii: "\r"): out.append("\\r")
                case UInt8(ascii: "\t"): out.append("\\t")
                case 0..<0x20:
                    out.append("\\u00")
                    out.append(hex.utf8Start[Int(b >> 4)])
                    out.append(hex.utf8Start[Int(b & 0xF)])
                default: out.append(b)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
