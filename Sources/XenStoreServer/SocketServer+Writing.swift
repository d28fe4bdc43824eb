#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CEpoll
import Logging
import SwxlSystem
import XenStoreProtocol

/// Writing output: each connection's buffer, sent when the loop flushes.
extension SocketServer {
    /// Unsent bytes beyond which watch events to a connection are dropped
    /// (a watcher that does not read must not make the daemon grow without bound).
    static let watchBacklogLimit = 4 << 20

    /// Bytes sent that stay in an output buffer before it is emptied (see ``flush(_:)``).
    static let outputReuseBytes = 4096

    /// Appends a message to a connection's output.
    func enqueue(_ message: XSMessage, to id: ConnectionID) {
        guard let target = clientByID[id] else {
            if !rings.isEmpty { enqueueToRing(message, id: id) }
            return
        }
        enqueue(message, to: target)
    }

    func enqueue(_ message: XSMessage, to target: ClientConnection) {
        let id = target.id
        if message.type == XSType.watchEvent.rawValue && target.out.count - target.outOffset > Self.watchBacklogLimit {
            if !target.droppingEvents {
                target.droppingEvents = true
                store.log(.warning, by: store.logSource(id), "connection \(id) is not reading: dropping its watch events until it catches up")
            }
            return
        }
        target.append(message)
        markDirty(target)
    }

    func markDirty(_ client: ClientConnection) {
        if !client.dirty {
            client.dirty = true
            if firstDirty == nil { firstDirty = client } else { dirty.append(client) }
        }
    }

    func flushDirty() {
        // Flushing may resume a paused client, which may mark clients dirty again.
        while true {
            let client: ClientConnection
            if let last = dirty.popLast() {
                client = last
            } else if let first = firstDirty {
                firstDirty = nil
                client = first
            } else {
                return
            }
            client.dirty = false
            if !client.closed { flush(client) }
        }
    }

    func flush(_ client: ClientConnection) {
        while client.outOffset < client.out.count {
            let n = client.out.withUnsafeBytes {
                send(client.fd, $0.baseAddress! + client.outOffset, $0.count - client.outOffset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                client.outOffset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                if !client.wantsWrite {
                    client.wantsWrite = true
                    updateInterest(client)
                }
                return
            } else {
                close(client)
                return
            }
        }
        // Sent whole. The bytes sent stay before `outOffset` until they are
        // over a few kilobytes: emptying the buffer after every reply cost
        // two runtime calls a request (dear under QEMU's TCG).
        if client.out.count > 1 << 20 {
            client.out = []
            client.outOffset = 0
        } else if client.out.count > Self.outputReuseBytes {
            client.out.removeAll(keepingCapacity: true)
            client.outOffset = 0
        }
        client.queued = 0
        client.droppingEvents = false
        // Its reply has just woken the client, so no one waits on its socket now.
        if client.peeked >= (client.peekAdvances && !client.writesInPieces ? Self.peekedLimit : 1) { consume(client) }
        if client.wantsWrite {
            client.wantsWrite = false
            updateInterest(client)
        }
        if client.paused { resume(client) }
    }

    func updateInterest(_ client: ClientConnection) {
        var events = EPOLLET.rawValue
        if !client.paused { events |= UInt32(EPOLLIN.rawValue) }
        if client.wantsWrite { events |= UInt32(EPOLLOUT.rawValue) }
        watch(client.fd, events: events, modify: true)
    }
}
