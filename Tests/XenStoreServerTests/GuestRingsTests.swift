import Glibc
import Testing
import XenStoreProtocol
@testable import XenStoreServer

/// The hypervisor as ``GuestRings`` sees it, over ordinary memory: each
/// guest's page is a ``Frontend``'s, event channels are numbers, and every
/// call is logged (notifications aside) so that tests compare the whole log.
final class FakePlatform: DomainPlatform {
    struct Binding: Equatable { var domid: UInt32; var remote: UInt32 }

    var pages: [UInt32: Frontend] = [:]
    /// Frames that a foreign mapping reaches, by number.
    var frames: [UInt64: UInt32] = [:]
    /// Domains whose grant table has no xenstore entry.
    var noGrant: Set<UInt32> = []
    /// Remote ports that cannot be bound.
    var refusedPorts: Set<UInt32> = []
    var states: [UInt32: HypervisorDomainState] = [:]

    private(set) var mapped: [UInt32: MappedPage.Mapping] = [:]
    private(set) var bound: [UInt32: Binding] = [:]
    private(set) var log: [String] = []
    private var nextPort: UInt32 = 10
    private var pending: [UInt32] = []
    private(set) var masked: Set<UInt32> = []
    static let virq: UInt32 = 3

    func mapRing(domid: UInt32, mfn: UInt64) throws(PlatformError) -> MappedPage {
        guard mapped[domid] == nil, let front = pages[domid] else { throw PlatformError("map", errno: EINVAL) }
        let mapping: MappedPage.Mapping
        if !noGrant.contains(domid) {
            mapping = .grant
        } else if frames[mfn] == domid {
            mapping = .foreign
        } else {
            throw PlatformError("map", errno: ENOENT)
        }
        mapped[domid] = mapping
        log.append("map \(domid) \(mapping)")
        return MappedPage(base: front.page, mapping: mapping)
    }

    func unmap(_ page: MappedPage, domid: UInt32) {
        precondition(mapped[domid] == page.mapping && pages[domid]?.page == page.base)
        mapped[domid] = nil
        log.append("unmap \(domid) \(page.mapping)")
    }

    func bind(domid: UInt32, remotePort: UInt32) throws(PlatformError) -> UInt32 {
        let binding = Binding(domid: domid, remote: remotePort)
        guard !refusedPorts.contains(remotePort), !bound.values.contains(binding) else {
            throw PlatformError("bind", errno: EBUSY)
        }
        let port = nextPort
        nextPort += 1
        bound[port] = binding
        log.append("bind \(domid):\(remotePort) -> \(port)")
        return port
    }

    func unbind(localPort: UInt32) {
        precondition(bound.removeValue(forKey: localPort) != nil)
        log.append("unbind \(localPort)")
    }

    func notify(localPort: UInt32) {
        guard let binding = bound[localPort], let front = pages[binding.domid] else { return }
        front.woken = true
        front.notifications += 1
    }

    func bindDomainExceptionVIRQ() throws(PlatformError) -> UInt32 {
        guard bound[Self.virq] == nil else { throw PlatformError("virq", errno: EEXIST) }
        bound[Self.virq] = Binding(domid: 0, remote: 0)
        log.append("bind VIRQ_DOM_EXC")
        return Self.virq
    }

    /// The domains ``state(of:)`` was asked about, in order.
    private(set) var asked: [UInt32] = []
    func state(of domid: UInt32) -> HypervisorDomainState {
        asked.append(domid)
        return states[domid] ?? .gone
    }

    var eventDescriptor: Int32 { -1 }

    func fire(_ port: UInt32) { pending.append(port) }

    func takePendingPort() -> UInt32? {
        guard !pending.isEmpty else { return nil }
        let port = pending.removeFirst()
        masked.insert(port)
        return port
    }

    func unmask(_ localPort: UInt32) { masked.remove(localPort) }
}

/// A server with guests' rings over a ``FakePlatform`` and dom0's ring, whose requests the tests send.
final class GuestFixture {
    let rings: RingFixture
    let platform = FakePlatform()
    let guestRings: GuestRings
    let dom0 = Frontend()
    private var requestID: UInt32 = 100

    init() throws {
        rings = try RingFixture()
        guestRings = try GuestRings(server: rings.server, platform: platform)
        rings.attach(dom0, domid: 0)
    }

    var store: Store { rings.store }

    func message(_ type: XSType, _ args: [String], tx: UInt32 = 0) -> XSMessage {
        requestID += 1
        return XSMessage(type, requestID: requestID, transactionID: tx, payload: XSPayload.strings(args))
    }

    /// Sends requests over dom0's ring: what came back, as text ("OK", "ERROR EINVAL", "EVENT path token").
    func send(_ requests: [(XSType, [String])]) throws -> [String] {
        dom0.queue(requests.map { message($0.0, $0.1) })
        return try rings.exchange(dom0).map(Self.describe)
    }

    /// Over a guest's ring.
    func send(_ requests: [(XSType, [String])], from guest: Frontend) throws -> [String] {
        guest.queue(requests.map { message($0.0, $0.1) })
        return try rings.exchange(guest).map(Self.describe)
    }

    /// `VIRQ_DOM_EXC` fires and the loop goes round once: what dom0 received.
    func virq() throws -> [String] {
        platform.fire(FakePlatform.virq)
        guestRings.eventFired()
        #expect(platform.masked.isEmpty)
        rings.server.serviceRings()
        return try rings.exchange(dom0).map(Self.describe)
    }

    static func describe(_ m: XSMessage) -> String {
        let strings = XSPayload.split(m.payload)
        switch m.kind {
        case .watchEvent: return "EVENT " + strings.joined(separator: " ")
        case .error: return "ERROR " + strings.joined()
        default: return strings.joined(separator: " ")
        }
    }

    /// Everything the store and server hold about connections, domains,
    /// nodes and watches (counters at 0 left out), for whole comparisons.
    struct Snapshot: Equatable {
        var nodes: [String: String]
        var connections: [ConnectionID: UInt32]
        var transactions: [ConnectionID: Int]
        var watches: [String: [String]]
        var watchesPerDomain: [UInt32: Int]
        var owned: [UInt32: Int]
        var domains: [UInt32]
        var specialPerms: [String: String]
        var rings: [ConnectionID: UInt32]
        var ringList: [UInt32]
        var guests: [UInt32]
    }

    func snapshot() -> Snapshot {
        Snapshot(
            nodes: store.nodes.mapValues { "\(String(decoding: $0.value, as: UTF8.self)) \($0.perms) \(String(decoding: $0.childList, as: UTF8.self))" },
            connections: store.connections.mapValues(\.domid),
            transactions: store.connections.mapValues(\.transactions.count).filter { $0.value != 0 },
            watches: store.watchesByPath.mapValues { $0.map { "\($0.connection) \($0.token)" } },
            watchesPerDomain: store.watchesPerDomain.filter { $0.value != 0 },
            owned: store.ownedEntries.filter { $0.value != 0 },
            domains: store.domains.keys.sorted(),
            specialPerms: store.specialPerms.mapValues(\.description),
            rings: rings.server.rings.mapValues(\.domid),
            ringList: rings.server.ringList.map(\.domid),
            guests: guestRings.domains)
    }

    /// A guest whose page the platform maps and whose domain runs.
    func guest(_ domid: UInt32, mfn: UInt64 = 0) -> Frontend {
        let front = Frontend()
        platform.pages[domid] = front
        platform.states[domid] = .running
        if mfn != 0 { platform.frames[mfn] = domid }
        return front
    }

    /// Dom0 makes `/local/domain/<domid>` owned by the domain (as the toolstack does) and introduces it.
    func introduce(_ domid: UInt32, mfn: UInt64 = 1234, port: UInt32) throws -> [String] {
        try send([(.mkdir, ["/local/domain/\(domid)"]), (.setPerms, ["/local/domain/\(domid)", "n\(domid)"]),
                  (.introduce, ["\(domid)", "\(mfn)", "\(port)"])])
    }
}

@Suite struct GuestRingsTests {
    @Test func aGuestsWholeLifeOverItsRingLeavesNothingBehind() throws {
        let f = try GuestFixture()
        #expect(try f.send([(.watch, ["@introduceDomain", "i"]), (.watch, ["@releaseDomain", "r"]), (.mkdir, ["/local/domain"])])
                == ["OK", "EVENT @introduceDomain i", "OK", "EVENT @releaseDomain r", "OK"])
        let before = f.snapshot()
        let beforeLog = f.platform.log

        // Introduced: the page (left by a previous user, waiting for the daemon) is reset.
        let guest = f.guest(5)
        guest.startIndices(at: 77)
        guest.connection = RingPage.reconnect
        #expect(try f.introduce(5, port: 17) == ["OK", "OK", "OK", "EVENT @introduceDomain i"])
        #expect(f.platform.log == beforeLog + ["map 5 grant", "bind 5:17 -> 10"])
        #expect([guest.reqCons, guest.reqProd, guest.rspCons, guest.rspProd, guest.connection, guest.error] == [0, 0, 0, 0, 0, 0])
        #expect(guest.woken)
        #expect(try f.send([(.isDomainIntroduced, ["5"]), (.setPerms, ["@releaseDomain", "n0", "r5"])]) == ["T", "OK"])

        // The guest's own traffic, relative paths, a watch and a transaction left open.
        #expect(try f.send([(.write, ["data/ip", "10.0.0.5"]), (.watch, ["control/shutdown", "s"]),
                            (.transactionStart, [""]), (.getDomainPath, ["5"])], from: guest)
                == ["OK", "OK", "EVENT control/shutdown s", "1", "/local/domain/5"])
        #expect(try f.send([(.read, ["/local/domain/5/data/ip"])]) == ["10.0.0.5"])
        #expect(try f.send([(.write, ["/local/domain/5/control/shutdown", "poweroff"])]) == ["OK"])
        #expect(try f.rings.exchange(guest).map(GuestFixture.describe) == ["EVENT control/shutdown s"])

        // Shut down: announced once, however often the VIRQ fires; again after RESUME.
        #expect(try f.virq() == [])
        f.platform.states[5] = .shutDown
        #expect(try f.virq() == ["EVENT @releaseDomain r"])
        #expect(try f.virq() == [])
        #expect(try f.send([(.resume, ["5"])]) == ["OK"])
        #expect(try f.virq() == ["EVENT @releaseDomain r"])
        #expect(try f.virq() == [])
        #expect(try f.send([(.isDomainIntroduced, ["5"])]) == ["T"])

        // Dying: everything of the domain goes, and the event says so.
        f.platform.states[5] = .dying
        #expect(try f.virq() == ["EVENT @releaseDomain r"])
        #expect(f.snapshot() == before)
        #expect(f.platform.log == beforeLog + ["map 5 grant", "bind 5:17 -> 10", "unbind 10", "unmap 5 grant"])
        #expect(f.platform.bound == [FakePlatform.virq: .init(domid: 0, remote: 0)])
        #expect(f.platform.mapped.isEmpty)
        #expect(try f.send([(.isDomainIntroduced, ["5"]), (.resume, ["5"]), (.release, ["5"])]) == ["F", "ERROR ENOENT", "ERROR ENOENT"])
        #expect(try f.virq() == [])

        // The page is not touched again.
        let cons = guest.reqCons
        guest.queue([f.message(.read, ["data/ip"])])
        guest.step()
        f.rings.server.serviceRings()
        #expect(guest.reqCons == cons)
    }

    /// While the loop polls a guest's ring after a reply (``GuestPoll``),
    /// that guest's port stays masked once its event was taken: its next
    /// requests are seen in the ring, without an upcall into dom0 for each.
    /// It is unmasked when the window closes, and at once when the ring is
    /// not polled (held back by its quota, output waiting, poll off).
    @Test func aPolledGuestsPortStaysMaskedUntilTheWindowCloses() throws {
        let f = try GuestFixture()
        let server = f.rings.server
        var now: UInt64 = 1_000_000_000
        server.guestPoll = GuestPoll(maxMicroseconds: 2000)
        server.guestPollClock = { now }
        server.guestPollYields = []
        let guest = f.guest(5)
        _ = try f.introduce(5, port: 17)
        let port: UInt32 = 10
        /// The guest sends a request and notifies; the loop takes the event, serves, ends the round.
        func request() throws {
            guest.queue([f.message(.getDomainPath, ["5"])])
            guest.step()
            f.platform.fire(port)
            f.guestRings.eventFired()
            server.serviceRings()
            server.finishGuestRound()
            _ = try f.rings.exchange(guest)
        }
        try request()
        #expect(server.guestPollDeadline != 0)
        #expect(f.platform.masked == [port])
        // The window closes with no request: unmasked (before the loop sleeps).
        now += 2_000_000
        #expect(!server.pollGuestRings())
        #expect(f.platform.masked.isEmpty)

        // The virq is never held.
        try request()
        f.platform.fire(FakePlatform.virq)
        f.guestRings.eventFired()
        #expect(f.platform.masked == [port])

        // Released with the domain: not unmasked, unbound.
        #expect(try f.send([(.release, ["5"])]) == ["OK"])
        #expect(f.guestRings.heldPorts.isEmpty)
        server.finishGuestRound()
        #expect(f.platform.masked == [port])   // (the fake keeps what it masked; the port is gone)
    }

    /// Dom0's ring's port, held (as the daemon sets it up on Xen), stays
    /// masked once its event was taken, while the loop works: dom0's next
    /// requests are seen in the ring itself. It is unmasked when the loop
    /// is about to sleep, and the loop looks at dom0's ring at every turn
    /// meanwhile. Not held, it is unmasked at once.
    @Test func dom0sHeldPortStaysMaskedUntilTheLoopSleeps() throws {
        let f = try GuestFixture()
        let server = f.rings.server
        let port: UInt32 = 42
        // Not held: unmasked as soon as taken.
        f.platform.fire(port)
        f.guestRings.eventFired()
        #expect(f.platform.masked.isEmpty)
        #expect(!server.dom0PortHeld)

        f.guestRings.holdDom0Port(port)
        f.platform.fire(port)
        f.guestRings.eventFired()
        #expect(f.platform.masked == [port])
        #expect(server.dom0PortHeld)
        // A request in dom0's ring: the loop's turn serves it (no event needed).
        #expect(!server.dom0RingBusy)
        f.dom0.queue([f.message(.getDomainPath, ["0"])])
        f.dom0.step()
        #expect(server.dom0RingBusy)
        server.serviceRings()
        #expect(!server.dom0RingBusy)
        #expect(try f.rings.exchange(f.dom0).map(GuestFixture.describe) == ["/local/domain/0"])
        #expect(f.platform.masked == [port])
        // About to sleep: unmasked, once.
        server.prepareToSleep()
        #expect(f.platform.masked.isEmpty)
        #expect(!server.dom0PortHeld)
        // A guest's port and the virq are not held with it.
        _ = f.guest(5)
        _ = try f.introduce(5, port: 17)
        f.platform.fire(10)
        f.platform.fire(FakePlatform.virq)
        f.guestRings.eventFired()
        f.guestRings.eventFired()
        #expect(f.platform.masked.isEmpty)
        #expect(!server.dom0PortHeld)
    }

    @Test func aGuestsPortIsUnmaskedAtOnceWhenItsRingIsNotPolledAndWhenTheWindowCloses() throws {
        let f = try GuestFixture()
        let server = f.rings.server
        let guest = f.guest(5)
        _ = try f.introduce(5, port: 17)
        let port: UInt32 = 10
        // Poll off (the default of a server): unmasked as soon as taken.
        guest.queue([f.message(.getDomainPath, ["5"])])
        guest.step()
        f.platform.fire(port)
        f.guestRings.eventFired()
        #expect(f.platform.masked.isEmpty)
        _ = try f.rings.exchange(guest)

        // Poll on, and the guest's replies wait for room: the poll looks
        // for the room, so the port stays masked while the window is open ...
        var now: UInt64 = 1_000_000_000
        server.guestPoll = GuestPoll(maxMicroseconds: 2000)
        server.guestPollClock = { now }
        guest.reading = false
        guest.queue((0..<40).map { _ in f.message(.getDomainPath, ["5"]) })
        guest.step()
        f.platform.fire(port)
        f.guestRings.eventFired()
        #expect(f.platform.masked == [port])
        server.serviceRings()
        server.finishGuestRound()
        #expect(server.guestPollDeadline != 0)
        #expect(f.platform.masked == [port])
        // ... and is unmasked when it closes.
        now += 2_000_000
        #expect(!server.pollGuestRings())
        #expect(server.guestPollDeadline == 0)
        #expect(f.platform.masked.isEmpty)
    }

    @Test func releaseAndAGoneDomainTearDownAsDyingDoes() throws {
        let f = try GuestFixture()
        #expect(try f.send([(.watch, ["@releaseDomain", "r"]), (.mkdir, ["/local/domain"])]) == ["OK", "EVENT @releaseDomain r", "OK"])
        let before = f.snapshot()
        _ = f.guest(7)
        _ = f.guest(8)
        #expect(try f.introduce(7, port: 20) == ["OK", "OK", "OK"])
        #expect(try f.introduce(8, port: 21) == ["OK", "OK", "OK"])
        #expect(try f.send([(.release, ["0"]), (.release, ["9"]), (.resume, ["0"]), (.release, ["7"])])
                == ["ERROR EINVAL", "ERROR ENOENT", "ERROR EINVAL", "OK", "EVENT @releaseDomain r"])
        // Gone from the hypervisor's list without being seen dying.
        f.platform.states[8] = nil
        #expect(try f.virq() == ["EVENT @releaseDomain r"])
        #expect(f.snapshot() == before)
        #expect(f.platform.log == ["bind VIRQ_DOM_EXC", "map 7 grant", "bind 7:20 -> 10", "map 8 grant", "bind 8:21 -> 11",
                                   "unbind 10", "unmap 7 grant", "unbind 11", "unmap 8 grant"])
    }

    @Test func shutdownsSeenTogetherShareOneEvent() throws {
        let f = try GuestFixture()
        #expect(try f.send([(.watch, ["@releaseDomain", "r"]), (.mkdir, ["/local/domain"])]) == ["OK", "EVENT @releaseDomain r", "OK"])
        for (domid, port) in [(2, 30), (3, 31), (4, 32)] as [(UInt32, UInt32)] {
            _ = f.guest(domid)
            _ = try f.introduce(domid, port: port)
        }
        f.platform.states[2] = .shutDown
        f.platform.states[3] = .shutDown
        #expect(try f.virq() == ["EVENT @releaseDomain r"])
        // One dying and one newly shut down: the dying one's event covers both.
        f.platform.states[3] = .dying
        f.platform.states[4] = .shutDown
        #expect(try f.virq() == ["EVENT @releaseDomain r"])
        #expect(try f.virq() == [])
        #expect(f.guestRings.domains == [2, 4])
    }

    @Test func anIntroductionThatFailsLeavesNothing() throws {
        let f = try GuestFixture()
        #expect(try f.send([(.watch, ["@introduceDomain", "i"]), (.mkdir, ["/local/domain"])]) == ["OK", "EVENT @introduceDomain i", "OK"])
        let before = f.snapshot()
        // No page to map (no grant entry, and the frame is not the domain's).
        let noPage = f.guest(6)
        f.platform.noGrant = [6]
        // Its event channel cannot be bound: the page is unmapped again.
        _ = f.guest(9)
        f.platform.refusedPorts = [40]
        #expect(try f.send([(.introduce, ["6", "999", "17"]), (.introduce, ["9", "1234", "40"]), (.introduce, ["9", "1234", "0"]),
                            (.isDomainIntroduced, ["6"]), (.isDomainIntroduced, ["9"])])
                == ["ERROR ENOENT", "ERROR EBUSY", "ERROR EINVAL", "F", "F"])
        #expect(f.snapshot() == before)
        #expect(f.platform.log == ["bind VIRQ_DOM_EXC", "map 9 grant", "unmap 9 grant"])
        #expect(noPage.notifications == 0)
        // The guest cannot introduce itself.
        f.platform.refusedPorts = []
        let guest = f.guest(11)
        _ = try f.introduce(11, port: 41)
        #expect(try f.send([(.introduce, ["12", "1", "5"]), (.release, ["11"]), (.resume, ["11"])], from: guest)
                == ["ERROR EACCES", "ERROR EACCES", "ERROR EACCES"])
    }

    @Test func aPageWithoutItsGrantEntryIsMappedByFrameAndUnmappedSo() throws {
        let f = try GuestFixture()
        _ = try f.send([(.mkdir, ["/local/domain"])])
        let guest = f.guest(6, mfn: 4321)
        f.platform.noGrant = [6]
        #expect(try f.introduce(6, mfn: 4321, port: 17) == ["OK", "OK", "OK"])
        #expect(try f.send([(.write, ["name", "six"]), (.read, ["name"])], from: guest) == ["OK", "six"])
        #expect(try f.send([(.release, ["6"])]) == ["OK"])
        #expect(f.platform.log == ["bind VIRQ_DOM_EXC", "map 6 foreign", "bind 6:17 -> 10", "unbind 10", "unmap 6 foreign"])
    }

    @Test func introducedAgainTheEventChannelIsBoundAnewAndTheConnectionReset() throws {
        let f = try GuestFixture()
        #expect(try f.send([(.watch, ["@introduceDomain", "i"]), (.mkdir, ["/local/domain"])]) == ["OK", "EVENT @introduceDomain i", "OK"])
        let guest = f.guest(5)
        #expect(try f.introduce(5, port: 17) == ["OK", "OK", "OK", "EVENT @introduceDomain i"])
        #expect(try f.send([(.watch, ["data", "d"]), (.write, ["data/x", "1"])], from: guest)
                == ["OK", "EVENT data d", "OK", "EVENT data/x d"])
        // The same port again, then a new one: no event, the watch dropped, the rings emptied.
        #expect(try f.send([(.introduce, ["5", "1234", "17"]), (.introduce, ["5", "1234", "18"])]) == ["OK", "OK"])
        #expect([guest.reqCons, guest.reqProd, guest.rspCons, guest.rspProd] == [0, 0, 0, 0])
        #expect(f.platform.log == ["bind VIRQ_DOM_EXC", "map 5 grant", "bind 5:17 -> 10",
                                   "unbind 10", "bind 5:17 -> 11", "unbind 11", "bind 5:18 -> 12"])
        #expect(try f.send([(.write, ["data/x", "2"])], from: guest) == ["OK"])
        // A port that cannot be bound: an error, and the old one kept.
        f.platform.refusedPorts = [19]
        #expect(try f.send([(.introduce, ["5", "1234", "19"])]) == ["ERROR EBUSY"])
        #expect(f.platform.bound[13] == .init(domid: 5, remote: 18))
        #expect(try f.send([(.read, ["data/x"])], from: guest) == ["2"])
    }

    /// SET_PERMS on a Xen host, as Xen 4.17's `domain_alloc_permrefs()`:
    /// an entry naming a domain the hypervisor does not have is kept but
    /// grants nothing (a domain made later with the id must not inherit
    /// it); such an owner is ENOENT. A domain that exists, introduced or
    /// not yet (as the toolstack sets a new domain's permissions), counts.
    @Test func setPermsIgnoresEntriesForDomainsTheHypervisorDoesNotHave() throws {
        let f = try GuestFixture()
        _ = f.guest(6)  // exists, not introduced
        #expect(try f.send([(.write, ["/x", "v"]), (.setPerms, ["/x", "n0", "r6", "r9"]), (.getPerms, ["/x"]),
                            (.setPerms, ["/x", "n9"]), (.setPerms, ["@releaseDomain", "n9"])])
                == ["OK", "OK", "n0 r6 r9", "ERROR ENOENT", "ERROR ENOENT"])
        #expect(f.store.node(at: "/x")?.perms.entries.map(\.ignored) == [false, false, true])
        let guest = f.guest(9)
        #expect(try f.introduce(9, port: 30) == ["OK", "OK", "OK"])
        #expect(try f.send([(.read, ["/x"])], from: guest) == ["ERROR EACCES"])
        // Domain 6 was asked about once, however often it is named.
        #expect(try f.send([(.setPerms, ["/x", "n0", "r6", "r6"]), (.write, ["/y", "v"]), (.setPerms, ["/y", "n0", "b6"])])
                == ["OK", "OK", "OK"])
        #expect(f.platform.asked.filter { $0 == 6 } == [6])
        // Never introduced, it goes: its entries grant nothing from then on, and nobody is told.
        f.platform.states[6] = nil
        #expect(try f.virq() == [])
        #expect(f.store.node(at: "/x")?.perms.entries.map(\.ignored) == [false, true, true])
        #expect(f.store.node(at: "/y")?.perms.entries.map(\.ignored) == [false, true])
        #expect(f.store.checkTree() == [])
    }

    @Test func aSecondDaemonCannotHaveTheVIRQ() throws {
        let f = try GuestFixture()
        #expect(throws: ServerError.self) { try GuestRings(server: f.rings.server, platform: f.platform) }
    }
}
