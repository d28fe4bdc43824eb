import Foundation
import Glibc
import Logging
import SwxlSystem
import Synchronization
import Testing
import XenStoreProtocol
@testable import XenStoreServer

/// Storage whose commits fail while `failing` is set (from another thread than the server's).
final class SwitchableStorage: Storage, @unchecked Sendable {
    let failing = Atomic<Bool>(false)
    func load() throws(StorageError) -> (nodes: [(path: String, node: Node)], domains: [DomainRecord]) { ([], []) }
    func begin() throws(StorageError) {}
    func putNode(_ path: String, _ node: Node) throws(StorageError) {}
    func deleteNode(_ path: String) throws(StorageError) {}
    func putDomain(_ domain: DomainRecord) throws(StorageError) {}
    func deleteDomain(_ domid: UInt32) throws(StorageError) {}
    func commit() throws(StorageError) {
        if failing.load(ordering: .sequentiallyConsistent) { throw StorageError("disk full") }
    }
    func rollback() {}
    var pendingLogPages: Int { 0 }
    func checkpoint() {}
}

/// A ``SocketServer`` with group commit, as the daemon runs it, serving on its own thread.
final class ServerFixture: @unchecked Sendable {
    let dir: TemporaryDirectory
    let socketPath: String
    let server: SocketServer
    private let stopPipe: [Int32]
    private let done = DispatchSemaphore(value: 0)

    /// `configure` runs before the server's thread starts.
    init(storage: Storage?, configure: (SocketServer) -> Void = { _ in }) throws {
        dir = try TemporaryDirectory()
        socketPath = dir.path + "/socket"
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let store = try Store(storage: storage, logger: logger)
        store.groupCommit = true
        server = try SocketServer(store: store, paths: HostPaths(stateDir: dir.path), socketPath: socketPath,
                                  readOnlySocketPath: nil, logger: logger)
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0)
        stopPipe = fds
        server.stop(whenReadable: fds[0])
        configure(server)
        let running = Unchecked(server)
        let thread = Thread { [done] in
            running.value.run()
            done.signal()
        }
        thread.start()
    }

    deinit {
        var byte: UInt8 = 1
        _ = write(stopPipe[1], &byte, 1)
        done.wait()
        server.shutdown()
        close(stopPipe[0])
        close(stopPipe[1])
    }

    func connect() throws -> RawClient { try RawClient(socketPath) }
}

/// A client speaking the wire protocol directly: requests go out exactly as
/// given (several in one write: the server reads them at once).
final class RawClient {
    let fd: Int32
    private var decoder = XSFrameDecoder()
    private var nextID: UInt32 = 1

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(_ path: String) throws {
        fd = try UnixSocket.connect(path)
    }

    deinit { close(fd) }

    /// A request with the next request id.
    func request(_ type: XSType, _ payload: [UInt8], tx: UInt32 = 0) -> XSMessage {
        defer { nextID += 1 }
        return XSMessage(type, requestID: nextID, transactionID: tx, payload: payload)
    }

    func write(_ path: String, _ value: String) -> XSMessage {
        request(.write, Array(path.utf8) + [0] + Array(value.utf8))
    }

    func request(_ type: XSType, _ args: [String]) -> XSMessage { request(type, XSPayload.strings(args)) }

    /// Sends all of `messages` with one write(2).
    func send(_ messages: [XSMessage]) throws {
        try Self.send(messages.flatMap { $0.encoded() }, on: fd)
    }

    /// Sends `bytes`, waiting at most five seconds for room each time the socket is full.
    static func send(_ bytes: [UInt8], on fd: Int32) throws {
        var offset = 0
        while offset < bytes.count {
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&pfd, 1, 5000) == 1 else {
                // What the kernel still holds for the server (TIOCOUTQ =
                // SIOCOUTQ): says whether the server stopped taking bytes.
                var queued: Int32 = 0
                _ = ioctl(fd, UInt(TIOCOUTQ), &queued)
                throw Failure(description: "no room to send within 5 s (\(offset) of \(bytes.count) bytes sent, \(queued) not yet taken)")
            }
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            guard n > 0 else { throw Failure(description: "send: \(errno)") }
            offset += n
        }
    }

    /// The next `count` messages, waiting at most five seconds for each.
    func receive(_ count: Int) throws -> [XSMessage] {
        var out: [XSMessage] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while out.count < count {
            if let message = try decoder.next() {
                out.append(message)
                continue
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 5000) == 1 else { throw Failure(description: "no reply within 5 s (\(out.count) of \(count))") }
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure(description: "connection closed") }
            decoder.append(buffer[0..<n])
        }
        return out
    }

    /// Whether a message is waiting within `milliseconds`.
    func hasMessage(within milliseconds: Int32) throws -> Bool {
        if decoder.pendingByteCount > 0 { return true }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&pfd, 1, milliseconds) == 1
    }
}

/// Hands a value to another thread where the test knows that is safe.
struct Unchecked<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

extension XSMessage {
    var errorName: String? { kind == .error ? XSPayload.split(payload).first : nil }
}

@Suite struct SocketServerTests {
    /// Several requests read at once form one group: when its commit fails,
    /// every request that changed the tree is answered EIO, the others as
    /// usual, no watch fires, and the tree is as before the group.
    @Test(.timeLimit(.minutes(1)))
    func aFailedGroupCommitAnswersEIOToEachChangeOfTheGroup() throws {
        let storage = SwitchableStorage()
        let fixture = try ServerFixture(storage: storage)
        let watcher = try fixture.connect()
        try watcher.send([watcher.request(.watch, ["/", "w"])])
        #expect(try watcher.receive(2).map(\.kind) == [.watch, .watchEvent])
        let client = try fixture.connect()
        try client.send([client.write("/keep", "1")])
        #expect(try client.receive(1)[0].kind == .write)
        #expect(try watcher.receive(1)[0].kind == .watchEvent)

        storage.failing.store(true, ordering: .sequentiallyConsistent)
        let group = [client.write("/a", "1"), client.request(.read, ["/keep"]), client.write("/keep", "2"),
                     client.request(.mkdir, ["/b/c"]), client.request(.rm, ["/keep"]), client.request(.read, ["/nothing"])]
        try client.send(group)
        let replies = try client.receive(group.count)
        #expect(replies.map(\.requestID) == group.map(\.requestID))
        #expect(replies.map { $0.errorName ?? "ok" } == ["EIO", "ok", "EIO", "EIO", "EIO", "ENOENT"])
        #expect(replies[1].payload == Array("1".utf8))
        #expect(try !watcher.hasMessage(within: 200))

        storage.failing.store(false, ordering: .sequentiallyConsistent)
        let after = [client.request(.read, ["/keep"]), client.request(.read, ["/a"]), client.request(.directory, ["/"])]
        try client.send(after)
        let check = try client.receive(after.count)
        #expect(check[0].payload == Array("1".utf8))
        #expect(check[1].errorName == "ENOENT")
        #expect(check[2].payload == XSPayload.strings(["keep"]))
        try client.send([client.write("/a", "3")])
        #expect(try client.receive(1)[0].kind == .write)
        let event = try watcher.receive(1)[0]
        #expect(XSPayload.split(event.payload) == ["/a", "w"])
    }

    /// More pipelined requests than one read takes (64 KiB): all are
    /// answered, in order, and each was applied once.
    @Test(.timeLimit(.minutes(1)))
    func manyPipelinedRequestsAreEachAnsweredOnce() throws {
        let fixture = try ServerFixture(storage: nil)
        let client = try fixture.connect()
        let value = String(repeating: "v", count: 1000)
        let requests = (0..<300).map { client.write("/p/n\($0 % 7)", "\($0)" + value) } + [client.request(.directory, ["/p"])]
        // The server answers while the rest is still being written.
        let bytes = requests.flatMap { $0.encoded() }
        let fd = client.fd
        let sender = Thread { try? RawClient.send(bytes, on: fd) }
        sender.start()
        let replies = try client.receive(requests.count)
        #expect(replies.map(\.requestID) == requests.map(\.requestID))
        #expect(replies.dropLast().allSatisfy { $0.kind == .write })
        #expect(replies.last?.payload == XSPayload.strings((0..<7).map { "n\($0)" }))
        try client.send([client.request(.read, ["/p/n6"])])
        #expect(try client.receive(1)[0].payload == Array(("\(6 + 7 * 41)" + value).utf8))
    }

    /// A request that arrives in pieces (libxenstore writes the header and
    /// the payload separately) is answered once it is whole.
    @Test(.timeLimit(.minutes(1)))
    func aRequestSentInPiecesIsAnswered() throws {
        let fixture = try ServerFixture(storage: nil)
        let client = try fixture.connect()
        let bytes = client.write("/pieces", "value").encoded()
        for piece in [bytes[0..<10], bytes[10..<16], bytes[16..<20]] {
            try RawClient.send(Array(piece), on: client.fd)
            #expect(try !client.hasMessage(within: 50))
        }
        try RawClient.send(Array(bytes[20...]), on: client.fd)
        #expect(try client.receive(1)[0].kind == .write)
        try client.send([client.request(.read, ["/pieces"])])
        #expect(try client.receive(1)[0].payload == Array("value".utf8))
    }

    /// Thousands of round trips on one connection: what the daemon peeked
    /// is taken out of the socket as it goes (left there, it would fill the
    /// client's send buffer after a few hundred requests and block it).
    @Test(.timeLimit(.minutes(1)))
    func manyRoundTripsOnOneConnection() throws {
        let fixture = try ServerFixture(storage: nil)
        let client = try fixture.connect()
        for i in 0..<3000 {
            try client.send([client.write("/rt/n\(i % 10)", "\(i)")])
            let reply = try client.receive(1)[0]
            guard reply.kind == .write else {
                Issue.record("request \(i): \(reply)")
                return
            }
        }
        try client.send([client.request(.read, ["/rt/n9"])])
        #expect(try client.receive(1)[0].payload == Array("2999".utf8))
    }

    /// A request written one byte at a time: each byte is a socket buffer
    /// charged in full to the client's send buffer, so the daemon must take
    /// them out as they come rather than after the reply (left there, a few
    /// hundred would fill the buffer and the client could not finish).
    @Test(.timeLimit(.minutes(1)))
    func aRequestWrittenByteByByteIsAnswered() throws {
        let fixture = try ServerFixture(storage: nil)
        let client = try fixture.connect()
        let value = String(repeating: "b", count: 3000)
        for byte in client.write("/bytes", value).encoded() { try RawClient.send([byte], on: client.fd) }
        #expect(try client.receive(1)[0].kind == .write)
        try client.send([client.request(.read, ["/bytes"])])
        #expect(try client.receive(1)[0].payload == Array(value.utf8))
    }

    /// A request that came in two reads was written in pieces: once it is
    /// answered, its bytes are all out of the socket. Left there, each
    /// piece holds a whole socket buffer of the client's send budget, and
    /// a request written a byte at a time could leave the client unable to
    /// send its next one (the byte-by-byte test above hung so, now and then).
    @Test(.timeLimit(.minutes(1)))
    func aRequestWrittenInPiecesIsTakenOutOnceAnswered() throws {
        let fixture = try ServerFixture(storage: nil)
        let client = try fixture.connect()
        let bytes = client.write("/pieces", String(repeating: "p", count: 100)).encoded()
        func unread() -> Int32 {
            var queued: Int32 = 0
            _ = ioctl(client.fd, UInt(TIOCOUTQ), &queued)
            return queued
        }
        func waitUntilTaken() -> Bool {
            for _ in 0..<500 {
                if unread() == 0 { return true }
                usleep(10_000)
            }
            return false
        }
        // The header and more than 32 bytes of payload: the daemon reads
        // them, keeps them as an unfinished request and takes them out.
        try RawClient.send(Array(bytes[..<60]), on: client.fd)
        #expect(waitUntilTaken())
        // The rest in one piece, which completes the request.
        try RawClient.send(Array(bytes[60...]), on: client.fd)
        #expect(try client.receive(1)[0].kind == .write)
        #expect(waitUntilTaken(), "\(unread()) bytes of the socket's budget still held")
    }

    /// Busy polling by default only where another CPU can run the client
    /// meanwhile: with one CPU online it would only keep the client waiting.
    @Test func busyPollingIsOffByDefaultWithOneCPU() {
        #expect([1, 2, 8].map { SocketServer.defaultSpinMicroseconds(onlineCPUs: $0) } == [0, 50, 50])
    }

    /// The CPU-latency request is held from the start of work and let go
    /// before the daemon sleeps, once per busy period (a plain file stands
    /// in for /dev/cpu_dma_latency and records each value written).
    @Test(.timeLimit(.minutes(1)))
    func theCPULatencyRequestIsHeldWhileBusyAndLetGoBeforeSleeping() throws {
        let dir = try TemporaryDirectory()
        let file = dir.path + "/cpu_dma_latency"
        #expect(FileManager.default.createFile(atPath: file, contents: nil))
        let fixture = try ServerFixture(storage: nil) { server in
            server.spinNanoseconds = 1_000_000
            server.cpuLatency = CPULatencyRequest(path: file)
        }
        let client = try fixture.connect()
        let held: [Int32] = [0], released = CPULatencyRequest.unconstrained
        func written() throws -> [Int32] {
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            return stride(from: 0, to: data.count - 3, by: 4).map { i in
                Int32(littleEndian: data[i..<i + 4].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) })
            }
        }
        func waitFor(_ count: Int) throws -> [Int32] {
            for _ in 0..<500 {
                let values = try written()
                if values.count >= count { return values }
                usleep(10_000)
            }
            return try written()
        }
        func settled() throws -> [Int32] {
            for _ in 0..<500 {
                let values = try written()
                if values.last == released { return values }
                usleep(10_000)
            }
            return try written()
        }
        // Accepting the connection and a first request are work too, in
        // one busy period or two depending on how the threads ran: once
        // they are served and the daemon let go, every period so far was
        // one hold and one release.
        try client.send([client.write("/qos/a", "1")])
        _ = try client.receive(1)
        let before = try settled()
        let periods = before.count / 2
        #expect((1...2).contains(periods))
        #expect(before == Array(repeating: held + [released], count: periods).flatMap { $0 })
        // Two requests read together: held once, let go once, after the spin.
        try client.send([client.write("/qos/a", "2"), client.request(.read, ["/qos/a"])])
        #expect(try client.receive(2).map(\.payload) == [Array("OK".utf8) + [0], Array("2".utf8)])
        #expect(try waitFor(before.count + 2) == before + held + [released])
        // The next request, once the daemon let go, holds it again.
        try client.send([client.request(.read, ["/qos/a"])])
        _ = try client.receive(1)
        #expect(try waitFor(before.count + 4) == before + held + [released] + held + [released])
    }
}

@Suite struct CPULatencyRequestTests {
    @Test func holdAndReleaseEachWriteOnceAndOnlyOnTheirChange() throws {
        let dir = try TemporaryDirectory()
        let file = dir.path + "/request"
        #expect(FileManager.default.createFile(atPath: file, contents: nil))
        let request = try #require(CPULatencyRequest(path: file))
        request.release()
        #expect(!request.isHeld)
        request.hold()
        request.hold()
        #expect(request.isHeld)
        request.release()
        request.release()
        #expect(!request.isHeld)
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        var expected = Data()
        for value in [Int32(0), CPULatencyRequest.unconstrained] { withUnsafeBytes(of: value.littleEndian) { expected.append(contentsOf: $0) } }
        #expect(data == expected)
    }

    @Test func aRequestThatCannotBeOpenedIsNil() throws {
        let dir = try TemporaryDirectory()
        #expect(CPULatencyRequest(path: dir.path + "/missing/cpu_dma_latency") == nil)
    }
}
