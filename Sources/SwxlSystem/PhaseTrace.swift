#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where a command's time goes, for the benchmarks: with `SWXL_TRACE_TIMES`
/// set in the environment, each ``mark(_:)`` writes one line on stderr,
/// `swxl-trace: <CLOCK_MONOTONIC ms> <what> [<minor faults>]`, on the clock
/// the QEMU harness's `xq-tools now` reads, so the phases line up with its
/// own timestamps; the bracket is the process's page faults so far (in a
/// Xen PV dom0 under the harness's TCG each first touch of a page of the
/// binary or of new memory is dear). Off (one environment lookup, once)
/// otherwise.
public enum PhaseTrace {
    public static let enabled: Bool = getenv("SWXL_TRACE_TIMES") != nil

    @inlinable
    public static func mark(_ what: @autoclosure () -> String) {
        guard enabled else { return }
        emit(what())
    }

    public static func emit(_ what: String) {
        let ns = SystemClock.monotonicNanoseconds()
        let ms = ns / 1_000_000, frac = (ns / 100_000) % 10
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let line = "swxl-trace: \(ms).\(frac) \(what) [\(usage.ru_minflt)]\n"
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
