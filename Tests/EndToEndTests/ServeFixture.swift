import Foundation
import Glibc
import Synchronization

/// `swxl serve --foreground` for one test, on a Unix socket in a short
/// directory of its own (no '_' in its path, so the XenAPI SDK's
/// UDSTransport can reach it), optionally on TCP at a free loopback port
/// with `root`'s password `hunter2`; stopped and cleaned up by `stop()`.
final class ServeFixture: @unchecked Sendable {
    let directory: String
    var socket: String { directory + "/socket" }
    var credentialsFile: String { directory + "/credentials" }
    /// `127.0.0.1:PORT` when serving TCP.
    private(set) var tcpAddress: String?
    private let process = Process()
    /// Whether the state (and the daemons it started) is the fixture's.
    private let ownsState: Bool
    private let stderrPipe = Pipe()
    private let logged = LogText()
    /// What the server has logged so far.
    var log: String { logged.text.withLock { $0 } }

    /// `root:hunter2`, hashed as `openssl passwd -6 -salt saltsalt hunter2` prints it.
    static let credentials = "root:$6$saltsalt$8iYtNHxjWRl.NF6oNZ5tF.iKFlQREaXBLlSmZKP6dy9l5z3vsooWNW0/GZ6Nej73/TFug6pIPSqbJoCT6dfnj.\n"

    /// `environment` is the host's (e.g. an EmbeddedHost's, for its state);
    /// `stateDir` defaults to the fixture's own directory.
    init(tcp: Bool = false, environment: [String: String] = [:], stateDir: String? = nil, extraArguments: [String] = []) throws {
        var template = Array("/tmp/swxl-api-XXXXXX".utf8CString)
        guard let dir = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno)!) }
        directory = String(cString: dir)
        ownsState = stateDir == nil
        var arguments = ["serve", "--foreground", "--state-dir", stateDir ?? directory, "--socket", socket,
                         "--pid-file", directory + "/serve.pid", "--log-level", "notice"] + extraArguments
        if tcp {
            try Self.credentials.write(toFile: credentialsFile, atomically: true, encoding: .utf8)
            chmod(credentialsFile, 0o600)
            arguments += ["--tcp", "127.0.0.1:0", "--credentials", credentialsFile]
        }
        process.executableURL = URL(fileURLWithPath: swxlBinary)
        process.arguments = arguments
        // The embedded host unless the caller says otherwise; its xenstored is
        // started in the state directory as the command line would.
        let host = ["SWXL_HOST": "embedded", "XENSTORED_PATH": "", "SWXL_STATE_DIR": stateDir ?? directory]
        process.environment = ProcessInfo.processInfo.environment.merging(host) { $1 }.merging(environment) { $1 }
        process.standardError = stderrPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Its stderr is read all along (a full pipe would stall it); ready
        // once it has said where it listens (the TCP line comes last).
        let logged = self.logged
        stderrPipe.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            logged.text.withLock { $0 += String(decoding: chunk, as: UTF8.self) }
        }
        let wanted = tcp ? "listening on tcp " : "listening on unix "
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && process.isRunning {
            let text = log
            if let line = text.split(separator: "\n").first(where: { $0.contains(wanted) }) {
                if tcp { tcpAddress = String(line[line.range(of: wanted)!.upperBound...]).trimmingCharacters(in: .whitespaces) }
                return
            }
            usleep(10_000)
        }
        stop()
        throw ServeFixtureError(description: "swxl serve did not start: \(log)")
    }

    /// Stops the server (SIGTERM) and waits for it; its exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        stderrPipe.fileHandleForReading.readabilityHandler = nil
        // The daemons the host started in our own state: the guests' host, then xenstored.
        for file in ownsState ? ["toolstack/sim-guests.lock", "xenstored/xenstored.pid"] : [] {
            if let text = try? String(contentsOfFile: directory + "/" + file, encoding: .utf8),
               let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 {
                kill(pid, SIGTERM)
                for _ in 0..<500 where kill(pid, 0) == 0 && !isZombie(pid) { usleep(10_000) }
            }
        }
        try? FileManager.default.removeItem(atPath: directory)
        return process.terminationStatus
    }

    var isRunning: Bool { process.isRunning }

    /// curl against the Unix socket (or TCP when `tcp`), POSTing `body` to `path`.
    func curl(_ body: String, path: String = "/", tcp: Bool = false, extra: [String] = []) throws -> RunResult {
        var arguments = ["-sS", "-i", "-X", "POST", "-H", "Content-Type: text/xml", "--data-binary", body] + extra
        if tcp {
            arguments.append("http://\(tcpAddress!)\(path)")
        } else {
            arguments += ["--unix-socket", socket, "http://localhost\(path)"]
        }
        return try run("/usr/bin/curl", arguments)
    }
}

struct ServeFixtureError: Error, CustomStringConvertible {
    var description: String
}

/// Text appended from a reading thread.
final class LogText: Sendable {
    let text = Mutex("")
}
