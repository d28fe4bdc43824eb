import Foundation
import Testing

/// `swxl save` and `swxl restore` on the embedded host, as a user runs
/// them: the simulated guest counts in its memory directory, and must go
/// on counting from where it was after a restore.
@Suite(.serialized) struct SaveRestoreTests {
    static let env = ["SWXL_EMBEDDED_BRIDGES": "xenbr0"]

    /// A guest that counts, keeping its count in its memory (written whole:
    /// a new file renamed over the old one).
    static let counter = #"n=$(cat "$SWXL_GUEST_MEMORY/n" 2>/dev/null || echo 0); while :; do n=$((n+1)); echo $n > "$SWXL_GUEST_MEMORY/n.tmp" && mv "$SWXL_GUEST_MEMORY/n.tmp" "$SWXL_GUEST_MEMORY/n"; echo "count $n"; sleep 0.05; done"#

    static func counterConfig(_ host: EmbeddedHost, name: String) throws -> String {
        let disk = try host.image(name)
        return try host.config(name: name, """
            vcpus = 2
            disk = [ '\(disk),raw,xvda,rw' ]
            vif = [ 'mac=00:16:3e:12:34:56,bridge=xenbr0' ]
            sim_guest_script = '\(counter)'
            """)
    }

    /// The guest's count, from its memory directory (nil before it first counted).
    static func count(_ host: EmbeddedHost, _ domid: Int) -> Int? {
        (try? String(contentsOfFile: host.stateDir + "/hypervisor/guests/\(domid)/memory/n", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    static func domid(_ host: EmbeddedHost, _ name: String) throws -> Int? {
        try host.domains().first { $0["name"] as? String == name }?["domid"] as? Int
    }

    /// One domain's xenstore nodes with its domid and uuid written as
    /// placeholders, and the values that differ between two runs of the
    /// same guest (ports, ring pages, start time, console tty) masked.
    static func layout(_ host: EmbeddedHost, domid id: Int, uuid: String) throws -> [String: String] {
        var out: [String: String] = [:]
        let volatile = ["/start_time", "/ring-ref", "/port", "/tty", "/event-channel", "-ring-ref"]
        let roots = ["/local/domain/\(id)", "/vm/\(uuid)", "/libxl/\(id)"]
        func mask(_ text: String) -> String {
            var t = text
            for prefix in ["/local/domain/", "/libxl/", "/backend/vbd/", "/backend/vif/", "/backend/console/"] {
                t = t.replacingOccurrences(of: prefix + "\(id)/", with: prefix + "<id>/")
                if t.hasSuffix(prefix + "\(id)") { t = String(t.dropLast("\(id)".count)) + "<id>" }
            }
            return t
        }
        for (path, node) in try host.storeTree() {
            let mine = roots.contains { path == $0 || path.hasPrefix($0 + "/") }
                || path.range(of: #"^/local/domain/0/backend/[a-z]+/\#(id)(/|$)"#, options: .regularExpression) != nil
            guard mine else { continue }
            var value = volatile.contains { path.hasSuffix($0) } && !node.value.isEmpty ? "*" : mask(node.value)
            if (path.hasSuffix("/frontend-id") || path.hasSuffix("/domid")) && value == "\(id)" { value = "<id>" }
            let perms = node.perms.split(separator: ",").map { p in
                p.dropFirst() == "\(id)" ? String(p.prefix(1)) + "<id>" : String(p)
            }.joined(separator: ",")
            out[mask(path)] = value + " (" + perms + ")"
        }
        return out
    }

    @Test func saveAndRestoreKeepCountingWithTheSameDevicesAndUUID() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let cfg = try Self.counterConfig(host, name: "counter")
        let created = try host.swxl(["create", "-q", cfg], environment: Self.env)
        try #require(created.status == 0, "\(created.stderr)")
        let first = try #require(try Self.domid(host, "counter"))
        #expect(host.waitUntil { (Self.count(host, first) ?? 0) >= 3 })
        let uuid = try #require(try host.domains().first { $0["domid"] as? Int == first }?["uuid"] as? String)
        let before = try Self.layout(host, domid: first, uuid: uuid)

        let file = host.stateDir + "/counter.save"
        let saved = try host.swxl(["save", "counter", file], environment: Self.env)
        #expect(saved.status == 0, "\(saved.stderr)")
        #expect(saved.stderr.contains("Saving to \(file) new xl format (info 0x3/0x0/"), "\(saved.stderr)")
        // Not on a terminal: no progress line.
        #expect(!saved.stderr.contains("pages"), "\(saved.stderr)")
        #expect(try Self.domid(host, "counter") == nil)
        #expect(host.domainStateFiles() == [])
        #expect(!FileManager.default.fileExists(atPath: host.stateDir + "/hypervisor/guests/\(first)"))
        // The count the guest had when it was saved, from the file's own image.
        let atSave = try #require(Self.savedCount(file))
        #expect(atSave >= 3)

        let restored = try host.swxl(["restore", file], environment: Self.env)
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(restored.stderr.contains("Loading new save file \(file) (new xl fmt info 0x3/0x0/"), "\(restored.stderr)")
        #expect(restored.stderr.contains(" Savefile contains xl domain config in JSON format\nParsing config from <saved>\n"))
        let second = try #require(try Self.domid(host, "counter"))
        #expect(try host.domains().first { $0["domid"] as? Int == second }?["uuid"] as? String == uuid)
        // It goes on from the saved count: never back to the start.
        var seen: [Int] = []
        #expect(host.waitUntil {
            if let n = Self.count(host, second) { seen.append(n) }
            return (seen.last ?? 0) >= atSave + 3
        })
        #expect(seen.allSatisfy { $0 >= atSave }, "counts after restore: \(seen)")
        // The same xenstore layout (devices with their devids), the domid aside.
        #expect(host.waitUntil { (try? Self.layout(host, domid: second, uuid: uuid)) == before })
        let after = try Self.layout(host, domid: second, uuid: uuid)
        let differing = Set(after.keys).union(before.keys).filter { after[$0] != before[$0] }.sorted()
        #expect(after == before, "\(differing.map { "\($0): \(before[$0] ?? "-") -> \(after[$0] ?? "-")" })")
    }

    @Test func saveWithCKeepsTheGuestRunningAndItsFileRestores() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let cfg = try Self.counterConfig(host, name: "keeper")
        try #require(try host.swxl(["create", "-q", cfg], environment: Self.env).status == 0)
        let id = try #require(try Self.domid(host, "keeper"))
        #expect(host.waitUntil { (Self.count(host, id) ?? 0) >= 2 })
        let file = host.stateDir + "/keeper.save"
        let saved = try host.swxl(["save", "-c", "keeper", file], environment: Self.env)
        #expect(saved.status == 0, "\(saved.stderr)")
        let atSave = try #require(Self.savedCount(file))
        // Same domain, running again, counting on.
        #expect(try Self.domid(host, "keeper") == id)
        #expect(host.waitUntil { (Self.count(host, id) ?? 0) >= atSave + 3 })
        let state = try host.domains().first { $0["domid"] as? Int == id }?["state"] as? String
        #expect(state == "running" || state == "blocked")
        // -p: saved, then left paused.
        let paused = try host.swxl(["save", "-p", "keeper", file], environment: Self.env)
        #expect(paused.status == 0, "\(paused.stderr)")
        #expect(try host.domains().first { $0["domid"] as? Int == id }?["state"] as? String == "paused")
        // The file restores once the original is gone.
        #expect(try host.swxl(["destroy", "keeper"]).status == 0)
        let restored = try host.swxl(["restore", file], environment: Self.env)
        #expect(restored.status == 0, "\(restored.stderr)")
        let again = try #require(try Self.domid(host, "keeper"))
        #expect(host.waitUntil { (Self.count(host, again) ?? 0) >= atSave + 2 })
    }

    /// The plain forms of save and restore skip argument-parser
    /// (Sources/swxl/SaveRestoreFastPath.swift): each form here, run with
    /// and without `SWXL_NO_FAST_PATH`, does the same and says the same.
    @Test func plainFormsSayAndDoTheSameWithoutArgumentParser() throws {
        func run(fast: Bool) throws -> [String] {
            let host = try EmbeddedHost()
            defer { host.close() }
            let env = fast ? Self.env : Self.env.merging(["SWXL_NO_FAST_PATH": "1"]) { $1 }
            let cfg = try host.config(name: "plain", "uuid = '59d4d9d7-5505-4f54-802e-f30e16013dd8'\nsim_guest_script = 'sleep 1000'")
            let file = host.stateDir + "/plain.save"
            var seen: [String] = []
            func swxl(_ args: [String]) throws -> RunResult {
                let r = try host.swxl(args, environment: env)
                seen.append("\(args.joined(separator: " ")): \(r.status) \(r.stdout) \(r.stderr)"
                    .replacingOccurrences(of: host.stateDir, with: "<dir>"))
                return r
            }
            func state() throws -> String? {
                try host.domains().first { $0["name"] as? String == "plain" }?["state"] as? String
            }
            try #require(try host.swxl(["create", "-q", cfg]).status == 0)
            #expect(try swxl(["save", "-c", "-q", "plain", file]).status == 0)
            seen.append("after save -c: \(try state() ?? "gone")")
            #expect(try swxl(["save", "-p", "plain", file]).status == 0)
            seen.append("after save -p: \(try state() ?? "gone")")
            #expect(try host.swxl(["unpause", "plain"]).status == 0)
            #expect(try swxl(["save", "-D", "plain", file, cfg]).status == 0)
            seen.append("after save -D with a config: \(try state() ?? "gone")")
            #expect(try swxl(["restore", "-p", "-q", file]).status == 0)
            seen.append("after restore -p: \(try state() ?? "gone")")
            #expect(try host.swxl(["destroy", "plain"]).status == 0)
            #expect(try swxl(["restore", "-d", "-e", cfg, file]).status == 0)
            seen.append("after restore -d -e CONFIG: \(try state() ?? "gone")")
            #expect(try host.swxl(["destroy", "plain"]).status == 0)
            // What the fast path leaves to argument-parser: its own words.
            _ = try swxl(["restore", "-pq", file])
            _ = try swxl(["restore", "-p", "-p", file])
            _ = try swxl(["restore", file, "-p"])
            _ = try swxl(["restore", "--quiet", "a", "b", "c"])
            _ = try swxl(["save", "-x", "plain", file])
            _ = try swxl(["save", "plain"])
            return seen
        }
        let fast = try run(fast: true), slow = try run(fast: false)
        #expect(fast.count == slow.count)
        for (f, s) in zip(fast, slow) { #expect(f == s) }
        #expect(fast.contains("after save -c: running") || fast.contains("after save -c: blocked"))
        #expect(fast.contains("after save -p: paused"))
        #expect(fast.contains("after restore -p: paused"))
    }

    @Test func aRestoreThatFailsLeavesNothing() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let cfg = try Self.counterConfig(host, name: "victim")
        try #require(try host.swxl(["create", "-q", cfg], environment: Self.env).status == 0)
        let file = host.stateDir + "/victim.save"
        let id = try #require(try Self.domid(host, "victim"))
        #expect(host.waitUntil { Self.count(host, id) != nil })
        try #require(try host.swxl(["save", "victim", file], environment: Self.env).status == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        let store = try host.storeSnapshot()
        // Cut everywhere that matters: in xl's header, in its config, in
        // libxl's header, in the image, before libxl's END.
        let optLength = Int(bytes[44]) | Int(bytes[45]) << 8 | Int(bytes[46]) << 16 | Int(bytes[47]) << 24
        let cuts = [0, 20, 47, 60, 48 + optLength, 48 + optLength + 10, 48 + optLength + 30, bytes.count - 40, bytes.count - 8, bytes.count - 1]
        for cut in cuts {
            let truncated = host.stateDir + "/cut-\(cut)"
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: truncated))
            let r = try host.swxl(["restore", truncated], environment: Self.env)
            #expect(r.status == 1, "cut at \(cut): \(r.stderr)")
            #expect(r.stderr.contains("truncated"), "cut at \(cut): \(r.stderr)")
            #expect(host.domainStateFiles() == [], "cut at \(cut)")
            #expect(try host.storeSnapshot() == store, "cut at \(cut)")
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: host.stateDir + "/hypervisor/guests")) ?? []).isEmpty)
        }
        // Garbage is refused with xl's words.
        let garbage = host.stateDir + "/garbage"
        try Data("not a save file at all, not even close to one ......".utf8).write(to: URL(fileURLWithPath: garbage))
        let g = try host.swxl(["restore", garbage], environment: Self.env)
        #expect(g.status == 1)
        #expect(g.stderr == "File has wrong magic number - corrupt or for a different tool?\n")
        // A file of real Xen's (libxc's image) is refused by name, and leaves nothing.
        var xen = bytes
        xen.replaceSubrange((48 + optLength + 16)..<(48 + optLength + 20), with: [1, 0, 0, 0])
        let xenFile = host.stateDir + "/xen.save"
        try xen.write(to: URL(fileURLWithPath: xenFile))
        let x = try host.swxl(["restore", xenFile], environment: Self.env)
        #expect(x.status == 1)
        #expect(x.stderr.contains("holds an image saved on real Xen; this host (swxl's embedded host) cannot restore it"), "\(x.stderr)")
        #expect(host.domainStateFiles() == [])
        #expect(try host.storeSnapshot() == store)
        // The intact file still restores.
        #expect(try host.swxl(["restore", file], environment: Self.env).status == 0)
    }

    @Test func aGuestThatDoesNotSuspendIsLeftRunning() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        // No script, but no guest either: a paused domain cannot answer.
        let cfg = try host.config(name: "mute")
        try #require(try host.swxl(["create", "-q", "-p", cfg]).status == 0)
        let file = host.stateDir + "/mute.save"
        let r = try host.swxl(["save", "mute", file], environment: ["SWXL_SUSPEND_TIMEOUT_MS": "300"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("guest didn't acknowledge suspend, cancelling request"), "\(r.stderr)")
        #expect(r.stderr.contains("Failed to save domain, resuming domain\n"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: file))
        let id = try #require(try Self.domid(host, "mute"))
        #expect(try host.domains().first { $0["domid"] as? Int == id }?["state"] as? String == "paused")
        #expect(try host.xenstore("xenstore-read", ["/local/domain/\(id)/control/shutdown"]).stdout == "\n")
    }

    /// A config on the command line replaces the one in the file: save's
    /// third argument goes into the file, restore's first is used instead
    /// of the file's (here: under other names).
    @Test func configsOnTheCommandLineReplaceTheSavedOne() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let cfg = try Self.counterConfig(host, name: "orig")
        try #require(try host.swxl(["create", "-q", cfg], environment: Self.env).status == 0)
        let id = try #require(try Self.domid(host, "orig"))
        #expect(host.waitUntil { Self.count(host, id) != nil })
        let other = host.stateDir + "/other.cfg"
        try (try String(contentsOfFile: cfg, encoding: .utf8)).replacingOccurrences(of: "name = \"orig\"", with: "name = \"fromsave\"")
            .write(toFile: other, atomically: true, encoding: .utf8)
        let file = host.stateDir + "/orig.save"
        let saved = try host.swxl(["save", "-c", "orig", file, other], environment: Self.env)
        #expect(saved.status == 0, "\(saved.stderr)")
        // The file's config is the one given: restored, it is "fromsave".
        #expect(try host.swxl(["destroy", "orig"]).status == 0)
        let r1 = try host.swxl(["restore", file], environment: Self.env)
        #expect(r1.status == 0, "\(r1.stderr)")
        #expect(try Self.domid(host, "fromsave") != nil)
        #expect(try host.swxl(["destroy", "fromsave"]).status == 0)
        // restore CONFIG FILE: the command line's config, not the file's.
        let third = host.stateDir + "/third.cfg"
        try (try String(contentsOfFile: cfg, encoding: .utf8)).replacingOccurrences(of: "name = \"orig\"", with: "name = \"fromrestore\"")
            .write(toFile: third, atomically: true, encoding: .utf8)
        let r2 = try host.swxl(["restore", third, file], environment: Self.env)
        #expect(r2.status == 0, "\(r2.stderr)")
        #expect(r2.stderr.contains("Parsing config from \(third)\n"), "\(r2.stderr)")
        let again = try #require(try Self.domid(host, "fromrestore"))
        let atRestore = Self.count(host, again) ?? 0
        #expect(atRestore >= 1)
        #expect(host.waitUntil { (Self.count(host, again) ?? 0) >= atRestore + 2 })
    }

    /// On a terminal, save and restore show their progress in one line
    /// rewritten in place (128 MiB: 32768 pages); -q keeps it quiet.
    @Test func progressOnATerminal() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        try #require(try host.swxl(["create", "-q", try host.config(name: "shown", "sim_guest_script = 'sleep 1000'")]).status == 0)
        let file = host.stateDir + "/shown.save"
        // As xl's logger: with -t one line rewritten in place, without it a line per 5% step.
        let save = try ConsoleTests.OnTerminal(host, ["-t", "save", "-c", "shown", file])
        #expect(save.read(until: "\rSaving memory: 32768/32768 pages  100%"), "\(save.text)")
        #expect(save.status() == 0, "\(save.text)")
        let lines = try ConsoleTests.OnTerminal(host, ["save", "-c", "shown", file])
        #expect(lines.read(until: "Saving memory: 32768/32768 pages  100%"), "\(lines.text)")
        #expect(lines.status() == 0, "\(lines.text)")
        #expect(!lines.text.contains("\r" + "Saving memory"), "\(lines.text)")
        let quiet = try ConsoleTests.OnTerminal(host, ["save", "-q", "shown", file])
        #expect(quiet.status() == 0, "\(quiet.text)")
        _ = quiet.read(until: "never printed", seconds: 0.3)
        #expect(quiet.text.contains("Saving to ") && !quiet.text.contains("Saving memory"), "\(quiet.text)")
        let restore = try ConsoleTests.OnTerminal(host, ["restore", file])
        #expect(restore.read(until: "Restoring memory: 32768/32768 pages  100%"), "\(restore.text)")
        #expect(restore.status() == 0, "\(restore.text)")
    }

    /// The count a save file's simulated image holds (its memory file `n`).
    static func savedCount(_ path: String) -> Int? {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)) else { return nil }
        let bytes = [UInt8](data)
        // FILE records: type 4, then mode, path length, path "n", contents.
        let marker: [UInt8] = [1, 0, 0, 0, UInt8(ascii: "n")]
        guard let at = (0..<(bytes.count - marker.count)).last(where: { Array(bytes[$0..<$0 + marker.count]) == marker }) else { return nil }
        let length = Int(bytes[at - 8]) | Int(bytes[at - 7]) << 8
        let contents = bytes[(at + 5)..<(at - 4 + length)]
        return Int(String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
