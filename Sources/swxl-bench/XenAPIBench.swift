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

/// `swxl-bench xenapi`: the XenAPI with many VMs, as a client sees it.
struct XenAPIBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xenapi",
        abstract: "VM.get_all_records with many VMs, and event.from's latency after `swxl create`, over swxl serve's socket.",
        discussion: """
            On a fresh embedded host (a temporary state dir, swxl's own xenstored, from the swxl \
            next to this program): `running` domains created and `defined` managed domains \
            defined; then `swxl serve` (the binary) on a Unix socket, and VM.get_all_records \
            timed `runs` times end to end: from the request's first byte sent to the response's \
            last byte read, over one kept-alive connection, as XML-RPC (the request as Python's \
            xmlrpc.client, which the XenAPI SDK uses, writes it) and as JSON-RPC. Also (labelled) \
            the call through the surface in this process without any envelope, and with \
            --python the SDK's own view (xmlrpc.client, its parsing included). Then `samples` \
            times: a client waits in event.from over the socket while `swxl create` (the binary) \
            creates one more domain; the latency is from the create's exit (the domain running) \
            to the client having read the response whose event shows the VM Running (negative: \
            the event came first).
            Targets: get_all_records of 1000 VMs <= 100 ms; the event within 50 ms.
            """)

    @Option(help: "Domains created (running, without simulated guests).")
    var running: Int = 500
    @Option(help: "Managed domains defined (halted).")
    var defined: Int = 500
    @Option(help: "get_all_records calls timed (each way).")
    var runs: Int = 50
    @Option(help: "`swxl create` runs timed for event.from's latency.")
    var samples: Int = 50
    @Option(help: "Where the temporary state dir goes (default /tmp).")
    var dir: String = "/tmp"
    @Flag(help: "Print each sample's time, in order.")
    var each = false
    @Flag(help: "Also time the calls with Python's xmlrpc.client (python3), its parsing of the response included.")
    var python = false

    func run() throws {
        let swxl = BenchSupport.siblingSWXL()
        guard access(swxl, X_OK) == 0 else { throw ValidationError("no swxl next to swxl-bench at \(swxl): build it first") }
        let kernel = BenchSupport.tinyKernel()
        let state = BenchSupport.temporaryDirectory(in: dir)
        let env = ["SWXL_STATE_DIR": state, "SWXL_SIM_MEMORY": "\(4 << 20)", "SWXL_SIM_CPUS": "8"]
        for (key, value) in env { setenv(key, value, 1) }
        unsetenv("XENSTORED_PATH")
        let socketPath = state + "/bench-xapi.sock", pidFile = state + "/bench-serve.pid"
        defer {
            if let pid = LockFile.readPid(pidFile), pid > 1 { kill(pid, SIGTERM) }
            BenchSupport.teardown(state: state)
        }

        let host = try ToolstackHost.open(kind: .embedded, environment: env, program: swxl)
        for i in 0..<running { _ = try host.toolstack.create(guest("run\(i)", kernel: kernel)) }
        for i in 0..<defined { try host.toolstack.define(guest("def\(i)", kernel: kernel)) }
        print("swxl-bench xenapi: embedded host in \(state), \(running) running + \(defined) defined + Domain-0; "
              + "load average \(Self.loadAverage())")

        // 1. Through the surface in this process, without the envelope.
        do {
            let surface = XenAPISurface(host: host)
            defer { surface.stop() }
            let context = XenAPICallContext(origin: .unixSocket(uid: 0)) { _, _ in true }
            guard case .success(let session) = surface.callSynchronously("session.login_with_password",
                                                                         [.string("root"), .string("")], context: context) else {
                throw ValidationError("login failed")
            }
            var times: [Double] = [], cpu: [Double] = [], xml: [Double] = [], json: [Double] = []
            var count = 0
            for _ in 0..<runs {
                let t0 = BenchSupport.now(), c0 = Self.threadCPU()
                let result = surface.callSynchronously("VM.get_all_records", [session], context: context)
                times.append(BenchSupport.now() - t0)
                cpu.append(Self.threadCPU() - c0)
                if case .success(.struct(let records)) = result { count = records.count } else { print("get_all_records failed: \(result)") }
                let x0 = BenchSupport.now()
                _ = XMLRPC.response(result)
                xml.append(BenchSupport.now() - x0)
                let j0 = BenchSupport.now()
                _ = JSONRPC.response(result, version: .v2, id: .int(1))
                json.append(BenchSupport.now() - j0)
            }
            let g = BenchSupport.percentiles(times), gc = BenchSupport.percentiles(cpu)
            let gx = BenchSupport.percentiles(xml), gj = BenchSupport.percentiles(json)
            print("VM.get_all_records of \(count) VMs through the surface, without the envelope: p50 \(Fmt2.ms(g.p50, 1)) ms, "
                  + "p99 \(Fmt2.ms(g.p99, 1)) ms (\(runs) runs; its thread's CPU p50 \(Fmt2.ms(gc.p50, 1)) ms); "
                  + "writing the response: XML-RPC p50 \(Fmt2.ms(gx.p50, 1)) ms, JSON-RPC p50 \(Fmt2.ms(gj.p50, 1)) ms")
        }

        // 2. `swxl serve` (detaches once it listens).
        let status = BenchSupport.spawnAndWait([swxl, "serve", "--socket", socketPath, "--pid-file", pidFile])
        guard status == 0 else { throw ValidationError("swxl serve failed: exit \(status)") }
        let client = try XenAPISocketClient(socketPath: socketPath)
        guard case .success(let session) = try client.call("session.login_with_password", [.string("root"), .string("")]) else {
            throw ValidationError("login over the socket failed")
        }
        // What the server costs idle: its event hub's looks on a timer.
        let idle0 = Self.processCPU(pidFile: pidFile), idleT0 = BenchSupport.now()
        usleep(5_000_000)
        let idle = (Self.processCPU(pidFile: pidFile) - idle0) / ((BenchSupport.now() - idleT0) / 1000)
        print("swxl serve idle with \(running + defined + 1) VMs: \(Fmt2.ms(idle, 1)) ms of CPU a second (its event hub's looks)")
        for wire in [XenAPISocketClient.Wire.xmlrpc, .jsonrpc] {
            let request = client.request("VM.get_all_records", [session], protocol: wire)
            // Once untimed: the answer checked (and the server warm).
            let first = try client.exchange(request)
            guard case .success(.struct(let records)) = try XenAPISocketClient.parse(first, wire) else {
                throw ValidationError("get_all_records over the socket failed")
            }
            var times: [Double] = []
            let serverCPU0 = Self.processCPU(pidFile: pidFile), clientCPU0 = Self.threadCPU()
            for _ in 0..<runs {
                let t0 = BenchSupport.now()
                let body = try client.exchange(request)
                times.append(BenchSupport.now() - t0)
                if body.count < first.count / 2 { throw ValidationError("a short answer: \(body.count) bytes") }
            }
            let serverCPU = (Self.processCPU(pidFile: pidFile) - serverCPU0) / Double(max(1, runs))
            let clientCPU = (Self.threadCPU() - clientCPU0) / Double(max(1, runs))
            if each { print("get_all_records \(wire) (ms, in order): " + times.map { Fmt2.ms($0, 1) }.joined(separator: " ")) }
            let g = BenchSupport.percentiles(times)
            print("VM.get_all_records of \(records.count) VMs over the socket, \(wire == .xmlrpc ? "XML-RPC" : "JSON-RPC") "
                  + "(\(first.count / 1024) KiB), end to end: p50 \(Fmt2.ms(g.p50, 1)) ms, p99 \(Fmt2.ms(g.p99, 1)) ms "
                  + "(\(runs) runs; target <= 100 ms at 1000); CPU per call: the server's \(Fmt2.ms(serverCPU, 1)) ms "
                  + "(every thread, its event hub's too), the client's \(Fmt2.ms(clientCPU, 1)) ms")
        }
        if python { pythonClient(socketPath: socketPath) }

        // 3. event.from: a client waits over the socket while `swxl create` runs.
        let waiter = try EventWaiter(socketPath: socketPath, session: session)
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
        if let problem = waiter.problem { print("the event client failed: \(problem)") }
        if each { print("event.from latency (ms, in order): " + latencies.map { ($0 < 0 ? "-" : "") + Fmt2.ms(abs($0), 1) }.joined(separator: " ")) }
        let l = BenchSupport.percentiles(latencies), c = BenchSupport.percentiles(creates)
        print("event.from over the socket after `swxl create`: p50 \(Fmt2.ms(l.p50, 1)) ms, p99 \(Fmt2.ms(l.p99, 1)) ms after the create exited "
              + "(\(latencies.count) of \(samples) creates seen, creates p50 \(Fmt2.ms(c.p50, 0)) ms; target <= 50 ms)")
        print("load average at the end: \(Self.loadAverage())")
    }

    /// The XenAPI SDK's view: Python's xmlrpc.client over the Unix socket
    /// (as the SDK's xapi_local transport), its parsing of the answer included.
    private func pythonClient(socketPath: String) {
        let script = """
            import http.client, socket, sys, time, xmlrpc.client
            class C(http.client.HTTPConnection):
                def __init__(self): super().__init__("localhost")
                def connect(self):
                    self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); self.sock.connect(sys.argv[1])
            class T(xmlrpc.client.Transport):
                def make_connection(self, host):
                    if self._connection[1] is None: self._connection = host, C()
                    return self._connection[1]
            p = xmlrpc.client.ServerProxy("http://localhost/", transport=T())
            s = p.session.login_with_password("root", "")["Value"]
            n = 0
            times = []
            for i in range(int(sys.argv[2]) + 1):
                t0 = time.monotonic(); r = p.VM.get_all_records(s); t1 = time.monotonic()
                assert r["Status"] == "Success"
                n = len(r["Value"])
                if i > 0: times.append((t1 - t0) * 1000)
            times.sort()
            print("%d %.1f %.1f" % (n, times[len(times) // 2], times[min(len(times) - 1, -(-99 * len(times) // 100) - 1)]))
            """
        let path = "/tmp/swxl-bench-xmlrpc-\(getpid()).py"
        guard (try? FileIO.writeAtomically(path, script)) != nil else { print("python: cannot write \(path)"); return }
        defer { unlink(path) }
        let outFile = path + ".out"
        defer { unlink(outFile) }
        let status = BackgroundProcess.run(executable: "/usr/bin/env", arguments: ["python3", path, socketPath, "\(min(runs, 20))"],
                                           output: .append(outFile))
        let output = FileIO.read(outFile) ?? ""
        let fields = output.split(separator: "\n").last?.split(separator: " ") ?? []
        guard status == 0, fields.count == 3 else {
            print("python3's xmlrpc.client: failed (exit \(status)): \(output.suffix(300))")
            print("python3's xmlrpc.client: did not run")
            return
        }
        print("VM.get_all_records of \(fields[0]) VMs with Python's xmlrpc.client (the SDK's transport), its parsing included: "
              + "p50 \(fields[1]) ms, p99 \(fields[2]) ms (\(min(runs, 20)) runs)")
    }

    static func loadAverage() -> String {
        (FileIO.read("/proc/loadavg") ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
    }

    /// The CPU time (user and system, every thread) of the process whose
    /// pid is in `pidFile`, in ms; 0 if it cannot be read.
    static func processCPU(pidFile: String) -> Double {
        guard let pid = LockFile.readPid(pidFile), pid > 1, let stat = FileIO.read("/proc/\(pid)/stat"),
              let close = stat.lastIndex(of: ")") else { return 0 }
        // After the command's name: state is field 3, utime and stime fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) * 1000 / Double(sysconf(Int32(_SC_CLK_TCK)))
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

/// A client in event.from over its own connection, noting when each VM
/// is first seen Running (when the response that shows it was read).
final class EventWaiter: @unchecked Sendable {
    let client: XenAPISocketClient
    let session: XenAPIValue
    private let lock = NSLockish()
    private var seen: [String: Double] = [:]
    private var stopping = false
    private(set) var problem: String?

    init(socketPath: String, session: XenAPIValue) throws {
        client = try XenAPISocketClient(socketPath: socketPath)
        self.session = session
    }

    func start() {
        var token = ""
        if case .success(.struct(let r))? = try? client.call("event.from", [session, .array([.string("vm")]), .string(""), .double(0)]),
           case .string(let t)? = r["token"] { token = t }
        let first = token
        _ = BenchThread.start { [self] in
            var token = first
            while !lock.with({ stopping }) {
                let result: XenAPIResult, now: Double
                do {
                    let body = try client.exchange(client.request("event.from", [session, .array([.string("vm")]), .string(token), .double(1)],
                                                                  protocol: .xmlrpc))
                    now = BenchSupport.now()
                    result = try XenAPISocketClient.parse(body, .xmlrpc)
                } catch {
                    lock.with { problem = "\(error)" }
                    return
                }
                guard case .success(.struct(let r)) = result else { continue }
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
