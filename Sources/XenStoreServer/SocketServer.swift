#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CEpoll
import Logging
import SwxlSystem
import XenStoreProtocol

/// The daemon's I/O: Unix sockets served by one thread around `epoll`.
///
/// Each readable connection is read, cut into frames, each frame handed to
/// the ``Store``, and the replies and watch events written out. Work per
/// wake-up is proportional to the connections that are active, not to the
/// number open, so idle connections cost nothing.
public final class SocketServer {
    private enum Listener {
        case main
        case readOnly
        case domain(UInt32)
    }

    private final class Client {
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
        /// Bytes read with `MSG_PEEK` (already in `decoder`) still in the socket (see ``SocketServer/readable(_:)``).
        var peeked = 0
        /// The socket keeps a peek offset (`SO_PEEK_OFF`): peeking again
        /// returns only bytes not yet peeked, so peeked bytes may stay a while.
        var peekAdvances = false
        /// The client sends a request in several writes (libxenstore: header,
        /// then payload): its bytes are taken out after every reply (see
        /// ``SocketServer/readable(_:)``).
        var writesInPieces = false
        /// In ``SocketServer/readThisRound``.
        var readThisRound = false

        init(fd: Int32, id: ConnectionID, privileged: Bool) {
            self.fd = fd
            self.id = id
            self.privileged = privileged
        }
    }

    private let store: Store
    private let logger: Logger
    private let paths: HostPaths
    /// -1 once closed: ``shutdown()`` may run twice (explicitly, then from deinit).
    private var epfd: Int32
    private var listeners: [Int32: Listener] = [:]
    private var listenerPaths: [Int32: String] = [:]
    private var domainListeners: [UInt32: Int32] = [:]
    private var clients: [Int32: Client] = [:]
    private var clientByID: [ConnectionID: Client] = [:]
    private var dirty: [Client] = []
    /// Clients read since the last wait (see ``endRound()``).
    private var readThisRound: [Client] = []
    /// Clients whose socket may hold more than they were allowed to read
    /// (edge-triggered epoll will not report those bytes again).
    private var unfinished: [Client] = []
    private var unfinishedSpare: [Client] = []
    private var stopFD: Int32 = -1
    private var running = false
    private var readBuffer = [UInt8](repeating: 0, count: 65536)

    /// Opens the main socket at `socketPath`, the read-only one at
    /// `readOnlySocketPath`, and a socket for every domain the store knows.
    public init(store: Store, paths: HostPaths, socketPath: String, readOnlySocketPath: String?, logger: Logger) throws(ServerError) {
        self.store = store
        self.paths = paths
        self.logger = logger
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epfd >= 0 else { throw ServerError("epoll_create1: \(String(cString: strerror(errno)))") }
        do throws(ServerError) {
            try listen(at: socketPath, as: .main)
            if let readOnlySocketPath { try listen(at: readOnlySocketPath, as: .readOnly) }
            for domid in store.introducedDomains { try openDomainSocket(domid) }
        } catch {
            shutdown()
            throw error
        }
    }

    deinit { shutdown() }

    /// Makes ``run()`` return at its next wake-up when `fd` becomes readable
    /// (the daemon passes the read end of its signal pipe).
    public func stop(whenReadable fd: Int32) {
        stopFD = fd
        watch(fd, events: UInt32(EPOLLIN.rawValue))
    }

    /// Serves until the stop descriptor becomes readable.
    public func run() {
        running = true
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var lastWork = SystemClock.monotonicNanoseconds()
        while running {
            // Right after work, poll without sleeping for a moment: a client
            // that sends its next request within that time finds the daemon
            // awake. On a virtual machine, waking an idle vCPU costs tens of
            // microseconds, more than a request itself.
            let spinning = spinNanoseconds > 0 && SystemClock.monotonicNanoseconds() &- lastWork < spinNanoseconds
            // With a checkpoint due, wait only a little: 50 ms without a request is idle enough.
            let timeout: Int32 = spinning || !unfinished.isEmpty ? 0 : store.wantsCheckpoint ? 50 : -1
            // About to sleep: idle CPUs may halt again.
            if timeout != 0 { cpuLatency?.release() }
            let n = events.withUnsafeMutableBufferPointer { epoll_wait(epfd, $0.baseAddress, Int32($0.count), timeout) }
            if n < 0 {
                if errno == EINTR { continue }
                logger.critical("epoll_wait: \(String(cString: strerror(errno)))")
                return
            }
            if n == 0 && unfinished.isEmpty {
                if !spinning { store.checkpoint(idle: true) }
                continue
            }
            // Busy, and polling after the work: keep the clients' CPUs from halting too.
            if spinNanoseconds > 0 { cpuLatency?.hold() }
            if !unfinished.isEmpty {
                swap(&unfinished, &unfinishedSpare)
                for client in unfinishedSpare where !client.closed { readable(client) }
                unfinishedSpare.removeAll(keepingCapacity: true)
            }
            for i in 0..<Int(n) {
                let fd = events[i].data.fd
                let flags = events[i].events
                if fd == stopFD {
                    running = false
                } else if let listener = listeners[fd] {
                    accept(on: fd, listener)
                } else if let client = clients[fd] {
                    if flags & UInt32(EPOLLOUT.rawValue) != 0 { markDirty(client) }
                    if flags & UInt32(EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 { readable(client) }
                }
            }
            // Commit before anything is sent; flushing may resume paused
            // clients, whose requests need a commit of their own.
            repeat {
                commitGroup()
                flushDirty()
            } while store.hasUncommittedChanges || !held.isEmpty
            endRound()
            store.checkpoint(idle: false)
            lastWork = SystemClock.monotonicNanoseconds()
        }
    }

    /// How long ``run()`` polls without sleeping after handling requests (0: never).
    public var spinNanoseconds: UInt64 = 50_000

    /// Held from the start of work until the daemon sleeps again, if busy
    /// polling is on (see ``CPULatencyRequest``); nil: never.
    public var cpuLatency: CPULatencyRequest?

    /// Closes every socket and removes the socket files this server made.
    public func shutdown() {
        cpuLatency = nil
        for client in Array(clients.values) { close(client) }
        for (fd, path) in listenerPaths {
            Glibc.close(fd)
            unlink(path)
        }
        for (domid, _) in domainListeners { rmdir(XSPath.parent(of: paths.domainSocket(domid))) }
        listeners.removeAll()
        listenerPaths.removeAll()
        domainListeners.removeAll()
        if epfd >= 0 { Glibc.close(epfd) }
        epfd = -1
    }

    // MARK: Sockets

    private func watch(_ fd: Int32, events: UInt32, modify: Bool = false) {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        epoll_ctl(epfd, modify ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event)
    }

    @discardableResult
    private func listen(at path: String, as kind: Listener) throws(ServerError) -> Int32 {
        let fd = try Self.bindUnixSocket(path)
        listeners[fd] = kind
        listenerPaths[fd] = path
        watch(fd, events: UInt32(EPOLLIN.rawValue))
        return fd
    }

    /// A listening, non-blocking Unix stream socket at `path` (a stale file there is replaced), mode 0600.
    static func bindUnixSocket(_ path: String) throws(ServerError) -> Int32 {
        guard let address = UnixSocketAddress(path: path) else {
            throw ServerError("socket path too long (\(path.utf8.count) bytes, at most \(UnixSocketAddress.maxPathLength)): \(path)")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServerError("socket: \(String(cString: strerror(errno)))") }
        unlink(path)
        let bound = address.withSockaddr { bind(fd, $0, $1) }
        guard bound == 0, chmod(path, 0o600) == 0, Glibc.listen(fd, SOMAXCONN) == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw ServerError("cannot listen on \(path): \(message)")
        }
        return fd
    }

    private func openDomainSocket(_ domid: UInt32) throws(ServerError) {
        guard domainListeners[domid] == nil else { return }
        let path = paths.domainSocket(domid)
        let dir = XSPath.parent(of: path)
        _ = mkdir(XSPath.parent(of: dir), 0o700)
        _ = mkdir(dir, 0o700)
        domainListeners[domid] = try listen(at: path, as: .domain(domid))
    }

    private func closeDomainSocket(_ domid: UInt32) {
        guard let fd = domainListeners.removeValue(forKey: domid) else { return }
        epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nil)
        Glibc.close(fd)
        listeners[fd] = nil
        if let path = listenerPaths.removeValue(forKey: fd) {
            unlink(path)
            rmdir(XSPath.parent(of: path))
        }
    }

    private func accept(on fd: Int32, _ listener: Listener) {
        while true {
            let cfd = Glibc.accept(fd, nil, nil)
            if cfd < 0 {
                if errno == EINTR { continue }
                if errno == EMFILE || errno == ENFILE {
                    // Out of descriptors: stop accepting (the listener would
                    // stay readable and spin) until a connection closes.
                    logger.warning("accept: \(String(cString: strerror(errno))); not accepting until a connection closes")
                    setListeners(enabled: false)
                } else if errno != EAGAIN && errno != EWOULDBLOCK {
                    logger.warning("accept: \(String(cString: strerror(errno)))")
                }
                return
            }
            _ = fcntl(cfd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(cfd, F_SETFL, O_NONBLOCK)
            let id: ConnectionID
            switch listener {
            case .main: id = store.connect(domid: 0)
            case .readOnly: id = store.connect(domid: 0, readOnly: true)
            case .domain(let domid): id = store.connect(domid: domid)
            }
            let client = Client(fd: cfd, id: id, privileged: store.isPrivileged(id))
            var zero: Int32 = 0
            client.peekAdvances = setsockopt(cfd, SOL_SOCKET, Self.soPeekOff, &zero, socklen_t(MemoryLayout<Int32>.size)) == 0
            clients[cfd] = client
            clientByID[id] = client
            watch(cfd, events: UInt32(EPOLLIN.rawValue) | EPOLLET.rawValue)
            logger.debug("connection \(id) on fd \(cfd) as \(listener)")
        }
    }

    private var listenersEnabled = true

    private func setListeners(enabled: Bool) {
        guard enabled != listenersEnabled else { return }
        listenersEnabled = enabled
        for fd in listeners.keys { watch(fd, events: enabled ? UInt32(EPOLLIN.rawValue) : 0, modify: true) }
    }

    private func close(_ client: Client) {
        guard !client.closed else { return }
        client.closed = true
        store.disconnect(client.id)
        epoll_ctl(epfd, EPOLL_CTL_DEL, client.fd, nil)
        Glibc.close(client.fd)
        setListeners(enabled: true)
        clients[client.fd] = nil
        clientByID[client.id] = nil
        logger.debug("connection \(client.id) closed")
    }

    // MARK: Reading and writing

    /// `SO_PEEK_OFF` (Linux; not in the Glibc module).
    private static let soPeekOff: Int32 = 42

    /// Bytes a client may leave peeked in its socket (see ``readable(_:)``).
    static let peekedLimit = 1024
    /// Bytes of an unfinished request past which its peeked bytes are taken
    /// out at the end of a round (see ``endRound()``).
    static let partialLimit = 32

    /// Reads what `client` sent with `MSG_PEEK`, leaving the bytes in the
    /// socket (see ``consume(_:)``). Taking a request out of a Unix socket
    /// frees the sender's buffer space, and the kernel then wakes every
    /// thread waiting on the sender's socket, which is the client itself,
    /// blocked in `recv` for the reply: it woke for nothing and slept again
    /// (a fifth of the daemon's CPU and a second pair of context switches in
    /// the client per request). The bytes are taken out right after a reply
    /// to the client is sent, when that reply has just taken the client off
    /// the socket's wait queue and taking them wakes no one: with a peek
    /// offset, once ``peekedLimit`` bytes have gathered (one `recv` for many
    /// requests), else every time.
    ///
    /// Client sockets are edge-triggered: bytes left in a socket (peeked, or
    /// not read because of the limit per wake-up) must not be reported again.
    /// Every write a client makes reports its socket again, and epoll checks
    /// only that the socket holds bytes: with bytes left in it, a request
    /// written in two pieces and peeked whole brings a second report and a
    /// peek that finds nothing, walking past every byte left on the way. A
    /// client seen doing that has its bytes taken out after every reply
    /// instead, as without a peek offset: then the late report finds the
    /// socket empty and epoll drops it.
    private func readable(_ client: Client) {
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
                    readThisRound.append(client)
                }
                client.peeked += n
                client.decoder.append(readBuffer[0..<n])
                process(client)
                if client.closed { return }
                full = n == readBuffer.count
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
    private func process(_ client: Client) {
        while !client.closed {
            if !client.privileged && client.queued >= store.quotas.outstandingRequests {
                pause(client)
                return
            }
            let message: XSMessage?
            do {
                message = try client.decoder.next()
            } catch {
                logger.warning("connection \(client.id): \(error), disconnecting")
                close(client)
                return
            }
            guard let message else { return }
            if logger.logLevel <= .debug {
                logger.debug("connection \(client.id): \(message.kind.map { "\($0)" } ?? "type \(message.type)") req \(message.requestID) tx \(message.transactionID) len \(message.payload.count)")
            }
            if Store.changesDomains(message) { commitGroup() }
            store.handle(message, from: client.id)
            drainOutbox(request: message, from: client)
            if !store.domainChanges.isEmpty { applyDomainChanges() }
        }
    }

    /// Unsent bytes beyond which watch events to a connection are dropped
    /// (a watcher that does not read must not make the daemon grow without bound).
    static let watchBacklogLimit = 4 << 20

    /// A message held back until the group of changes before it is committed.
    private struct Held {
        var target: ConnectionID
        var message: XSMessage
        /// The request whose reply this is, if it is a reply to one that changed the tree.
        var changedBy: XSMessage?
        /// An event caused by a request that changed the tree.
        var fromChange: Bool
    }

    /// Output waiting for ``commitGroup()``, in order.
    private var held: [Held] = []
    /// The spare buffers ``drainOutbox(request:from:)`` and ``commitGroup()`` swap with.
    private var outbox: [(ConnectionID, XSMessage)] = []
    private var releasing: [Held] = []

    /// Takes what the store produced for `request`. Once the store holds
    /// uncommitted changes, all output waits (in order) for the commit, so
    /// nothing is sent that depends on a change not yet durable.
    private func drainOutbox(request: XSMessage, from client: Client) {
        // Swapping with a spare array (emptied below, capacity kept) hands the
        // store an empty outbox without allocating one per request, as copying
        // it out and then emptying the shared buffer would.
        swap(&outbox, &store.outbox)
        defer { outbox.removeAll(keepingCapacity: true) }
        guard store.hasUncommittedChanges || !held.isEmpty else {
            // Mostly the reply to `client` alone: no lookup for it.
            for (id, message) in outbox {
                if id == client.id { enqueue(message, to: client) } else { enqueue(message, to: id) }
            }
            return
        }
        let changed = store.lastRequestChanged
        for (index, (id, message)) in outbox.enumerated() {
            let isReply = index == 0 && id == client.id
            held.append(Held(target: id, message: message, changedBy: changed && isReply ? request : nil, fromChange: changed && !isReply))
            clientByID[id]?.queued += 1
        }
    }

    /// Commits the store's group of changes, then queues what was held: as
    /// is, or, if the commit failed, with EIO for the requests whose changes
    /// were lost and without their watch events.
    private func commitGroup() {
        let committed = store.commitBatch()
        guard !held.isEmpty else { return }
        swap(&releasing, &held)
        defer { releasing.removeAll(keepingCapacity: true) }
        for entry in releasing {
            clientByID[entry.target]?.queued -= 1
            if committed {
                enqueue(entry.message, to: entry.target)
            } else if let request = entry.changedBy {
                enqueue(request.errorReply(.EIO), to: entry.target)
            } else if !entry.fromChange {
                enqueue(entry.message, to: entry.target)
            }
        }
    }

    /// Appends a message to a connection's output.
    private func enqueue(_ message: XSMessage, to id: ConnectionID) {
        guard let target = clientByID[id] else { return }
        enqueue(message, to: target)
    }

    private func enqueue(_ message: XSMessage, to target: Client) {
        let id = target.id
        if message.type == XSType.watchEvent.rawValue && target.out.count - target.outOffset > Self.watchBacklogLimit {
            if !target.droppingEvents {
                target.droppingEvents = true
                logger.warning("connection \(id) is not reading: dropping its watch events until it catches up")
            }
            return
        }
        // The header's four little-endian words in one append.
        let header = (message.type.littleEndian, message.requestID.littleEndian, message.transactionID.littleEndian,
                      UInt32(message.payload.count).littleEndian)
        withUnsafeBytes(of: header) { target.out.append(contentsOf: $0) }
        target.out.append(contentsOf: message.payload)
        target.queued += 1
        markDirty(target)
    }

    private func markDirty(_ client: Client) {
        if !client.dirty {
            client.dirty = true
            dirty.append(client)
        }
    }

    private func flushDirty() {
        while let client = dirty.popLast() {
            client.dirty = false
            if !client.closed { flush(client) }
        }
    }

    private func flush(_ client: Client) {
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
        if client.out.count > 1 << 20 {
            client.out = []
        } else {
            client.out.removeAll(keepingCapacity: true)
        }
        client.outOffset = 0
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

    /// Takes the bytes `client` sent, already peeked and decoded, out of its socket.
    private func consume(_ client: Client) {
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
    /// peek past them, or if it is in the middle of sending a request of
    /// more than ``partialLimit`` bytes. Such a client is not waiting for a
    /// reply (no wake-up to spare it), and it may be sending in small pieces:
    /// each piece is a socket buffer of its own, charged in full to the
    /// client's send buffer, and left there they could fill it while it waits
    /// for room to send the rest. A request's 16-byte header alone (which
    /// libxenstore writes before the payload) stays: the payload follows at once.
    private func endRound() {
        guard !readThisRound.isEmpty else { return }
        for client in readThisRound {
            client.readThisRound = false
            guard !client.closed, client.peeked > 0 else { continue }
            if !client.peekAdvances || client.peeked >= Self.peekedLimit || client.decoder.pendingByteCount > Self.partialLimit {
                consume(client)
            }
        }
        readThisRound.removeAll(keepingCapacity: true)
    }

    private func pause(_ client: Client) {
        guard !client.paused else { return }
        client.paused = true
        updateInterest(client)
    }

    private func resume(_ client: Client) {
        client.paused = false
        updateInterest(client)
        process(client)
        if !client.closed && client.dirty == false && client.queued > 0 { markDirty(client) }
    }

    private func updateInterest(_ client: Client) {
        var events = EPOLLET.rawValue
        if !client.paused { events |= UInt32(EPOLLIN.rawValue) }
        if client.wantsWrite { events |= UInt32(EPOLLOUT.rawValue) }
        watch(client.fd, events: events, modify: true)
    }

    private func applyDomainChanges() {
        let changes = store.domainChanges
        store.domainChanges.removeAll()
        for change in changes {
            switch change {
            case .introduced(let domid):
                do throws(ServerError) {
                    try openDomainSocket(domid)
                    logger.info("domain \(domid) introduced: \(paths.domainSocket(domid))")
                } catch {
                    logger.error("domain \(domid): \(error)")
                }
            case .released(let domid):
                closeDomainSocket(domid)
                for client in Array(clients.values) where store.domid(of: client.id) == nil && !client.privileged {
                    close(client)
                }
                logger.info("domain \(domid) released")
            }
        }
    }
}

public struct ServerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
