import Testing
@testable import ManagementAPI

/// Random values of every kind, for round trips.
func randomValue(_ random: inout SeededGenerator, depth: Int = 0) -> XenAPIValue {
    let alphabet = Array("aZ09 <>&\"'\t\n\r;#é€😀\\/{}[]:,]]>")
    func text() -> String { String((0..<Int.random(in: 0...12, using: &random)).map { _ in alphabet.randomElement(using: &random)! }) }
    switch Int.random(in: 0...(depth < 4 ? 8 : 5), using: &random) {
    case 0: return .string(text())
    case 1: return .int(Int64.random(in: Int64.min...Int64.max, using: &random))
    case 2: return .bool(Bool.random(using: &random))
    case 3: return .double(Double.random(in: -1e12...1e12, using: &random))
    case 4: return .null
    case 5: return .dateTime("20261204T13:18:\(Int.random(in: 10...59, using: &random))Z")
    case 6, 7:
        return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in randomValue(&random, depth: depth + 1) })
    default:
        var members: [String: XenAPIValue] = [:]
        for _ in 0..<Int.random(in: 0...4, using: &random) { members[text()] = randomValue(&random, depth: depth + 1) }
        return .struct(members)
    }
}

/// XAPI's XML-RPC writes integers as bare text, which reads back as a string.
func asXMLRPCReadsIt(_ value: XenAPIValue) -> XenAPIValue {
    switch value {
    case .int(let i): return .string("\(i)")
    case .array(let items): return .array(items.map(asXMLRPCReadsIt))
    case .struct(let members): return .struct(members.mapValues(asXMLRPCReadsIt))
    default: return value
    }
}

@Suite struct WireXMLRPCTests {
    @Test func readsEveryValueTypeAsClientsSendThem() throws {
        let body = """
            <?xml version='1.0'?>
            <!-- a comment -->
            <methodCall>
            <methodName>VM.set_name_label</methodName>
            <params>
            <param><value><string>OpaqueRef:a&amp;b</string></value></param>
            <param><value>bare &lt;text&gt; &#233;&#x20AC;</value></param>
            <param><value><int>-42</int></value></param>
            <param><value><i4>7</i4></value></param>
            <param><value><i8>9223372036854775807</i8></value></param>
            <param><value><boolean>1</boolean></value></param>
            <param><value><double>-2.5e3</double></value></param>
            <param><value><dateTime.iso8601>20261204T13:18:30Z</dateTime.iso8601></value></param>
            <param><value><base64>aGVsbG8=</base64></value></param>
            <param><value><nil/></value></param>
            <param><value><array><data><value>x</value><value><int>1</int></value></data></array></value></param>
            <param><value><struct>
              <member><name>k</name><value><string>v</string></value></member>
              <member><name>empty</name><value/></member>
              <member><name>e2</name><value></value></member>
              <member><name>nested</name><value><struct><member><name>a</name><value><array><data/></array></value></member></struct></value></member>
            </struct></value></param>
            <param><value><string/></value></param>
            <param><value><![CDATA[<raw> & ]]> tail</value></param>
            <param><value>   </value></param>
            </params>
            </methodCall>
            """
        let call = try XMLRPC.parseCall(Array(body.utf8))
        #expect(call == XenAPICall(method: "VM.set_name_label", params: [
            .string("OpaqueRef:a&b"), .string("bare <text> é€"), .int(-42), .int(7), .int(Int64.max), .bool(true),
            .double(-2500), .dateTime("20261204T13:18:30Z"), .string("hello"), .null,
            .array([.string("x"), .int(1)]),
            .struct(["k": .string("v"), "empty": .string(""), "e2": .string(""), "nested": .struct(["a": .array([])])]),
            .string(""), .string("<raw> &  tail"), .string("   "),
        ]))
    }

    @Test func writesXAPIsEnvelopeAndValuesAsXAPIDoes() {
        let success = XMLRPC.response(.success(.struct(["b": .int(3), "a": .array([.bool(false), .null, .string("x<y")])])))
        #expect(String(decoding: success, as: UTF8.self) == """
            <?xml version="1.0"?><methodResponse><params><param><value><struct>\
            <member><name>Status</name><value>Success</value></member>\
            <member><name>Value</name><value><struct>\
            <member><name>a</name><value><array><data><value><boolean>0</boolean></value><value><nil/></value><value>x&lt;y</value></data></array></value></member>\
            <member><name>b</name><value>3</value></member>\
            </struct></value></member></struct></value></param></params></methodResponse>
            """)
        let failure = XMLRPC.response(.failure("SESSION_INVALID", "OpaqueRef:x"))
        #expect(String(decoding: failure, as: UTF8.self) == """
            <?xml version="1.0"?><methodResponse><params><param><value><struct>\
            <member><name>Status</name><value>Failure</value></member>\
            <member><name>ErrorDescription</name><value><array><data><value>SESSION_INVALID</value><value>OpaqueRef:x</value></data></array></value></member>\
            </struct></value></param></params></methodResponse>
            """)
    }

    @Test func randomValuesSurviveARoundTrip() throws {
        var random = SeededGenerator(seed: 0xA11_0F_1A)
        for round in 0..<300 {
            let params = (0..<Int.random(in: 0...3, using: &random)).map { _ in randomValue(&random) }
            let call = XenAPICall(method: "m.\(round)", params: params)
            #expect(try XMLRPC.parseCall(XMLRPC.call(call)) == XenAPICall(method: call.method, params: params.map(asXMLRPCReadsIt)),
                    "round \(round)")
            let result: XenAPIResult = round % 5 == 0 ? .failure(["CODE", "a<b", "é"]) : .success(params.first ?? .null)
            let expected: XenAPIResult = if case .success(let v) = result { .success(asXMLRPCReadsIt(v)) } else { result }
            #expect(try XMLRPC.parseResponse(XMLRPC.response(result)) == expected, "round \(round)")
        }
    }

    @Test func controlCharactersXMLCannotCarryAreLeftOutAsXAPIDoes() throws {
        let text = "a\u{01}b\u{1F}c\td\ne\rf"
        let written = XMLRPC.response(.success(.string(text)))
        #expect(try XMLRPC.parseResponse(written) == .success(.string("abc\td\ne\rf")))
    }

    static func wrap(_ value: String) -> String { "<methodCall><methodName>m</methodName><params><param>\(value)</param></params></methodCall>" }

    @Test(arguments: [
        ("", "expected <methodCall> but found the end of the document at byte 0"),
        ("garbage", "expected <methodCall> but found text 'garbage' at byte 0"),
        ("<methodCall><methodName>m</methodName>", "expected </methodCall> but found the end of the document at byte 38"),
        ("<methodCall><methodName></methodName></methodCall>", "empty <methodName>"),
        ("<methodCall><methodName>m</methodName></methodCall><x/>", "unexpected <x> after the document at byte 51"),
        ("<!DOCTYPE x [<!ENTITY a 'b'>]><methodCall/>", "a DOCTYPE or other declaration is not accepted at byte 0"),
        ("<methodCall><methodName>&bogus;</methodName></methodCall>", "unknown entity &bogus; at byte 24"),
        ("<methodCall><methodName>&#0;</methodName></methodCall>", "a bad character reference &#0; at byte 24"),
        ("<methodCall><methodName>a&lt</methodName></methodCall>", "an unterminated entity reference at byte 25"),
        ("<methodCall", "unterminated tag <methodCall at byte 0"),
        ("<methodCall><!-- x", "unterminated comment at byte 12"),
        (wrap("<value><int>12x</int></value>"), "<int> holds '12x', not a 64-bit integer at byte 65"),
        (wrap("<value><int>99999999999999999999</int></value>"), "<int> holds '99999999999999999999', not a 64-bit integer at byte 65"),
        (wrap("<value><i4>2147483648</i4></value>"), "<i4> holds 2147483648, beyond 32 bits at byte 64"),
        (wrap("<value><boolean>true</boolean></value>"), "<boolean> holds 'true', not 0 or 1 at byte 69"),
        (wrap("<value><double>nan</double></value>"), "<double> holds 'nan', not a finite number at byte 68"),
        (wrap("<value><double>1e999</double></value>"), "<double> holds '1e999', not a finite number at byte 68"),
        (wrap("<value><base64>!!</base64></value>"), "<base64> holds text that is not base64 at byte 68"),
        (wrap("<value><base64>/w==</base64></value>"), "<base64> holds bytes that are not UTF-8 text at byte 68"),
        (wrap("<value><blob>1</blob></value>"), "unknown value type <blob> at byte 66"),
        (wrap("<value>x<string>y</string></value>"), "text and <string> mixed in a <value> at byte 69"),
        (wrap("<value><struct><member><name>a</name><value>1</value></member><member><name>a</name><value>2</value></member></struct></value>"),
         "struct member 'a' given twice at byte 123"),
        (wrap("<value><struct><member><value>1</value></member></struct></value>"), "expected <name> but found <value> at byte 76"),
        (wrap("<value><array><value>1</value></array></value>"), "expected <data> but found <value> at byte 67"),
        (wrap("<value><int>1</int><int>2</int></value>"), "expected </value> but found <int> at byte 72"),
        (wrap("<value><int>1</value>"), "expected text and </int> but found </value> at byte 65"),
        ("<methodCall><methodName>m\u{FF}</methodName></methodCall>", "text that is not UTF-8 at byte 26"),
    ])
    func garbageGetsAClearError(body: String, message: String) {
        var bytes = Array(body.utf8)
        // U+00FF stands for a lone 0xFF byte.
        if let i = bytes.firstIndex(of: 0xC3), bytes[i + 1] == 0xBF { bytes.replaceSubrange(i...(i + 1), with: [0xFF]) }
        #expect(throws: WireError(message)) { try XMLRPC.parseCall(bytes) }
    }

    @Test func deepNestingIsRefusedNotRecursedIntoWithoutEnd() {
        let depth = 10_000
        let body = "<methodCall><methodName>m</methodName><params><param>"
            + String(repeating: "<value><array><data>", count: depth) + String(repeating: "</data></array></value>", count: depth)
            + "</param></params></methodCall>"
        #expect(throws: WireError.self) { try XMLRPC.parseCall(Array(body.utf8)) }
        let fine = "<methodCall><methodName>m</methodName><params><param>"
            + String(repeating: "<value><array><data>", count: 60) + String(repeating: "</data></array></value>", count: 60)
            + "</param></params></methodCall>"
        #expect((try? XMLRPC.parseCall(Array(fine.utf8))) != nil)
    }

    @Test func everyTruncationOfAValidCallIsAnErrorNotACrash() {
        let call = XMLRPC.call(XenAPICall(method: "VM.get_record", params: [
            .string("OpaqueRef:1"), .struct(["a": .array([.int(1), .bool(true), .double(1.5)])]), .null,
        ]))
        for length in 0..<call.count {
            #expect(throws: WireError.self, "length \(length)") { try XMLRPC.parseCall(Array(call[0..<length])) }
        }
    }
}

@Suite struct WireJSONRPCTests {
    @Test func readsVersion1And2AsXAPIDoes() throws {
        let v1 = #"{"method": "session.login_with_password", "params": ["root", "pw", "1.0", {"k": [1, 2.5, true, null]}], "id": "xyz"}"#
        #expect(try JSONRPC.parseRequest(Array(v1.utf8)) == JSONRPC.Request(version: .v1, id: .string("xyz"), call: XenAPICall(
            method: "session.login_with_password",
            params: [.string("root"), .string("pw"), .string("1.0"), .struct(["k": .array([.int(1), .double(2.5), .bool(true), .null])])])))
        let v2 = #"{"jsonrpc":"2.0","method":"VM.get_all","params":["OpaqueRef:s"],"id":3}"#
        #expect(try JSONRPC.parseRequest(Array(v2.utf8)) == JSONRPC.Request(version: .v2, id: .int(3),
            call: XenAPICall(method: "VM.get_all", params: [.string("OpaqueRef:s")])))
        let v2Object = #"{"jsonrpc":"2.0","method":"m","params":{"a":"\u00e9\ud83d\ude00\n"},"id":-1}"#
        #expect(try JSONRPC.parseRequest(Array(v2Object.utf8)).call.params == [.struct(["a": .string("é😀\n")])])
        let v2NoParams = #"{"jsonrpc":"2.0","method":"m","id":0}"#
        #expect(try JSONRPC.parseRequest(Array(v2NoParams.utf8)).call.params == [])
    }

    @Test func writesResponsesInXAPIsShapes() {
        let value = XenAPIValue.struct(["n": .int(5), "s": .string("a\"b"), "l": .array([.double(1.5), .null, .bool(true)])])
        #expect(String(decoding: JSONRPC.response(.success(value), version: .v1, id: .string("xyz")), as: UTF8.self)
                == #"{"result":{"l":[1.5,null,true],"n":5,"s":"a\"b"},"error":null,"id":"xyz"}"#)
        #expect(String(decoding: JSONRPC.response(.failure("SESSION_INVALID", "OpaqueRef:x"), version: .v1, id: .int(7)), as: UTF8.self)
                == #"{"result":null,"error":["SESSION_INVALID","OpaqueRef:x"],"id":7}"#)
        #expect(String(decoding: JSONRPC.response(.success(.string("")), version: .v2, id: .int(3)), as: UTF8.self)
                == #"{"jsonrpc":"2.0","result":"","id":3}"#)
        #expect(String(decoding: JSONRPC.response(.failure("MAP_DUPLICATE_KEY", "Customer", "x"), version: .v2, id: .int(3)), as: UTF8.self)
                == #"{"jsonrpc":"2.0","error":{"code":1,"message":"MAP_DUPLICATE_KEY","data":["Customer","x"]},"id":3}"#)
    }

    @Test func randomValuesSurviveARoundTrip() throws {
        var random = SeededGenerator(seed: 0x750_4E)
        for round in 0..<300 {
            let params = (0..<Int.random(in: 0...3, using: &random)).map { _ in randomValue(&random) }
            // JSON has no dateTime: it reads back as the string it is written as.
            func json(_ v: XenAPIValue) -> XenAPIValue {
                switch v {
                case .dateTime(let s): return .string(s)
                case .array(let items): return .array(items.map(json))
                case .struct(let members): return .struct(members.mapValues(json))
                default: return v
                }
            }
            for version in [JSONRPC.Version.v1, .v2] {
                let id: JSONRPC.ID = round % 2 == 0 ? .int(Int64(round)) : .string("id\(round)")
                let request = JSONRPC.request(XenAPICall(method: "m", params: params), version: version, id: id)
                #expect(try JSONRPC.parseRequest(request) == JSONRPC.Request(version: version, id: id,
                        call: XenAPICall(method: "m", params: params.map(json))), "round \(round)")
                let result: XenAPIResult = round % 4 == 0 ? .failure(["E", "a\u{1}b"]) : .success(params.first ?? .null)
                let expected: XenAPIResult = if case .success(let v) = result { .success(json(v)) } else { result }
                let back = try JSONRPC.parseResponse(JSONRPC.response(result, version: version, id: id))
                #expect(back.result == expected && back.id == id, "round \(round)")
            }
        }
    }

    @Test(arguments: [
        ("", "unexpected end of JSON at byte 0"),
        ("[]", "the request is not a JSON object"),
        ("{", "expected an object key at byte 1"),
        (#"{"method":"m","params":[],"id":1} x"#, "text after the JSON value at byte 34"),
        (#"{"params":[],"id":1}"#, "the request has no 'method'"),
        (#"{"method":5,"params":[],"id":1}"#, "'method' is not a non-empty string"),
        (#"{"method":"m","id":1}"#, "the request has no 'params'"),
        (#"{"method":"m","params":"x","id":1}"#, "'params' is not an array"),
        (#"{"method":"m","params":[]}"#, "the request has no 'id' (notifications are not accepted)"),
        (#"{"method":"m","params":[],"id":null}"#, "the request has no 'id' (notifications are not accepted)"),
        (#"{"method":"m","params":[],"id":1.5}"#, "'id' is not a string or an integer"),
        (#"{"jsonrpc":"1.5","method":"m","params":[],"id":1}"#, "'jsonrpc' is not \"2.0\""),
        (#"{"method":"m","params":[99999999999999999999],"id":1}"#, "the integer 99999999999999999999 is beyond 64 bits at byte 24"),
        (#"{"method":"m","params":[01],"id":1}"#, "a number with a leading zero at byte 24"),
        (#"{"method":"m","params":[1e999],"id":1}"#, "the number 1e999 is out of range at byte 24"),
        (#"{"method":"m","method":"n","params":[],"id":1}"#, "object key 'method' given twice at byte 14"),
        (#"{"method":"m\x","params":[],"id":1}"#, "an unknown escape at byte 14"),
        (#"{"method":"\ud800","params":[],"id":1}"#, "a lone surrogate in \\u escapes at byte 17"),
        (#"{"method":"m","params":[tru],"id":1}"#, "invalid JSON at byte 24"),
        ("{\"method\":\"a\tb\",\"params\":[],\"id\":1}", "a control character in a string at byte 13"),
    ])
    func garbageGetsAClearError(body: String, message: String) {
        #expect(throws: WireError(message)) { try JSONRPC.parseRequest(Array(body.utf8)) }
    }

    @Test func deepNestingIsRefused() {
        let body = #"{"method":"m","params":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + #","id":1}"#
        #expect(throws: WireError.self) { try JSONRPC.parseRequest(Array(body.utf8)) }
    }

    @Test func everyTruncationOfAValidRequestIsAnError() {
        let request = JSONRPC.request(XenAPICall(method: "VM.get_record", params: [.string("x"), .struct(["a": .array([.int(1), .double(2.5)])])]),
                                      version: .v2, id: .string("q"))
        for length in 0..<request.count {
            #expect(throws: WireError.self, "length \(length)") { try JSONRPC.parseRequest(Array(request[0..<length])) }
        }
    }
}
