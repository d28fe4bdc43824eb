#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CEpoll
import Logging
import SwxlSystem
import XenStoreProtocol

/// Reading requests: peek, process, and take the bytes out later.
extension SocketServer {
    /// `SO_PEEK_OFF` (Linux; not in the Glibc module).
    static let soPeekOff: Int32 = 42

    /// Bytes a client may leave peeked in its socket.
    static let peekedLimit = 1024
    /// Bytes of an unfinished request past which its peeked bytes are taken
    /// out at the end of a round (see ``endRound()``).
    static let partialLimit = 32

    /// Reads what `client` sent with `MSG_PEEK`, leaving the bytes in the
    /// socket until a reply has gone out (``consume(_:)``), so that taking
    /// them wakes no one; a client that writes requests in pieces has them
    /// taken out after every reply. At most a few buffers per wake-up, so
    /// one busy client cannot starve the others. docs/xenstored.md,
    /// "Reading requests", says why and how.
    func readable(_ client: ClientConnection) {
        var eof = false
        var full = false
        // A few buffers at most per wake-up, so one busy client cannot starve
        // the others (the rest is read in the next round, see `unfinished`).
        var rounds = 0
        while !client.paused && rounds < 4 {
            rounds += 1
            // Without a peek offset, peeking again would return the same bytes.
            if !client.peekAdvances && client.peeked > 0 { consume(client) }
            let n = readBuffer.withUnsafeMutableBytes { recv(client.fd, $0.baseAddress, $0.count, Int32(MSG_PEEK)) }
            if n > 0 {
                if !client.readThisRound {
                    client.readThisRound = true
                    if firstReadThisRound == nil { firstReadThisRound = client } else { readThisRound.append(client) }
                }
                client.peeked += n
                // (As raw bytes: the slice would go through the decoder's generic append.)
                readBuffer.withUnsafeBytes { client.decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                process(client)
                if client.closed { return }
                full = n == readBuffer.count
                // A request whose bytes came in more than one read was
                // written in pieces, each a socket buffer charged in full
                // to the client: left peeked after the reply, a few dozen
                // one-byte pieces fill its send buffer and it can send no
                // more, while the daemon waits for its next request.
                if !full && client.decoder.pendingByteCount > 0 { client.writesInPieces = true }
                if !full { break }
            } else if n == 0 {
                eof = true
                break
            } else {
                if errno == EINTR { continue }
                if errno != EAGAIN && errno != EWOULDBLOCK {
                    eof = true
                } else if rounds == 1 && client.peeked > 0 {
                    client.writesInPieces = true
                }
                break
            }
        }
        // A client gone, even mid-frame: its partial request is dropped with it.
        if eof {
            close(client)
        } else if full && !client.paused {
            unfinished.append(client)
        }
    }

    /// Handles every whole frame received, unless the client is over its outstanding-request quota.
    func process(_ client: ClientConnection) {
        while !client.closed {
            if !client.privileged && client.queued >= store.quotas.outstandingRequests {
                pause(client)
                return
            }
            let frame: XSFrame?
            do {
                frame = try client.decoder.nextFrame()
            } catch {
                store.log(.warning, by: store.logSource(client.id), "connection \(client.id): \(error), disconnecting")
                let domid = store.domid(of: client.id) ?? 0
                close(client)
                // Only domains' sockets are paced: dom0's clients are its own.
                if domid != 0 { chargeBadFrame(domid) }
                return
            }
            guard let frame else { return }
            let request = frame.header
            if logsRequests {
                logger.debug("connection \(client.id): \(request.kind.map { "\($0)" } ?? "type \(request.type)") req \(request.requestID) tx \(request.transactionID) len \(request.length)")
            }
            if Store.changesDomains(request) { commitGroup() }
            // The payload read where it lies in the connection's buffer (no array made).
            frame.withPayload { store.handle(request, payload: $0, from: client.id) }
            drainOutbox(request: request, from: client)
            if !store.domainChanges.isEmpty { applyDomainChanges() }
        }
    }

    /// Takes the bytes `client` sent, already peeked and decoded, out of its socket.
    func consume(_ client: ClientConnection) {
        while client.peeked > 0 && !client.closed {
            let n = readBuffer.withUnsafeMutableBytes {
                recv(client.fd, $0.baseAddress, min($0.count, client.peeked), Int32(MSG_DONTWAIT))
            }
            if n > 0 {
                client.peeked -= n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                // Nothing there to take: cannot happen while we are its only reader.
                logger.error("connection \(client.id): peeked bytes not in the socket, disconnecting")
                close(client)
            }
        }
    }

    /// Before the next wait, for each client read since the last: takes its
    /// peeked bytes out if they are over the limit, if its socket cannot
    /// peek past them, or if it is in the middle of a request of more than
    /// ``partialLimit`` bytes (left there, the pieces of a request sent in
    /// small writes could fill the client's send buffer; see docs/xenstored.md).
    func endRound() {
        if let client = firstReadThisRound {
            firstReadThisRound = nil
            endRound(of: client)
        }
        guard !readThisRound.isEmpty else { return }
        for client in readThisRound { endRound(of: client) }
        // (Emptied from the end: removeAll goes through the generic replaceSubrange.)
        while readThisRound.popLast() != nil {}
    }

    /// ``endRound()`` for one client read in the round.
    private func endRound(of client: ClientConnection) {
        client.readThisRound = false
        guard !client.closed, client.peeked > 0 else { return }
        if !client.peekAdvances || client.peeked >= Self.peekedLimit || client.decoder.pendingByteCount > Self.partialLimit {
            consume(client)
        }
    }

    func pause(_ client: ClientConnection) {
        guard !client.paused else { return }
        client.paused = true
        updateInterest(client)
    }

    func resume(_ client: ClientConnection) {
        client.paused = false
        updateInterest(client)
        process(client)
        if !client.closed && client.dirty == false && client.queued > 0 { markDirty(client) }
    }
}
