import ArgumentParser
import DomainConfig
import EmbeddedHost
#if canImport(Glibc)
import Glibc
#endif
import ManagementAPI
import SwxlSystem
import Toolstack

var xenAPIBenchmarks: [any ParsableCommand.Type] { [XenAPIBenchmark.self] }

/// `swxl-bench xenapi`: the XenAPI surface with many VMs.
struct XenAPIBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xenapi",
        abstract: "VM.get_all_records with many VMs, and event.from's latency after `swxl create`.",
        discussion: """
            On a fresh embedded host (a temporary state dir, swxl's own xenstored, from the swxl \
            next to this program): `running` domains created and `defined` managed domains \
            defined, then VM.get_all_records timed `runs` times through the surface (the call as \
            the transport hands it over, without the envelope). Then `samples` times: a client \
            waits in event.from while `swxl create` (the binary) creates one more domain; the \
            latency is from the create's exit (the domain running) to the client holding the \
            event that shows the VM Running (negative: the event came first).
            Targets: get_all_records of 1000 VMs <= 100 ms; the event within 50 ms.
            """)

    @Option(help: "Domains created (running, without simulated guests).")
    var running: Int = 500
    @Option(help: "Managed domains defined (halted).")
    var defined: Int = 500
    @Option(help: "get_all_records calls timed.")
    var runs: Int = 20
    @Option(help: "`swxl create` runs timed for event.from's latency.")
    var samples: Int = 20
    @Option(help: "Where the temporary state dir goes (default /tmp).")
    var dir: String = "/tmp"
    @Flag(help: "Print each sample's time, in order.")
    var each = false

    func run() throws {
        let swxl = BenchSupport.siblingSWXL()
        guard access(swxl, X_OK) == 0 else { throw ValidationError("no swxl next to swxl-bench at \(swxl): build it first") }
        let kernel = BenchSupport.tinyKernel()
        let state = BenchSupport.temporaryDirectory(in: dir)
        let env = ["SWXL_STATE_DIR": state, "SWXL_SIM_MEMORY": "\(4 << 20)", "SWXL_SIM_CPUS": "8"]
        for (key, value) in env { setenv(key, value, 1) }
        unsetenv("XENSTORED_PATH")
        defer { BenchSupport.teardown(state: state) }

        let host = try ToolstackHost.open(kind: .embedded, environment: env, program: swxl)
        for i in 0..<running { _ = try host.toolstack.create(guest("run\(i)", kernel: kernel)) }
        for i in 0..<defined { try host.toolstack.define(guest("def\(i)", kernel: kernel)) }
        let surface = XenAPISurface(host: host)
        defer { surface.stop() }
        let context = XenAPICallContext(origin: .unixSocket(uid: 0)) { _, _ in true }
        guard case .success(let session) = surface.callSynchronously("session.login_with_password",
                                                                     [.string("root"), .string("")], context: context) else {
            throw ValidationError("login failed")
        }
        print("swxl-bench xenapi: embedded host in \(state), \(running) running + \(defined) defined + Domain-0; load average \(Self.loadAverage())")

        var times: [Double] = [], cpu: [Double] = [], xml: [Double] = []
        var count = 0
        for _ in 0..<runs {
            let t0 = BenchSupport.now(), c0 = Self.threadCPU()
            let result = surface.callSynchronously("VM.get_all_records", [session], context: context)
            times.append(BenchSupport.now() - t0)
            cpu.append(Self.threadCPU() - c0)
            if case .success(.struct(let records)) = result { count = records.count } else { print("get_all_records failed: \(result)") }
            // What the transport adds: the XML-RPC response's bytes.
            let x0 = BenchSupport.now()
            _ = XMLRPC.response(result)
            xml.append(BenchSupport.now() - x0)
        }
        if each { print("get_all_records (ms, in order): " + times.map { Fmt2.ms($0, 1) }.joined(separator: " ")) }
        let g = BenchSupport.percentiles(times), gc = BenchSupport.percentiles(cpu), gx = BenchSupport.percentiles(xml)
        print("VM.get_all_records of \(count) VMs: p50 \(Fmt2.ms(g.p50, 0)) ms, p99 \(Fmt2.ms(g.p99, 0)) ms (\(runs) runs; target <= 100 ms at 1000); "
              + "its thread's CPU p50 \(Fmt2.ms(gc.p50, 0)) ms; the XML-RPC response p50 \(Fmt2.ms(gx.p50, 0)) ms more")

        // event.from: a client waits while `swxl create` runs.
        let waiter = EventWaiter(surface: surface, session: session, context: context)
        waiter.start()
        var latencies: [Double] = [], creates: [Double] = []
        let cfg = state + "/bench.cfg"
        for i in 0..<samples {
            let name = "ev\(i)"
            try FileIO.writeAtomically(cfg, "name = \"\(name)\"\nkernel = \"\(kernel)\"\nmemory = 16\n")
            let t0 = BenchSupport.now()
            let status = BenchSupport.spawnAndWait([swxl, "create", "-q", cfg])
            let t1 = BenchSupport.now()
            if status != 0 { print("swxl create failed: \(status)"); continue }
            guard let seen = waiter.wait(for: name, timeoutMs: 5000) else { print("no event for \(name) within 5 s"); continue }
            latencies.append(seen - t1)
            creates.append(t1 - t0)
        }
        waiter.stop()
        if each { print("event.from latency (ms, in order): " + latencies.map { ($0 < 0 ? "-" : "") + Fmt2.ms(abs($0), 1) }.joined(separator: " ")) }
        let l = BenchSupport.percentiles(latencies), c = BenchSupport.percentiles(creates)
        print("event.from after `swxl create`: p50 \(Fmt2.ms(l.p50, 0)) ms, p99 \(Fmt2.ms(l.p99, 0)) ms after the create exited "
              + "(\(latencies.count) creates of p50 \(Fmt2.ms(c.p50, 0)) ms; target <= 50 ms)")
    }

    static func loadAverage() -> String {
        (FileIO.read("/proc/loadavg") ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    }

    /// The calling thread's CPU time, in ms (what the call cost it, however busy the machine).
    static func threadCPU() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) * 1e3 + Double(t.tv_nsec) / 1e6
    }

    private func guest(_ name: String, kernel: String) -> DomainConfiguration {
        var config = DomainConfiguration(name_label: name, uuid: DomainUUID.random())
        config.memory_dynamic_max = 16 << 20
        config.memory_static_max = 16 << 20
        config.PV_kernel = kernel
        return config
    }
}

/// A client in event.from, noting when each VM is first seen Running.
final class EventWaiter: @unchecked Sendable {
    let surface: XenAPISurface
    let session: XenAPIValue
    let context: XenAPICallContext
    private let lock = NSLockish()
    private var seen: [String: Double] = [:]
    private var stopping = false

    init(surface: XenAPISurface, session: XenAPIValue, context: XenAPICallContext) {
        self.surface = surface
        self.session = session
        self.context = context
    }

    func start() {
        var token = ""
        if case .success(.struct(let r)) = surface.callSynchronously("event.from", [session, .array([.string("vm")]), .string(""), .double(0)], context: context),
           case .string(let t)? = r["token"] { token = t }
        let first = token
        _ = BenchThread.start { [self] in
            var token = first
            while !lock.with({ stopping }) {
                let result = surface.callSynchronously("event.from", [session, .array([.string("vm")]), .string(token), .double(1)], context: context)
                guard case .success(.struct(let r)) = result else { continue }
                let now = BenchSupport.now()
                if case .string(let t)? = r["token"] { token = t }
                guard case .array(let events)? = r["events"] else { continue }
                for case .struct(let e) in events {
                    guard case .struct(let snapshot)? = e["snapshot"], snapshot["power_state"] == .string("Running"),
                          case .string(let name)? = snapshot["name_label"] else { continue }
                    lock.with { if seen[name] == nil { seen[name] = now } }
                }
            }
        }
    }

    func wait(for name: String, timeoutMs: Double) -> Double? {
        let deadline = BenchSupport.now() + timeoutMs
        while BenchSupport.now() < deadline {
            if let t = lock.with({ seen[name] }) { return t }
            usleep(200)
        }
        return nil
    }

    func stop() { lock.with { stopping = true } }
}

/// A pthread mutex for the waiter's table.
final class NSLockish: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    func with<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}
