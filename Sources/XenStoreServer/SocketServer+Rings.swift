import Logging
import XenStoreProtocol

/// Domains' shared-memory rings, served beside the sockets by the same
/// loop and the same store: bytes in, whole messages to the store, replies
/// and watch events out as the ring has room. The page is plain memory
/// here; mapping it and the event channel are the caller's (`notify`).
extension SocketServer {
    /// Serves `page` as domain `domid`'s ring from now on: a connection of
    /// the store speaking as the domain, the RECONNECTION feature
    /// advertised. The caller calls ``serviceRings()`` when the domain's
    /// event channel fires (and after anything else that may make progress
    /// possible; the loop does it every round).
    @discardableResult
    public func attachRing(domid: UInt32, page: RingPage, notify: @escaping () -> Void) -> RingConnection {
        let ring = RingConnection(domid: domid, page: page, id: store.connect(domid: domid), notify: notify)
        ring.gapEstimate = guestPoll.initialEstimate
        page.serverFeatures = page.serverFeatures | RingPage.featureReconnection
        rings[ring.id] = ring
        ringList.append(ring)
        return ring
    }

    /// Stops serving the ring: its connection's watches and transactions
    /// go, and the page is not touched again (it may be unmapped).
    public func detachRing(_ ring: RingConnection) {
        ring.detached = true
        ring.dropBuffers()
        store.disconnect(ring.id)
        rings[ring.id] = nil
        ringList.removeAll { $0 === ring }
    }

    /// Looks at every ring: takes what each guest sent, handles it, puts
    /// out what fits. Every ring each time (as Xen's daemon does): the
    /// guest's kernel notifies only when a ring goes from empty to not
    /// empty or from full to not full, so a ring left with bytes in it
    /// (held back by a quota, or with output waiting for room) must be
    /// looked at again without a notification.
    public func serviceRings() {
        for ring in ringList { serviceRing(ring) }
    }

    /// Works on one ring until nothing more can be done there now.
    ///
    /// A ring is notified once per round of work, after the requests were
    /// taken and the replies put in (xs_wire.h asks for a notification
    /// after every index update, and Linux's xenbus looks at both rings
    /// whenever it is woken: one notification after both updates tells it
    /// of both), and then the ring is looked at again before the loop
    /// moves on. A request ring found full is notified at once: the guest
    /// may be waiting for room to write the rest of a message. Xen's
    /// daemon also notifies when it has taken requests; a notification is
    /// an `ioctl` and a hypercall, on the way to the reply (50-110 µs of a
    /// guest's 750-1,600 µs round trip under QEMU's TCG), and waking the
    /// guest early gained it nothing measurable: its vCPU woke for nothing,
    /// then again for the reply. On dom0's ring, dom0's kernel runs on the
    /// daemon's CPU (on a dom0 with one vCPU, as often): the notification
    /// lets it run at once, and its next request is often in the ring by
    /// the time the ring is looked at again.
    func serviceRing(_ ring: RingConnection) {
        guard ring.served, !ring.isIdle else { return }
        if ring.page.connection == RingPage.reconnect { reconnect(ring) }
        var progress = true
        var took = false
        while progress && ring.served {
            progress = ring.flush()
            processRing(ring)
            while ring.served && !isPaused(ring) {
                let n = ring.page.readRequests(into: ringBuffer)
                guard let n else {
                    logger.warning("domain \(ring.domid): corrupt request ring indices, no longer served")
                    ring.fail(.ringIndex)
                    break
                }
                if n == 0 { break }
                progress = true
                took = true
                ring.tookRequests = true
                ring.takesUnnotified = true
                if n == RingPage.ringSize { ring.notifyIfDue() }
                // (From raw memory, as the sockets do: an ArraySlice would
                // go through the decoder's unspecialized generic append.)
                ring.decoder.append(UnsafeRawBufferPointer(rebasing: ringBuffer[0..<n]))
                processRing(ring)
                commitGroup()
                _ = ring.flush()
            }
            commitGroup()
            if ring.flush() { progress = true }
            if ring.notifyIfDue(holdingTakes: holdsTakeNotice(ring)) { progress = true }
        }
        ring.notifyIfDue(holdingTakes: holdsTakeNotice(ring))
        if took && ring.takesUnnotified { guestPollCounts.held += 1 }
    }

    /// Whether the notification for the bytes taken from a guest's ring
    /// waits for the reply, so that one notification tells the guest of
    /// both: while the poll looks at the ring for requests, and only the
    /// first part of a message was taken.
    ///
    /// A guest's kernel writes a message in parts (Linux: the header, then
    /// the payload, each an index update of its own), and the poll, looking
    /// all the time, often takes the header alone. Notified for that, the
    /// guest was woken for nothing, and the daemon spent an `ioctl` and a
    /// hypercall (50-110 µs under QEMU's TCG) before it looked again for
    /// the rest, which the guest writes at once. The guest does not need it:
    /// it waits for room only in a full ring (a full ring is notified at
    /// once), and having seen its ring emptied it notifies its next part
    /// itself. If the rest has not come when the window closes, the
    /// notification goes then (``closeGuestPoll()``): every index update
    /// is still followed by one before the daemon sleeps.
    func holdsTakeNotice(_ ring: RingConnection) -> Bool {
        guestPollDeadline != 0 && ring.decoder.pendingByteCount > 0 && pollLooks(ring).contains(.requests)
    }

    func isPaused(_ ring: RingConnection) -> Bool {
        ring.domid != 0 && ring.queued >= store.quotas.outstandingRequests
    }

    /// Handles every whole message taken from the ring, unless over the outstanding-request quota.
    func processRing(_ ring: RingConnection) {
        // (No call into the decoder while not even a header is there.)
        while ring.decoder.pendingByteCount >= XSHeader.size && ring.served && !isPaused(ring) {
            let frame: XSFrame?
            do {
                frame = try ring.decoder.nextFrame()
            } catch {
                logger.warning("domain \(ring.domid): \(error), ring no longer served")
                ring.fail(.protocolViolation)
                return
            }
            guard let frame else { return }
            let request = frame.header
            if Store.changesDomains(request) { commitGroup() }
            // The payload read where it lies in the ring's buffer (no array made).
            frame.withPayload { store.handle(request, payload: $0, from: ring.id) }
            drainOutbox(request: request, fromRing: ring)
            if !store.domainChanges.isEmpty { applyDomainChanges() }
        }
    }

    /// ``drainOutbox(request:from:)`` for a request that came through a ring.
    func drainOutbox(request: XSHeader, fromRing ring: RingConnection) {
        swap(&outbox, &store.outbox)
        // (Emptied from the end: removeAll goes through the generic replaceSubrange.)
        defer { while outbox.popLast() != nil {} }
        guard store.hasUncommittedChanges || gate.isHolding else {
            for (id, message) in outbox {
                // The reply to the ring itself: no lookup of its target.
                if id == ring.id && ring.served && message.type != XSType.watchEvent.rawValue {
                    ring.append(message)
                } else {
                    enqueue(message, to: id)
                }
            }
            return
        }
        let changed = store.lastRequestChanged
        for (index, (id, message)) in outbox.enumerated() {
            let isReply = index == 0 && id == ring.id
            gate.hold(.init(target: id, message: message, changedBy: changed && isReply ? request : nil, fromChange: changed && !isReply))
            countQueued(id, 1)
        }
    }

    /// Adds `delta` to the messages counted against connection `id`'s outstanding quota.
    func countQueued(_ id: ConnectionID, _ delta: Int) {
        if let client = clientByID[id] {
            client.queued += delta
        } else if let ring = rings[id] {
            ring.queued += delta
        }
    }

    /// Queues `message` for a ring (the target was no socket client).
    func enqueueToRing(_ message: XSMessage, id: ConnectionID) {
        guard let ring = rings[id], ring.served else { return }
        if message.type == XSType.watchEvent.rawValue && ring.pendingOutput > Self.watchBacklogLimit {
            logger.warning("domain \(ring.domid) is not reading its ring: dropping a watch event")
            return
        }
        ring.append(message)
    }

    /// The guest asked for a reconnection (`connection` = `XENSTORE_RECONNECT`,
    /// xenstore-ring.txt): what is half read or half written is dropped, the
    /// rings emptied, the connection's watches and transactions dropped (a
    /// new connection of the store), then `connection` = CONNECTED and a notification.
    func reconnect(_ ring: RingConnection) {
        logger.info("domain \(ring.domid): ring reconnection")
        resetRing(ring)
        ring.page.connection = RingPage.connected
        ring.notify()
    }

    /// Xen's `domain_conn_reset()`: a new connection of the store for the
    /// ring (the old one's watches and transactions dropped), what is half
    /// read or written dropped, both rings emptied.
    func resetRing(_ ring: RingConnection) {
        store.disconnect(ring.id)
        rings[ring.id] = nil
        ring.dropBuffers()
        ring.page.reset()
        ring.id = store.connect(domid: ring.domid)
        rings[ring.id] = ring
    }

    /// Queues what the store produced outside any request (the events of a
    /// domain check): held in the gate while changes wait for their commit.
    func drainUnrequested() {
        swap(&outbox, &store.outbox)
        // (Emptied from the end: removeAll goes through the generic replaceSubrange.)
        defer { while outbox.popLast() != nil {} }
        guard store.hasUncommittedChanges || gate.isHolding else {
            for (id, message) in outbox { enqueue(message, to: id) }
            return
        }
        for (id, message) in outbox {
            gate.hold(.init(target: id, message: message, changedBy: nil, fromChange: true))
            countQueued(id, 1)
        }
    }
}
