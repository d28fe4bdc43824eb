import XenStoreProtocol

/// One domain's ring as the server sees it: the request bytes taken out of
/// the ring and not yet a whole message, the output not yet in the ring,
/// and whether the ring is still served. No I/O of its own: the page is
/// memory, and `notify` is how the guest hears of an index update.
public final class RingConnection {
    public let domid: UInt32
    let page: RingPage
    let notify: () -> Void
    /// The store's connection; a new one after a reconnection.
    public internal(set) var id: ConnectionID
    var decoder = XSFrameDecoder()
    var out: [UInt8] = []
    var outOffset = 0
    /// Messages queued in `out` (or held in the gate) and not yet in the ring whole.
    var queued = 0
    var dirty = false
    /// Request bytes were taken, and reply bytes put in, since the guest
    /// was last told (see ``notifyIfDue(holdingTakes:)``).
    var takesUnnotified = false
    var repliesUnnotified = false
    /// For the poll after a reply (``GuestPoll``): request bytes taken and
    /// reply bytes put in since ``SocketServer/armGuestPoll()`` last looked.
    var tookRequests = false
    var replied = false
    /// When the last reply went in, if no request was taken since (ns).
    var repliedAt: UInt64?
    /// The estimated time from a reply to the guest's next request (ns).
    var gapEstimate: UInt64 = 0
    /// The window opened after the last reply (ns; 0: none), and the
    /// replies in a row that opened none (``GuestPoll/window(estimate:unpolled:)``).
    var replyWindow: UInt64 = 0
    var unpolledReplies: UInt32 = 0
    /// Why the ring is no longer served (also in the page's `error` field).
    public internal(set) var failure: RingPage.Failure?
    /// Detached from the server: its page may be unmapped, nothing touches it any more.
    public internal(set) var detached = false

    /// Whether the server still reads and writes the page.
    var served: Bool { failure == nil && !detached }

    init(domid: UInt32, page: RingPage, id: ConnectionID, notify: @escaping () -> Void) {
        self.domid = domid
        self.page = page
        self.id = id
        self.notify = notify
    }

    /// Bytes of output not yet in the ring.
    public var pendingOutput: Int { out.count - outOffset }

    /// Whether nothing can be done on the ring now: nothing taken and not
    /// handled, no output waiting or queued, no notification due, and the
    /// guest asks for nothing (connected, no request bytes). The loop
    /// looks at every ring each round; most rounds are another ring's, and
    /// this is then one call instead of some ten.
    var isIdle: Bool {
        decoder.pendingByteCount == 0 && outOffset == out.count && queued == 0
            && !takesUnnotified && !repliesUnnotified && page.isQuiet
    }

    func append(_ message: XSMessage) {
        XSHeader(type: message.type, requestID: message.requestID, transactionID: message.transactionID,
                 length: UInt32(message.payload.count)).encode(into: &out)
        out.append(contentsOf: message.payload)
        queued += 1
    }

    /// Puts as much output into the ring as it has room for; the guest is
    /// notified of the index update by ``notifyIfDue()`` once the round of
    /// work on the ring is done. Returns whether any byte went in.
    @inline(__always)
    func flush() -> Bool {
        guard outOffset < out.count, served else { return false }
        return put()
    }

    private func put() -> Bool {
        let written = out.withUnsafeBytes { page.writeReplies(UnsafeRawBufferPointer(rebasing: $0[outOffset...])) }
        guard let written else {
            fail(.ringIndex)
            return false
        }
        guard written > 0 else { return false }
        outOffset += written
        repliesUnnotified = true
        replied = true
        if outOffset == out.count {
            // Emptied only once over a few kilobytes, as a socket's output
            // is (SocketServer.outputReuseBytes): the bytes sent stay before
            // `outOffset` until then.
            if out.count > SocketServer.outputReuseBytes {
                out.removeAll(keepingCapacity: out.count <= 1 << 16)
                outOffset = 0
            }
            queued = 0
        }
        return true
    }

    /// Notifies the guest if an index moved since it was last notified: one
    /// event (a hypercall, and a wake-up of the guest's xenbus thread) for
    /// the requests taken and the replies put in together, where one per
    /// update would wake the guest twice. `holdingTakes`: requests taken
    /// alone do not call for it yet (see ``SocketServer/holdsTakeNotice(_:)``);
    /// replies always do. Nothing for a detached ring (its event channel
    /// may be gone). Returns whether it notified.
    @discardableResult
    func notifyIfDue(holdingTakes: Bool = false) -> Bool {
        guard repliesUnnotified || (takesUnnotified && !holdingTakes), !detached else { return false }
        takesUnnotified = false
        repliesUnnotified = false
        notify()
        return true
    }

    /// Stops serving the ring: `error` set as xs_wire.h documents, nothing more read or written.
    func fail(_ reason: RingPage.Failure) {
        guard served else { return }
        failure = reason
        page.error = reason.rawValue
        out = []
        outOffset = 0
        queued = 0
        decoder = XSFrameDecoder()
    }

    /// Drops what is half read and half written (a reconnection).
    func dropBuffers() {
        takesUnnotified = false
        repliesUnnotified = false
        decoder = XSFrameDecoder()
        out.removeAll()
        outOffset = 0
        queued = 0
    }
}
