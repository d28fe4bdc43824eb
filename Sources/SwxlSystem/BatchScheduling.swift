#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Waiting for the answers to a batch of requests without taking the CPU
/// back at each one. On a host with one CPU (a Xen dom0 with one vCPU) a
/// client that sends a pipelined batch and waits for its replies is woken
/// by each reply the daemon writes, and the scheduler lets it preempt the
/// daemon then (it has slept, so it is owed time): the two take turns at
/// every reply, two task switches each, dear in a paravirtualised dom0.
/// A thread under `SCHED_BATCH` is never preempted for nor preempts on a
/// wake-up (same weight and nice as `SCHED_OTHER` otherwise), so the
/// daemon answers the whole batch, and the client reads the replies once
/// the daemon waits again. Any thread may switch between the two policies.
public enum BatchScheduling {
    /// `SCHED_BATCH` (sched.h, a GNU extension Glibc's module leaves out).
    static let schedBatch: Int32 = 3

    /// Whether it is used (`SWXL_BATCH_SCHED=0` turns it off, for measuring).
    public static let enabled: Bool = getenv("SWXL_BATCH_SCHED").map { String(cString: $0) != "0" } ?? true

    /// Runs `body` with the calling thread under `SCHED_BATCH`, then puts
    /// `SCHED_OTHER` back; a thread under another policy (real-time, idle,
    /// already batch), or one the switch is refused to, runs `body` as it
    /// is, as does every thread when `batch` is false (one request).
    public static func whileWaiting<R, E: Error>(batch: Bool = true, _ body: () throws(E) -> R) throws(E) -> R {
        guard batch, enabled, sched_getscheduler(0) == SCHED_OTHER else { return try body() }
        var param = sched_param()
        param.sched_priority = 0
        guard sched_setscheduler(0, schedBatch, &param) == 0 else { return try body() }
        defer { _ = sched_setscheduler(0, SCHED_OTHER, &param) }
        return try body()
    }
}
