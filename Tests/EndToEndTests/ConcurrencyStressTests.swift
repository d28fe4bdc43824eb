import Foundation
import SwxlSystem
import Testing

/// Concurrency under load (issue 16, item 7): clients run `swxl create`,
/// `destroy`, `mem-set`, `list` and `store write` side by side against one
/// embedded host while its xenstored is killed with SIGKILL at moments drawn
/// from a seed; the clients' own commands start it again, as they would for
/// a user. Afterwards what the commands reported must be what the host
/// holds (see ``ChaosCheck``). Run by `scripts/stress-concurrency`, which
/// sets `SWXL_STRESS_SECONDS` (off otherwise: it takes a minute);
/// `SWXL_STRESS_SEED` replays a run's kill moments and choices,
/// `SWXL_STRESS_CLIENTS` sets the number of clients (16).
@Suite(.enabled(if: ChaosRun.seconds != nil, "scripts/stress-concurrency runs it (SWXL_STRESS_SECONDS)"))
struct ConcurrencyStressTests {
    @Test func clientsAgainstAKilledDaemon() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let run = try ChaosRun(host: host, seconds: ChaosRun.seconds ?? 60, clients: ChaosRun.clients, seed: ChaosRun.seed)
        try run.prepare()
        run.start()
        var anomalies = try ChaosCheck(run: run).anomalies()
        anomalies += try ChaosCheck(run: run).teardownAnomalies()
        print(run.figures(anomalies: anomalies.count))
        for anomaly in anomalies { print("ANOMALY: \(anomaly)") }
        #expect(anomalies.isEmpty, "\(anomalies.count) anomalies (seed \(run.seed)):\n\(anomalies.joined(separator: "\n"))")
    }
}

/// One command a client ran and what became of it.
struct ChaosOperation: Sendable {
    enum Kind: String, Sendable { case create, destroy, memSet = "mem-set", list, storeWrite = "store-write" }
    var client: Int
    var kind: Kind
    var arguments: [String]
    /// The exit status; nil if it did not end within ``ChaosRun/commandTimeout``.
    var status: Int32?
    var output: String
    var seconds: Double

    var line: String {
        let end = status.map { "exit \($0)" } ?? "HUNG (killed after \(Int(ChaosRun.commandTimeout)) s)"
        let said = output.split(separator: "\n").suffix(3).joined(separator: " | ")
        return "client \(client): swxl \(arguments.joined(separator: " ")): \(end)" + (said.isEmpty ? "" : ": \(said)")
    }
}

/// The run: the clients, the killer, and what each client saw.
final class ChaosRun: @unchecked Sendable {
    static let seconds: Double? = ProcessInfo.processInfo.environment["SWXL_STRESS_SECONDS"].flatMap { Double($0) }
    static let clients = ProcessInfo.processInfo.environment["SWXL_STRESS_CLIENTS"].flatMap { Int($0) } ?? 16
    static let seed: UInt64 = ProcessInfo.processInfo.environment["SWXL_STRESS_SEED"].flatMap { UInt64($0) }
        ?? UInt64.random(in: 1...UInt64(UInt32.max))
    /// A command that has not ended after this long hangs (an anomaly).
    static let commandTimeout: Double = 60
    /// The most domains one client keeps.
    static let domainsPerClient = 3

    let host: EmbeddedHost
    let seconds: Double
    let clientCount: Int
    let seed: UInt64
    let configPath: String
    private let lock = NSLock()
    private(set) var operations: [ChaosOperation] = []
    private(set) var kills = 0
    private(set) var restarts = 0
    private var daemonPids: Set<Int32> = []

    init(host: EmbeddedHost, seconds: Double, clients: Int, seed: UInt64) throws {
        self.host = host
        self.seconds = seconds
        self.clientCount = clients
        self.seed = seed
        let image = try host.image("disk")
        configPath = host.stateDir + "/chaos.cfg"
        try """
            name = "chaos"
            kernel = "\(host.kernel)"
            memory = 32
            maxmem = 48
            vcpus = 2
            disk = [ "\(image),raw,xvda,rw" ]
            vif = [ "bridge=xenbr0" ]

            """.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    var environment: [String: String] { host.environment.merging(["SWXL_EMBEDDED_BRIDGES": "xenbr0"]) { $1 } }

    /// What one create of the config writes, once its guest has settled
    /// (normalised, see ``ChaosCheck/layout(of:domid:uuid:name:)``).
    private(set) var referenceLayout: ChaosCheck.Layout = [:]
    /// The store's nodes that belong to no domain, after that create and its destroy.
    private(set) var hostNodes: [String: String] = [:]

    /// Creates and destroys the reference domain, before the clients start.
    func prepare() throws {
        let r = try host.swxl(["create", configPath, "name=chaos-ref"], environment: environment)
        guard r.status == 0 else { throw ChaosSetupError("reference create failed: \(r.stderr)") }
        guard let d = try host.domains().first(where: { $0["name"] as? String == "chaos-ref" }),
              let domid = d["domid"] as? Int, let uuid = d["uuid"] as? String else { throw ChaosSetupError("no reference domain") }
        // Settled: every frontend and backend Connected, and nothing changing.
        var previous: ChaosCheck.Layout = [:]
        let settled = try host.waitUntil(30) {
            let layout = ChaosCheck.layout(of: try host.storeTree(), domid: domid, uuid: uuid, name: "chaos-ref")
            defer { previous = layout }
            let states = layout.filter { $0.key.hasSuffix("/state") && !$0.key.hasPrefix("/libxl/") && !$0.key.contains("/console/") }
            return layout == previous && !states.isEmpty && states.values.allSatisfy { $0.hasPrefix("4 ") }
        }
        guard settled else { throw ChaosSetupError("the reference domain never settled: \(previous)") }
        referenceLayout = previous
        let destroy = try host.swxl(["destroy", "chaos-ref"], environment: environment)
        guard destroy.status == 0 else { throw ChaosSetupError("reference destroy failed: \(destroy.stderr)") }
        hostNodes = try host.storeTree().filter { ChaosCheck.owner(of: $0.key) == "host" }.mapValues { $0.value }
    }

    /// Runs the clients and the killer until the time is up.
    func start() {
        print("concurrency stress: \(clientCount) clients, \(Int(seconds)) s, seed \(seed) (SWXL_STRESS_SEED=\(seed) replays the choices)")
        let end = Date().addingTimeInterval(seconds)
        var threads: [Thread] = []
        let done = DispatchGroup()
        for client in 0..<clientCount {
            done.enter()
            let thread = Thread { [self] in
                runClient(client, until: end)
                done.leave()
            }
            thread.stackSize = 1 << 20
            threads.append(thread)
        }
        done.enter()
        let killer = Thread { [self] in
            runKiller(until: end)
            done.leave()
        }
        threads.append(killer)
        for thread in threads { thread.start() }
        done.wait()
    }

    // MARK: the clients

    /// One client: its own domains (`c<client>-<n>`) and store keys
    /// (`/chaos/c<client>/k<n>`), so that what it was told can be checked.
    private func runClient(_ client: Int, until end: Date) {
        var rng = SplitMix(seed: seed &+ UInt64(client + 1) &* 0x9E37_79B9_7F4A_7C15)
        var live: [String] = []
        var serial = 0
        while Date() < end {
            let roll = rng.next() % 100
            let op: ChaosOperation
            if roll < 30 && live.count < Self.domainsPerClient || live.isEmpty && roll < 60 {
                serial += 1
                let name = "c\(client)-\(serial)"
                op = command(client, .create, ["create", configPath, "name=\(name)"])
                if op.status == 0 { live.append(name) }
            } else if roll < 45 && !live.isEmpty {
                let name = live.remove(at: Int(rng.next() % UInt64(live.count)))
                op = command(client, .destroy, ["destroy", name])
                if op.status != 0 { live.append(name) }
            } else if roll < 65 && !live.isEmpty {
                let name = live[Int(rng.next() % UInt64(live.count))]
                op = command(client, .memSet, ["mem-set", name, "\(16 + rng.next() % 33)"])
            } else if roll < 75 {
                op = command(client, .list, ["list"])
            } else {
                serial += 1
                op = command(client, .storeWrite, ["store", "write", "/chaos/c\(client)/k\(serial)", "v\(serial)-\(rng.next() % 1000)"])
            }
            lock.withLock { operations.append(op) }
        }
    }

    /// Runs `swxl ARGS` to its end (or kills it after ``commandTimeout``),
    /// stdout and stderr in one file.
    private func command(_ client: Int, _ kind: ChaosOperation.Kind, _ arguments: [String]) -> ChaosOperation {
        let outPath = host.stateDir + "/chaos-out-\(client)"
        unlink(outPath)
        let started = Date()
        let env = environment.mapValues { Optional($0) }
        guard let pid = try? BackgroundProcess.spawn(executable: swxlBinary, arguments: arguments, environment: env,
                                                     output: .append(outPath), newSession: true) else {
            return ChaosOperation(client: client, kind: kind, arguments: arguments, status: 127, output: "cannot spawn", seconds: 0)
        }
        var status: Int32 = 0
        var exit: Int32? = nil
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                exit = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                break
            }
            if r < 0 && errno != EINTR { exit = 127; break }
            if Date().timeIntervalSince(started) > Self.commandTimeout {
                kill(-pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                break
            }
            usleep(5_000)
        }
        let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        return ChaosOperation(client: client, kind: kind, arguments: arguments, status: exit, output: output,
                              seconds: Date().timeIntervalSince(started))
    }

    // MARK: the killer

    /// Kills the daemon with SIGKILL at moments drawn from the seed
    /// (every 0.3 to 3 s); the clients' next commands start it again.
    private func runKiller(until end: Date) {
        var rng = SplitMix(seed: seed)
        let pidFile = host.stateDir + "/xenstored/xenstored.pid"
        while true {
            let pause = 0.3 + Double(rng.next() % 2700) / 1000
            let wake = Date().addingTimeInterval(pause)
            // Watch for restarts meanwhile.
            while Date() < wake && Date() < end {
                notePid(pidFile)
                usleep(10_000)
            }
            guard Date() < end else { break }
            if let pid = LockFile.readPid(pidFile), pid > 1, kill(pid, SIGKILL) == 0 {
                lock.withLock { kills += 1 }
            }
        }
    }

    private func notePid(_ pidFile: String) {
        guard let pid = LockFile.readPid(pidFile), pid > 1, kill(pid, 0) == 0 else { return }
        lock.withLock {
            if daemonPids.insert(pid).inserted && daemonPids.count > 1 { restarts += 1 }
        }
    }

    func figures(anomalies: Int) -> String {
        lock.withLock {
            var byKind: [String: (ok: Int, failed: Int)] = [:]
            for op in operations {
                var entry = byKind[op.kind.rawValue] ?? (0, 0)
                if op.status == 0 { entry.ok += 1 } else { entry.failed += 1 }
                byKind[op.kind.rawValue] = entry
            }
            let kinds = byKind.keys.sorted().map { "\($0) \(byKind[$0]!.ok)+\(byKind[$0]!.failed)" }.joined(separator: ", ")
            return """
                concurrency stress figures (seed \(seed), \(clientCount) clients, \(Int(seconds)) s):
                  operations: \(operations.count) (succeeded+failed: \(kinds))
                  daemon kills: \(kills), restarts: \(restarts)
                  anomalies: \(anomalies)
                """
        }
    }
}

struct ChaosSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A small seeded generator (SplitMix64): the same seed, the same choices.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// What the host must hold after a ``ChaosRun``, compared as whole
/// structures:
/// - every domain a create reported (and no destroy removed) exists, and
///   its nodes are exactly a create's layout (the reference domain's, made
///   before the run on the same host, with domid, uuid, name and the values
///   that differ between any two creates masked), with the memory target
///   of its last acknowledged `mem-set`;
/// - every domain a destroy reported is gone, every failed create left
///   nothing, a failed destroy left the domain whole or removed it whole;
/// - every acknowledged `store write` is there with its value;
/// - nothing else: no node, toolstack row, hypervisor domain, per-domain
///   file or guest process that no live domain explains.
struct ChaosCheck {
    let run: ChaosRun
    var host: EmbeddedHost { run.host }

    /// The layout of one domain: normalised path → `value (perms)`.
    typealias Layout = [String: String]

    /// Values that differ between two creates of one config (set by the
    /// host, not by the config): masked before layouts are compared.
    static let maskedSuffixes = ["/start_time", "/store/ring-ref", "/console/ring-ref", "/console/tty", "/mac",
                                 "/node", "/physical-device", "/physical-device-path", "/memory/target"]

    /// The nodes that belong to domain `domid` (uuid `uuid`), normalised.
    static func layout(of tree: [String: (value: String, perms: String)], domid: Int, uuid: String, name: String) -> Layout {
        let d = String(domid)
        var out: Layout = [:]
        for (path, node) in tree {
            guard let normal = normalise(path: path, domid: d, uuid: uuid) else { continue }
            var value = node.value
            let idKey = ["/domid", "/frontend-id", "/backend-id"].contains { path.hasSuffix($0) }
            if value == d && idKey { value = "$D" } else if value == uuid { value = "$U" } else if value == name { value = "$N" }
            else if value.hasPrefix("/") { value = normalise(path: value, domid: d, uuid: uuid) ?? value }
            if maskedSuffixes.contains(where: { normal.hasSuffix($0) }) { value = "*" }
            let perms = node.perms.split(separator: ",").map { p -> String in
                p.dropFirst() == d ? "\(p.first!)$D" : String(p)
            }.joined(separator: ",")
            out[normal] = "\(value) (\(perms))"
        }
        return out
    }

    /// `path` with the domain's id and uuid replaced, if it is one of the
    /// domain's nodes (its three roots and its backends in dom0), else nil.
    static func normalise(path: String, domid d: String, uuid: String) -> String? {
        let c = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        // c[0] is "" (the path is absolute).
        if c.count >= 4, c[1] == "local", c[2] == "domain", c[3] == d {
            return "/local/domain/$D" + c.dropFirst(4).map { "/" + $0 }.joined()
        }
        if c.count >= 7, c[1] == "local", c[2] == "domain", c[3] == "0", c[4] == "backend", c[6] == d {
            return "/local/domain/0/backend/\(c[5])/$D" + c.dropFirst(7).map { "/" + $0 }.joined()
        }
        if c.count >= 3, c[1] == "libxl", c[2] == d { return "/libxl/$D" + c.dropFirst(3).map { "/" + $0 }.joined() }
        if c.count >= 3, c[1] == "vm", c[2] == uuid { return "/vm/$U" + c.dropFirst(3).map { "/" + $0 }.joined() }
        return nil
    }

    /// Which domain (or which other part of the store) a node belongs to:
    /// "domain <id>", "vm <uuid>", "chaos" (the clients' writes) or "host".
    static func owner(of path: String) -> String {
        let c = path.split(separator: "/").map(String.init)
        if c.count >= 3, c[0] == "local", c[1] == "domain", c[2] != "0" { return "domain \(c[2])" }
        if c.count >= 6, c[0] == "local", c[1] == "domain", c[2] == "0", c[3] == "backend" { return "domain \(c[5])" }
        if c.count >= 2, c[0] == "libxl" { return "domain \(c[1])" }
        if c.count >= 2, c[0] == "vm" { return "vm \(c[1])" }
        if c.first == "chaos" { return "chaos" }
        return "host"
    }

    func anomalies() throws -> [String] {
        var found: [String] = []
        let ops = run.operations
        // Commands that hung.
        for op in ops where op.status == nil { found.append("hung: \(op.line)") }

        // What the clients were told, per name.
        var created: [String: ChaosOperation] = [:], destroyed: Set<String> = [], failedCreate: [String: ChaosOperation] = [:]
        var failedDestroy: [String: ChaosOperation] = [:]
        var memory: [String: (acked: String?, unsure: Set<String>)] = [:]
        var writes: [String: String] = [:]
        var history: [String: [String]] = [:]
        for op in ops where [.create, .destroy, .memSet].contains(op.kind) {
            let name = op.kind == .create ? String(op.arguments[2].dropFirst("name=".count)) : op.arguments[1]
            history[name, default: []].append(op.line)
        }
        for op in ops {
            switch op.kind {
            case .create:
                let name = String(op.arguments[2].dropFirst("name=".count))
                if op.status == 0 { created[name] = op } else { failedCreate[name] = op }
            case .destroy:
                let name = op.arguments[1]
                if op.status == 0 { destroyed.insert(name); failedDestroy[name] = nil } else { failedDestroy[name] = op }
            case .memSet:
                let name = op.arguments[1], kib = String((UInt64(op.arguments[2]) ?? 0) << 10)
                var entry = memory[name] ?? (nil, [])
                if op.status == 0 { entry = (kib, []) } else { entry.unsure.insert(kib) }
                memory[name] = entry
            case .storeWrite:
                if op.status == 0 { writes[op.arguments[2]] = op.arguments[3] }
            case .list:
                break
            }
        }

        // As a user would: one command after the run (it undoes creates that died midway).
        let list = try host.swxl(["list"], environment: run.environment)
        if list.status != 0 { found.append("swxl list after the run failed: \(list.stderr)") }
        let expectedLive = Set(created.keys).subtracting(destroyed)
        let reference = run.referenceLayout

        // Guests settle (frontends connect) in the background: look until the layouts match or time is up.
        var last: [String] = []
        _ = try host.waitUntil(30) {
            last = try storeAnomalies(expectedLive: expectedLive, eitherWay: Set(failedDestroy.keys),
                                      reference: reference, memory: memory, writes: writes, failedCreates: failedCreate)
            return last.isEmpty
        }
        // Each anomaly about a domain with what its commands said.
        for anomaly in last {
            let names = history.keys.filter { anomaly.contains("(\($0))") || anomaly.hasSuffix(": \($0)") }
            found.append(anomaly + names.flatMap { history[$0]! }.map { "\n    \($0)" }.joined())
        }
        return found
    }

    /// After the run, every domain destroyed: nothing of any domain may
    /// remain (nodes, rows, files), the guests' host leaves by itself, and
    /// no process of this host is left but the daemon.
    func teardownAnomalies() throws -> [String] {
        var found: [String] = []
        for d in try host.domains() where (d["domid"] as? Int ?? 0) != 0 {
            let r = try host.swxl(["destroy", "\(d["domid"]!)"], environment: run.environment)
            if r.status != 0 { found.append("destroy of domain \(d["domid"]!) after the run failed: \(r.stderr)") }
        }
        let nodes = try host.storeTree().filter { Self.owner(of: $0.key) != "chaos" }.mapValues { $0.value }
        if nodes != run.hostNodes {
            let extra = nodes.keys.filter { run.hostNodes[$0] != nodes[$0] }.sorted()
            let missing = run.hostNodes.keys.filter { nodes[$0] == nil }.sorted()
            found.append("with every domain destroyed the store is not the host's own: extra or changed \(extra.prefix(10)), missing \(missing.prefix(10))")
        }
        if !host.domainStateFiles().isEmpty { found.append("with every domain destroyed: \(host.domainStateFiles())") }
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: host.stateDir + "/domains")) ?? []
        if !dirs.isEmpty { found.append("with every domain destroyed, per-domain directories remain: \(dirs.sorted())") }
        // The guests' host leaves a few seconds after the last domain (one a last command started too).
        let daemon = LockFile.readPid(host.stateDir + "/xenstored/xenstored.pid")
        let marker = "SWXL_STATE_DIR=\(host.stateDir)"
        var others: [String] = []
        _ = host.waitUntil(30) {
            others = []
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = Int32(entry), pid != getpid(), pid != daemon, !isZombie(pid),
                      let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
                      environ.split(separator: 0).contains(where: { String(decoding: $0, as: UTF8.self) == marker }) else { continue }
                let cmdline = (FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()).split(separator: 0)
                    .map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
                others.append("\(pid): \(cmdline)")
            }
            return others.isEmpty
        }
        if !others.isEmpty { found.append("processes of this host left besides the daemon: \(others)") }
        return found
    }

    /// Everything wrong with the store, the toolstack's and hypervisor's rows and the per-domain files.
    func storeAnomalies(expectedLive: Set<String>, eitherWay: Set<String>, reference: Layout,
                        memory: [String: (acked: String?, unsure: Set<String>)], writes: [String: String],
                        failedCreates: [String: ChaosOperation]) throws -> [String] {
        var found: [String] = []
        let tree = try host.storeTree()
        let domains = try host.domains().filter { ($0["domid"] as? Int ?? 0) != 0 }
        var liveByName: [String: (domid: Int, uuid: String)] = [:]
        for d in domains {
            let name = d["name"] as? String ?? "(null)", domid = d["domid"] as? Int ?? -1, uuid = d["uuid"] as? String ?? ""
            if liveByName[name] != nil { found.append("two domains named \(name)") }
            liveByName[name] = (domid, uuid)
        }
        // (A destroy that failed may have removed the domain: if so, wholly, which the rows below check.)
        for name in expectedLive where liveByName[name] == nil && !eitherWay.contains(name) {
            found.append("reported created, never destroyed, but missing: \(name)")
        }
        for (name, d) in liveByName where !expectedLive.contains(name) {
            if let op = failedCreates[name] {
                found.append("a failed create left domain \(d.domid) (\(name)): \(op.line)")
            } else if !eitherWay.contains(name) {
                found.append("domain \(d.domid) (\(name)) exists but was reported destroyed or never created")
            }
        }
        // Each live domain: exactly a create's layout.
        for (name, d) in liveByName {
            var layout = Self.layout(of: tree, domid: d.domid, uuid: d.uuid, name: name)
            var expected = reference
            expected.removeValue(forKey: "/local/domain/$D/memory/target")
            let target = tree["/local/domain/\(d.domid)/memory/target"]?.value
            layout.removeValue(forKey: "/local/domain/$D/memory/target")
            if layout != expected {
                let missing = expected.keys.filter { layout[$0] == nil }.sorted()
                let extra = layout.keys.filter { expected[$0] == nil }.sorted()
                let changed = expected.keys.filter { layout[$0] != nil && layout[$0] != expected[$0] }.sorted()
                found.append("domain \(d.domid) (\(name)) is not a create's layout: "
                    + "missing \(missing.prefix(8)) (\(missing.count)), extra \(extra.prefix(8)) (\(extra.count)), "
                    + "different \(changed.prefix(4).map { "\($0): \(layout[$0]!) not \(expected[$0]!)" })")
            }
            let mem = memory[name] ?? (nil, [])
            let allowed = mem.unsure.union([mem.acked ?? "32768"])
            if let target, !allowed.contains(target) {
                found.append("domain \(d.domid) (\(name)): memory/target \(target), acknowledged \(mem.acked ?? "32768 (created)")")
            }
        }
        // Every other node: the clients' writes or the host's own.
        let liveDomids = Set(liveByName.values.map { String($0.domid) }), liveUUIDs = Set(liveByName.values.map(\.uuid))
        var orphans: [String] = []
        for path in tree.keys.sorted() {
            let owner = Self.owner(of: path)
            if owner.hasPrefix("domain "), !liveDomids.contains(String(owner.dropFirst(7))) { orphans.append(path) }
            if owner.hasPrefix("vm "), !liveUUIDs.contains(String(owner.dropFirst(3))) { orphans.append(path) }
            if owner == "host", run.hostNodes[path] == nil { orphans.append(path) }
        }
        if !orphans.isEmpty { found.append("\(orphans.count) nodes no live domain explains: \(orphans.prefix(10))") }
        for (path, value) in writes.sorted(by: { $0.key < $1.key }) where tree[path]?.value != value {
            found.append("acknowledged write lost: \(path) = \(value), store has \(tree[path]?.value ?? "nothing")")
        }
        // The toolstack's rows, the hypervisor's domains, the per-domain files.
        let expectedRows = (liveByName.keys.map { "name \($0)" } + liveByName.values.map { "record \($0.domid)" }
            + liveByName.values.map { "hypervisor domain \($0.domid)" } + liveByName.values.map { "toolstack/console/\($0.domid).log" }).sorted()
        let rows = host.domainStateFiles()
        if rows != expectedRows {
            found.append("state rows: extra \(Set(rows).subtracting(expectedRows).sorted()), missing \(Set(expectedRows).subtracting(rows).sorted())")
        }
        let domainDirs = Set((try? FileManager.default.contentsOfDirectory(atPath: host.stateDir + "/domains")) ?? [])
        // (Whether a live domain has one depends on how its guest connects; a gone one has none.)
        if !domainDirs.subtracting(liveDomids).isEmpty {
            found.append("per-domain directories of domains that are gone: \(domainDirs.subtracting(liveDomids).sorted())")
        }
        return found
    }
}
