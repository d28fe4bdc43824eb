#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import Synchronization
import SwxlSystem
import XenStoreClient

/// A guest that floods dom0's xenstored with malformed frames: what dom0's
/// own clients see meanwhile (`scripts/bench-log-flood` adds the log's size).
struct LogFloodBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log-flood",
        abstract: "Read latency from dom0 while a domain's connection sends malformed frames.")

    @Option(help: "The daemon's dom0 socket.") var socket: String
    @Option(help: "The daemon's state directory (for the domain's socket).") var stateDir: String
    @Option(help: "Domain to introduce and flood from.") var domid: UInt32 = 5
    @Option(help: "Malformed frames to send, one per connection.") var frames = 100_000
    @Option(help: "Reads from dom0 for the baseline.") var reads = 50_000

    func run() throws {
        let dom0 = try XenStoreClient(socketPath: socket)
        try dom0.write("/bench/flood", "x")
        try dom0.introduce(domid: domid, mfn: 0, eventChannel: 0)
        let domainSocket = "\(stateDir)/domains/\(domid)/xenbus"
        while access(domainSocket, F_OK) != 0 { usleep(1000) }

        var baselineReads = 0
        let baseline = try Self.readLatencies(dom0) { baselineReads += 1; return baselineReads <= reads }
        let done = Atomic<Bool>(false)
        let sent = Atomic<Int>(0)
        let failure = Mutex<String?>(nil)
        let t0 = SystemClock.monotonicNanoseconds()
        let flood = BenchThread.start { [frames] in
            // A header claiming a payload longer than xenstore allows.
            var frame = [UInt8](repeating: 0, count: 16)
            frame[12] = 0xff; frame[13] = 0xff
            var sink = [UInt8](repeating: 0, count: 64)
            for _ in 0..<frames {
                let fd: Int32
                do { fd = try UnixSocket.connect(domainSocket) } catch {
                    failure.withLock { $0 = "connect \(domainSocket): \(error)" }
                    break
                }
                _ = frame.withUnsafeBytes { write(fd, $0.baseAddress, 16) }
                while read(fd, &sink, sink.count) > 0 {}
                close(fd)
                sent.add(1, ordering: .relaxed)
            }
            done.store(true, ordering: .releasing)
        }
        let during = try Self.readLatencies(dom0) { !done.load(ordering: .acquiring) }
        BenchThread.join(flood)
        let seconds = Double(SystemClock.monotonicNanoseconds() - t0) / 1e9
        if let message = failure.withLock({ $0 }) { throw ValidationError(message) }
        try dom0.release(domid: domid)
        var afterReads = 0
        let after = try Self.readLatencies(dom0) { afterReads += 1; return afterReads <= reads }

        // Alone: the reads before the flood and after it, together.
        let alone = Self.p99(baseline + after), flooded = Self.p99(during)
        print("frames sent: \(sent.load(ordering: .relaxed)) in \(StoreBench.fixed(seconds, 2)) s")
        print("dom0 read p99: \(StoreBench.fixed(alone, 1)) µs alone (\(baseline.count) reads before the flood "
              + "and \(after.count) after), \(StoreBench.fixed(flooded, 1)) µs during it (\(during.count) reads): "
              + "ratio \(StoreBench.fixed(flooded / alone, 2)) (target ≤ 2.00)")
        print("flood-seconds \(StoreBench.fixed(seconds, 3))")
    }

    /// Latencies (ns) of reads from `client` for as long as `more` says.
    static func readLatencies(_ client: XenStoreClient, while more: () -> Bool) throws -> [UInt64] {
        var latencies: [UInt64] = []
        while more() {
            let t0 = SystemClock.monotonicNanoseconds()
            _ = try client.read("/bench/flood")
            latencies.append(SystemClock.monotonicNanoseconds() - t0)
        }
        return latencies
    }

    /// The 99th percentile, in microseconds.
    static func p99(_ latencies: [UInt64]) -> Double {
        guard !latencies.isEmpty else { return 0 }
        let sorted = latencies.sorted()
        return Double(sorted[Int(Double(sorted.count - 1) * 0.99)]) / 1000
    }
}
