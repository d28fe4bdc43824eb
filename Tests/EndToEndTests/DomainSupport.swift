import CSQLite
import Foundation
import Testing

/// A fresh embedded host for one test: its own state dir; on `close` it
/// destroys what is left, stops the daemons it started and removes the dir.
final class EmbeddedHost: Sendable {
    let stateDir: String
    let kernel = packageRoot.appendingPathComponent("examples/kernels/tiny-pv").path

    init() throws {
        stateDir = FileManager.default.temporaryDirectory
            .appendingPathComponent("swxl-e2e-\(getpid())-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: kernel) {
            _ = try run(packageRoot.appendingPathComponent("scripts/make-tiny-kernel").path, [])
        }
    }

    /// (No xl.conf unless a test writes one: `xlConf`.)
    var environment: [String: String] {
        ["SWXL_STATE_DIR": stateDir, "SWXL_HOST": "embedded", "XENSTORED_PATH": "", "SWXL_XL_CONF": xlConf]
    }
    var xlConf: String { stateDir + "/xl.conf" }
    var socket: String { stateDir + "/xenstored/socket" }

    /// Runs `swxl ARGS` on this host.
    @discardableResult
    func swxl(_ arguments: [String], environment extra: [String: String] = [:]) throws -> RunResult {
        try run(swxlBinary, arguments, environment: environment.merging(extra) { $1 })
    }

    /// Runs one of Xen's xenstore tools against this host's daemon.
    func xenstore(_ tool: String, _ arguments: [String]) throws -> RunResult {
        try run("/usr/bin/" + tool, arguments, environment: ["XENSTORED_PATH": socket])
    }

    /// Writes a config file; `body` lines after name and kernel.
    func config(name: String, _ body: String = "") throws -> String {
        let path = stateDir + "/\(name).cfg"
        try "name = \"\(name)\"\nkernel = \"\(kernel)\"\nmemory = 128\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A sparse 16 MiB disk image in the state dir: a disk target that exists.
    func image(_ name: String) throws -> String {
        let path = stateDir + "/\(name).img"
        guard FileManager.default.createFile(atPath: path, contents: nil),
              truncate(path, 16 << 20) == 0 else { throw CocoaError(.fileWriteUnknown) }
        return path
    }

    /// Everything xenstore holds, as one comparable value: path → `value (perms)`.
    func storeSnapshot() throws -> [String: String] {
        try storeTree().mapValues { "\($0.value) (\($0.perms))" }
    }

    /// `xenstore-ls -fp` parsed: path → (value, perms).
    func storeTree() throws -> [String: (value: String, perms: String)] {
        let r = try xenstore("xenstore-ls", ["-fp"])
        #expect(r.status == 0, "xenstore-ls: \(r.stderr)")
        var nodes: [String: (String, String)] = [:]
        for line in r.stdout.split(separator: "\n") {
            guard let eq = line.range(of: " = \"") else { continue }
            let path = String(line[..<eq.lowerBound])
            let rest = line[eq.upperBound...]
            guard let close = rest.range(of: "\"", options: .backwards),
                  let open = rest.range(of: "(", options: .backwards) else { continue }
            let value = String(rest[..<close.lowerBound])
            let perms = String(rest[open.upperBound...].dropLast())
            nodes[path] = (value, perms)
        }
        return nodes
    }

    /// `swxl list --json` as dictionaries.
    func domains() throws -> [[String: Any]] {
        let r = try swxl(["list", "--json"])
        #expect(r.status == 0, "list --json: \(r.stderr)")
        return (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]]) ?? []
    }

    /// Polls `condition` for up to `seconds` (never a timing assertion: a deadline for progress).
    func waitUntil(_ seconds: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }

    /// Files under the toolstack's and the hypervisor's state, except the host's own.
    /// What is kept per domain, read straight from the state dir: the
    /// toolstack's rows (names, records, create journal), the simulated
    /// hypervisor's domains, and console logs.
    func domainStateFiles() -> [String] {
        let toolstack = stateDir + "/toolstack/toolstack.db", hypervisor = stateDir + "/hypervisor/host.db"
        var out = Self.rows(toolstack, "SELECT 'name ' || name FROM name")
            + Self.rows(toolstack, "SELECT 'record ' || domid FROM record")
            + Self.rows(toolstack, "SELECT 'journal ' || name FROM journal")
            + Self.rows(hypervisor, "SELECT 'hypervisor domain ' || domid FROM domain")
        let logs = (try? FileManager.default.contentsOfDirectory(atPath: stateDir + "/toolstack/console")) ?? []
        out += logs.map { "toolstack/console/" + $0 }
        return out.sorted()
    }

    /// The one-text-column rows of a query on a database file (none if it does not exist).
    static func rows(_ path: String, _ sql: String) -> [String] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else {
            sqlite3_close(db)
            return ["cannot open \(path)"]
        }
        defer { sqlite3_close(db) }
        sqlite3_busy_timeout(db, 5000)
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else { return ["bad query on \(path): \(sql)"] }
        defer { sqlite3_finalize(stmt) }
        var out: [String] = []
        while sqlite3_step(stmt) == SQLITE_ROW { out.append(String(cString: sqlite3_column_text(stmt, 0))) }
        return out
    }

    func close() {
        if let list = try? domains() {
            for d in list where (d["domid"] as? Int ?? 0) != 0 { _ = try? swxl(["destroy", "\(d["domid"]!)"]) }
        }
        // The guests' host first (it could otherwise outlive the daemon
        // briefly), then the daemon; each waited for.
        for file in ["toolstack/sim-guests.lock", "xenstored/xenstored.pid"] {
            if let text = try? String(contentsOfFile: stateDir + "/" + file, encoding: .utf8),
               let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 {
                kill(pid, SIGTERM)
                _ = waitUntil(5) { kill(pid, 0) != 0 || isZombie(pid) }
            }
        }
        try? FileManager.default.removeItem(atPath: stateDir)
    }
}

/// Whether `pid` has exited but not been reaped yet (it is not our child).
func isZombie(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return true }
    return stat[stat.index(close, offsetBy: 2)] == "Z"
}
