#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import SwxlSystem
import Synchronization
import XenStoreClient
import XenStoreProtocol

var storeBenchmarks: [any ParsableCommand.Type] { [StoreBench.self, LogFloodBench.self] }

/// `swxl-bench store`: round trips to a running xenstore daemon, each client
/// a thread with its own connection. Prints ops/s, mean and p99 latency per
/// operation and client count, then the read latency with many idle
/// connections open. `scripts/bench-store` runs it against a fresh daemon.
struct StoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "xenstore round trips: ops/s, mean and p99 latency (read, write, directory, transaction).")

    @Option(help: "The daemon's socket (default: XENSTORED_PATH, else the embedded daemon's).") var socket: String?
    @Option(help: "Seconds each case runs.") var seconds = 1.0
    @Option(help: "Client counts, comma-separated.") var clients = "1,16"
    @Option(help: "Idle connections held open for the last case (0: skip it).") var idle = 1000
    @Option(help: "Operations to run, comma-separated (read, write, directory, transaction).")
    var operations = Operation.allCases.map(\.rawValue).joined(separator: ",")

    enum Operation: String, CaseIterable {
        case read, write, directory, transaction
    }

    /// Keys per client.
    static let keys = 64

    func run() throws {
        let path = socket ?? XenStoreConnector.current().environment["XENSTORED_PATH"].flatMap { $0.isEmpty ? nil : $0 }
            ?? XenStoreConnector.current().paths.daemonSocket
        let counts = clients.split(separator: ",").compactMap { Int($0) }
        var ops: [Operation] = []
        for name in operations.split(separator: ",") {
            guard let op = Operation(rawValue: String(name)) else { throw ValidationError("unknown operation '\(name)'") }
            ops.append(op)
        }
        let setup = try XenStoreClient(socketPath: path)
        for c in 0..<(counts.max() ?? 1) {
            try setup.withTransaction { tx in
                for k in 0..<Self.keys { try tx.write("/bench/c\(c)/k\(k)", "value-\(k)-0123456") }
            }
        }
        print("swxl-bench store: \(path), \(seconds) s per case")
        print(Self.header)
        for count in counts {
            for op in ops {
                let result = try measure(op, clients: count, socket: path)
                print(result.row(op.rawValue, clients: count))
                if op == .transaction {
                    // Each transaction is four round trips: start, read, write, commit.
                    print(Self.pad("  = requests/s", 34) + Self.lpad("\(Int(Double(4 * result.ops) / result.seconds))", 11))
                }
            }
        }
        if idle > 0 {
            // Without and with the idle connections, alternating, three
            // rounds each: on a busy machine the load drifts, and the
            // medians of the rounds compare like with like.
            var without: [Result] = [], with: [Result] = []
            for _ in 0..<3 {
                without.append(try measure(.read, clients: 1, socket: path))
                var held: [XenStoreClient] = []
                for _ in 0..<idle {
                    let client = try XenStoreClient(socketPath: path)
                    _ = try client.read("/bench/c0/k0")  // the daemon has surely taken it on
                    held.append(client)
                }
                with.append(try measure(.read, clients: 1, socket: path))
                held.removeAll()
            }
            let base = Self.median(without), loaded = Self.median(with)
            print(base.row("read, 0 idle (median)", clients: 1))
            print(loaded.row("read, \(idle) idle (median)", clients: 1))
            print("p99 read with \(idle) idle connections / without: \(Self.fixed(loaded.p99 / base.p99, 2))x (target <= 2x)")
        }
        try setup.rm("/bench")
    }

    static let header = pad("operation", 26) + lpad("clients", 8) + lpad("ops/s", 11) + lpad("mean us", 10) + lpad("p99 us", 10) + lpad("retries", 9)

    struct Result {
        var ops: Int
        var seconds: Double
        var mean: Double   // microseconds
        var p99: Double    // microseconds
        var retries: Int

        func row(_ name: String, clients: Int) -> String {
            StoreBench.pad(name, 26) + StoreBench.lpad("\(clients)", 8) + StoreBench.lpad("\(Int(Double(ops) / seconds))", 11)
                + StoreBench.lpad(StoreBench.fixed(mean, 1), 10) + StoreBench.lpad(StoreBench.fixed(p99, 1), 10)
                + StoreBench.lpad("\(retries)", 9)
        }
    }

    /// Runs `op` on `clients` threads for `seconds`; latencies of every call.
    func measure(_ op: Operation, clients: Int, socket: String) throws -> Result {
        let connections = try (0..<clients).map { _ in try XenStoreClient(socketPath: socket) }
        let start = Atomic<Bool>(false)
        let samples = Mutex<[[UInt32]]>([])
        let retries = Atomic<Int>(0)
        let failure = Mutex<String?>(nil)
        let duration = Int64(seconds * 1e9)
        let threads = (0..<clients).map { index in
            let client = connections[index]
            return BenchThread.start {
                var latencies: [UInt32] = []
                latencies.reserveCapacity(200_000)
                while !start.load(ordering: .acquiring) { sched_yield() }
                let end = now() + duration
                var i = 0
                do {
                    while true {
                        let key = "/bench/c\(index)/k\(i % StoreBench.keys)"
                        let t0 = now()
                        switch op {
                        case .read: _ = try client.read(key)
                        case .write: try client.write(key, "value-\(i)")
                        case .directory: _ = try client.directory("/bench/c\(index)")
                        case .transaction:
                            var attempts = 0
                            try client.withTransaction { tx in
                                attempts += 1
                                _ = try tx.read(key)
                                try tx.write("/bench/c\(index)/k\((i + 1) % StoreBench.keys)", "tx-\(i)")
                            }
                            if attempts > 1 { retries.add(attempts - 1, ordering: .relaxed) }
                        }
                        let t1 = now()
                        latencies.append(UInt32(clamping: t1 - t0))
                        i += 1
                        if t1 >= end { break }
                    }
                } catch {
                    failure.withLock { $0 = "\(op) on client \(index): \(error)" }
                }
                samples.withLock { $0.append(latencies) }
            }
        }
        let t0 = now()
        start.store(true, ordering: .releasing)
        for thread in threads { BenchThread.join(thread) }
        let elapsed = Double(now() - t0) / 1e9
        if let message = failure.withLock({ $0 }) { throw ValidationError(message) }
        var all = samples.withLock { $0.flatMap { $0 } }
        all.sort()
        let total = all.reduce(0.0) { $0 + Double($1) }
        return Result(ops: all.count, seconds: elapsed,
                      mean: all.isEmpty ? 0 : total / Double(all.count) / 1000,
                      p99: all.isEmpty ? 0 : Double(all[Int(Double(all.count - 1) * 0.99)]) / 1000,
                      retries: retries.load(ordering: .relaxed))
    }

    /// The round with the median p99.
    static func median(_ rounds: [Result]) -> Result {
        rounds.sorted { $0.p99 < $1.p99 }[rounds.count / 2]
    }

    static func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
    static func lpad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
    static func fixed(_ x: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let v = (x * scale).rounded() / scale
        let whole = Int(v)
        let frac = Int(((v - Double(whole)) * scale).rounded())
        let fracText = String(frac)
        return "\(whole)." + String(repeating: "0", count: max(0, digits - fracText.count)) + fracText
    }
}

private func now() -> Int64 { Int64(SystemClock.monotonicNanoseconds()) }

/// Plain POSIX threads: blocking clients must not sit on Swift's small
/// cooperative pool.
enum BenchThread {
    final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    static func start(_ body: @escaping @Sendable () -> Void) -> pthread_t {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { arg in
            Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue().body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed")
        return thread
    }

    static func join(_ thread: pthread_t) {
        pthread_join(thread, nil)
    }
}
