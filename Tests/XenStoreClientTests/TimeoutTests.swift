import Foundation
import Glibc
import Testing
import XenStoreClient
import XenStoreProtocol

/// A daemon that does not answer makes a request fail after the client's
/// time limit, with an error naming the daemon, instead of hanging: one
/// that takes no connection (its listen queue full), one that takes the
/// connection and never replies, one that never reads what is sent.
/// Each test has a time limit of its own: without the fix it would hang.
@Suite(.timeLimit(.minutes(1))) struct TimeoutTests {
    /// A Unix socket listening at a fresh path that never accepts, its
    /// queue filled: the next connect(2) would block.
    final class SilentListener {
        let dir: String
        let path: String
        let fd: Int32
        var queued: [Int32] = []

        init(backlog: Int32) throws {
            dir = try temporaryDirectory()
            path = dir + "/socket"
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0, listen(fd, backlog) == 0 else { throw XenStoreError.system("bind/listen", errno) }
        }

        /// Connects without blocking until the queue refuses (EAGAIN).
        func fillQueue() {
            while true {
                let c = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
                var address = sockaddr_un()
                address.sun_family = sa_family_t(AF_UNIX)
                withUnsafeMutableBytes(of: &address.sun_path) { raw in
                    for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
                }
                let rc = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(c, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
                }
                if rc != 0 {
                    close(c)
                    return
                }
                queued.append(c)
            }
        }

        deinit {
            for c in queued { close(c) }
            close(fd)
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    @Test func aDaemonThatTakesNoConnectionIsATimeout() throws {
        let listener = try SilentListener(backlog: 0)
        listener.fillQueue()
        let start = Date()
        #expect(throws: XenStoreError.timedOut("no answer from the xenstore daemon at \(listener.path): it accepted no connection within 300 ms (SWXL_XENSTORE_TIMEOUT sets the limit)")) {
            try XenStoreClient(socketPath: listener.path, replyTimeout: .milliseconds(300))
        }
        #expect(Date().timeIntervalSince(start) >= 0.3)
    }

    @Test func aDaemonThatNeverRepliesIsATimeoutAndTheConnectionCloses() throws {
        let listener = try SilentListener(backlog: 4)
        // The connection is queued (as a stopped daemon's would be) but nobody reads or answers.
        let client = try XenStoreClient(socketPath: listener.path, replyTimeout: .milliseconds(200))
        let expected = XenStoreError.timedOut("no answer from the xenstore daemon at \(listener.path): it sent no reply within 200 ms (SWXL_XENSTORE_TIMEOUT sets the limit)")
        #expect(throws: expected) { try client.read("/a") }
        #expect(client.fileDescriptor == -1)
        // Later calls say why the connection is closed.
        #expect(throws: expected) { try client.read("/a") }
        // A pipeline waits the same way.
        let again = try XenStoreClient(socketPath: listener.path, replyTimeout: .milliseconds(200))
        #expect(throws: expected) { try again.pipeline([.read("/a"), .read("/b")]) }
    }

    @Test func aDaemonThatReadsNothingIsATimeoutWhenTheSocketIsFull() throws {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer { close(fds[1]) }
        let client = XenStoreClient(fileDescriptor: fds[0], peer: "/the/socket", replyTimeout: .milliseconds(200))
        // One window of the pipeline is more than the socket's buffer holds.
        let requests = (0..<64).map { XenStoreRequest.write("/big/\($0)", String(repeating: "x", count: 4000)) }
        #expect(throws: XenStoreError.timedOut("no answer from the xenstore daemon at /the/socket: it read no request within 200 ms (SWXL_XENSTORE_TIMEOUT sets the limit)")) {
            try client.pipeline(requests)
        }
    }

    @Test func withoutALimitTheClientWaits() throws {
        // nil: the reply comes after longer than a limit would have allowed.
        // (No reply at all to /never: a late one would go to a closed socket.)
        let daemon = FakeDaemon { request in
            if XSPayload.split(request.payload).first == "/never" { return [] }
            usleep(300_000)
            return [request.reply(Array("v".utf8))]
        }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD, replyTimeout: nil)
        #expect(client.replyTimeout == nil)
        #expect(try client.read("/a") == Array("v".utf8))
        client.replyTimeout = .milliseconds(100)
        #expect(client.replyTimeout == .milliseconds(100))
        #expect(throws: XenStoreError.timedOut("no answer from the xenstore daemon: it sent no reply within 100 ms (SWXL_XENSTORE_TIMEOUT sets the limit)")) {
            try client.read("/never")
        }
    }
}
