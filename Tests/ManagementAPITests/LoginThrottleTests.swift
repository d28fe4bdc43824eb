import Foundation
import Synchronization
@testable import ManagementAPI
import Testing

@Suite struct LoginThrottleTests {
    /// A clock the test moves.
    final class FakeClock: Sendable {
        let now = Mutex(1000.0)
        func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
    }

    /// Runs logins, counting the checks (the crypt work) that were made.
    final class Checks: @unchecked Sendable {
        var count = 0
        func run(_ throttle: LoginThrottle, _ address: String, _ password: String) -> PasswordCheck {
            throttle.verify(address: address, user: "root", password: password) { [self] _, p in
                count += 1
                return p == "right"
            }
        }
    }

    @Test func aFloodCostsTheBurstThenOneCheckPerInterval() {
        let clock = FakeClock()
        let throttle = LoginThrottle(policy: .init(addressBurst: 3, addressSeconds: 2, globalBurst: 100, globalSeconds: 0.01),
                                     clock: { clock.now.withLock { $0 } })
        let checks = Checks()
        let flood = (0..<50).map { _ in checks.run(throttle, "10.0.0.1", "wrong") }
        #expect(flood == [PasswordCheck](repeating: .rejected, count: 3) + [PasswordCheck](repeating: .throttled(retryAfterSeconds: 2), count: 47))
        #expect(checks.count == 3)
        // Even the right password is not checked while the address has no token.
        #expect(checks.run(throttle, "10.0.0.1", "right") == .throttled(retryAfterSeconds: 2))
        // Another address is not held up by this one.
        #expect(checks.run(throttle, "10.0.0.2", "right") == .accepted)
        // One token back every 2 s.
        clock.advance(1)
        #expect(checks.run(throttle, "10.0.0.1", "wrong") == .throttled(retryAfterSeconds: 1))
        clock.advance(1)
        #expect(checks.run(throttle, "10.0.0.1", "wrong") == .rejected)
        #expect(checks.run(throttle, "10.0.0.1", "wrong") == .throttled(retryAfterSeconds: 2))
        #expect(checks.count == 5)
        // A right password fills the address's bucket again.
        clock.advance(2)
        #expect(checks.run(throttle, "10.0.0.1", "right") == .accepted)
        #expect((0..<4).map { _ in checks.run(throttle, "10.0.0.1", "wrong") }
                == [.rejected, .rejected, .rejected, .throttled(retryAfterSeconds: 2)])
    }

    @Test func manyAddressesTogetherAreBoundedByTheServersBucket() {
        let clock = FakeClock()
        let throttle = LoginThrottle(policy: .init(addressBurst: 5, addressSeconds: 2, globalBurst: 10, globalSeconds: 0.5,
                                                   addressesKept: 64),
                                     clock: { clock.now.withLock { $0 } })
        let checks = Checks()
        let results = (0..<1000).map { checks.run(throttle, "10.1.\($0 / 250).\($0 % 250)", "wrong") }
        #expect(checks.count == 10)
        #expect(results.filter { $0 == .rejected }.count == 10)
        #expect(results.dropFirst(10).allSatisfy { $0 == .throttled(retryAfterSeconds: 1) })
        // The table of addresses stays bounded.
        #expect(throttle.addressCount <= 64)
        clock.advance(0.5)
        #expect(checks.run(throttle, "10.9.9.9", "wrong") == .rejected)
        #expect(checks.count == 11)
    }

    @Test func peerAddressesLoseTheirPorts() {
        #expect(LoginThrottle.address(ofPeer: "127.0.0.1:40312") == "127.0.0.1")
        #expect(LoginThrottle.address(ofPeer: "[::1]:443") == "::1")
        #expect(LoginThrottle.address(ofPeer: "[fe80::1%eth0]:80") == "fe80::1%eth0")
    }
}
