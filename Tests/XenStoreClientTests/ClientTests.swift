import Foundation
import Glibc
import Synchronization
import Testing
import XenStoreClient
import XenStoreProtocol

/// The client against a scripted peer: framing, reply matching, errors,
/// watch events, transactions, DIRECTORY_PART.
@Suite struct ClientTests {
    @Test func readSendsOneFrameAndReturnsTheValue() throws {
        let daemon = FakeDaemon { request in [request.reply(Array("hello".utf8))] }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        #expect(try client.read("/a/b") == Array("hello".utf8))
        #expect(try client.readString("/a/b") == "hello")
        let sent = daemon.seen
        #expect(sent.count == 2)
        #expect(sent[0] == XSMessage(.read, requestID: sent[0].requestID, payload: Array("/a/b\0".utf8)))
        #expect(sent[0].requestID != sent[1].requestID)
    }

    @Test func writeSendsPathThenRawValue() throws {
        let daemon = FakeDaemon { request in [.ok(request)] }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        try client.write("/x", [0x61, 0x00, 0x62])
        try client.mkdir("/m")
        try client.rm("/r")
        try client.setPermissions("/x", XSPermissions([XSPermission(.none, 0), XSPermission(.read, 5)])!)
        #expect(daemon.seen.map(\.kind) == [.write, .mkdir, .rm, .setPerms])
        #expect(daemon.seen.map(\.payload) == [
            Array("/x\0".utf8) + [0x61, 0x00, 0x62],
            Array("/m\0".utf8),
            Array("/r\0".utf8),
            Array("/x\0n0\0r5\0".utf8),
        ])
    }

    @Test func errorRepliesThrowTheirName() throws {
        let daemon = FakeDaemon { request in [request.errorReply(.ENOENT)] }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        #expect(throws: XenStoreError.xs(.ENOENT)) { try client.read("/missing") }
        #expect(try client.readIfPresent("/missing") == nil)
        #expect(try client.exists("/missing") == false)
        // An error reply leaves the connection usable.
        #expect(throws: XenStoreError.xs(.ENOENT)) { try client.directory("/missing") }
    }

    @Test func watchEventsBeforeAReplyAreQueued() throws {
        let daemon = FakeDaemon { request in
            switch request.kind {
            case .watch:
                // The event may come before the reply: the client must keep it.
                let parts = XSPayload.split(request.payload)
                return [.event(parts[0], parts[1]), .ok(request)]
            case .write:
                let path = XSPayload.firstString(request.payload)!.0
                return [.event(path, "tok"), .ok(request), .event(path + "/again", "tok")]
            default:
                return [request.errorReply(.ENOSYS)]
            }
        }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        try client.watch("/w", token: "tok")
        try client.write("/w/x", "1")
        var events: [XenStoreWatchEvent] = []
        while let event = try client.nextWatchEvent(timeout: .seconds(5)) {
            events.append(event)
            if events.count == 3 { break }
        }
        #expect(events == [
            XenStoreWatchEvent(path: "/w", token: "tok"),
            XenStoreWatchEvent(path: "/w/x", token: "tok"),
            XenStoreWatchEvent(path: "/w/x/again", token: "tok"),
        ])
        #expect(try client.nextWatchEvent(timeout: .milliseconds(20)) == nil)
    }

    @Test func thousandsOfQueuedEventsComeOutInOrderAmongNewOnes() throws {
        // Each write's reply comes after 1500 events: the queue grows past
        // the point where it compacts, while events are taken in between.
        let daemon = FakeDaemon { request in
            guard request.kind == .write else { return [request.errorReply(.ENOSYS)] }
            let path = XSPayload.firstString(request.payload)!.0
            return (0..<1500).map { .event(path + "/\($0)", "t") } + [.ok(request)]
        }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        var expected: [String] = [], got: [String] = []
        for round in 0..<3 {
            try client.write("/r\(round)", "x")
            expected += (0..<1500).map { "/r\(round)/\($0)" }
            // Take some now, leave the rest queued behind the next round's; at the end take all.
            for _ in 0..<(round == 2 ? Int.max : 700) {
                guard let event = try client.nextWatchEvent(timeout: .milliseconds(200)) else { break }
                got.append(event.path)
            }
        }
        #expect(got.count == expected.count)
        #expect(got == expected, "first difference at \(got.indices.first { $0 >= expected.count || got[$0] != expected[$0] } ?? -1)")
    }

    @Test func aReplyToAnotherRequestBreaksTheConnection() throws {
        let daemon = FakeDaemon { request in
            [XSMessage(type: request.type, requestID: request.requestID &+ 7, payload: [])]
        }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        #expect(throws: XenStoreError.protocolViolation("reply to request 8, expected 1")) {
            try client.read("/a")
        }
        #expect(throws: XenStoreError.disconnected) { try client.read("/a") }
    }

    @Test func aVanishedDaemonIsReported() throws {
        let daemon = FakeDaemon { _ in nil }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        #expect(throws: XenStoreError.disconnected) { try client.read("/a") }
        #expect(throws: XenStoreError.disconnected) { try client.read("/a") }
    }

    @Test func oversizedRequestsAreNotSent() throws {
        let daemon = FakeDaemon { request in [.ok(request)] }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        let big = [UInt8](repeating: 0x41, count: 4096)
        #expect(throws: XenStoreError.payloadTooLarge(4096 + 3)) { try client.write("/b", big) }
        try client.write("/b", "fine")
        #expect(daemon.seen.map(\.kind) == [.write])
    }

    @Test func transactionsRetryOnEAGAINAndCarryTheirID() throws {
        let ends = Atomic<Int>(0)
        let daemon = FakeDaemon { request in
            switch request.kind {
            case .transactionStart: return [request.reply(XSPayload.strings(["\(40 + ends.load(ordering: .relaxed))"]))]
            case .transactionEnd:
                let n = ends.add(1, ordering: .relaxed).newValue
                return [n <= 2 ? request.errorReply(.EAGAIN) : .ok(request)]
            default: return [.ok(request)]
            }
        }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        var runs = 0
        let result = try client.withTransaction { tx in
            runs += 1
            try tx.write("/t", "v")
            return tx.id
        }
        #expect(runs == 3)
        #expect(result == 42)
        let seen = daemon.seen
        #expect(seen.map(\.kind) == [.transactionStart, .write, .transactionEnd,
                                     .transactionStart, .write, .transactionEnd,
                                     .transactionStart, .write, .transactionEnd])
        #expect(seen.filter { $0.kind == .write }.map(\.transactionID) == [40, 41, 42])
        #expect(seen.filter { $0.kind == .transactionEnd }.map(\.payload) == Array(repeating: Array("T\0".utf8), count: 3))
    }

    @Test func aFailingBodyAbortsTheTransaction() throws {
        struct Oops: Error {}
        let daemon = FakeDaemon { request in
            request.kind == .transactionStart ? [request.reply(XSPayload.strings(["9"]))] : [.ok(request)]
        }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        #expect(throws: Oops.self) {
            try client.withTransaction { tx in
                try tx.write("/t", "v")
                throw Oops()
            }
        }
        let end = try #require(daemon.seen.last)
        #expect(end == XSMessage(.transactionEnd, requestID: end.requestID, transactionID: 9, payload: Array("F\0".utf8)))
    }

    @Test func endlessConflictsGiveUpAfterMaxAttempts() throws {
        let daemon = FakeDaemon { request in
            switch request.kind {
            case .transactionStart: [request.reply(XSPayload.strings(["3"]))]
            case .transactionEnd: [request.errorReply(.EAGAIN)]
            default: [.ok(request)]
            }
        }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        var runs = 0
        #expect(throws: XenStoreError.xs(.EAGAIN)) {
            try client.withTransaction(maxAttempts: 4) { tx in runs += 1; try tx.mkdir("/x") }
        }
        #expect(runs == 4)
    }

    /// A directory too big for one reply comes in DIRECTORY_PART pieces.
    @Test func bigDirectoriesFallBackToDirectoryPart() throws {
        let names = (0..<1500).map { "child-number-\($0)" }
        let all = XSPayload.strings(names)
        let daemon = FakeDaemon { request in
            switch request.kind {
            case .directory: return [request.errorReply(.E2BIG)]
            case .directoryPart:
                let args = XSPayload.split(request.payload)
                let offset = Int(args[1])!
                // Whole names up to ~1000 bytes from offset; the last part gets an extra NUL.
                var end = offset
                while end < all.count && end - offset < 1000 {
                    end = all[end...].firstIndex(of: 0)! + 1
                }
                var payload = XSPayload.strings(["77"]) + all[offset..<end]
                if end == all.count { payload.append(0) }
                return [request.reply(payload)]
            default: return [request.errorReply(.ENOSYS)]
            }
        }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        #expect(try client.directory("/big") == names)
        #expect(daemon.seen.filter { $0.kind == .directoryPart }.count > 10)
    }

    @Test func directoryPartRestartsWhenTheGenerationChanges() throws {
        let calls = Atomic<Int>(0)
        let daemon = FakeDaemon { request in
            switch request.kind {
            case .directory: return [request.errorReply(.E2BIG)]
            case .directoryPart:
                let n = calls.add(1, ordering: .relaxed).newValue
                let offset = XSPayload.split(request.payload)[1]
                // Call 1: first half under generation 1; call 2: generation moved on;
                // then a clean pass under generation 2.
                switch (n, offset) {
                case (1, "0"): return [request.reply(XSPayload.strings(["1", "a"]))]
                case (2, _): return [request.reply(XSPayload.strings(["2", "zzz"]) + [0])]
                case (_, "0"): return [request.reply(XSPayload.strings(["2", "a"]))]
                default: return [request.reply(XSPayload.strings(["2", "b"]) + [0])]
                }
            default: return [request.errorReply(.ENOSYS)]
            }
        }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        #expect(try client.directory("/d") == ["a", "b"])
    }

    @Test func emptyDirectoryPartIsEmpty() throws {
        let daemon = FakeDaemon { request in
            request.kind == .directory ? [request.errorReply(.E2BIG)] : [request.reply(XSPayload.strings(["5"]) + [0])]
        }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        #expect(try client.directory("/d") == [])
    }

    @Test func domainRequests() throws {
        let daemon = FakeDaemon { request in
            switch request.kind {
            case .getDomainPath: [request.reply(XSPayload.strings(["/local/domain/7"]))]
            case .isDomainIntroduced: [request.reply(XSPayload.strings(["F"]))]
            case .getPerms: [request.reply(XSPayload.strings(["b7", "r0"]))]
            case .control: [request.reply(XSPayload.strings(["check"]))]
            default: [.ok(request)]
            }
        }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        try client.introduce(domid: 7, mfn: 1234, eventChannel: 3)
        #expect(try client.getDomainPath(domid: 7) == "/local/domain/7")
        #expect(try client.isDomainIntroduced(domid: 7) == false)
        try client.setTarget(domid: 8, target: 7)
        try client.release(domid: 7)
        try client.resume(domid: 7)
        try client.resetWatches()
        #expect(try client.getPermissions("/p") == XSPermissions([XSPermission(.both, 7), XSPermission(.read, 0)]))
        #expect(try client.control("help") == XSPayload.strings(["check"]))
        #expect(daemon.seen.map { "\($0.kind!) \(XSPayload.split($0.payload).joined(separator: ","))" } == [
            "XS_INTRODUCE 7,1234,3", "XS_GET_DOMAIN_PATH 7", "XS_IS_DOMAIN_INTRODUCED 7", "XS_SET_TARGET 8,7",
            "XS_RELEASE 7", "XS_RESUME 7", "XS_RESET_WATCHES ", "XS_GET_PERMS /p", "XS_CONTROL help",
        ])
    }

    @Test func threadsShareOneClient() async throws {
        let daemon = FakeDaemon { request in [request.reply(request.payload)] }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<8 {
                group.addTask {
                    for i in 0..<50 {
                        let path = "/t\(t)/\(i)"
                        let value = try client.read(path)
                        #expect(value == Array("\(path)\0".utf8))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(daemon.seen.count == 400)
    }
}
