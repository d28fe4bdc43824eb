import Testing
@testable import ManagementAPI

/// The writers as they were before they remembered struct shapes: every
/// struct's keys sorted on their own, strings built and escaped a
/// character at a time. The fast writers must give the same bytes.
enum ReferenceWriters {
    static func xml(_ value: XenAPIValue) -> String {
        switch value {
        case .string(let s): return "<value>" + xmlEscaped(s) + "</value>"
        case .int(let i): return "<value>\(i)</value>"
        case .bool(let b): return "<value><boolean>\(b ? 1 : 0)</boolean></value>"
        case .double(let d): return "<value><double>\(d)</double></value>"
        case .dateTime(let s): return "<value><dateTime.iso8601>" + xmlEscaped(s) + "</dateTime.iso8601></value>"
        case .null: return "<value><nil/></value>"
        case .array(let items): return "<value><array><data>" + items.map(xml).joined() + "</data></array></value>"
        case .struct(let members):
            return "<value><struct>" + members.sorted { $0.key < $1.key }.map {
                "<member><name>" + xmlEscaped($0.key) + "</name>" + xml($0.value) + "</member>"
            }.joined() + "</struct></value>"
        }
    }

    static func xmlEscaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "\r": out += "&#13;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            case "\u{FFFE}", "\u{FFFF}": break
            default: if scalar.value >= 0x20 { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    static func json(_ value: XenAPIValue) -> String {
        switch value {
        case .string(let s), .dateTime(let s): return jsonQuoted(s)
        case .int(let i): return "\(i)"
        case .bool(let b): return b ? "true" : "false"
        case .double(let d): return d.isFinite ? "\(d)" : jsonQuoted("\(d)")
        case .null: return "null"
        case .array(let items): return "[" + items.map(json).joined(separator: ",") + "]"
        case .struct(let members):
            return "{" + members.keys.sorted().map { jsonQuoted($0) + ":" + json(members[$0]!) }.joined(separator: ",") + "}"
        }
    }

    static func jsonQuoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func xmlResponse(_ value: XenAPIValue) -> String {
        "<?xml version=\"1.0\"?><methodResponse><params><param><value><struct>"
            + "<member><name>Status</name><value>Success</value></member><member><name>Value</name>" + xml(value)
            + "</member></struct></value></param></params></methodResponse>"
    }
}

@Suite struct WireWriterTests {
    /// Many structs of a few shapes, as a get_all_records is: some of the
    /// same size with other keys, one key more or fewer, keys that sort
    /// in ways bytes and letters could disagree on, values that nest shapes.
    static func records(_ random: inout SeededGenerator) -> XenAPIValue {
        let keys = ["uuid", "name_label", "VCPUs_max", "a&b", "Zeta", "zeta", "é-key", "memory_target", "PV_args", "other_config",
                    "x<y", "tab\tkey", "😀", "domid", "", "e"]
        var records: [String: XenAPIValue] = [:]
        // A struct nested in some records, itself of a remembered size.
        var inner: [String: XenAPIValue] = [:]
        for key in keys.suffix(7) { inner[key] = randomValue(&random, depth: 4) }
        for n in 0..<Int.random(in: 40...120, using: &random) {
            var shape = Array(keys.prefix(Int.random(in: 5...keys.count, using: &random)))
            if Bool.random(using: &random) { shape[Int.random(in: 0..<shape.count, using: &random)] = "other\(Int.random(in: 0...3, using: &random))" }
            // Most records take the first shape, as real ones do.
            if n % 4 != 0 { shape = Array(keys.prefix(12)) }
            var record: [String: XenAPIValue] = [:]
            for key in shape {
                record[key] = Int.random(in: 0...5, using: &random) == 0 ? .struct(inner) : randomValue(&random, depth: 3)
            }
            records["OpaqueRef:\(n)-\(Int.random(in: 0...1_000_000, using: &random))"] = .struct(record)
        }
        return .struct(records)
    }

    @Test func xmlRPCGivesTheBytesOfSortingEveryStruct() {
        var random = SeededGenerator(seed: 0x5EED_0A)
        for round in 0..<60 {
            let value = round % 3 == 0 ? randomValue(&random) : Self.records(&random)
            #expect(String(decoding: XMLRPC.response(.success(value)), as: UTF8.self) == ReferenceWriters.xmlResponse(value),
                    "round \(round)")
            #expect(XMLRPC.valueText(value) == ReferenceWriters.xml(value), "round \(round)")
        }
    }

    @Test func jsonRPCGivesTheBytesOfSortingEveryStruct() {
        var random = SeededGenerator(seed: 0x5EED_0B)
        for round in 0..<60 {
            let value = round % 3 == 0 ? randomValue(&random) : Self.records(&random)
            #expect(String(decoding: JSONRPC.response(.success(value), version: .v1, id: .int(Int64(round))), as: UTF8.self)
                    == "{\"result\":" + ReferenceWriters.json(value) + ",\"error\":null,\"id\":\(round)}", "round \(round)")
            #expect(JSONWriter.text(value) == ReferenceWriters.json(value), "round \(round)")
        }
    }

    @Test func integersAndControlCharactersAreWrittenAsBefore() {
        for i: Int64 in [0, 1, -1, 9, 10, -10, 1234567890, Int64.max, Int64.min, Int64.max - 1, Int64.min + 1] {
            #expect(XMLRPC.valueText(.int(i)) == "<value>\(i)</value>")
            #expect(JSONWriter.text(.int(i)) == "\(i)")
        }
        let controls = String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) }) + "\u{7F}é\u{FFFE}\u{FFFF}\u{FFFD}<>&\"\\'"
        #expect(XMLRPC.valueText(.string(controls)) == ReferenceWriters.xml(.string(controls)))
        #expect(JSONWriter.text(.string(controls)) == ReferenceWriters.json(.string(controls)))
    }
}
