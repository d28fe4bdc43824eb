#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import Testing

/// A client waiting for a batch's replies runs under SCHED_BATCH (it does
/// not preempt the daemon at each reply), and SCHED_OTHER comes back after.
@Suite struct BatchSchedulingTests {
    struct Boom: Error {}

    @Test func theWaitRunsUnderBatchThenTheThreadIsAsBefore() throws {
        try #require(sched_getscheduler(0) == SCHED_OTHER)
        #expect(BatchScheduling.whileWaiting { sched_getscheduler(0) } == 3)
        #expect(sched_getscheduler(0) == SCHED_OTHER)
        // One request: nothing to batch.
        #expect(BatchScheduling.whileWaiting(batch: false) { sched_getscheduler(0) } == SCHED_OTHER)
        // A wait that fails gives the policy back too.
        #expect(throws: Boom.self) { try BatchScheduling.whileWaiting { () throws(Boom) -> Int32 in throw Boom() } }
        #expect(sched_getscheduler(0) == SCHED_OTHER)
    }
}
