import Foundation
import Glibc
import SwxlSystem
import Testing

/// xenstored killed with SIGKILL under running domains and commands
/// (issue 16, item 7; the long run is ConcurrencyStressTests).
@Suite struct DaemonRestartTests {
    /// The simulated guests' host outlives the daemon: once a command has
    /// started the next daemon, the same host serves its guests again (a
    /// guest still answers `control/shutdown`), with no command that would
    /// start a new guests' host in between.
    @Test(.timeLimit(.minutes(2)))
    func guestsAreServedAgainAfterTheDaemonIsKilled() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let create = try host.swxl(["create", try host.config(name: "g")])
        #expect(create.status == 0, "create: \(create.stderr)")
        let lock = host.stateDir + "/toolstack/sim-guests.lock", pidFile = host.stateDir + "/xenstored/xenstored.pid"
        #expect(host.waitUntil { LockFile.readPid(lock) != nil })
        let guests = try #require(LockFile.readPid(lock))
        // The guest has booted (its feature flags written) before the daemon goes.
        #expect(try host.waitUntil { try host.swxl(["store", "read", "/local/domain/1/control/feature-poweroff"]).stdout == "1\n" })
        let daemon = try #require(LockFile.readPid(pidFile))
        #expect(kill(daemon, SIGKILL) == 0)
        #expect(host.waitUntil { kill(daemon, 0) != 0 || isZombie(daemon) })
        // A store command starts the next daemon (it starts no guests' host).
        #expect(try host.swxl(["store", "write", "/local/domain/1/control/shutdown", "poweroff"]).status == 0)
        // The guest powers off and on_poweroff=destroy removes it: the guests' host is the same one.
        #expect(try host.waitUntil(30) { try host.domains().count == 1 }, "the guest never answered after the restart")
        #expect(LockFile.readPid(lock) == guests)
        #expect(kill(guests, 0) == 0 && !isZombie(guests))
    }

    /// `swxl store write` whose daemon closes the connection before
    /// answering writes again on a new connection (writing twice is writing
    /// once); `store rm`, which a second time would fail, says the outcome
    /// is unknown.
    @Test(.timeLimit(.minutes(1)))
    func storeCommandsRepeatOrSayTheOutcomeIsUnknown() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swxl-hangup-\(getpid())-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let daemon = try HangUpOnceDaemon(socket: dir + "/socket")
        defer { daemon.stop() }
        let env = ["XENSTORED_PATH": dir + "/socket", "SWXL_STATE_DIR": dir]
        let write = try run(swxlBinary, ["store", "write", "/a", "1"], environment: env)
        #expect(write.status == 0, "\(write.stderr)")
        #expect(daemon.requests == ["write /a", "write /a"])

        daemon.reset()
        let rm = try run(swxlBinary, ["store", "rm", "/a"], environment: env)
        #expect(rm.status == 1)
        #expect(rm.stderr.contains("whether it was done is unknown"), "\(rm.stderr)")
        #expect(daemon.requests == ["rm /a"])
    }
}

/// A xenstore daemon that closes its first connection after reading one
/// request, unanswered, and answers OK to every request after that.
final class HangUpOnceDaemon: @unchecked Sendable {
    private let listener: Int32
    private let lock = NSLock()
    private var seen: [String] = []
    private var hungUp = false
    private var stopped = false

    init(socket: String) throws {
        listener = try Self.listen(socket)
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    var requests: [String] { lock.withLock { seen } }
    func reset() { lock.withLock { seen = []; hungUp = false } }
    func stop() {
        lock.withLock { stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 { if lock.withLock({ stopped }) { return }; continue }
            while let (type, id, payload) = Self.readFrame(fd) {
                let name = type == 11 ? "write" : type == 13 ? "rm" : "type \(type)"
                let path = String(decoding: payload.prefix { $0 != 0 }, as: UTF8.self)
                let hangUp = lock.withLock { () -> Bool in
                    seen.append("\(name) \(path)")
                    defer { hungUp = true }
                    return !hungUp
                }
                if hangUp { break }
                var reply = [UInt8]()
                for v in [type, id, 0, 3] as [UInt32] { withUnsafeBytes(of: v.littleEndian) { reply += $0 } }
                reply += Array("OK\0".utf8)
                _ = reply.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            close(fd)
        }
    }

    static func listen(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0, let address = UnixSocketAddress(path: path),
              address.withSockaddr({ bind(fd, $0, $1) }) == 0, Glibc.listen(fd, 8) == 0 else {
            throw CocoaError(.fileWriteUnknown)
        }
        return fd
    }

    /// One frame: type, request id, payload; nil at end of file.
    private static func readFrame(_ fd: Int32) -> (UInt32, UInt32, [UInt8])? {
        func exactly(_ n: Int) -> [UInt8]? {
            var out = [UInt8](repeating: 0, count: n), got = 0
            while got < n {
                let r = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, n - got, 0) }
                if r <= 0 { return nil }
                got += r
            }
            return out
        }
        guard let header = exactly(16) else { return nil }
        let word = { (i: Int) in header[i..<i + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
        guard let payload = exactly(Int(word(12))) else { return nil }
        return (word(0), word(4), payload)
    }
}
