import Foundation
import Glibc
import Synchronization
import Testing
@testable import ManagementAPI

@Suite(.serialized) struct ServerTests {
    @Test func xmlrpcAndJSONRPCReachTheSurfaceWithTheCallersUID() throws {
        let dispatcher = RecordingDispatcher()
        let under = try ServerUnderTest(dispatcher: dispatcher)
        defer { under.stop() }
        let client = try RawHTTPClient(unixPath: under.socketPath)
        // Keep-alive: three calls on one connection, both envelopes.
        #expect(try client.xmlrpc("VM.get_all", [.string("OpaqueRef:s"), .int(5)]) == .success(.array([.string("OpaqueRef:s"), .string("5")])))
        let json = JSONRPC.request(XenAPICall(method: "VM_get_all", params: [.int(5), .bool(true)]), version: .v2, id: .int(9))
        client.send("POST /jsonrpc HTTP/1.1\r\nContent-Length: \(json.count)\r\n\r\n")
        client.send(json)
        let response = try #require(client.readResponse())
        #expect(response.status == 200 && response.headers["content-type"] == "application/json")
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"jsonrpc":"2.0","result":[5,true],"id":9}"#)
        #expect(try client.xmlrpc("session.logout", [], path: "/RPC2") == .success(.array([])))
        let uid = geteuid()
        let seen = dispatcher.calls.withLock { $0.map { "\($0.0) \($0.2)" } }
        #expect(seen == ["VM.get_all unixSocket(uid: \(uid))", "VM_get_all unixSocket(uid: \(uid))", "session.logout unixSocket(uid: \(uid))"])
    }

    @Test func garbageGetsAnErrorAndTheConnectionClosedWhileOthersAreServed() throws {
        let under = try ServerUnderTest(dispatcher: RecordingDispatcher())
        defer { under.stop() }
        let bystander = try RawHTTPClient(unixPath: under.socketPath)
        #expect(try bystander.xmlrpc("a.b", []) == .success(.array([])))
        let cases: [(String, Int, String)] = [
            ("POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n<garbage>", 500, "malformed XML-RPC request: expected <methodCall> but found <garbage> at byte 0\n"),
            ("POST /jsonrpc HTTP/1.1\r\nContent-Length: 5\r\n\r\n{\"a\":", 500, "malformed JSON-RPC request: unexpected end of JSON at byte 5\n"),
            ("GET / HTTP/1.1\r\n\r\n", 405, "the XenAPI is served by POST (XML-RPC at any path, JSON-RPC at /jsonrpc)\n"),
            ("\u{1}\u{2}\u{3} nonsense\r\n\r\n", 400, "a malformed request line '\u{1}\u{2}\u{3} nonsense'\n"),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501, "Transfer-Encoding is not supported: send a Content-Length\n"),
        ]
        for (request, status, message) in cases {
            let client = try RawHTTPClient(unixPath: under.socketPath)
            client.send(request)
            let response = try #require(client.readResponse(), "\(request)")
            #expect(response.status == status && String(decoding: response.body, as: UTF8.self) == message, "\(request)")
            #expect(response.headers["connection"] == "close")
            #expect(client.isClosedByPeer())
        }
        #expect(try bystander.xmlrpc("a.c", [.bool(true)]) == .success(.array([.bool(true)])))
    }

    @Test func aBodyOverTheLimitIsRefusedBeforeItIsReadAndTheConnectionClosed() throws {
        let under = try ServerUnderTest(dispatcher: RecordingDispatcher()) { $0.limits.bodyBytes = 100_000 }
        defer { under.stop() }
        // Announced too large: 413 at once, even to a client waiting for 100 Continue.
        let announced = try RawHTTPClient(unixPath: under.socketPath)
        announced.send("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 100001\r\n\r\n")
        let refusal = try #require(announced.readResponse())
        #expect(refusal.status == 413 && String(decoding: refusal.body, as: UTF8.self) == "the body exceeds 100000 bytes\n")
        #expect(announced.isClosedByPeer())
        // Sent anyway: the refusal still arrives (the rest is drained, not reset).
        let pushy = try RawHTTPClient(unixPath: under.socketPath)
        pushy.send("POST / HTTP/1.1\r\nContent-Length: 3000000\r\n\r\n")
        pushy.send([UInt8](repeating: 0x41, count: 1_000_000))
        #expect(pushy.readResponse()?.status == 413)
        // Within the limit, with 100-continue: served.
        let fine = try RawHTTPClient(unixPath: under.socketPath)
        let body = XMLRPC.call(XenAPICall(method: "m", params: [.string(String(repeating: "x", count: 90_000))]))
        fine.send("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: \(body.count)\r\n\r\n")
        #expect(fine.readResponse()?.status == 100)
        fine.send(body)
        #expect(fine.readResponse()?.status == 200)
    }

    @Test func aCallThatWaitsHoldsUpNobodyElse() throws {
        let dispatcher = RecordingDispatcher()
        let under = try ServerUnderTest(dispatcher: dispatcher)
        defer { under.stop() }
        let waiting = try RawHTTPClient(unixPath: under.socketPath)
        let body = XMLRPC.call(XenAPICall(method: "test.block", params: []))
        waiting.send("POST / HTTP/1.1\r\nContent-Length: \(body.count)\r\n\r\n")
        waiting.send(body)
        // Many others come and go meanwhile, in parallel.
        let results = Mutex<[XenAPIResult]>([])
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            let result = (try? RawHTTPClient(unixPath: under.socketPath)).flatMap { try? $0.xmlrpc("n.\(i)", [.int(Int64(i))]) }
            results.withLock { $0.append(result ?? .failure(["none"])) }
        }
        #expect(Set(results.withLock { $0.map { "\($0)" } }) == Set((0..<16).map { "\(XenAPIResult.success(.array([.string("\($0)")])))" }))
        dispatcher.gate.signal()
        #expect(waiting.readResponse()?.status == 200)
    }

    @Test func connectionsBeyondTheLimitAreRefusedAndTheServerRecovers() throws {
        let under = try ServerUnderTest(dispatcher: RecordingDispatcher()) { $0.maximumConnections = 4 }
        defer { under.stop() }
        var held = try (0..<4).map { _ in try RawHTTPClient(unixPath: under.socketPath) }
        // Each is being served (so all four count).
        for client in held { #expect(try client.xmlrpc("x.y", []) == .success(.array([]))) }
        let extra = try RawHTTPClient(unixPath: under.socketPath)
        let refusal = try #require(extra.readResponse())
        #expect(refusal.status == 503 && String(decoding: refusal.body, as: UTF8.self) == "too many connections; try again later\n")
        held.removeFirst()
        // The freed place is taken again once the server has seen the close.
        var served = false
        for _ in 0..<200 where !served {
            if let client = try? RawHTTPClient(unixPath: under.socketPath), (try? client.xmlrpc("x.z", [])) == .success(.array([])) {
                served = true
            } else {
                usleep(10_000)
            }
        }
        #expect(served)
    }

    @Test func passwordsAreCheckedOnlyOverTCP() throws {
        let dispatcher = RecordingDispatcher()
        let under = try ServerUnderTest(dispatcher: dispatcher, credentials: testCredentials)
        defer { under.stop() }
        let local = try RawHTTPClient(unixPath: under.socketPath)
        #expect(try local.xmlrpc("test.login", [.string("root"), .string("wrong")]) == .success(.bool(true)))
        let remote = try RawHTTPClient(tcp: try #require(under.server.boundTCPAddress))
        #expect(try remote.xmlrpc("test.login", [.string("root"), .string("wrong")]) == .success(.bool(false)))
        #expect(try remote.xmlrpc("test.login", [.string("root"), .string("hunter2")]) == .success(.bool(true)))
        let origins = dispatcher.calls.withLock { $0.map(\.2) }
        #expect(origins.count == 3)
        if case .tcp(let peer) = origins[1] { #expect(peer.hasPrefix("127.0.0.1:")) } else { Issue.record("not TCP: \(origins[1])") }
    }

    @Test func aFloodOfWrongPasswordsOverTCPIsCheckedOnlyUpToTheLimit() throws {
        let under = try ServerUnderTest(dispatcher: RecordingDispatcher(), credentials: testCredentials) {
            $0.loginPolicy = LoginThrottle.Policy(addressBurst: 4, addressSeconds: 60, globalBurst: 100, globalSeconds: 0.01)
        }
        defer { under.stop() }
        let address = try #require(under.server.boundTCPAddress)
        // Over fresh connections, as a flood would come.
        // (How long to wait is what is left of the minute: not compared.)
        func login(_ password: String) throws -> String {
            switch try RawHTTPClient(tcp: address).xmlrpc("test.login", [.string("root"), .string(password)]) {
            case .success(.bool(let ok)): return ok ? "accepted" : "rejected"
            case .success(.string(let s)) where s.hasPrefix("throttled "): return "throttled"
            case let other: return "\(other)"
            }
        }
        let answers = try (0..<12).map { _ in try login("guess") }
        #expect(answers == [String](repeating: "rejected", count: 4) + [String](repeating: "throttled", count: 8))
        // The right password too waits for the address's next token; the Unix socket is not limited.
        #expect(try login("hunter2") == "throttled")
        #expect(try RawHTTPClient(unixPath: under.socketPath).xmlrpc("test.login", [.string("root"), .string("guess")]) == .success(.bool(true)))
    }

    @Test func theSocketIsMadeForItsOwnerOnlyAndRemovedAtTheEnd() throws {
        let under = try ServerUnderTest()
        var info = stat()
        #expect(stat(under.socketPath, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(throws: ServeError("another server answers on \(under.socketPath)")) {
            _ = try XenAPIServer(configuration: .init(unixSocketPath: under.socketPath), dispatcher: RecordingDispatcher(), logger: .init(label: "t"))
        }
        let path = under.socketPath
        under.stop()
        #expect(access(path, F_OK) != 0)
    }
}
