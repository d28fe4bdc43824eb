#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How long the daemon keeps looking at the guests' request rings after
/// replying to a guest, before it sleeps.
///
/// A guest's round trip pays two wake-ups across domains: of dom0's vCPU
/// when the guest notifies its request, and of the guest's when the daemon
/// notifies the reply. After a reply, the daemon reads the guests' request
/// indices for a while (plain memory reads, no system call per look): a
/// guest that sends its next request within that time finds dom0's vCPU
/// running, and the first of the two wake-ups is gone. Only guests' rings:
/// dom0's own ring and the sockets are served by tasks of dom0 itself,
/// which on a dom0 with one vCPU cannot run while the daemon polls.
///
/// The window is learnt per ring from the time between a reply and that
/// guest's next request: twice that time (a gap varies), at most
/// ``maxNanoseconds``, and none at all for a guest that comes back later
/// than that (an idle guest costs one window, then nothing). A gap the
/// daemon did not poll through is longer than the guest's own: it holds
/// dom0's wake-up too, the very cost the poll saves. So a guest once
/// estimated too slow still gets a whole window after every
/// ``probeEvery``-th reply (a probe), and a gap that ends inside a probe's
/// window, exact, becomes its estimate at once: without probes, a guest
/// whose gaps had grown for a moment (a busy host) stayed unpolled, each of
/// its gaps inflated by the wake-up that kept it so. While polling,
/// the loop yields the CPU between batches of looks (`sched_yield`), so
/// that dom0's own runnable tasks get it at once, and on a Xen host dom0's
/// vCPU too (``XenDomainPlatform/yieldVCPU()``), so that a guest's vCPU
/// sharing dom0's physical CPU runs at once, and still takes the
/// sockets' and dom0's ring's events between batches (`epoll_wait` without
/// sleeping). A request the poll found is served before anything else. A
/// polled guest's event channel, once its event was taken, is left masked
/// until the window closes (``GuestRings/releaseHeldPorts()``): its next
/// requests then cost dom0 no upcall and no `read` and `write` of the event
/// channel device.
public struct GuestPoll: Sendable, Equatable {
    /// The longest window after a reply, in nanoseconds; 0: never poll.
    public var maxNanoseconds: UInt64

    /// The default longest window (`--guest-poll-us`). On hardware a
    /// guest's next request comes tens of microseconds after a reply, and
    /// its window is twice that; the bound is for a guest under QEMU's TCG,
    /// whose gaps are 1-3 ms on a busy host: with a bound of 2 ms, 15-88 %
    /// of the harness's guest requests were found by the poll (the rest
    /// paid dom0's wake-up: 0.66-0.85 of Xen's daemon's time), with 5 ms
    /// 97-100 % (0.42-0.56). A guest whose gaps are near the bound costs
    /// dom0 about its gap in polling per request; `--guest-poll-us` lowers it.
    public static let defaultMicroseconds: UInt64 = 5000
    /// The shortest window given to a guest that polling is worth for.
    static let minimumWindow: UInt64 = 50_000

    public init(maxMicroseconds: UInt64) { maxNanoseconds = maxMicroseconds * 1000 }

    /// A new ring's estimate: half the longest window, so that its first
    /// reply is followed by a whole one.
    var initialEstimate: UInt64 { maxNanoseconds / 2 }

    /// How long to poll after a reply to a guest whose next request is
    /// estimated to come `estimate` ns after it: twice that, at least
    /// ``minimumWindow``, at most ``maxNanoseconds``; 0 (no poll) if the
    /// estimate is over ``maxNanoseconds``, or polling is off.
    func window(estimate: UInt64) -> UInt64 {
        guard maxNanoseconds > 0, estimate <= maxNanoseconds else { return 0 }
        return min(maxNanoseconds, max(Self.minimumWindow, 2 * estimate))
    }

    /// A way the poll gives up the CPU between its looks: `call`, at every
    /// `every`-th turn of the poll.
    public struct Yield {
        public var every: UInt32
        public var call: () -> Void
        public init(every: UInt32 = 1, _ call: @escaping () -> Void) {
            self.every = max(every, 1)
            self.call = call
        }
    }

    /// The poll yields dom0's vCPU to Xen (``XenDomainPlatform/yieldVCPU()``)
    /// at every this many of its turns, and dom0's CPU to its own tasks at
    /// every turn. A guest's vCPU that Xen runs on dom0's physical CPU can
    /// run only when dom0's vCPU yields or blocks; but where it runs on
    /// another CPU (Xen's scheduler keeps a woken vCPU off a busy CPU when
    /// another is idle), dom0's yield at every turn let Xen move the guest's
    /// vCPU, woken and not yet running, onto dom0's CPU and dom0's vCPU onto
    /// the other: both moved at every request. A turn is some 60-80 µs under
    /// the harness's TCG, so a guest sharing dom0's CPU waits at most some
    /// 300 µs for it. Measured in the harness (docs/perf.md, fourteenth
    /// round), every 4th turn against every turn, the guest free: `write 1`
    /// at 0.63 and 0.625 of Xen's daemon's time against 0.755 and 0.73 in
    /// two boots, the other tests within ±0.05; with the guest pinned to
    /// dom0's CPU, as fast or faster. Never yielding dom0's vCPU was faster
    /// still with the guest free and much slower with it pinned there.
    public static let vcpuYieldEvery: UInt32 = 4

    /// A guest estimated too slow to poll for gets a whole window after
    /// every this many replies all the same.
    static let probeEvery: UInt32 = 8

    /// The window after a reply to a guest whose estimate is `estimate`
    /// and which had `unpolled` replies without a window before this one
    /// (updated): ``window(estimate:)``, or, where that is none, a whole
    /// window if this reply is the ``probeEvery``-th without one.
    func window(estimate: UInt64, unpolled: inout UInt32) -> UInt64 {
        let w = window(estimate: estimate)
        guard w == 0, maxNanoseconds > 0 else {
            unpolled = 0
            return w
        }
        unpolled += 1
        guard unpolled >= Self.probeEvery else { return 0 }
        unpolled = 0
        return maxNanoseconds
    }

    /// The estimate once a gap of `gap` ns was seen: a moving average (the
    /// new gap counts a quarter), each gap counted as at most twice the
    /// longest window, so that one long pause stops the polling only until
    /// a few quick requests have come again. A gap `polled` through (it
    /// ended inside the window opened after its reply: exact) of a guest
    /// estimated too slow to poll for (so it was a probe's) is the new
    /// estimate.
    func estimate(_ old: UInt64, after gap: UInt64, polled: Bool = false) -> UInt64 {
        if polled && old > maxNanoseconds { return gap }
        return (3 * old + min(gap, 2 * maxNanoseconds)) / 4
    }
}

extension SocketServer {
    /// Looks done per batch of ``pollGuestRings()`` (one after each of its system calls and the loop's `epoll_wait`).
    static let guestPollSpins: UInt32 = 512

    /// The end of a round for guests' rings: ``armGuestPoll()``, then the
    /// guests' held event channels unmasked but those the poll watches.
    func finishGuestRound() {
        armGuestPoll()
        releaseHeldEvents()
    }

    /// After a round of work: the gaps of guests whose requests were taken
    /// (from the reply before them) go into their estimates, and a reply
    /// to a guest opens (or prolongs) the window of ``pollGuestRings()``.
    /// One clock read, and only in rounds that touched a guest's ring.
    func armGuestPoll() {
        guard guestPoll.maxNanoseconds > 0 else { return }
        var now: UInt64?
        for ring in ringList where ring.domid != 0 && (ring.tookRequests || ring.replied) {
            let t = now ?? guestPollClock()
            now = t
            if ring.tookRequests, let since = ring.repliedAt {
                let gap = t &- since
                ring.gapEstimate = guestPoll.estimate(ring.gapEstimate, after: gap, polled: gap <= ring.replyWindow)
                ring.repliedAt = nil
            }
            if ring.replied {
                ring.repliedAt = t
                let window = guestPoll.window(estimate: ring.gapEstimate, unpolled: &ring.unpolledReplies)
                ring.replyWindow = window
                if window > 0 {
                    if guestPollDeadline == 0 { guestPollCounts.windows += 1 }
                    guestPollDeadline = max(guestPollDeadline, t + window)
                }
            }
            ring.tookRequests = false
            ring.replied = false
        }
    }

    /// What the poll looks for in a ring (none: it is not looked at): a
    /// guest's request bytes, unless its ring is held back by its quota (the
    /// loop could not take them), and room in its reply ring while output
    /// waits for it (a reply longer than the ring, or a guest slow to read:
    /// the guest's read frees room, and the rest of the reply can go in).
    func pollLooks(_ ring: RingConnection) -> RingPage.Looks {
        guard ring.domid != 0 && ring.served else { return [] }
        var looks: RingPage.Looks = isPaused(ring) ? [] : .requests
        if ring.pendingOutput > 0 { looks.insert(.room) }
        return looks
    }

    /// While the window is open: a batch of looks at the guests' rings
    /// (``pollLooks(_:)``) after every system call of the loop, the poll's
    /// own included. True if one has what the loop can work on now.
    /// Otherwise the window closes if its time is over (or no guest is left
    /// to look at), and the CPU is yielded to whatever else of dom0 is
    /// runnable, with a batch after each yield.
    ///
    /// Why a batch after each: on a Xen PV dom0 each system call enters Xen
    /// and lasts tens of microseconds under QEMU's TCG, against some 17 µs
    /// for a batch of looks; with one batch per turn of the loop (then the
    /// clock, both yields and the loop's `epoll_wait`), the rings were
    /// looked at an eighth of the time, and a guest's request, written at
    /// any moment, waited for the rest of those calls, some 60 µs on
    /// average. The same calls, each followed by looks, leave it waiting
    /// for the rest of one call.
    func pollGuestRings() -> Bool {
        guard guestPollDeadline != 0 else { return false }
        pollPages.removeAll(keepingCapacity: true)
        pollPageLooks.removeAll(keepingCapacity: true)
        for ring in ringList {
            let looks = pollLooks(ring)
            guard !looks.isEmpty else { continue }
            pollPages.append(ring.page.base)
            pollPageLooks.append(looks)
        }
        guard !pollPages.isEmpty else {
            closeGuestPoll()
            return false
        }
        // After the loop's epoll_wait.
        if lookAtGuestRings() { return true }
        if guestPollClock() >= guestPollDeadline {
            guestPollCounts.empty += 1
            closeGuestPoll()
            return false
        }
        if lookAtGuestRings() { return true }
        guestPollTurns &+= 1
        for step in guestPollYields where guestPollTurns % step.every == 0 {
            step.call()
            if lookAtGuestRings() { return true }
        }
        return false
    }

    /// Ends the window: the notifications held for requests taken in part
    /// (``holdsTakeNotice(_:)``) go now, and the guests' event channels held
    /// masked are unmasked, before the loop may sleep.
    func closeGuestPoll() {
        guestPollDeadline = 0
        for ring in ringList where ring.takesUnnotified {
            if ring.notifyIfDue() { guestPollCounts.heldSentAtClose += 1 }
        }
        releaseHeldEvents()
    }

    /// One batch of ``guestPollSpins`` looks at the pages of ``pollGuestRings()``.
    private func lookAtGuestRings() -> Bool {
        guard RingPage.firstReady(pollPages, looks: pollPageLooks, spins: Self.guestPollSpins) != nil else { return false }
        guestPollCounts.found += 1
        return true
    }
}
