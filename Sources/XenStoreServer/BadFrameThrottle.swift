#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CEpoll

/// Paces a domain whose connections send malformed frames, so that a guest
/// flooding the daemon (connect, garbage, disconnected, connect again) gets
/// no more than its share of it: a burst of ``burst`` such frames, then
/// ``perSecond`` a second. Past that the domain's socket is not accepted
/// from until it has earned the next one back: the guest's next `connect`
/// waits in the socket's backlog (its process sleeps), while everyone
/// else is served. Without it, a guest that reconnected in a loop kept
/// the daemon busy all the time, and dom0's reads waited behind it (their
/// p99 two to seven times what it was without the flood).
struct BadFrameThrottle {
    /// Credit is kept in nanoseconds of the steady rate, as ``LogLimiter`` does.
    struct Bucket {
        var credit: UInt64
        var at: UInt64
    }

    let burst: Int
    /// Nanoseconds of credit one malformed frame costs.
    let cost: UInt64
    private(set) var buckets: [UInt32: Bucket] = [:]

    init(burst: Int = 100, perSecond: Int = 2000) {
        self.burst = max(burst, 1)
        self.cost = 1_000_000_000 / UInt64(max(perSecond, 1))
    }

    private var capacity: UInt64 { UInt64(burst) * cost }

    /// Counts one malformed frame from `domid` at `now`; nil if its socket
    /// may still be accepted from, or else when it may be again.
    mutating func charge(_ domid: UInt32, now: UInt64) -> UInt64? {
        var bucket = buckets[domid] ?? Bucket(credit: capacity, at: now)
        let earned = now >= bucket.at ? now - bucket.at : 0
        bucket.credit = min(capacity, bucket.credit &+ earned)
        bucket.at = now
        bucket.credit = bucket.credit >= cost ? bucket.credit - cost : 0
        buckets[domid] = bucket
        return bucket.credit >= cost ? nil : now + (cost - bucket.credit)
    }

    /// Forgets `domid` (its socket closed: released).
    mutating func forget(_ domid: UInt32) {
        buckets[domid] = nil
    }
}

extension SocketServer {
    /// A connection of `domid`'s socket sent a malformed frame: if that
    /// was one too many for now, the socket is left alone (not polled, so
    /// not accepted from) until ``resumeListeners(now:)`` finds it due.
    func chargeBadFrame(_ domid: UInt32) {
        let now = throttleClock()
        guard let until = badFrames.charge(domid, now: now), let fd = domainListeners[domid] else { return }
        if pausedListeners[domid] == nil {
            watch(fd, events: 0, modify: true)
            logger.debug("domain \(domid): malformed frames faster than \(badFrames.burst) at once and \(1_000_000_000 / badFrames.cost) a second; its socket waits")
        }
        pausedListeners[domid] = max(pausedListeners[domid] ?? 0, until)
    }

    /// Polls again the domain sockets whose wait is over.
    func resumeListeners(now: UInt64) {
        guard !pausedListeners.isEmpty else { return }
        for (domid, until) in pausedListeners where until <= now {
            pausedListeners[domid] = nil
            if listenersEnabled, let fd = domainListeners[domid] { watch(fd, events: UInt32(EPOLLIN.rawValue), modify: true) }
        }
    }

    /// Milliseconds until the first paused socket is due (at least 1), or nil if none waits.
    func msUntilListenerResumes(now: UInt64) -> Int32? {
        guard let first = pausedListeners.values.min() else { return nil }
        let ns = first > now ? first - now : 0
        return Int32(clamping: max(1, (ns + 999_999) / 1_000_000))
    }

    /// Whether `fd`, a listener, is a domain's socket now paused.
    func isPaused(listener fd: Int32) -> Bool {
        guard !pausedListeners.isEmpty, case .domain(let domid)? = listeners[fd] else { return false }
        return pausedListeners[domid] != nil
    }
}
