import Foundation
import Glibc
import Logging
import SwxlSystem
import Testing
import XenStoreProtocol
@testable import XenStoreServer

/// The poll of guests' rings after a reply to a guest (``GuestPoll``).
@Suite struct GuestPollTests {
    static let ms: UInt64 = 1_000_000
    static let us: UInt64 = 1000

    @Test func theWindowIsTwiceTheGapBoundedAndNoneForAGuestSlowerThanTheBound() {
        let poll = GuestPoll(maxMicroseconds: 2000)
        #expect(poll.maxNanoseconds == 2 * Self.ms)
        #expect(poll.window(estimate: poll.initialEstimate) == 2 * Self.ms)
        #expect(poll.window(estimate: 300 * Self.us) == 600 * Self.us)
        // Never past the bound.
        #expect(poll.window(estimate: 1500 * Self.us) == 2 * Self.ms)
        #expect(poll.window(estimate: 2 * Self.ms) == 2 * Self.ms)
        // A guest that comes back later than the bound is not waited for.
        #expect(poll.window(estimate: 2 * Self.ms + 1) == 0)
        // A very quick guest still gets a useful window.
        #expect(poll.window(estimate: 1 * Self.us) == GuestPoll.minimumWindow)
        // Off.
        #expect(GuestPoll(maxMicroseconds: 0).window(estimate: 0) == 0)
    }

    @Test func theEstimateFollowsTheGapsAndOneLongPauseCountsAsTwiceTheBound() {
        let poll = GuestPoll(maxMicroseconds: 2000)
        #expect(poll.estimate(1 * Self.ms, after: 200 * Self.us) == 800 * Self.us)
        // An hour counts as 4 ms.
        #expect(poll.estimate(1 * Self.ms, after: 3_600_000 * Self.ms) == 1750 * Self.us)
        // An idle guest: after two long pauses it is no longer polled for ...
        var e = poll.initialEstimate
        for _ in 0..<2 { e = poll.estimate(e, after: 1000 * Self.ms) }
        #expect(poll.window(estimate: e) == 0)
        // ... and is again after a few quick requests.
        for _ in 0..<2 { e = poll.estimate(e, after: 300 * Self.us) }
        #expect(poll.window(estimate: e) > 0)
    }

    /// A ring fixture with the poll on (2 ms) and a clock the test moves.
    final class Clocked {
        let fixture: RingFixture
        var now: UInt64 = 1_000_000_000
        /// The poll's system calls as made: "clock", then its yields ("process", "vcpu", as on Xen).
        var calls: [String] = []
        /// Runs during the next such call of that name (a guest that writes meanwhile).
        var during: [String: () -> Void] = [:]

        init(quotas: Quotas = Quotas(), maxMicroseconds: UInt64 = 2000) throws {
            fixture = try RingFixture(quotas: quotas)
            fixture.server.guestPoll = GuestPoll(maxMicroseconds: maxMicroseconds)
            fixture.server.guestPollClock = { [unowned self] in call("clock"); return now }
            fixture.server.guestPollYields = ["process", "vcpu"].map { name in GuestPoll.Yield { [unowned self] in call(name) } }
        }

        private func call(_ name: String) {
            calls.append(name)
            during.removeValue(forKey: name)?()
        }

        var yields: [String] { calls.filter { $0 != "clock" } }

        var server: SocketServer { fixture.server }

        /// A guest (domain 5) that has had a reply: the poll's window is open, and no call is recorded yet.
        func guestAfterAReply() throws -> Frontend {
            let guest = Frontend()
            fixture.attach(guest, domid: 5)
            guest.queue([XSMessage(.getDomainPath, requestID: 1, payload: Array("5".utf8) + [0])])
            _ = try fixture.exchange(guest)
            endRound()
            calls = []
            return guest
        }
        /// The loop's end of a round.
        func endRound() { server.armGuestPoll() }
    }

    @Test func aReplyToAGuestOpensTheWindowAndOneToDom0DoesNot() throws {
        let c = try Clocked()
        let dom0 = Frontend()
        let guest = Frontend()
        c.fixture.attach(dom0, domid: 0)
        c.fixture.attach(guest, domid: 5)
        dom0.queue([RingTests.read(1, "/")])
        #expect(try c.fixture.exchange(dom0).count == 1)
        c.endRound()
        #expect(c.server.guestPollDeadline == 0)
        #expect(!c.server.pollGuestRings())

        guest.queue([XSMessage(.getDomainPath, requestID: 1, payload: Array("5".utf8) + [0])])
        #expect(try c.fixture.exchange(guest).count == 1)
        c.endRound()
        #expect(c.server.guestPollDeadline == c.now + 2 * Self.ms)
    }

    @Test func thePollFindsAGuestsRequestWithoutANotificationButNeverDom0s() throws {
        let c = try Clocked()
        let dom0 = Frontend()
        let guest = Frontend()
        c.fixture.attach(dom0, domid: 0)
        let ring = c.fixture.attach(guest, domid: 5)
        guest.queue([XSMessage(.getDomainPath, requestID: 1, payload: Array("5".utf8) + [0])])
        _ = try c.fixture.exchange(guest)
        c.endRound()

        // Dom0's ring holds a request: not the poll's to find (dom0's kernel
        // notifies; on one vCPU it cannot even write while the daemon polls).
        dom0.queue([RingTests.read(2, "/")])
        dom0.step()
        #expect(!c.server.pollGuestRings())
        #expect(c.yields == ["process", "vcpu"])
        // The guest's next request, written while dom0's vCPU still runs the
        // poll: found in the ring itself.
        guest.queue([XSMessage(.getDomainPath, requestID: 3, payload: Array("5".utf8) + [0])])
        guest.step()
        #expect(c.server.pollGuestRings())
        #expect(c.yields == ["process", "vcpu"])
        // Served by the loop's round; its gap (250 µs here) goes into the estimate.
        c.now += 250 * Self.us
        c.server.serviceRings()
        #expect(ring.tookRequests)
        c.server.guestPollDeadline = 0
        c.endRound()
        #expect(ring.gapEstimate == (3 * Self.ms + 250 * Self.us) / 4)
        #expect(c.server.guestPollDeadline == c.now + 2 * ring.gapEstimate)
    }

    /// A yield taken every n-th turn (dom0's vCPU, as the daemon sets it up
    /// on Xen) is made at those turns only, after the yields of every turn,
    /// and each is followed by looks.
    @Test func aYieldEveryFourthTurnIsMadeAtEveryFourthTurnOnly() throws {
        let c = try Clocked()
        c.server.guestPollYields = [GuestPoll.Yield { c.calls.append("process") },
                                    GuestPoll.Yield(every: GuestPoll.vcpuYieldEvery) { c.calls.append("vcpu") }]
        #expect(GuestPoll.vcpuYieldEvery == 4)
        let guest = try c.guestAfterAReply()
        for _ in 0..<8 { #expect(!c.server.pollGuestRings()) }
        let perTurn = ["clock", "process"]
        let fourth = perTurn + ["vcpu"]
        #expect(c.calls == perTurn + perTurn + perTurn + fourth + perTurn + perTurn + perTurn + fourth)
        // A request written during that yield is found right after it.
        c.calls = []
        for _ in 0..<3 { #expect(!c.server.pollGuestRings()) }
        var found = false
        c.server.guestPollYields[1].call = {
            c.calls.append("vcpu")
            guest.queue([XSMessage(.getDomainPath, requestID: 2, payload: Array("5".utf8) + [0])])
            guest.step()
            found = true
        }
        #expect(c.server.pollGuestRings())
        #expect(found)
        #expect(c.calls == perTurn + perTurn + perTurn + fourth)
    }

    /// Each of the poll's system calls is followed by looks: a request the
    /// guest writes while one runs is found right after it, the calls
    /// after it not made (the loop serves it first).
    @Test(arguments: ["clock", "process", "vcpu"]) func aRequestWrittenDuringAnyOfThePollsCallsIsFoundRightAfterIt(call: String) throws {
        let c = try Clocked()
        let guest = try c.guestAfterAReply()
        c.during[call] = {
            guest.queue([XSMessage(.getDomainPath, requestID: 2, payload: Array("5".utf8) + [0])])
            guest.step()
        }
        #expect(c.server.pollGuestRings())
        let order = ["clock", "process", "vcpu"]
        #expect(c.calls == Array(order[...order.firstIndex(of: call)!]))
        c.server.serviceRings()
        guest.step()
        #expect(try guest.messages() == [XSMessage(.getDomainPath, requestID: 2, payload: Array("/local/domain/5".utf8) + [0])])
    }

    /// A guest's kernel writes a message in parts (the header, then the
    /// payload). While the poll looks at its ring, the header taken alone is
    /// not notified: the reply's notification tells of both. Without a
    /// window, on dom0's ring, or once the window closes first, the
    /// notification goes as before.
    @Test(arguments: ["reply", "window closes", "no window", "dom0"])
    func aRequestTakenInPartIsNotifiedWithItsReplyWhileThePollLooks(_ case_: String) throws {
        let c = try Clocked()
        let guest = Frontend()
        let domid: UInt32 = case_ == "dom0" ? 0 : 5
        let ring = c.fixture.attach(guest, domid: domid)
        // A first exchange: its reply opens the window (a guest's only).
        guest.queue([XSMessage(.getDomainPath, requestID: 1, payload: Array("5".utf8) + [0])])
        _ = try c.fixture.exchange(guest)
        c.endRound()
        if case_ == "no window" { c.server.guestPollDeadline = 0 }
        let before = guest.notifications
        // The next request's header alone.
        guest.chunk = 16
        guest.queue([XSMessage(.getDomainPath, requestID: 2, payload: Array("5".utf8) + [0])])
        guest.step()
        c.server.serviceRings()
        #expect(guest.reqCons == guest.reqProd)
        let holds = case_ == "reply" || case_ == "window closes"
        #expect(guest.notifications == before + (holds ? 0 : 1))
        #expect(ring.takesUnnotified == holds)
        #expect(c.server.guestPollCounts.held == (holds ? 1 : 0))
        if case_ == "window closes" {
            // Nothing more came: the held notification goes as the window closes.
            c.now += 2 * Self.ms
            #expect(!c.server.pollGuestRings())
            #expect(c.server.guestPollDeadline == 0)
            #expect(guest.notifications == before + 1)
            #expect(!ring.takesUnnotified)
            #expect(c.server.guestPollCounts.heldSentAtClose == 1)
            return
        }
        // The rest: found, served, and one notification for the whole request.
        guest.step()
        if holds { #expect(c.server.pollGuestRings()) }
        c.server.serviceRings()
        #expect(guest.notifications == before + (holds ? 1 : 2))
        #expect(!ring.takesUnnotified)
        guest.step()
        #expect(try guest.messages() == [XSMessage(.getDomainPath, requestID: 2, payload: Array("/local/domain/5".utf8) + [0])])
        #expect(c.server.guestPollCounts.heldSentAtClose == 0)
    }

    @Test func theWindowClosesWhenItsTimeIsOverAndANewReplyOpensItAgain() throws {
        let c = try Clocked()
        let guest = Frontend()
        c.fixture.attach(guest, domid: 5)
        guest.queue([XSMessage(.getDomainPath, requestID: 1, payload: Array("5".utf8) + [0])])
        _ = try c.fixture.exchange(guest)
        c.endRound()
        c.now += 2 * Self.ms - 1
        #expect(!c.server.pollGuestRings())
        #expect(c.server.guestPollDeadline != 0)
        c.now += 1
        #expect(!c.server.pollGuestRings())
        #expect(c.server.guestPollDeadline == 0)
        // Closed: not even a look (the loop sleeps in epoll_wait).
        guest.queue([XSMessage(.getDomainPath, requestID: 2, payload: Array("5".utf8) + [0])])
        guest.step()
        #expect(!c.server.pollGuestRings())
    }

    @Test func aGuestThatComesBackLaterThanTheBoundIsNoLongerWaitedFor() throws {
        let c = try Clocked()
        let guest = Frontend()
        let ring = c.fixture.attach(guest, domid: 5)
        for id in 1...3 as ClosedRange<UInt32> {
            c.server.guestPollDeadline = 0
            guest.queue([XSMessage(.getDomainPath, requestID: id, payload: Array("5".utf8) + [0])])
            _ = try c.fixture.exchange(guest)
            c.endRound()
            c.now += 1000 * Self.ms
        }
        #expect(ring.gapEstimate > 2 * Self.ms)
        #expect(c.server.guestPollDeadline == 0)
    }

    @Test func aGuestTooSlowToPollForIsProbedAndPolledAgainOnceQuick() throws {
        let c = try Clocked()
        let guest = Frontend()
        let ring = c.fixture.attach(guest, domid: 5)
        var id: UInt32 = 0
        /// The guest's next request `gap` ns after the last reply, served; the window after its reply.
        func request(after gap: UInt64) throws -> UInt64 {
            c.now += gap
            c.server.guestPollDeadline = 0
            id += 1
            guest.queue([XSMessage(.getDomainPath, requestID: id, payload: Array("5".utf8) + [0])])
            _ = try c.fixture.exchange(guest)
            c.endRound()
            return c.server.guestPollDeadline == 0 ? 0 : c.server.guestPollDeadline - c.now
        }
        #expect(try request(after: 0) == 2 * Self.ms)
        #expect(try request(after: 1000 * Self.ms) == 2 * Self.ms)
        // Too slow now: no window, seven replies in a row ...
        var windows: [UInt64] = []
        for _ in 0..<7 { windows.append(try request(after: 1000 * Self.ms)) }
        #expect(windows == Array(repeating: 0, count: 7))
        #expect(ring.gapEstimate > 2 * Self.ms)
        // ... then a probe: a whole window after the eighth.
        #expect(try request(after: 1000 * Self.ms) == 2 * Self.ms)
        // A quick request inside it: exact, and the estimate at once.
        #expect(try request(after: 300 * Self.us) == 600 * Self.us)
        #expect(ring.gapEstimate == 300 * Self.us)
        #expect(ring.unpolledReplies == 0)
    }

    @Test func aQuickGapTheDaemonWasWokenForOnlyMovesTheAverage() throws {
        let poll = GuestPoll(maxMicroseconds: 2000)
        // Not polled through: it holds dom0's wake-up, so it is averaged in.
        #expect(poll.estimate(4 * Self.ms, after: 300 * Self.us) == (12 * Self.ms + 300 * Self.us) / 4)
        // Polled through, for a guest that was polled for anyway: averaged too.
        #expect(poll.estimate(1 * Self.ms, after: 200 * Self.us, polled: true) == 800 * Self.us)
        // The probe's, of a guest estimated too slow: the estimate.
        #expect(poll.estimate(4 * Self.ms, after: 300 * Self.us, polled: true) == 300 * Self.us)
        // The probes: every eighth reply without a window gets a whole one; off, never.
        var unpolled: UInt32 = 0
        let windows = (0..<16).map { _ in poll.window(estimate: 3 * Self.ms, unpolled: &unpolled) }
        #expect(windows == (0..<16).map { $0 % 8 == 7 ? 2 * Self.ms : 0 })
        var none: UInt32 = 0
        #expect((0..<16).allSatisfy { _ in GuestPoll(maxMicroseconds: 0).window(estimate: 3 * Self.ms, unpolled: &none) == 0 })
        // A guest quick enough: its window, and the count starts again.
        unpolled = 5
        #expect(poll.window(estimate: 300 * Self.us, unpolled: &unpolled) == 600 * Self.us)
        #expect(unpolled == 0)
    }

    @Test func aRingHeldBackByItsQuotaDoesNotKeepThePollBusy() throws {
        var quotas = Quotas()
        quotas.outstandingRequests = 1
        let c = try Clocked(quotas: quotas)
        let guest = Frontend()
        let ring = c.fixture.attach(guest, domid: 5)
        guest.queue([XSMessage(.getDomainPath, requestID: 1, payload: Array("5".utf8) + [0])])
        _ = try c.fixture.exchange(guest)
        c.endRound()
        // The guest does not read its replies: once they fill its reply
        // ring the ring is held back, and its unread request bytes are not
        // the poll's (the loop could not take them).
        guest.reading = false
        guest.queue((2...41).map { XSMessage(.getDomainPath, requestID: $0, payload: Array("5".utf8) + [0]) })
        guest.step()
        c.server.serviceRings()
        #expect(c.server.isPaused(ring))
        guest.queue([XSMessage(.getDomainPath, requestID: 42, payload: Array("5".utf8) + [0])])
        guest.step()
        #expect(ring.page.requestsWaiting)
        #expect(!c.server.pollGuestRings())
        // Its replies wait for room, which the poll looks for: the guest
        // reads (with no event here), and the poll finds the room.
        #expect(ring.pendingOutput > 0)
        guest.reading = true
        guest.step()
        #expect(c.server.pollGuestRings())
        c.server.serviceRings()
        #expect(!c.server.isPaused(ring))
    }

    /// A reply longer than the ring: its first part fills the ring, and the
    /// rest goes in once the poll finds that the guest read the first (with
    /// no event channel here, nothing else would look at the ring again).
    @Test func thePollFindsRoomForTheRestOfALongReply() throws {
        let c = try Clocked()
        let dom0 = Frontend()
        let guest = Frontend()
        c.fixture.attach(dom0, domid: 0)
        let ring = c.fixture.attach(guest, domid: 5)
        // A value of 2,000 bytes that every domain may read.
        let value = [UInt8](repeating: 0x41, count: 2000)
        dom0.queue([RingTests.write(1, "/v", value),
                    XSMessage(.setPerms, requestID: 2, payload: Array("/v".utf8) + [0] + Array("r0".utf8) + [0])])
        #expect(try c.fixture.exchange(dom0).map(\.type) == [XSType.write.rawValue, XSType.setPerms.rawValue])
        // The guest asks for it and reads nothing yet: its reply fills the ring.
        guest.reading = false
        guest.queue([RingTests.read(3, "/v")])
        guest.step()
        c.server.serviceRings()
        c.endRound()
        #expect(guest.rspProd &- guest.rspCons == 1024)
        #expect(ring.pendingOutput > 0)
        #expect(!c.server.pollGuestRings())
        // The guest reads what is there: the poll sees the room, the rest goes in.
        guest.reading = true
        guest.step()
        #expect(c.server.pollGuestRings())
        c.server.serviceRings()
        #expect(ring.pendingOutput == 0)
        guest.step()
        #expect(try guest.messages() == [XSMessage(.read, requestID: 3, payload: value)])
    }

    @Test func offItNeverOpens() throws {
        let c = try Clocked(maxMicroseconds: 0)
        let guest = Frontend()
        c.fixture.attach(guest, domid: 5)
        guest.queue([XSMessage(.getDomainPath, requestID: 1, payload: Array("5".utf8) + [0])])
        _ = try c.fixture.exchange(guest)
        c.endRound()
        #expect(c.server.guestPollDeadline == 0)
        #expect(!c.server.pollGuestRings())
        #expect(c.calls == [])
    }

    /// The running loop: a guest's request written without a notification
    /// (there is no event channel here at all) is served within the window
    /// after a reply to that guest, and only then.
    @Test(arguments: [true, false]) func theLoopServesAGuestsNextRequestFoundByThePoll(polling: Bool) throws {
        let guest = Frontend()
        let fixture = try ServerFixture(storage: nil) { server in
            server.guestPoll = GuestPoll(maxMicroseconds: polling ? 10_000_000 : 0)
            server.attachRing(domid: 5, page: RingPage(guest.page)) {}
        }
        let client = try fixture.connect()
        func request(_ id: UInt32) { guest.queue([XSMessage(.getDomainPath, requestID: id, payload: Array("5".utf8) + [0])]) }
        /// The guest's replies within `seconds`.
        func replies(within seconds: Double) throws -> [UInt32] {
            let end = Date().addingTimeInterval(seconds)
            var got: [UInt32] = []
            repeat {
                guest.step()
                got += try guest.messages().map(\.requestID)
                if !got.isEmpty { return got }
                usleep(1000)
            } while Date() < end
            return got
        }
        // The first request is taken in a round that a socket request starts.
        request(1)
        guest.step()
        try client.send([client.request(.read, ["/"])])
        _ = try client.receive(1)
        #expect(try replies(within: 10) == [1])
        // The next one, with no event: only the poll finds it.
        request(2)
        #expect(try replies(within: polling ? 10 : 0.3) == (polling ? [2] : []))
    }
}
