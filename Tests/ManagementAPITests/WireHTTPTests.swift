import Testing
@testable import ManagementAPI

@Suite struct WireHTTPTests {
    /// All the requests `bytes` makes, fed `chunk` bytes at a time.
    func requests(_ bytes: [UInt8], chunk: Int, limits: HTTPRequestReader.Limits = .init()) throws(HTTPRequestError) -> ([HTTPRequestHead], [HTTPRequest]) {
        var reader = HTTPRequestReader(limits: limits)
        var heads: [HTTPRequestHead] = []
        var requests: [HTTPRequest] = []
        var offset = 0
        while true {
            switch try reader.next() {
            case .head(let head): heads.append(head)
            case .request(let request): requests.append(request)
            case .needMore:
                guard offset < bytes.count else { return (heads, requests) }
                let end = min(offset + chunk, bytes.count)
                reader.append(bytes[offset..<end])
                offset = end
            }
        }
    }

    static let pipelined = Array((
        "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 5\r\n\r\nhello"
        + "\r\n"  // a stray CRLF between requests is ignored
        + "POST /jsonrpc?x=1 HTTP/1.0\nContent-Length: 0\nConnection: keep-alive\n\n"
        + "GET / HTTP/1.1\r\nConnection: close\r\nExpect: 100-continue\r\n\r\n"
    ).utf8)

    @Test(arguments: [1, 2, 7, 64, 100_000])
    func readsPipelinedRequestsHoweverTheBytesArrive(chunk: Int) throws {
        let (heads, requests) = try requests(Self.pipelined, chunk: chunk)
        let expected = [
            HTTPRequestHead(method: "POST", path: "/RPC2", query: nil, minorVersion: 1,
                            headers: [("host", "x"), ("content-type", "text/xml"), ("content-length", "5")], contentLength: 5),
            HTTPRequestHead(method: "POST", path: "/jsonrpc", query: "x=1", minorVersion: 0,
                            headers: [("content-length", "0"), ("connection", "keep-alive")], contentLength: 0),
            HTTPRequestHead(method: "GET", path: "/", query: nil, minorVersion: 1,
                            headers: [("connection", "close"), ("expect", "100-continue")], contentLength: 0),
        ]
        #expect(heads == expected)
        #expect(requests == [HTTPRequest(head: expected[0], body: Array("hello".utf8)),
                             HTTPRequest(head: expected[1], body: []), HTTPRequest(head: expected[2], body: [])])
        #expect(requests.map(\.head.keepAlive) == [true, true, false])
        #expect(requests.map(\.head.expectsContinue) == [false, false, true])
    }

    @Test func theHeadComesBeforeTheBodySoContinueCanBeAnswered() throws {
        var reader = HTTPRequestReader()
        reader.append(Array("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n".utf8))
        guard case .head(let head) = try reader.next() else { Issue.record("no head"); return }
        #expect(head.expectsContinue)
        #expect(try reader.next() == .needMore)
        #expect(reader.isMidRequest)
        reader.append(Array("abc".utf8))
        #expect(try reader.next() == .request(HTTPRequest(head: head, body: Array("abc".utf8))))
        #expect(!reader.isMidRequest)
    }

    @Test func http10ClosesUnlessAskedAndHTTP11KeepsUnlessAsked() throws {
        func head(_ text: String) throws -> HTTPRequestHead {
            try requests(Array(text.utf8), chunk: 1000).0[0]
        }
        #expect(try !head("GET / HTTP/1.0\r\n\r\n").keepAlive)
        #expect(try head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive)
        #expect(try head("GET / HTTP/1.1\r\n\r\n").keepAlive)
        #expect(try !head("GET / HTTP/1.1\r\nConnection: TE, close\r\n\r\n").keepAlive)
        #expect(try head("POST http://_var_lib_xcp_xapi/RPC2 HTTP/1.1\r\nContent-Length: 0\r\n\r\n").path == "/RPC2")
    }

    @Test(arguments: [
        ("POST / HTTP/1.1\r\nContent-Length: 5000001\r\n\r\n", HTTPRequestError(413, "the body exceeds 5000000 bytes")),
        ("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", HTTPRequestError(413, "the body exceeds 5000000 bytes")),
        ("POST / HTTP/1.1\r\n\r\n", HTTPRequestError(411, "a POST needs a Content-Length")),
        ("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", HTTPRequestError(400, "a malformed Content-Length")),
        ("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", HTTPRequestError(400, "a malformed Content-Length")),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", HTTPRequestError(501, "Transfer-Encoding is not supported: send a Content-Length")),
        ("POST / HTTP/2.0\r\n\r\n", HTTPRequestError(505, "only HTTP/1.0 and HTTP/1.1 are served")),
        ("GARBAGE\r\n\r\n", HTTPRequestError(400, "a malformed request line 'GARBAGE'")),
        ("GET  / HTTP/1.1\r\n\r\n", HTTPRequestError(400, "a malformed request line 'GET  / HTTP/1.1'")),
        ("GET x HTTP/1.1\r\n\r\n", HTTPRequestError(400, "a request target that is not a path")),
        ("GET / HTTP/1.1\r\nNoColon\r\n\r\n", HTTPRequestError(400, "a malformed header line 'NoColon'")),
        ("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", HTTPRequestError(400, "folded header lines are not accepted")),
        ("GET / HTTP/1.1\r\nBad Name: b\r\n\r\n", HTTPRequestError(400, "a malformed header name 'Bad Name'")),
        ("GET / HTTP/1.1\r\nA: \u{FF}\r\n\r\n", HTTPRequestError(400, "the request head is not UTF-8 text")),
    ])
    func badRequestsGetTheirStatus(text: String, error: HTTPRequestError) {
        var bytes = Array(text.utf8)
        if let i = bytes.firstIndex(of: 0xC3), bytes[i + 1] == 0xBF { bytes.replaceSubrange(i...(i + 1), with: [0xFF]) }
        #expect(throws: error) { try requests(bytes, chunk: 3, limits: .init(bodyBytes: 5_000_000)) }
    }

    @Test func aHeadThatNeverEndsIsCutOffAtItsLimit() {
        var bytes = Array("GET / HTTP/1.1\r\n".utf8)
        bytes += [UInt8](repeating: UInt8(ascii: "a"), count: 70_000)
        #expect(throws: HTTPRequestError(431, "the request line and headers exceed 65536 bytes")) { try requests(bytes, chunk: 4096) }
        let many = "GET / HTTP/1.1\r\n" + String(repeating: "A: b\r\n", count: 101) + "\r\n"
        #expect(throws: HTTPRequestError(431, "more than 100 header lines")) { try requests(Array(many.utf8), chunk: 4096) }
    }

    @Test func responsesCarryLengthAndConnection() {
        #expect(String(decoding: HTTPResponse.bytes(status: 200, contentType: "text/xml", body: Array("abc".utf8), keepAlive: true), as: UTF8.self)
                == "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 3\r\nCache-Control: no-cache, no-store\r\nConnection: keep-alive\r\n\r\nabc")
        #expect(String(decoding: HTTPResponse.error(status: 413, message: "too big"), as: UTF8.self)
                == "HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 8\r\nCache-Control: no-cache, no-store\r\nConnection: close\r\n\r\ntoo big\n")
    }

    @Test(arguments: ["8080", ":8080", "127.0.0.1:8080", "localhost:8080", "0.0.0.0:0", "10.1.2.3:65535", "[::1]:443", "[::]:1"])
    func listenAddressesParse(text: String) throws {
        let address = try TCPListenAddress(parsing: text)
        let expected: TCPListenAddress = switch text {
        case "8080", ":8080", "127.0.0.1:8080", "localhost:8080": .init(family: .ipv4, host: "127.0.0.1", port: 8080)
        case "0.0.0.0:0": .init(family: .ipv4, host: "0.0.0.0", port: 0)
        case "10.1.2.3:65535": .init(family: .ipv4, host: "10.1.2.3", port: 65535)
        case "[::1]:443": .init(family: .ipv6, host: "::1", port: 443)
        default: .init(family: .ipv6, host: "::", port: 1)
        }
        #expect(address == expected)
        #expect(address.isLoopback == ["8080", ":8080", "127.0.0.1:8080", "localhost:8080", "[::1]:443"].contains(text))
    }

    @Test(arguments: ["", "x", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "example.com:80", "::1:80", "[::1]80", "256.1.1.1:1"])
    func badListenAddressesAreRefused(text: String) {
        #expect(throws: WireError.self) { try TCPListenAddress(parsing: text) }
    }
}
