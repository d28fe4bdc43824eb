import Foundation
import Testing

/// Managed domains through the built `swxl` (`new`, `start`, `delete`,
/// `list`, `config show`), each test on a fresh embedded host.
@Suite(.serialized) struct ManagedDomainCommandTests {
    /// xl's header and Domain-0's row, as `swxl list` prints them on this host.
    static func header(_ host: EmbeddedHost) throws -> String {
        try listed(host)
    }

    /// `swxl list`'s output with Domain-0's time masked: the embedded host's
    /// dom0 gains 0.1 s of CPU time every 5 s of wall-clock time, which a
    /// slow run crosses between two lists.
    static func listed(_ host: EmbeddedHost, _ arguments: [String] = []) throws -> String {
        try host.swxl(["list"] + arguments).stdout.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            guard line.hasPrefix("Domain-0 "), let space = line.lastIndex(of: " ") else { return String(line) }
            return line[...space] + "T"
        }.joined(separator: "\n")
    }

    /// The row of a halted domain: xl's columns, no ID, no flag, no time.
    static func haltedRow(_ name: String, memoryMiB: Int, vcpus: Int) -> String {
        name.padding(toLength: 40, withPad: " ", startingAt: 0) + "       " + String(repeating: " ", count: 5 - "\(memoryMiB)".count)
            + "\(memoryMiB)" + String(repeating: " ", count: 5 - "\(vcpus)".count) + " \(vcpus)" + "     ------       0.0\n"
    }

    func managedRows(_ host: EmbeddedHost) -> [String] {
        EmbeddedHost.rows(host.stateDir + "/toolstack/toolstack.db", "SELECT name || ' ' || uuid FROM managed")
    }

    func entry(_ host: EmbeddedHost, _ name: String) throws -> [String: Any]? {
        try host.domains().first { $0["name"] as? String == name }
    }

    @Test func newStartShutdownStartAgainDelete() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let cfg = try host.config(name: "web", "vcpus = 2\non_poweroff = \"destroy\"")
        let before = try Self.header(host)
        let defined = try host.swxl(["new", cfg])
        #expect(defined == RunResult(status: 0, stdout: "", stderr: "Parsing config from \(cfg)\n"))
        #expect(host.domainStateFiles().isEmpty)  // nothing runs, no name is held by a domain
        let shown = try host.swxl(["config", "show", "web"])
        #expect(shown.status == 0)
        let config = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any]
        let uuid = try #require(config?["uuid"] as? String)
        #expect(config?["name_label"] as? String == "web")
        #expect(managedRows(host) == ["web \(uuid)"])

        // Listed after the running ones, as halted.
        let row = Self.haltedRow("web", memoryMiB: 128, vcpus: 2)
        #expect(try host.swxl(["list"]).status == 0)
        #expect(try Self.listed(host) == before + row)
        let header = String(before.prefix { $0 != "\n" }) + "\n"
        #expect(try host.swxl(["list", "web"]) == RunResult(status: 0, stdout: header + row, stderr: ""))
        #expect(try host.swxl(["list", "-l", "web"]) == RunResult(status: 1, stdout: "",
            stderr: "swxl: error: 'web' is defined but not running (its config: swxl config show web)\n"))
        let halted = try #require(try entry(host, "web"))
        let expected: [String: Any] = ["name": "web", "domid": NSNull(), "uuid": uuid, "memory_kib": 131072,
                                       "max_memory_kib": 131072, "vcpus": 2, "max_vcpus": 2, "state": "Halted",
                                       "state_letters": "------", "cpu_time": 0, "shutdown_reason": NSNull()]
        #expect(NSDictionary(dictionary: halted) == NSDictionary(dictionary: expected))

        // Started: its uuid; a second start and a delete are refused, as xend refused them.
        #expect(try host.swxl(["start", "web"]) == RunResult(status: 0, stdout: "", stderr: ""))
        let running = try #require(try entry(host, "web"))
        #expect(running["uuid"] as? String == uuid)
        #expect(running["domid"] as? Int == 1)
        #expect(try host.swxl(["list"]).stdout.components(separatedBy: "\n").filter { $0.hasPrefix("web ") }.count == 1)
        #expect(try host.swxl(["start", "web"]) == RunResult(status: 1, stdout: "", stderr: "swxl: error: Domain is already running\n"))
        #expect(try host.swxl(["delete", "web"]) == RunResult(status: 1, stdout: "", stderr: "swxl: error: Domain is not halted.\n"))
        #expect(try host.swxl(["new", cfg]).stderr.hasSuffix("swxl: error: VM name 'web' already exists as domain 1\n"))
        let other = try host.config(name: "web")
        #expect(try host.swxl(["create", "-q", other]).status == 1)

        // The guest powers off: on_poweroff=destroy ends the domain, the definition stays.
        #expect(try host.swxl(["shutdown", "-w", "web"]).status == 0)
        #expect(try host.waitUntil { try entry(host, "web")?["state"] as? String == "Halted" })
        #expect(try Self.listed(host) == before + row)

        // Started again, with the same uuid; destroyed, still defined.
        #expect(try host.swxl(["start", "-p", "web"]).status == 0)
        let again = try #require(try entry(host, "web"))
        #expect(again["uuid"] as? String == uuid)
        #expect(again["domid"] as? Int == 2)
        #expect(again["state"] as? String == "paused")
        #expect(try host.swxl(["destroy", "web"]).status == 0)
        #expect(try Self.listed(host) == before + row)

        // Forgotten: nothing left.
        #expect(try host.swxl(["delete", "web"]) == RunResult(status: 0, stdout: "", stderr: ""))
        #expect(try Self.listed(host) == before)
        #expect(try host.swxl(["list", "web"]).status == 1)
        #expect(try host.swxl(["config", "show", "web"]).status == 1)
        #expect(try host.swxl(["start", "web"]) == RunResult(status: 1, stdout: "", stderr: "web is an invalid domain identifier (rc=-6)\n"))
        #expect(try host.swxl(["delete", "web"]).status == 1)
        #expect(managedRows(host).isEmpty)
        #expect(host.domainStateFiles().isEmpty)
    }

    @Test func aDefinitionSurvivesTheHostsProcesses() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let cfg = try host.config(name: "kept")
        #expect(try host.swxl(["new", "-q", cfg]).status == 0)
        let listed = try #require(try entry(host, "kept"))
        #expect(listed["state"] as? String == "Halted")
        // Every process of the host stopped (the daemon, the guests' host): the definition is in the database.
        for file in ["toolstack/sim-guests.lock", "xenstored/xenstored.pid"] {
            if let text = try? String(contentsOfFile: host.stateDir + "/" + file, encoding: .utf8),
               let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 {
                kill(pid, SIGTERM)
                _ = host.waitUntil(5) { kill(pid, 0) != 0 || isZombie(pid) }
            }
        }
        let after = try #require(try entry(host, "kept"))
        #expect(NSDictionary(dictionary: after) == NSDictionary(dictionary: listed))
        #expect(try host.swxl(["start", "kept"]).status == 0)
        #expect(try entry(host, "kept")?["domid"] as? Int == 1)
    }

    @Test func aBadConfigIsRefusedAndNothingIsStored() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        #expect(try host.swxl(["list"]).status == 0)
        let cases: [([String], String)] = [
            (["memory = \"lots\""], "error"),
            (["kernel = \"\""], "kernel"),
            (["name = \"1234\""], "all digits"),
            (["disk = [ \"/nonexistent.qcow2,qcow2,xvda,w\" ]"], "qcow2"),
        ]
        for (lines, message) in cases {
            let cfg = try host.config(name: "bad", lines.joined(separator: "\n"))
            let r = try host.swxl(["new", cfg])
            #expect(r.status == 1, "\(lines)")
            #expect(r.stderr.contains(message), "\(lines): \(r.stderr)")
        }
        #expect(try host.swxl(["new", host.stateDir + "/missing.cfg"]).status == 1)
        #expect(try host.swxl(["new"]).status == 2)
        #expect(managedRows(host).isEmpty)
        #expect(try Self.listed(host) == (try Self.header(host)))
    }

    @Test func twoProcessesDefiningOneNameAtOnceOneWins() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        #expect(try host.swxl(["list"]).status == 0)
        let count = 6
        // Each its own file (no uuid in them: each definition gets its own).
        let configs = try (0..<count).map { i -> String in
            let path = try host.config(name: "race")
            let mine = host.stateDir + "/race\(i).cfg"
            try FileManager.default.moveItem(atPath: path, toPath: mine)
            return mine
        }
        let statuses = StatusBox(count)
        let errors = TextBox(count)
        DispatchQueue.concurrentPerform(iterations: count) { i in
            let r = try? host.swxl(["new", "-q", configs[i]])
            statuses.set(i, r?.status ?? -1)
            errors.set(i, r?.stderr ?? "")
        }
        #expect(statuses.values.sorted() == [0] + [Int32](repeating: 1, count: count - 1))
        for (status, text) in zip(statuses.values, errors.values) where status == 1 {
            #expect(text == "swxl: error: VM name 'race' already exists\n")
        }
        #expect(managedRows(host).count == 1)
    }
}

/// Texts set from concurrent work.
final class TextBox: @unchecked Sendable {
    private let lock = NSLock()
    private var texts: [String]
    init(_ count: Int) { texts = Array(repeating: "", count: count) }
    func set(_ i: Int, _ text: String) { lock.withLock { texts[i] = text } }
    var values: [String] { lock.withLock { texts } }
}
