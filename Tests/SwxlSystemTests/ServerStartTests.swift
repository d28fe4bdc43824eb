import Foundation
import Glibc
import Testing
import SwxlSystem

/// `BackgroundProcess.startServer`: a server is listening once its pid is in
/// its pid file and its socket answers; one that exits first is reported
/// with what it wrote to stderr; one that does neither in time is stopped.
@Suite struct ServerStartTests {
    /// The child writes its pid and sleeps; the socket is ours, listening
    /// before the child is started, so the pid file alone decides.
    @Test func listeningOnceThePidFileNamesItAndTheSocketAnswers() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let socketPath = dir + "/socket", pidFile = dir + "/pid"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        let address = try #require(UnixSocketAddress(path: socketPath))
        try #require(address.withSockaddr({ bind(fd, $0, $1) }) == 0 && listen(fd, 8) == 0)

        let outcome = try BackgroundProcess.startServer(
            executable: "/bin/sh", arguments: ["-c", "sleep 0.2; echo $$ > \(pidFile); exec sleep 30"],
            socketPath: socketPath, pidFile: pidFile)
        guard case .listening(let pid) = outcome else {
            Issue.record("not listening: \(outcome)")
            return
        }
        #expect(LockFile.readPid(pidFile) == pid)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid)
    }

    @Test func aServerThatExitsFirstIsReportedWithItsStderrAndStatus() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let outcome = try BackgroundProcess.startServer(
            executable: "/bin/sh", arguments: ["-c", "echo ignored; echo 'cannot read the config' >&2; echo; exit 3"],
            socketPath: dir + "/socket", pidFile: dir + "/pid")
        #expect(outcome == .exited(reason: "cannot read the config", status: 3))
    }

    /// Its pid file names it but nothing listens: not started, and sent SIGTERM.
    @Test func aServerThatDoesNotListenInTimeIsStopped() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pidFile = dir + "/pid"
        let outcome = try BackgroundProcess.startServer(
            executable: "/bin/sh", arguments: ["-c", "echo $$ > \(pidFile); exec sleep 30"],
            socketPath: dir + "/socket", pidFile: pidFile, timeoutSeconds: 0.5)
        #expect(outcome == .timedOut)
        let pid = try #require(LockFile.readPid(pidFile))
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid)
        #expect(status & 0x7f == SIGTERM)
    }

    @Test func aProgramThatCannotStartIsAnError() {
        #expect(throws: SystemError("posix_spawn /nonexistent/program", errno: ENOENT)) {
            try BackgroundProcess.startServer(executable: "/nonexistent/program", arguments: [],
                                              socketPath: "/nonexistent/socket", pidFile: "/nonexistent/pid")
        }
    }
}
