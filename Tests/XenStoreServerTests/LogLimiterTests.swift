import Testing
@testable import XenStoreServer

@Suite struct LogLimiterTests {
    let second: UInt64 = 1_000_000_000

    /// Runs `count` lines from `source`, one every `gap` nanoseconds from
    /// `start`, and returns what the limiter answered for each.
    func run(_ limiter: inout LogLimiter, _ source: LogLimiter.Source, count: Int,
             start: UInt64 = 0, gap: UInt64 = 0) -> [(Bool, Int)] {
        (0..<count).map { i in
            let answer = limiter.admit(source, now: start + UInt64(i) * gap)
            return (answer.allowed, answer.suppressed)
        }
    }

    @Test func aBurstThenNothingUntilTheBucketRefills() {
        var limiter = LogLimiter(burst: 3, perSecond: 1)
        let answers = run(&limiter, .domain(7), count: 6)
        #expect(answers.map(\.0) == [true, true, true, false, false, false])
        // One second later one line is let through, carrying the count.
        let later = limiter.admit(.domain(7), now: second)
        #expect(later.allowed && later.suppressed == 3)
        #expect(limiter.admit(.domain(7), now: second).allowed == false)
    }

    @Test func sourcesAreCountedApart() {
        var limiter = LogLimiter(burst: 2, perSecond: 1)
        #expect(run(&limiter, .domain(1), count: 3).map(\.0) == [true, true, false])
        #expect(run(&limiter, .domain(2), count: 2).map(\.0) == [true, true])
        #expect(run(&limiter, .connection(2), count: 2).map(\.0) == [true, true])
        #expect(limiter.flush(.domain(1)) == 1)
        #expect(limiter.flush(.domain(1)) == 0)
        // A flushed source starts again with a whole burst.
        #expect(run(&limiter, .domain(1), count: 2).map(\.0) == [true, true])
    }

    @Test func aSteadyFloodGetsTheRateAndNoMore() {
        var limiter = LogLimiter(burst: 5, perSecond: 2)
        // 10 seconds of a line every millisecond, both ends included.
        let answers = run(&limiter, .domain(3), count: 10_001, gap: 1_000_000)
        let allowed = answers.filter(\.0).count
        #expect(allowed == 5 + 20)
        #expect(answers.map(\.1).reduce(0, +) + limiter.flush(.domain(3)) == 10_001 - allowed)
    }

    @Test func quietSourcesAreForgottenWhenThereAreTooMany() {
        var limiter = LogLimiter(burst: 1, perSecond: 1, maxSources: 4)
        for id in 1...4 { _ = limiter.admit(.connection(ConnectionID(id)), now: 0) }
        _ = limiter.admit(.connection(1), now: 0)  // suppressed: owes a count
        // Ten seconds on, the others are full again and go; the one that owes stays.
        _ = limiter.admit(.connection(5), now: 10 * second)
        #expect(Set(limiter.buckets.keys) == [.connection(1), .connection(5)])
    }
}
