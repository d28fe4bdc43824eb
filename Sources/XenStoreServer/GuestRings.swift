import Logging
import XenStoreProtocol

/// Guests' rings on a Xen host, as Xen 4.17's daemon serves them
/// (`introduce_domain()`, `check_domains()`, `destroy_domain()` in
/// xenstored_domain.c): each introduced domain's page mapped and its event
/// channel bound through a ``DomainPlatform``, served by the server's ring
/// code; `VIRQ_DOM_EXC` bound, and on each of its events every introduced
/// domain looked at (``Store/checkDomains(_:)``). The store decides; this
/// only maps, binds and undoes.
public final class GuestRings: DomainRingHost {
    struct Guest {
        var page: MappedPage
        var remotePort: UInt32
        /// nil once a re-introduction could bind neither the new port nor the old one.
        var localPort: UInt32?
        var ring: RingConnection
    }

    unowned let server: SocketServer
    let platform: DomainPlatform
    let logger: Logger
    /// `VIRQ_DOM_EXC`'s local port.
    public let virqPort: UInt32
    var guests: [UInt32: Guest] = [:]
    /// Guests' ports whose event was taken and that are left masked while
    /// the loop polls their rings (see ``releaseHeldPorts()``).
    var heldPorts: Set<UInt32> = []
    /// Dom0's ring's port, if its event is held until the loop sleeps (``holdDom0Port(_:)``).
    var dom0Port: UInt32?

    /// Binds `VIRQ_DOM_EXC` (failing if another daemon has it), becomes the
    /// store's ``Store/ringHost`` and has the loop call ``eventFired()``
    /// when the platform's event descriptor is readable.
    public init(server: SocketServer, platform: DomainPlatform) throws(ServerError) {
        self.server = server
        self.platform = platform
        logger = server.logger
        do throws(PlatformError) {
            virqPort = try platform.bindDomainExceptionVIRQ()
        } catch {
            throw ServerError("\(error)")
        }
        server.store.ringHost = self
        server.releaseHeldEvents = { [unowned self] in releaseHeldPorts() }
        server.unmaskDom0Port = { [unowned self] in if let dom0Port { platform.unmask(dom0Port) } }
        let fd = platform.eventDescriptor
        if fd >= 0 { server.onReadable(fd) { [unowned self] in eventFired() } }
    }

    public func domainExists(_ domid: UInt32) -> Bool { platform.state(of: domid) != .gone }

    /// Introduced domains whose rings are served, in order.
    public var domains: [UInt32] { guests.keys.sorted() }

    public func introduce(domid: UInt32, mfn: UInt64, port: UInt32) throws(XSError) {
        guard guests[domid] == nil else { throw .EEXIST }
        let page: MappedPage
        let localPort: UInt32
        do throws(PlatformError) {
            page = try platform.mapRing(domid: domid, mfn: mfn)
        } catch {
            logger.warning("domain \(domid) not introduced: \(error)")
            throw error.xsError
        }
        do throws(PlatformError) {
            localPort = try platform.bind(domid: domid, remotePort: port)
        } catch {
            platform.unmap(page, domid: domid)
            logger.warning("domain \(domid) not introduced: \(error)")
            throw error.xsError
        }
        let ringPage = RingPage(page.base)
        // Xen's domain_conn_reset(): the rings start empty.
        ringPage.reset()
        let ring = server.attachRing(domid: domid, page: ringPage) { [unowned self] in notify(domid) }
        guests[domid] = Guest(page: page, remotePort: port, localPort: localPort, ring: ring)
        finishReset(ringPage, domid)
        logger.info("domain \(domid) introduced: event channel \(port) bound to \(localPort), page mapped by \(page.mapping)")
    }

    public func reintroduce(domid: UInt32, port: UInt32) throws(XSError) {
        guard var guest = guests[domid] else { throw .ENOENT }
        // Unbound first, as Xen's daemon does: the same port may come again.
        if let old = guest.localPort {
            heldPorts.remove(old)
            platform.unbind(localPort: old)
        }
        var failure: PlatformError?
        do throws(PlatformError) {
            guest.localPort = try platform.bind(domid: domid, remotePort: port)
            guest.remotePort = port
        } catch {
            failure = error
            guest.localPort = try? platform.bind(domid: domid, remotePort: guest.remotePort)
        }
        guests[domid] = guest
        if let failure {
            logger.warning("domain \(domid) introduced again: \(failure); \(guest.localPort == nil ? "it has no event channel now" : "its old one is kept")")
            throw failure.xsError
        }
        server.resetRing(guest.ring)
        finishReset(guest.ring.page, domid)
        logger.info("domain \(domid) introduced again: event channel \(port), connection reset")
    }

    /// After a reset: a guest waiting for the daemon (`connection` =
    /// RECONNECT, a dom0less start) is told it may go on.
    private func finishReset(_ page: RingPage, _ domid: UInt32) {
        if page.connection == RingPage.reconnect {
            page.connection = RingPage.connected
            notify(domid)
        }
    }

    public func release(domid: UInt32) {
        guard let guest = guests.removeValue(forKey: domid) else { return }
        server.detachRing(guest.ring)
        if let port = guest.localPort {
            heldPorts.remove(port)
            platform.unbind(localPort: port)
        }
        platform.unmap(guest.page, domid: domid)
        logger.info("domain \(domid): ring unmapped, event channel unbound")
    }

    func notify(_ domid: UInt32) {
        if let port = guests[domid]?.localPort { platform.notify(localPort: port) }
    }

    /// One port fired (the loop calls this when the event descriptor is
    /// readable): `VIRQ_DOM_EXC` checks every introduced domain; a ring's
    /// port needs nothing more, the loop looks at every ring each round.
    /// The port is unmasked afterwards; a guest's, while the loop polls
    /// guests' rings after replies (``GuestPoll``), only when
    /// ``releaseHeldPorts()`` finds it due.
    public func eventFired() {
        guard let port = platform.takePendingPort() else { return }
        if port == virqPort { checkDomains() }
        if port == dom0Port {
            server.dom0PortHeld = true
        } else if server.guestPoll.maxNanoseconds > 0, guests.values.contains(where: { $0.localPort == port }) {
            heldPorts.insert(port)
        } else {
            platform.unmask(port)
        }
    }

    /// From now on, dom0's ring's port (`port`), once its event was taken,
    /// is left masked while the loop works, and unmasked only when it is
    /// about to sleep (``SocketServer/dom0PortHeld``); meanwhile the loop
    /// looks at dom0's ring at every turn. Dom0's kernel notifies at every
    /// request, and the daemon often finds the request in the ring by
    /// itself (it looks again after notifying a reply, which lets dom0's
    /// kernel run). With the port unmasked at once, a notification that
    /// came while the daemon worked was an upcall into dom0 in the middle
    /// of that work, and a `read` and a `write` of the event channel device
    /// at the loop's next turn. Held, the port's upcalls are those that
    /// wake the daemon (docs/perf.md, fifteenth round).
    public func holdDom0Port(_ port: UInt32) { dom0Port = port }

    /// Unmasks the held ports but those of rings the poll watches now (its
    /// window open, and something of the ring looked at: its requests, or
    /// room for its output, ``SocketServer/pollLooks(_:)``): the poll sees
    /// what such a guest did in the ring itself, and each notification
    /// would only interrupt dom0 (an upcall, then a `read` and a `write` of
    /// the event channel device) for nothing. An event that comes while its port is masked stays
    /// pending and is delivered at the unmask. The loop calls this at the
    /// end of every round and when the poll's window closes, so no port
    /// is left masked while it sleeps.
    func releaseHeldPorts() {
        guard !heldPorts.isEmpty else { return }
        let polling = server.guestPollDeadline != 0
        for guest in guests.values {
            guard let port = guest.localPort, heldPorts.contains(port) else { continue }
            let ring = guest.ring
            if polling && !server.pollLooks(ring).isEmpty { continue }
            heldPorts.remove(port)
            platform.unmask(port)
        }
    }

    /// ``Store/checkDomains(_:)`` with the hypervisor's answers, its events queued.
    public func checkDomains() {
        // A domain record's removal is a storage batch of its own.
        server.commitGroup()
        server.store.checkDomains { platform.state(of: $0) }
        server.drainUnrequested()
        if !server.store.domainChanges.isEmpty { server.applyDomainChanges() }
    }
}
