import Foundation
import Glibc
import Synchronization
import Testing
import XenStoreClient
import XenStoreProtocol

/// `pipeline`: many requests sent before any reply is read, results in
/// order; and what a poll(2)-based caller needs (descriptor, buffered events).
@Suite struct PipelineTests {
    @Test(.timeLimit(.minutes(1)))
    func allRequestsGoOutBeforeAnyReplyAndResultsComeBackInOrder() throws {
        // The peer answers nothing until it has all three requests: a client
        // that waited for each reply would never get one.
        let held = Mutex<[XSMessage]>([])
        let daemon = FakeDaemon { request in
            let batch = held.withLock { h -> [XSMessage] in
                h.append(request)
                return h.count == 3 ? h : []
            }
            return batch.map { m in
                XSPayload.split(m.payload).first == "/missing" ? m.errorReply(.ENOENT) : m.reply(Array("v:\(XSPayload.split(m.payload)[0])".utf8))
            }
        }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        let results = try client.pipeline([.read("/a"), .read("/missing"), .read("/b")])
        #expect(results.count == 3)
        #expect(try results[0].get() == Array("v:/a".utf8))
        #expect(throws: XenStoreError.xs(.ENOENT)) { try results[1].get() }
        #expect(try results[2].get() == Array("v:/b".utf8))
        // Distinct request ids, and the connection is still in step.
        #expect(Set(daemon.seen.map(\.requestID)).count == 3)
        held.withLock { $0.removeAll() }
        #expect(try client.pipeline([]).isEmpty)
    }

    @Test func manyMoreRequestsThanTheWindowKeepTheirOrder() throws {
        let daemon = FakeDaemon { request in [request.reply(XSPayload.split(request.payload).first.map { Array($0.utf8) } ?? [])] }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        let paths = (0..<1000).map { "/local/domain/\($0)/name" }
        let results = try client.pipeline(paths.map { .read($0) })
        #expect(try results.map { String(decoding: try $0.get(), as: UTF8.self) } == paths)
        #expect(daemon.seen.map(\.payload) == paths.map { Array("\($0)\0".utf8) })
    }

    @Test func inATransactionEveryRequestCarriesItsIDAndEncodesAsTheSingleCalls() throws {
        let daemon = FakeDaemon { request in
            request.kind == .transactionStart ? [request.reply(XSPayload.strings(["9"]))] : [.ok(request)]
        }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        let perms = XSPermissions([XSPermission(.none, 0), XSPermission(.read, 5)])!
        let results = try client.withTransaction { tx in
            try tx.pipeline([.rm("/r"), .write("/w", "x"), .setPermissions("/w", perms)])
        }
        #expect(results.count == 3)
        let inside = daemon.seen.filter { $0.kind != .transactionStart && $0.kind != .transactionEnd }
        #expect(inside.map(\.kind) == [.rm, .write, .setPerms])
        #expect(inside.map(\.transactionID) == [9, 9, 9])
        #expect(inside.map(\.payload) == [Array("/r\0".utf8), Array("/w\0x".utf8), Array("/w\0n0\0r5\0".utf8)])
    }

    @Test func watchEventsAmongTheRepliesAreQueuedAndSeenAsBuffered() throws {
        let daemon = FakeDaemon { request in
            request.kind == .watch ? [.ok(request)] : [.event("/w", "tok"), request.reply([])]
        }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        #expect(client.fileDescriptor == daemon.clientFD)
        #expect(client.hasBufferedEvents == false)
        _ = try client.pipeline([.read("/a"), .read("/b")])
        #expect(client.hasBufferedEvents)
        #expect(try client.nextWatchEvent(timeout: .zero) == XenStoreWatchEvent(path: "/w", token: "tok"))
        #expect(try client.nextWatchEvent(timeout: .zero) == XenStoreWatchEvent(path: "/w", token: "tok"))
        #expect(client.hasBufferedEvents == false)
        #expect(try client.nextWatchEvent(timeout: .zero) == nil)
    }

    @Test func aZeroTimeoutStillTakesAnEventWaitingOnTheSocket() throws {
        var fds: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer { close(fds[1]) }
        let client = XenStoreClient(fileDescriptor: fds[0])
        #expect(try client.nextWatchEvent(timeout: .zero) == nil)
        // An event the client has not read yet: only poll(2) knows of it.
        let bytes = XSMessage.event("/x", "t").encoded()
        #expect(bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) } == bytes.count)
        #expect(client.hasBufferedEvents == false)
        #expect(try client.nextWatchEvent(timeout: .zero) == XenStoreWatchEvent(path: "/x", token: "t"))
    }

    @Test func aReplyOutOfOrderBreaksTheConnection() throws {
        // (Only the first is answered: the client hangs up after it, and a
        // write to a closed socket would be SIGPIPE.)
        let daemon = FakeDaemon { request in
            request.requestID == 1 ? [XSMessage(.read, requestID: 8, payload: [])] : []
        }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        #expect(throws: XenStoreError.protocolViolation("reply to request 8, expected 1")) {
            try client.pipeline([.read("/a"), .read("/b")])
        }
        #expect(throws: XenStoreError.disconnected) { try client.pipeline([.read("/a")]) }
    }

    @Test func anOversizedRequestSendsNothing() throws {
        let daemon = FakeDaemon { request in [.ok(request)] }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        let big = [UInt8](repeating: 0x61, count: 4096)
        #expect(throws: XenStoreError.payloadTooLarge(4096 + 3)) { try client.pipeline([.write("/a", "1"), .write("/b", big)]) }
        _ = try client.pipeline([.write("/c", "1")])
        #expect(daemon.seen.map { XSPayload.split($0.payload).first } == ["/c"])
    }
}
