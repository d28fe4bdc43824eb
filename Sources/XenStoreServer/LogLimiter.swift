import SwxlSystem

/// Keeps one client from flooding dom0's log: the lines a domain (or one
/// of dom0's own connections) causes are let through in a burst, then at a
/// steady rate; the rest are counted, and the count is said with the next
/// line let through for that source, or by ``flush(_:)``.
///
/// A domain is one source however often it reconnects, so a guest that
/// sends a bad frame, is disconnected and comes back gets no more lines
/// than one that stays. For a flood lasting T seconds a source writes at
/// most `burst + T × perSecond` lines (each may carry a count).
struct LogLimiter {
    enum Source: Hashable, CustomStringConvertible {
        case domain(UInt32)
        case connection(ConnectionID)

        var description: String {
            switch self {
            case .domain(let domid): "domain \(domid)"
            case .connection(let id): "connection \(id)"
            }
        }
    }

    /// A source's credit, in nanoseconds of the steady rate: each line
    /// costs ``cost``, time earns it back, up to ``burst`` lines' worth.
    struct Bucket {
        var credit: UInt64
        var at: UInt64
        var suppressed = 0
    }

    let burst: Int
    /// Nanoseconds of credit one line costs: one second over the rate.
    let cost: UInt64
    /// Sources with nothing to report are forgotten past this many.
    let maxSources: Int
    private(set) var buckets: [Source: Bucket] = [:]

    init(burst: Int = 20, perSecond: Int = 2, maxSources: Int = 4096) {
        self.burst = burst
        self.cost = 1_000_000_000 / UInt64(perSecond)
        self.maxSources = maxSources
    }

    private var capacity: UInt64 { UInt64(burst) * cost }

    private func credit(of bucket: Bucket, now: UInt64) -> UInt64 {
        let earned = now >= bucket.at ? now - bucket.at : 0
        return min(capacity, bucket.credit &+ earned)
    }

    /// Whether `source` may write a line now; if so, how many of its lines
    /// were suppressed since it last wrote one (to be said with it).
    mutating func admit(_ source: Source, now: UInt64) -> (allowed: Bool, suppressed: Int) {
        var bucket = buckets[source] ?? Bucket(credit: capacity, at: now)
        bucket.credit = credit(of: bucket, now: now)
        bucket.at = now
        guard bucket.credit >= cost else {
            bucket.suppressed += 1
            buckets[source] = bucket
            return (false, 0)
        }
        bucket.credit -= cost
        let suppressed = bucket.suppressed
        bucket.suppressed = 0
        if buckets[source] == nil && buckets.count >= maxSources { prune(now: now) }
        buckets[source] = bucket
        return (true, suppressed)
    }

    /// Forgets `source`, returning the count of its lines not yet reported.
    mutating func flush(_ source: Source) -> Int {
        buckets.removeValue(forKey: source)?.suppressed ?? 0
    }

    /// Drops the sources that would be let through anyway and owe no count.
    private mutating func prune(now: UInt64) {
        buckets = buckets.filter { _, bucket in
            bucket.suppressed > 0 || credit(of: bucket, now: now) < capacity
        }
    }
}
