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
///
/// This file holds the loop; the listeners and domain sockets, reading
/// requests, writing output and the commit gate are each in a file of their own.
public final class SocketServer {
    let store: Store
    let logger: Logger
    /// Whether every request is logged (`logger` is debug; read once: its
    /// level never changes, and asking it costs a copy of its handler per request).
    let logsRequests: Bool
    let paths: HostPaths
    /// -1 once closed: ``shutdown()`` may run twice (explicitly, then from deinit).
    var epfd: Int32
    var listeners: [Int32: Listener] = [:]
    var listenerPaths: [Int32: String] = [:]
    var domainListeners: [UInt32: Int32] = [:]
    /// When an introduced domain's socket is opened: at its introduction
    /// (a descriptor per domain), or only when asked (CONTROL `domain-socket`).
    public let domainSockets: DomainSocketPolicy
    var clients: [Int32: ClientConnection] = [:]
    var clientByID: [ConnectionID: ClientConnection] = [:]
    /// Clients with output to send (see ``flushDirty()``), but the first.
    var dirty: [ClientConnection] = []
    /// The first client with output to send, kept out of ``dirty``: a round
    /// mostly has one, which then costs no append to the array and no
    /// removal from it (each a runtime call, dear under QEMU's TCG).
    var firstDirty: ClientConnection?
    /// Clients read since the last wait (see ``endRound()``), but the first.
    var readThisRound: [ClientConnection] = []
    /// The first client read since the last wait, kept out of ``readThisRound`` as ``firstDirty`` is.
    var firstReadThisRound: ClientConnection?
    /// Clients whose socket may hold more than they were allowed to read
    /// (edge-triggered epoll will not report those bytes again).
    var unfinished: [ClientConnection] = []
    var unfinishedSpare: [ClientConnection] = []
    var stopFD: Int32 = -1
    var running = false
    var readBuffer = [UInt8](repeating: 0, count: 65536)
    var listenersEnabled = true
    /// Paces domains whose connections send malformed frames (see ``BadFrameThrottle``).
    var badFrames = BadFrameThrottle()
    /// Domain sockets left unpolled until then (nanoseconds of ``throttleClock``).
    var pausedListeners: [UInt32: UInt64] = [:]
    /// The throttle's clock (nanoseconds); tests set their own.
    var throttleClock: () -> UInt64 = SystemClock.monotonicNanoseconds
    /// Output held back until the changes before it are committed.
    let gate = OutputGate()
    /// The spare buffer ``drainOutbox(request:from:)`` swaps with the store's.
    var outbox: [(ConnectionID, XSMessage)] = []
    /// Domains' rings by their store connection, and in the order attached.
    var rings: [ConnectionID: RingConnection] = [:]
    var ringList: [RingConnection] = []
    /// Where request bytes taken from a ring land (plain memory: an array
    /// here was a uniqueness check at every take).
    let ringBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
    /// Other descriptors the loop waits on (event channels), with what to do when one is readable.
    var readableHandlers: [Int32: () -> Void] = [:]
    /// The poll of guests' rings after a reply to a guest (see ``GuestPoll``); off unless set.
    public var guestPoll = GuestPoll(maxMicroseconds: 0)
    /// When the poll's window closes (``guestPollClock`` ns); 0: closed.
    var guestPollDeadline: UInt64 = 0
    /// The poll's clock and its yields of the CPU (each a system call,
    /// each followed by a batch of looks), in order at every turn of the
    /// poll or only at every n-th (``GuestPoll/Yield``); tests set their own.
    var guestPollClock: () -> UInt64 = SystemClock.monotonicNanoseconds
    var guestPollYields: [GuestPoll.Yield] = [GuestPoll.Yield { _ = sched_yield() }]
    /// The poll's turns (``pollGuestRings()`` calls that yielded), counted for the yields taken every n-th turn.
    var guestPollTurns: UInt32 = 0
    /// The pages ``pollGuestRings()`` looks at and what it looks for in
    /// each (kept to spare an allocation per batch).
    var pollPages: [UnsafeMutableRawPointer?] = []
    var pollPageLooks: [RingPage.Looks] = []
    /// Unmasks guests' event channels held masked while their rings are polled (``GuestRings/releaseHeldPorts()``).
    var releaseHeldEvents: () -> Void = {}
    /// Dom0's ring's event channel was taken and left masked
    /// (``GuestRings/holdDom0Port(_:)``): the loop looks at that ring at
    /// every turn, and calls ``unmaskDom0Port`` before it sleeps.
    var dom0PortHeld = false
    var unmaskDom0Port: () -> Void = {}
    /// What the poll did: windows opened, requests (or room for output) it
    /// found, windows that closed with none; notifications held for a
    /// request taken in part (``holdsTakeNotice(_:)``), and of those, sent
    /// when the window closed before the rest came.
    public internal(set) var guestPollCounts = (windows: 0, found: 0, empty: 0, held: 0, heldSentAtClose: 0)

    /// Opens the main socket at `socketPath`, the read-only one at
    /// `readOnlySocketPath`, and a socket for every domain the store knows.
    public init(store: Store, paths: HostPaths, socketPath: String, readOnlySocketPath: String?, logger: Logger,
                domainSockets: DomainSocketPolicy = .atIntroduction) throws(ServerError) {
        self.store = store
        self.paths = paths
        self.logger = logger
        logsRequests = logger.logLevel <= .debug
        self.domainSockets = domainSockets
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epfd >= 0 else { throw ServerError("epoll_create1: \(String(cString: strerror(errno)))") }
        do throws(ServerError) {
            try listen(at: socketPath, as: .main)
            if let readOnlySocketPath { try listen(at: readOnlySocketPath, as: .readOnly) }
            if domainSockets == .atIntroduction {
                for domid in store.introducedDomains { try openDomainSocket(domid) }
            }
        } catch {
            shutdown()
            throw error
        }
    }

    deinit {
        shutdown()
        ringBuffer.deallocate()
    }

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
        var skippedWait = false
        while running {
            // After a reply to a guest, its next request is looked for in
            // the ring itself for a while (see GuestPoll), between the waits.
            let guestRequests = pollGuestRings()
            let guestPolling = guestPollDeadline != 0
            // Right after work, poll without sleeping for a moment: a client
            // that sends its next request within that time finds the daemon
            // awake. On a virtual machine, waking an idle vCPU costs tens of
            // microseconds, more than a request itself.
            let spinning = spinNanoseconds > 0 && SystemClock.monotonicNanoseconds() &- lastWork < spinNanoseconds
            // With a checkpoint due, wait only a little: 50 ms without a request is idle enough.
            var timeout: Int32 = spinning || guestPolling || guestRequests || !unfinished.isEmpty ? 0
                : store.wantsCheckpoint ? 50 : -1
            // A paused domain socket is polled again when its wait is over.
            // (The clock only then: on a Xen PV dom0 reading it is a system call.)
            if timeout != 0, !pausedListeners.isEmpty, let due = msUntilListenerResumes(now: throttleClock()) {
                timeout = timeout < 0 ? due : min(timeout, due)
            }
            if timeout != 0 { prepareToSleep() }
            // A guest's request the poll found is served at once: the other
            // descriptors are looked at on the next turn, without sleeping
            // (never two turns in a row without them: a guest that keeps
            // sending does not starve the sockets, dom0's ring or a stop).
            let skipWait = guestRequests && !skippedWait
            skippedWait = skipWait
            let n = skipWait ? 0
                : events.withUnsafeMutableBufferPointer { epoll_wait(epfd, $0.baseAddress, Int32($0.count), timeout) }
            if n < 0 {
                if errno == EINTR { continue }
                logger.critical("epoll_wait: \(String(cString: strerror(errno)))")
                return
            }
            if !pausedListeners.isEmpty { resumeListeners(now: throttleClock()) }
            if n == 0 && unfinished.isEmpty && !guestRequests && !(dom0PortHeld && dom0RingBusy) {
                if !spinning && !guestPolling { store.checkpoint(idle: true) }
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
                // The most frequent first (a descriptor is in one table
                // only): a client's request costs one lookup, not three, an
                // event channel's two, as before; a new connection, rare, three.
                if let client = clients[fd] {
                    if flags & UInt32(EPOLLOUT.rawValue) != 0 { markDirty(client) }
                    if flags & UInt32(EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 { readable(client) }
                } else if let handler = readableHandlers[fd] {
                    handler()
                } else if fd == stopFD {
                    running = false
                } else if let listener = listeners[fd] {
                    accept(on: fd, listener)
                }
            }
            if !ringList.isEmpty { serviceRings() }
            // Commit before anything is sent; flushing may resume paused
            // clients, whose requests need a commit of their own.
            repeat {
                commitGroup()
                flushDirty()
            } while store.hasUncommittedChanges || gate.isHolding
            endRound()
            finishGuestRound()
            // After the round's replies are out, not on their way: reading
            // the clock is a system call on a Xen PV dom0, and a reopened
            // database is written the whole tree anyway.
            if store.reopenStorage != nil { store.verifyStorage(now: SystemClock.monotonicNanoseconds()) }
            store.checkpoint(idle: false)
            if spinNanoseconds > 0 { lastWork = SystemClock.monotonicNanoseconds() }
        }
    }

    /// The loop is about to sleep: idle CPUs may halt again, and dom0's
    /// ring's port is unmasked (an event that came while it was held
    /// fires now, and the loop does not sleep).
    func prepareToSleep() {
        cpuLatency?.release()
        if dom0PortHeld {
            dom0PortHeld = false
            unmaskDom0Port()
        }
    }

    /// Whether dom0's ring has something to do (with its port held, no
    /// event says so).
    var dom0RingBusy: Bool {
        guard let ring = ringList.first, ring.domid == 0 else { return false }
        return !ring.isIdle
    }

    /// How long ``run()`` polls without sleeping after handling requests (0: never).
    public var spinNanoseconds: UInt64 = 50_000

    /// The busy poll the daemon uses unless told otherwise: 50 µs where
    /// another CPU is online, none on a machine with one CPU (a dom0 with
    /// one vCPU), where a client can only send its next request when the
    /// daemon stops running: polling there only costs system calls (and
    /// delays the client if it is not scheduled at once).
    public static func defaultSpinMicroseconds(onlineCPUs: Int = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) -> UInt64 {
        onlineCPUs > 1 ? 50 : 0
    }

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

    /// Runs `handler` in the loop whenever `fd` is readable (level-triggered).
    public func onReadable(_ fd: Int32, _ handler: @escaping () -> Void) {
        readableHandlers[fd] = handler
        watch(fd, events: UInt32(EPOLLIN.rawValue))
    }

    func watch(_ fd: Int32, events: UInt32, modify: Bool = false) {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        epoll_ctl(epfd, modify ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event)
    }
}

/// When the daemon opens an introduced domain's socket (`<state>/domains/<domid>/xenbus`).
public enum DomainSocketPolicy: String, Sendable, Equatable, CaseIterable {
    /// At `INTRODUCE` (and at start for the domains restored): every domain costs a listening descriptor.
    case atIntroduction = "introduce"
    /// Only when a privileged client asks (CONTROL `domain-socket <domid>`):
    /// a domain costs no descriptor until then, so the number of domains is
    /// not bounded by the process's descriptors.
    case onRequest = "request"
}

public struct ServerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
