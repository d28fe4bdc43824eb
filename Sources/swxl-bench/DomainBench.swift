import ArgumentParser
import DomainConfig
import EmbeddedHost
#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import Toolstack
import XenStoreClient
import XenStoreProtocol

var domainBenchmarks: [any ParsableCommand.Type] { [DomainsBenchmark.self] }

/// `swxl-bench domains`: the domain lifecycle on a fresh embedded host.
struct DomainsBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "domains",
        abstract: "Create and destroy latency with N domains running, `swxl list` time, memory, destroying them all.",
        discussion: """
            On a fresh embedded host (a temporary state dir, swxl's own xenstored and the \
            simulated guests' host, all from the swxl next to this program), for each size N: \
            fill the host up to N running domains, wait until the daemon and the guests' host are \
            idle (they attach the new domains in the background), then time `samples` creates of \
            one more domain (each destroyed again, timed too, so N stays N). A create is the toolstack's \
            whole create (config to running domain: hypervisor, the xenstore transaction, \
            INTRODUCE, unpause), in this process, as `swxl create` runs it after parsing. \
            Then, with the largest N running, creates alternate between this host and a second \
            fresh one with the smallest N running (the same load weighs on both: their ratio \
            is the cost of the domains), `swxl list` (the binary, as a user runs it) \
            and `swxl create` (the binary, parsing included) are timed as processes, the \
            resident memory of the daemon and of the simulated guests' host is read from \
            /proc, and all the domains are destroyed, timed as a whole.
            Targets: create p50 <= 5 ms at every N up to 1000, and at the largest N <= 1.5x its \
            value at 1; `swxl list` of 1000 domains within 50 ms, of 10,000 within 200 ms; with \
            10,000 domains the daemon and the guests' host together under 1 GiB resident, and \
            destroying all of them within a minute.
            """)

    @Option(help: "Numbers of domains already running, comma-separated.")
    var sizes: String = "1,100,1000,10000"
    @Option(help: "Creates (and destroys) timed per size.")
    var samples: Int = 100
    @Option(help: "`swxl list` / `swxl create` runs timed at the largest size.")
    var runs: Int = 20
    @Flag(help: "Do not run the simulated guests (no guest host process).")
    var noGuests = false
    @Option(help: "Where the temporary state dir goes (default /tmp).")
    var dir: String = "/tmp"
    @Flag(name: .shortAndLong, help: "Also print the p50 of each create step, and the CPU time per create+destroy of each process.")
    var verbose = false

    func run() throws {
        let sizes = self.sizes.split(separator: ",").compactMap { Int($0) }.sorted()
        guard let largest = sizes.last else { throw ValidationError("no sizes") }
        let swxl = BenchSupport.siblingSWXL()
        guard access(swxl, X_OK) == 0 else { throw ValidationError("no swxl next to swxl-bench at \(swxl): build it first") }
        let kernel = BenchSupport.tinyKernel()
        let state = BenchSupport.temporaryDirectory(in: dir)
        let env = ["SWXL_STATE_DIR": state, "SWXL_SIM_MEMORY": "\(1 << 20)", "SWXL_SIM_CPUS": "8"]
        setenv("SWXL_STATE_DIR", state, 1)
        setenv("SWXL_SIM_MEMORY", "\(1 << 20)", 1)
        setenv("SWXL_SIM_CPUS", "8", 1)
        unsetenv("XENSTORED_PATH")
        defer { BenchSupport.teardown(state: state) }

        let host = try ToolstackHost.open(kind: .embedded, environment: env, program: swxl)
        let toolstack = host.toolstack
        if !noGuests { host.ensureWatcher() }
        print("swxl-bench domains: embedded host in \(state), kernel \(kernel), guests \(noGuests ? "off" : "on")")
        print("size   create p50   create p99   destroy p50   destroy p99   (ms, \(samples) samples each)")
        var running = 0
        var p50At: [Int: Double] = [:]
        for size in sizes {
            let fillStart = BenchSupport.now(), from = running
            while running < size {
                _ = try toolstack.create(guest("fill\(running)", kernel: kernel))
                running += 1
            }
            if size - from >= 1000 {
                print("(filled from \(from) to \(size) domains in \(Fmt2.ms((BenchSupport.now() - fillStart) / 1000, 0)) s)")
            }
            // The guests' host attaches the domains just made in the
            // background (each guest's frontends, its console): the samples
            // wait until it and the daemon are done, or they would time the
            // catching up of the fill too (at 10,000, after a fill of 9000,
            // that took seconds and made the p50s of small sample counts
            // grow with N).
            let quiet = settleUntilQuiet(state: state)
            if verbose || quiet > 2000 { print("(the daemon and the guests' host were idle after \(Fmt2.ms(quiet / 1000, 0)) s)") }
            var creates: [Double] = [], destroys: [Double] = []
            var stepTimes: [CreateStep: [Double]] = [:]
            var last = 0.0
            toolstack.onStep = { step in
                let t = BenchSupport.now()
                stepTimes[step, default: []].append(t - last)
                last = t
            }
            defer { toolstack.onStep = nil }
            let cpuBefore = cpuTimes(state: state)
            for i in 0..<samples {
                let config = guest("bench\(i)", kernel: kernel)
                let t0 = BenchSupport.now()
                last = t0
                let id = try toolstack.create(config)
                let t1 = BenchSupport.now()
                try toolstack.destroy(domid: id)
                let t2 = BenchSupport.now()
                creates.append(t1 - t0)
                destroys.append(t2 - t1)
            }
            let cpuAfter = cpuTimes(state: state)
            let c = BenchSupport.percentiles(creates), d = BenchSupport.percentiles(destroys)
            p50At[size] = c.p50
            var line = Fmt2.right("\(size)", 4) + "   " + Fmt2.ms(c.p50, 10) + "   " + Fmt2.ms(c.p99, 10) + "   "
                + Fmt2.ms(d.p50, 11) + "   " + Fmt2.ms(d.p99, 11)
            if verbose {
                line += "   steps p50:"
                for step in CreateStep.allCases { line += " \(step.rawValue) " + Fmt2.ms(BenchSupport.percentiles(stepTimes[step] ?? []).p50, 0) }
            }
            print(line)
            if verbose {
                // CPU time (not wall time: other processes' load does not
                // count) per create + destroy, each process's own.
                let per = { (i: Int) in Fmt2.ms(Double(cpuAfter[i] &- cpuBefore[i]) / 1e6 / Double(max(samples, 1)), 0) }
                print("      CPU per create+destroy: toolstack \(per(0)) ms, xenstored \(per(1)) ms, guests' host \(per(2)) ms"
                      + "; load average \(BenchSupport.loadAverage())")
            }
        }
        _ = settleUntilQuiet(state: state)
        var lists: [Double] = [], clis: [Double] = []
        for _ in 0..<runs {
            let t0 = BenchSupport.now()
            let status = BenchSupport.spawnAndWait([swxl, "list"])
            lists.append(BenchSupport.now() - t0)
            if status != 0 { print("swxl list failed: \(status)") }
        }
        let cfg = state + "/bench.cfg"
        for i in 0..<runs {
            _ = try? writeFile(cfg, "name = \"cli\(i)\"\nkernel = \"\(kernel)\"\nmemory = 16\n")
            let t0 = BenchSupport.now()
            let status = BenchSupport.spawnAndWait([swxl, "create", "-q", cfg])
            clis.append(BenchSupport.now() - t0)
            if status != 0 { print("swxl create failed: \(status)") }
            if let id = try? toolstack.resolve("cli\(i)") { try? toolstack.destroy(domid: id) }
        }
        let l = BenchSupport.percentiles(lists), cl = BenchSupport.percentiles(clis)
        let listTarget = largest <= 1000 ? "target <= 50 ms at 1000" : "target <= 200 ms at 10,000"
        print("`swxl list` with \(largest) domains: p50 \(Fmt2.ms(l.p50, 0)) ms, p99 \(Fmt2.ms(l.p99, 0)) ms (\(runs) runs; \(listTarget))")
        print("`swxl create` process with \(largest) domains: p50 \(Fmt2.ms(cl.p50, 0)) ms, p99 \(Fmt2.ms(cl.p99, 0)) ms (\(runs) runs, parsing included)")
        if let first = sizes.first, let a = p50At[first], let b = p50At[largest] {
            print("create p50 at \(largest) / at \(first): \(Fmt2.ms(b / a, 0))x (target <= 1.5x); p50 target <= 5 ms up to 1000")
            if first < largest { try alternate(toolstack, running: largest, withHostOf: first, env: env, swxl: swxl, kernel: kernel) }
        }
        let daemonKiB = BenchSupport.residentKiB(pidFile: state + "/xenstored/xenstored.pid")
        let guestsKiB = noGuests ? 0 : BenchSupport.residentKiB(pidFile: state + "/toolstack/sim-guests.lock")
        print("resident with \(running) domains: xenstored \(daemonKiB / 1024) MiB + guests' host \(guestsKiB / 1024) MiB = "
              + "\((daemonKiB + guestsKiB) / 1024) MiB (target < 1024 MiB at 10,000)")
        print("descriptors with \(running) domains: xenstored \(BenchSupport.descriptors(pidFile: state + "/xenstored/xenstored.pid")), "
              + "guests' host \(noGuests ? 0 : BenchSupport.descriptors(pidFile: state + "/toolstack/sim-guests.lock"))")
        // Every domain destroyed, one after another, as `swxl destroy` does each.
        let t0 = BenchSupport.now()
        var destroyed = 0
        for id in try toolstack.list().map(\.info.domid) where id != 0 {
            try toolstack.destroy(domid: id)
            destroyed += 1
        }
        let all = (BenchSupport.now() - t0) / 1000
        print("destroy of all \(destroyed) domains: \(Fmt2.ms(all, 0)) s (target <= 60 s at 10,000)")
    }

    /// The same creates and destroys on this host (`running` domains) and,
    /// one after the other, on a second fresh host with `small` domains:
    /// the machine's load, which changes from minute to minute on a shared
    /// machine, weighs on both alike, so their ratio is the cost of the
    /// domains running. The second host's state dir goes at the end.
    private func alternate(_ toolstack: Toolstack, running: Int, withHostOf small: Int, env: [String: String],
                           swxl: String, kernel: String) throws {
        let state = BenchSupport.temporaryDirectory(in: dir)
        defer { BenchSupport.teardown(state: state) }
        var env = env
        env["SWXL_STATE_DIR"] = state
        let other = try ToolstackHost.open(kind: .embedded, environment: env, program: swxl)
        if !noGuests { other.ensureWatcher() }
        for i in 0..<small { _ = try other.toolstack.create(guest("small\(i)", kernel: kernel)) }
        _ = settleUntilQuiet(state: state)
        var big: [Double] = [], little: [Double] = []
        for i in 0..<samples {
            // Each goes first half the time: the one after runs while the
            // first one's daemon and guests' host still deal with its destroy.
            let order = i % 2 == 0 ? [(toolstack, 0), (other.toolstack, 1)] : [(other.toolstack, 1), (toolstack, 0)]
            for (host, times) in order {
                let t0 = BenchSupport.now()
                let id = try host.create(guest("pair\(times)-\(i)", kernel: kernel))
                let t = BenchSupport.now() - t0
                try host.destroy(domid: id)
                if times == 0 { big.append(t) } else { little.append(t) }
            }
        }
        let b = BenchSupport.percentiles(big).p50, l = BenchSupport.percentiles(little).p50
        print("alternating with a host of \(small): create p50 \(Fmt2.ms(b, 0)) ms with \(running) running, "
              + "\(Fmt2.ms(l, 0)) ms with \(small): \(Fmt2.ms(b / l, 0))x (target <= 1.5x; \(samples) each, "
              + "load average \(BenchSupport.loadAverage()))")
        for id in try other.toolstack.list().map(\.info.domid) where id != 0 { try other.toolstack.destroy(domid: id) }
    }

    /// Waits (at least half a second, at most two minutes) until the daemon
    /// and the guests' host use less than 2% of a CPU over a quarter of a
    /// second; the milliseconds waited.
    private func settleUntilQuiet(state: String) -> Double {
        let start = BenchSupport.now()
        BenchSupport.settle()
        var last = Array(cpuTimes(state: state).dropFirst())
        while BenchSupport.now() - start < 120_000 {
            usleep(250_000)
            let now = Array(cpuTimes(state: state).dropFirst())
            let busiest = zip(now, last).map { $0 &- $1 }.max() ?? 0
            last = now
            if busiest < 5_000_000 { break }
        }
        return BenchSupport.now() - start
    }

    /// CPU time so far, in nanoseconds, of this process (the toolstack),
    /// the daemon and the simulated guests' host.
    private func cpuTimes(state: String) -> [UInt64] {
        [BenchSupport.cpuNanoseconds(pid: getpid()),
         LockFile.readPid(state + "/xenstored/xenstored.pid").map(BenchSupport.cpuNanoseconds) ?? 0,
         noGuests ? 0 : LockFile.readPid(state + "/toolstack/sim-guests.lock").map(BenchSupport.cpuNanoseconds) ?? 0]
    }

    /// A 16 MiB PV guest booting `kernel`, with a fresh uuid.
    private func guest(_ name: String, kernel: String) -> DomainConfiguration {
        var config = DomainConfiguration(name_label: name, uuid: DomainUUID.random())
        config.memory_dynamic_max = 16 << 20
        config.memory_static_max = 16 << 20
        config.PV_kernel = kernel
        return config
    }

    private func writeFile(_ path: String, _ text: String) throws {
        try FileIO.writeAtomically(path, text)
    }
}

enum Fmt2 {
    static func right(_ s: String, _ w: Int) -> String { s.count >= w ? s : String(repeating: " ", count: w - s.count) + s }
    /// Milliseconds with three decimals, right-aligned.
    static func ms(_ v: Double, _ w: Int) -> String {
        let scaled = Int((v * 1000).rounded())
        let magnitude = scaled.magnitude
        let frac = String(magnitude % 1000)
        return right((scaled < 0 ? "-" : "") + "\(magnitude / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac, w)
    }
}

enum BenchSupport {
    /// Milliseconds on the monotonic clock.
    static func now() -> Double {
        Double(SystemClock.monotonicNanoseconds()) / 1e6
    }

    static func percentiles(_ values: [Double]) -> (p50: Double, p99: Double) {
        let s = values.sorted()
        guard !s.isEmpty else { return (0, 0) }
        let p99 = min(s.count - 1, max(0, Int((0.99 * Double(s.count)).rounded(.up)) - 1))
        return (s[s.count / 2], s[p99])
    }

    static func executableDir() -> String {
        let path = CurrentProcess.executablePath()
        return String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
    }

    static func siblingSWXL() -> String { executableDir() + "/swxl" }

    /// examples/kernels/tiny-pv of the package this binary was built in.
    static func tinyKernel() -> String {
        var dir = executableDir()
        while !dir.isEmpty {
            let candidate = dir + "/examples/kernels/tiny-pv"
            if access(candidate, R_OK) == 0 { return candidate }
            dir = String(dir[..<(dir.lastIndex(of: "/") ?? dir.startIndex)])
        }
        return "examples/kernels/tiny-pv"
    }

    static func temporaryDirectory(in parent: String) -> String {
        var template = Array((parent + "/swxl-bench-domains-XXXXXX").utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return p.map { String(cString: $0) } ?? "/tmp/swxl-bench-domains"
    }

    /// VmRSS of the process whose pid is in `pidFile`, in KiB (0 if none).
    static func residentKiB(pidFile: String) -> Int {
        guard let pid = LockFile.readPid(pidFile), pid > 1,
              let status = FileIO.read("/proc/\(pid)/status") else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return 0
    }

    /// The CPU time a process has used, in nanoseconds: the sum over its
    /// threads of the first field of `/proc/<pid>/task/<tid>/schedstat`.
    static func cpuNanoseconds(pid: pid_t) -> UInt64 {
        guard pid > 0, let dir = opendir("/proc/\(pid)/task") else { return 0 }
        defer { closedir(dir) }
        var total: UInt64 = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            guard name.first != ".", let text = FileIO.read("/proc/\(pid)/task/\(name)/schedstat"),
                  let first = text.split(separator: " ").first, let ns = UInt64(first) else { continue }
            total += ns
        }
        return total
    }

    /// The 1-minute load average, as /proc/loadavg gives it.
    static func loadAverage() -> String {
        FileIO.read("/proc/loadavg").flatMap { $0.split(separator: " ").first.map(String.init) } ?? "?"
    }

    /// How many descriptors the process whose pid is in `pidFile` holds.
    static func descriptors(pidFile: String) -> Int {
        guard let pid = LockFile.readPid(pidFile), pid > 1, let dir = opendir("/proc/\(pid)/fd") else { return 0 }
        defer { closedir(dir) }
        var count = 0
        while readdir(dir) != nil { count += 1 }
        return max(0, count - 2)
    }

    /// Lets the guest host catch up (it attaches new domains in the background).
    static func settle() { usleep(500_000) }

    /// Runs `argv` to its end, output discarded; its exit status.
    @discardableResult
    static func spawnAndWait(_ argv: [String]) -> Int32 {
        BackgroundProcess.run(executable: argv[0], arguments: Array(argv.dropFirst()))
    }

    /// Stops every process of the benchmark's host (its xenstored, the
    /// simulated guests' host, `swxl serve`: whatever runs with
    /// `SWXL_STATE_DIR=state`, including one a client restarted after the
    /// recorded one stopped), waits for them to go (SIGKILL after 5 s), and
    /// removes its state dir.
    static func teardown(state: String) {
        var pids = processes(withEnvironment: "SWXL_STATE_DIR=" + state)
        for file in ["/toolstack/sim-guests.lock", "/xenstored/xenstored.pid"] {
            if let pid = LockFile.readPid(state + file), pid > 1, !pids.contains(pid) { pids.append(pid) }
        }
        for pid in pids { kill(pid, SIGTERM) }
        let deadline = now() + 5000
        while pids.contains(where: { kill($0, 0) == 0 }) && now() < deadline { usleep(20_000) }
        for pid in pids where kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        _ = spawnAndWait(["/bin/rm", "-rf", state])
    }

    /// The processes (other than this one) whose environment holds `entry`.
    static func processes(withEnvironment entry: String) -> [pid_t] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        let me = getpid()
        var found: [pid_t] = []
        while let item = readdir(dir) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            guard let pid = pid_t(name), pid != me,
                  let environ = FileIO.read("/proc/\(name)/environ") else { continue }
            if environ.split(separator: "\0").contains(where: { $0 == entry }) { found.append(pid) }
        }
        return found
    }
}
