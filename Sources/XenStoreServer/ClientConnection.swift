import XenStoreProtocol

/// One client's socket as the server sees it: the frames it sent, read
/// with `MSG_PEEK` and taken out of the socket later (see docs/xenstored.md,
/// "Reading requests"), and its output not yet sent.
final class ClientConnection {
    let fd: Int32
    let id: ConnectionID
    let privileged: Bool
    var decoder = XSFrameDecoder()
    var out: [UInt8] = []
    var outOffset = 0
    /// Messages queued in `out` and not yet written whole.
    var queued = 0
    var wantsWrite = false
    /// Reading stopped: too many replies outstanding (unprivileged quota).
    var paused = false
    var dirty = false
    var closed = false
    /// Watch events are being dropped (see ``SocketServer/watchBacklogLimit``).
    var droppingEvents = false
    /// Bytes read with `MSG_PEEK` (already in `decoder`) still in the socket (see docs/xenstored.md, "Reading requests").
    var peeked = 0
    /// The socket keeps a peek offset (`SO_PEEK_OFF`): peeking again
    /// returns only bytes not yet peeked, so peeked bytes may stay a while.
    var peekAdvances = false
    /// The client sends a request in several writes (libxenstore: header,
    /// then payload): its bytes are taken out after every reply.
    var writesInPieces = false
    /// In ``SocketServer/readThisRound``.
    var readThisRound = false

    init(fd: Int32, id: ConnectionID, privileged: Bool) {
        self.fd = fd
        self.id = id
        self.privileged = privileged
    }

    /// Appends `message`, header then payload, to the output.
    @inline(__always)
    func append(_ message: XSMessage) {
        XSHeader(type: message.type, requestID: message.requestID, transactionID: message.transactionID,
                 length: UInt32(message.payload.count)).encode(into: &out)
        out.append(contentsOf: message.payload)
        queued += 1
    }
}
