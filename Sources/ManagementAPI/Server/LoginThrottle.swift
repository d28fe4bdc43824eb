#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
import SwxlSystem

/// Password checks over TCP, limited so that a flood of wrong passwords
/// costs bounded crypt work (each check is thousands of SHA-512 rounds).
///
/// Every check takes a token from its peer address's bucket and from the
/// server's: an address may try `addressBurst` passwords at once, then
/// one every `addressSeconds`; all addresses together `globalBurst`, then
/// one every `globalSeconds`. A login with no token left is refused at
/// once, without a check (`SESSION_AUTHENTICATION_FAILED` saying when to
/// try again). A right password gives its tokens back and fills its
/// address's bucket again. Checks run one at a time, as XAPI serialises
/// its PAM logins (`serialize_auth`). So a flood costs at most
/// `globalBurst` checks and then one per `globalSeconds`, on one core,
/// however many connections and addresses it comes from.
public final class LoginThrottle: Sendable {
    public struct Policy: Equatable, Sendable {
        public var addressBurst: Int
        public var addressSeconds: Double
        public var globalBurst: Int
        public var globalSeconds: Double
        /// Addresses remembered; beyond it those whose buckets are full go,
        /// then the least recently seen.
        public var addressesKept: Int
        public init(addressBurst: Int = 5, addressSeconds: Double = 2, globalBurst: Int = 20, globalSeconds: Double = 0.1,
                    addressesKept: Int = 4096) {
            self.addressBurst = addressBurst
            self.addressSeconds = addressSeconds
            self.globalBurst = globalBurst
            self.globalSeconds = globalSeconds
            self.addressesKept = addressesKept
        }
    }

    private struct Bucket {
        var tokens: Double
        var at: Double
        mutating func refill(_ now: Double, burst: Int, seconds: Double) {
            if now > at { tokens = min(Double(burst), tokens + (now - at) / seconds) }
            at = max(at, now)
        }
    }

    private struct State {
        var global: Bucket
        var addresses: [String: Bucket] = [:]
    }

    public let policy: Policy
    private let clock: @Sendable () -> Double
    private let state: Mutex<State>
    /// Held around each check: one at a time.
    private let checking = Mutex(())

    /// `clock` gives seconds (monotonic); tests pass their own.
    public init(policy: Policy = Policy(),
                clock: @escaping @Sendable () -> Double = { Double(SystemClock.monotonicNanoseconds()) / 1e9 }) {
        self.policy = policy
        self.clock = clock
        state = Mutex(State(global: Bucket(tokens: Double(policy.globalBurst), at: clock())))
    }

    /// The address part of a peer's `address:port` text (`[::1]:80` → `::1`).
    public static func address(ofPeer peer: String) -> String {
        guard let colon = peer.lastIndex(of: ":") else { return peer }
        var host = peer[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        return String(host)
    }

    /// Checks `user`'s password with `check` (the crypt work) if the
    /// buckets allow, for a client at `address`.
    public func verify(address: String, user: String, password: String,
                       check: (String, String) -> Bool) -> PasswordCheck {
        let admitted: Double? = state.withLock { s in
            let now = clock()
            s.global.refill(now, burst: policy.globalBurst, seconds: policy.globalSeconds)
            var bucket = s.addresses[address] ?? Bucket(tokens: Double(policy.addressBurst), at: now)
            bucket.refill(now, burst: policy.addressBurst, seconds: policy.addressSeconds)
            guard bucket.tokens >= 1, s.global.tokens >= 1 else {
                // (A full bucket need not be kept: it is what a new address gets.)
                s.addresses[address] = bucket.tokens < Double(policy.addressBurst) ? bucket : nil
                let wait = max((1 - bucket.tokens) * policy.addressSeconds, (1 - s.global.tokens) * policy.globalSeconds)
                return max(wait, 0.001)
            }
            bucket.tokens -= 1
            s.global.tokens -= 1
            s.addresses[address] = bucket
            if s.addresses.count > policy.addressesKept { prune(&s, now: now) }
            return nil
        }
        if let wait = admitted { return .throttled(retryAfterSeconds: Int(wait.rounded(.up))) }
        let ok = checking.withLock { _ in check(user, password) }
        guard ok else { return .rejected }
        state.withLock { s in
            s.global.tokens = min(Double(policy.globalBurst), s.global.tokens + 1)
            s.addresses[address] = Bucket(tokens: Double(policy.addressBurst), at: clock())
        }
        return .accepted
    }

    /// The addresses remembered (tests).
    var addressCount: Int { state.withLock { $0.addresses.count } }

    private func prune(_ s: inout State, now: Double) {
        for (address, var bucket) in s.addresses {
            bucket.refill(now, burst: policy.addressBurst, seconds: policy.addressSeconds)
            if bucket.tokens >= Double(policy.addressBurst) { s.addresses[address] = nil }
        }
        let excess = s.addresses.count - policy.addressesKept
        if excess > 0 {
            for (address, _) in s.addresses.sorted(by: { $0.value.at < $1.value.at }).prefix(excess) {
                s.addresses[address] = nil
            }
        }
    }
}
