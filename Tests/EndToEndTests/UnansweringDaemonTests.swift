import Foundation
import Glibc
import Testing

/// No command hangs on a xenstored that does not answer: with the daemon
/// stopped (SIGSTOP: its socket still there, connections queued, nothing
/// read or answered), commands fail after `SWXL_XENSTORE_TIMEOUT` with an
/// error naming the daemon's socket, and work again once it runs.
@Suite(.serialized) struct UnansweringDaemonTests {
    /// Runs `swxl ARGS` on `host`, killed if it is still running after
    /// `seconds`: nil then (it hung).
    func runWithin(_ seconds: Double, _ host: EmbeddedHost, _ arguments: [String], environment: [String: String] = [:]) throws -> RunResult? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: swxlBinary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(host.environment.merging(environment) { $1 }) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return RunResult(status: process.terminationStatus,
                         stdout: String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                         stderr: String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    func daemonPid(_ host: EmbeddedHost) throws -> pid_t {
        let text = try String(contentsOfFile: host.stateDir + "/xenstored/xenstored.pid", encoding: .utf8)
        return try #require(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test(.timeLimit(.minutes(2)))
    func commandsFailWithAClearErrorWhileTheDaemonIsStopped() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let cfg = try host.config(name: "one")
        #expect(try host.swxl(["create", "-q", cfg]).status == 0)
        let pid = try daemonPid(host)
        #expect(kill(pid, SIGSTOP) == 0)
        var stopped = true
        defer { if stopped { kill(pid, SIGCONT) } }

        let limit = ["SWXL_XENSTORE_TIMEOUT": "1"]
        let expected = "no answer from the xenstore daemon at \(host.socket): it sent no reply within 1 s (SWXL_XENSTORE_TIMEOUT sets the limit)"
        for command in [["list"], ["store", "read", "/local/domain/0/name"], ["destroy", "one"]] {
            let result = try #require(try runWithin(20, host, command, environment: limit), "swxl \(command) hung")
            #expect(result.status != 0, "swxl \(command)")
            #expect(result.stdout == "", "swxl \(command)")
            #expect(result.stderr.contains(expected), "swxl \(command): \(result.stderr)")
        }

        // A write the daemon did not answer may yet be done, and the
        // message says so; a read's message has no such note (it changes nothing).
        let write = try #require(try runWithin(20, host, ["store", "write", "/late", "yes"], environment: limit))
        #expect(write.status == 1)
        #expect(write.stderr == "swxl store write: could not write path /late: \(expected) (whether it was done is unknown: the daemon may yet do it)\n")
        let read = try #require(try runWithin(20, host, ["store", "read", "/late"], environment: limit))
        #expect(read.stderr == "swxl store read: couldn't read path /late: \(expected)\n")

        // Running again, the domain is still there: nothing was half done.
        #expect(kill(pid, SIGCONT) == 0)
        stopped = false
        let list = try #require(try runWithin(20, host, ["list"], environment: limit))
        #expect(list.status == 0)
        #expect(list.stdout.split(separator: "\n").map { $0.split(separator: " ").first ?? "" } == ["Name", "Domain-0", "one"])
        // ... and the unanswered write was done after all, as the note warned.
        #expect(try runWithin(20, host, ["store", "read", "/late"], environment: limit)?.stdout == "yes\n")
    }

    @Test(.timeLimit(.minutes(1)))
    func theLimitMustBeANumber() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let result = try #require(try runWithin(20, host, ["store", "write", "/x", "1"], environment: ["SWXL_XENSTORE_TIMEOUT": "soon"]))
        #expect(result.status == 0)
        #expect(result.stderr == "swxl: warning: SWXL_XENSTORE_TIMEOUT=soon is not a number of seconds (0-86400); waiting 30 s for xenstored\n")
    }
}
