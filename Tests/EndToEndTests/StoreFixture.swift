import Foundation
import Glibc

/// A private embedded host for one test: its own state directory (so its
/// own auto-started `swxl xenstored`), torn down at the end.
final class StoreHost: Sendable {
    let stateDir: String
    var socket: String { stateDir + "/xenstored/socket" }
    var pidFile: String { stateDir + "/xenstored/xenstored.pid" }

    init() throws {
        // Short: a Unix socket path must fit in 108 bytes.
        var template = Array("/tmp/swxl-e2e-XXXXXX".utf8CString)
        guard let dir = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno)!) }
        stateDir = String(cString: dir)
    }

    /// The environment `swxl` runs with: this host's state, no XENSTORED_PATH.
    var swxlEnvironment: [String: String] { ["SWXL_STATE_DIR": stateDir, "XENSTORED_PATH": ""] }

    /// Xen's own tools talk to the same daemon through XENSTORED_PATH.
    var xenEnvironment: [String: String] { ["XENSTORED_PATH": socket] }

    /// `swxl store <arguments>`.
    @discardableResult
    func swxl(_ arguments: [String], stdin: String? = nil) throws -> RunResult {
        try run(swxlBinary, ["store"] + arguments, environment: swxlEnvironment, stdin: stdin)
    }

    /// Xen's `xenstore-<tool> <arguments>`.
    @discardableResult
    func xen(_ tool: String, _ arguments: [String]) throws -> RunResult {
        try run("/usr/bin/xenstore-" + tool, arguments, environment: xenEnvironment)
    }

    var daemonPid: pid_t? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8) else { return nil }
        return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    deinit {
        if let pid = daemonPid {
            kill(pid, SIGTERM)
            for _ in 0..<200 where kill(pid, 0) == 0 { usleep(10_000) }
            if kill(pid, 0) == 0 { kill(pid, SIGKILL) }  // never leave one behind
        }
        try? FileManager.default.removeItem(atPath: stateDir)
    }
}

let xenToolsInstalled = FileManager.default.isExecutableFile(atPath: "/usr/bin/xenstore-ls")
