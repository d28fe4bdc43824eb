import Foundation
import Glibc
import SwxlSystem
import Synchronization
import Testing
import XenStoreProtocol
@testable import XenStoreServer

@Suite struct BadFrameThrottleTests {
    @Test func aBurstThenTheSteadyRate() {
        // Three at once, then one a millisecond.
        var throttle = BadFrameThrottle(burst: 3, perSecond: 1000)
        let ms: UInt64 = 1_000_000
        let t = 50 * ms
        #expect([throttle.charge(7, now: t), throttle.charge(7, now: t), throttle.charge(7, now: t)] == [nil, nil, t + ms])
        // Another domain has its own.
        #expect(throttle.charge(8, now: t) == nil)
        // A millisecond later one more, and the wait again; credit comes back up to the burst, no more.
        #expect(throttle.charge(7, now: t + ms) == t + 2 * ms)
        #expect(throttle.charge(7, now: t + 2 * ms + ms / 2) == t + 3 * ms)
        #expect([throttle.charge(7, now: t + 100 * ms), throttle.charge(7, now: t + 100 * ms),
                 throttle.charge(7, now: t + 100 * ms)] == [nil, nil, t + 101 * ms])
        throttle.forget(7)
        #expect(throttle.buckets.keys.sorted() == [8])
    }

    /// A guest that reconnects and sends garbage, faster than its pace: its
    /// next connection waits unaccepted (dom0 is served meanwhile) until
    /// the throttle's clock says it may go on.
    @Test(.timeLimit(.minutes(1)))
    func aDomainSendingMalformedFramesWaitsItsTurnWhileDom0IsServed() throws {
        let clock = ManualClock()
        let fixture = try ServerFixture(storage: nil) { server in
            server.badFrames = BadFrameThrottle(burst: 2, perSecond: 1000)
            server.throttleClock = { clock.now.load(ordering: .relaxed) }
        }
        let dom0 = try fixture.connect()
        try dom0.send([dom0.request(.introduce, ["7", "0", "0"])])
        #expect(try dom0.receive(1)[0].kind == .introduce)
        let socket = HostPaths(stateDir: fixture.dir.path).domainSocket(7)

        // A header claiming a payload longer than xenstore allows.
        var garbage = [UInt8](repeating: 0, count: 16)
        garbage[12] = 0xff
        garbage[13] = 0xff
        func flood() throws -> RawClient {
            let guest = try RawClient(socket)
            try RawClient.send(garbage, on: guest.fd)
            return guest
        }
        /// Whether the daemon closed `guest`'s connection within `ms`.
        func closed(_ guest: RawClient, within ms: Int32) -> Bool {
            var pfd = pollfd(fd: guest.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, ms) == 1 else { return false }
            // End of file, or ECONNRESET: the daemon closed it with the frame unread (it only peeked).
            var byte: UInt8 = 0
            return read(guest.fd, &byte, 1) <= 0
        }
        // The burst: each disconnected.
        for _ in 0..<2 { #expect(closed(try flood(), within: 5000)) }
        // The next one waits, accepted by no one, while dom0's requests are answered.
        let waiting = try flood()
        try dom0.send([dom0.write("/x", "1"), dom0.request(.read, ["/x"])])
        #expect(try dom0.receive(2).map(\.payload) == [XSPayload.ok, Array("1".utf8)])
        #expect(!closed(waiting, within: 300))
        // Its turn comes: a millisecond of the steady rate.
        clock.now.add(1_000_000, ordering: .relaxed)
        #expect(closed(waiting, within: 5000))
    }
}

extension BadFrameThrottleTests {
    /// The loop reads the throttle's clock only while a socket is paused:
    /// on a Xen PV dom0 a clock read is a system call, once per turn of
    /// the loop it cost every request one.
    @Test func theLoopReadsTheThrottlesClockOnlyWhileASocketWaits() throws {
        let reads = ManualClock()   // (as a counter)
        let start = reads.now.load(ordering: .relaxed)
        let fixture = try ServerFixture(storage: nil) { server in
            server.throttleClock = { reads.now.add(1, ordering: .relaxed).newValue }
        }
        let dom0 = try fixture.connect()
        for i in 0..<20 {
            try dom0.send([dom0.write("/x", "\(i)")])
            #expect(try dom0.receive(1)[0].payload == XSPayload.ok)
        }
        #expect(reads.now.load(ordering: .relaxed) == start)
    }
}

/// A clock the test moves by hand (nanoseconds).
final class ManualClock: Sendable {
    let now = Atomic<UInt64>(1_000_000_000)
}
