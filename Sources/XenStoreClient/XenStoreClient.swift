#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SwxlSystem
import Synchronization
import XenStoreProtocol

/// A watch firing: the path that changed and the token given to `watch`.
public struct XenStoreWatchEvent: Sendable, Equatable {
    public var path: String
    public var token: String

    public init(path: String, token: String) {
        self.path = path
        self.token = token
    }
}

/// One connection to a xenstore daemon: a Unix socket (swxl's own
/// xenstored or the system's) or the xenbus device.
///
/// Blocking and small. Each call sends one request and waits for its reply,
/// matched by request id; watch events that arrive meanwhile are queued for
/// ``nextWatchEvent(timeout:)``. An `XS_ERROR` reply throws
/// ``XenStoreError/xs(_:)``. Any I/O failure or protocol violation closes
/// the connection, and every later call throws ``XenStoreError/disconnected``
/// (or, after a daemon that did not answer in time, the same
/// ``XenStoreError/timedOut(_:)``: see ``replyTimeout``).
///
/// Ownership: the client owns its file descriptor and closes it in `deinit`
/// (or ``close()``). It is safe to share between threads: calls are
/// serialized by a lock. A blocking ``nextWatchEvent(timeout:)`` holds that
/// lock while it waits, so a program that waits for events and issues
/// requests from different threads should use two clients.
///
/// Path-level operations (read, write, ...) come from ``XenStoreOperations``;
/// run them inside a transaction with ``withTransaction(maxAttempts:_:)``.
public final class XenStoreClient: XenStoreOperations, Sendable {
    private struct Channel {
        var fd: Int32
        let isSocket: Bool
        /// What the connection is to (a socket's or device's path), for errors.
        let peer: String
        /// How long to wait for a reply, or for room to send (< 0: forever).
        var timeoutMs: Int32
        var decoder = XSFrameDecoder()
        /// Watch events read while waiting for replies, oldest first from
        /// `eventsStart` (taking one does not shift the rest: a guest host
        /// behind by hundreds of events took them in quadratic time).
        var events: [XenStoreWatchEvent] = []
        var eventsStart = 0
        var hasEvents: Bool { eventsStart < events.count }

        mutating func takeEvent() -> XenStoreWatchEvent? {
            guard eventsStart < events.count else { return nil }
            let event = events[eventsStart]
            eventsStart += 1
            if eventsStart == events.count {
                events.removeAll(keepingCapacity: true)
                eventsStart = 0
            } else if eventsStart >= 1024 && eventsStart * 2 >= events.count {
                events.removeFirst(eventsStart)
                eventsStart = 0
            }
            return event
        }

        mutating func dropEvents() {
            events.removeAll()
            eventsStart = 0
        }
        var nextRequestID: UInt32 = 1

        mutating func shutDown() {
            if fd >= 0 { Glibc.close(fd) }
            fd = -1
        }

        /// A time-out that closed the connection: every later call fails
        /// with it too (not with `disconnected`), so whichever call a
        /// program reports, it names the daemon that did not answer.
        var closedBy: XenStoreError?

        mutating func fail(_ error: XenStoreError) -> XenStoreError {
            shutDown()
            if case .timedOut = error { closedBy = error }
            return error
        }

        /// Reads once from the connection into the decoder.
        mutating func fill() throws(XenStoreError) {
            let fd = self.fd
            // Bytes read, or minus the errno.
            let n = withUnsafeTemporaryAllocation(byteCount: 8192, alignment: 8) { buf -> Int in
                while true {
                    let n = Glibc.read(fd, buf.baseAddress, buf.count)
                    if n > 0 { decoder.append(UnsafeRawBufferPointer(rebasing: buf[..<n])) }
                    if n >= 0 { return n }
                    if errno != EINTR { return errno == ECONNRESET ? 0 : -Int(errno) }
                }
            }
            if n == 0 { throw fail(.disconnected) }
            if n < 0 { throw fail(.system("read", Int32(-n))) }
        }

        /// Waits for the daemon's next bytes (at most `timeoutMs`) and reads them.
        mutating func fillAwaitingReply() throws(XenStoreError) {
            if timeoutMs >= 0, fd >= 0, !(try Transport.waitReadable(fd, milliseconds: timeoutMs)) {
                throw fail(.timedOut(XenStoreClient.noAnswer(peer, timeoutMs, what: "sent no reply")))
            }
            try fill()
        }

        mutating func send(_ bytes: [UInt8]) throws(XenStoreError) {
            do { try Transport.writeAll(fd, bytes, socket: isSocket, peer: peer, timeoutMs: timeoutMs) } catch { throw fail(error) }
        }

        /// The next whole message already received, queueing watch events.
        mutating func nextMessage() throws(XenStoreError) -> XSMessage? {
            while true {
                let message: XSMessage?
                do { message = try decoder.next() } catch { throw fail(.protocolViolation("\(error)")) }
                guard let message else { return nil }
                if message.type == XSType.watchEvent.rawValue {
                    let parts = XSPayload.split(message.payload)
                    guard let path = parts.first else { throw fail(.protocolViolation("empty watch event")) }
                    events.append(XenStoreWatchEvent(path: path, token: parts.count > 1 ? parts[1] : ""))
                    continue
                }
                return message
            }
        }

        mutating func roundTrip(_ type: XSType, transaction: UInt32, payload: [UInt8]) throws(XenStoreError) -> [UInt8] {
            guard fd >= 0 else { throw closedBy ?? .disconnected }
            guard payload.count <= XSMessage.maxPayload else { throw .payloadTooLarge(payload.count) }
            let id = nextRequestID
            nextRequestID = nextRequestID == UInt32.max ? 1 : nextRequestID + 1
            let request = XSMessage(type, requestID: id, transactionID: transaction, payload: payload)
            try send(request.encoded())
            while true {
                guard let reply = try nextMessage() else {
                    try fillAwaitingReply()
                    continue
                }
                guard reply.requestID == id else {
                    throw fail(.protocolViolation("reply to request \(reply.requestID), expected \(id)"))
                }
                if reply.type == XSType.error.rawValue { throw .xs(XSError(payload: reply.payload)) }
                guard reply.type == type.rawValue else {
                    throw fail(.protocolViolation("reply of type \(reply.type) to \(type)"))
                }
                return reply.payload
            }
        }

        /// Sends `requests` and collects their replies in order, at most
        /// `window` in flight so neither side's buffers fill up. An error
        /// reply is that request's result; anything else that goes wrong
        /// throws and closes the connection.
        mutating func pipeline(_ requests: [XenStoreRequest], transaction: UInt32,
                               window: Int) throws(XenStoreError) -> [Result<[UInt8], XenStoreError>] {
            guard fd >= 0 else { throw closedBy ?? .disconnected }
            if let big = requests.first(where: { $0.payload.count > XSMessage.maxPayload }) {
                throw .payloadTooLarge(big.payload.count)
            }
            var results: [Result<[UInt8], XenStoreError>] = []
            results.reserveCapacity(requests.count)
            var start = 0
            while start < requests.count {
                let end = min(start + window, requests.count)
                let firstID = nextRequestID
                var bytes: [UInt8] = []
                for request in requests[start..<end] {
                    let id = nextRequestID
                    nextRequestID = nextRequestID == UInt32.max ? 1 : nextRequestID + 1
                    bytes += XSMessage(request.type, requestID: id, transactionID: transaction, payload: request.payload).encoded()
                }
                try send(bytes)
                var id = firstID
                // (on one CPU: the daemon answers the batch before this thread reads it; BatchScheduling)
                try BatchScheduling.whileWaiting(batch: end - start > 1) { () throws(XenStoreError) in
                    for request in requests[start..<end] {
                        var reply = try nextMessage()
                        while reply == nil {
                            try fillAwaitingReply()
                            reply = try nextMessage()
                        }
                        guard let reply, reply.requestID == id else {
                            throw fail(.protocolViolation("reply to request \(reply?.requestID ?? 0), expected \(id)"))
                        }
                        if reply.type == XSType.error.rawValue {
                            results.append(.failure(.xs(XSError(payload: reply.payload))))
                        } else if reply.type == request.type.rawValue {
                            results.append(.success(reply.payload))
                        } else {
                            throw fail(.protocolViolation("reply of type \(reply.type) to \(request.type)"))
                        }
                        id = id == UInt32.max ? 1 : id + 1
                    }
                }
                start = end
            }
            return results
        }

        mutating func nextEvent(deadline: Int64?) throws(XenStoreError) -> XenStoreWatchEvent? {
            while true {
                // Decode what has arrived; anything but an event here is a
                // stray reply that nobody waits for.
                while fd >= 0, try nextMessage() != nil {}
                if let event = takeEvent() { return event }
                guard fd >= 0 else { throw closedBy ?? .disconnected }
                var wait: Int32 = -1
                if let deadline {
                    // Past the deadline, still take what is already readable.
                    let left = deadline - Int64(SystemClock.monotonicNanoseconds())
                    wait = left <= 0 ? 0 : Int32(clamping: (left + 999_999) / 1_000_000)
                }
                guard try Transport.waitReadable(fd, milliseconds: wait) else { return nil }
                try fill()
            }
        }
    }

    private let channel: Mutex<Channel>

    /// Takes ownership of an open descriptor (a connected socket, or the
    /// xenbus device when `isSocket` is false) to `peer` (its path, for
    /// errors). A request whose reply does not come within `replyTimeout`
    /// (nil: wait forever) fails with ``XenStoreError/timedOut(_:)`` and
    /// closes the connection.
    public init(fileDescriptor fd: Int32, isSocket: Bool = true, peer: String = "",
                replyTimeout: Duration? = XenStoreClient.defaultReplyTimeout) {
        channel = Mutex(Channel(fd: fd, isSocket: isSocket, peer: peer, timeoutMs: Self.milliseconds(replyTimeout)))
    }

    /// Connects to the daemon's Unix socket at `socketPath`; a daemon that
    /// takes no connection within `replyTimeout` is an error too.
    public convenience init(socketPath: String, replyTimeout: Duration? = XenStoreClient.defaultReplyTimeout) throws(XenStoreError) {
        let fd = try Transport.connectSocket(socketPath, timeoutMs: Self.milliseconds(replyTimeout))
        self.init(fileDescriptor: fd, isSocket: true, peer: socketPath, replyTimeout: replyTimeout)
    }

    /// How long a client waits for the daemon's reply (and, connecting,
    /// for the daemon to take the connection) before it fails: 30 s, or
    /// `SWXL_XENSTORE_TIMEOUT` seconds (`0`: forever). No request of the
    /// protocol takes a healthy daemon that long; a daemon that is stopped
    /// or wedged would otherwise hang every command.
    public static let defaultReplyTimeout: Duration? = {
        guard let raw = getenv(replyTimeoutVariable).map({ String(cString: $0) }), !raw.isEmpty else { return .seconds(30) }
        guard let seconds = Double(raw), seconds >= 0, seconds <= 86400 else {
            let line = Array("swxl: warning: \(replyTimeoutVariable)=\(raw) is not a number of seconds (0-86400); waiting 30 s for xenstored\n".utf8)
            _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            return .seconds(30)
        }
        return seconds == 0 ? nil : .milliseconds(max(1, Int64((seconds * 1000).rounded())))
    }()

    /// The variable that sets ``defaultReplyTimeout``.
    public static let replyTimeoutVariable = "SWXL_XENSTORE_TIMEOUT"

    /// How long a request may wait for its reply (nil: forever).
    public var replyTimeout: Duration? {
        get { channel.withLock { $0.timeoutMs < 0 ? nil : .milliseconds(Int64($0.timeoutMs)) } }
        set { channel.withLock { $0.timeoutMs = Self.milliseconds(newValue) } }
    }

    static func milliseconds(_ d: Duration?) -> Int32 {
        guard let d else { return -1 }
        return Int32(clamping: max(0, nanoseconds(d) / 1_000_000))
    }

    /// The message of a ``XenStoreError/timedOut(_:)``: which daemon, what it did not do, for how long.
    static func noAnswer(_ peer: String, _ timeoutMs: Int32, what: String) -> String {
        let ms = Int(timeoutMs)
        let time = ms % 1000 == 0 ? "\(ms / 1000) s" : "\(ms) ms"
        return "no answer from the xenstore daemon\(peer.isEmpty ? "" : " at " + peer): it \(what) within \(time) (\(replyTimeoutVariable) sets the limit)"
    }

    /// Opens `path` as libxenstore does: a socket is connected to, anything
    /// else (the xenbus device) is opened read-write.
    public static func open(path: String) throws(XenStoreError) -> XenStoreClient {
        switch Transport.isSocket(path) {
        case nil: throw .system("stat \(path)", ENOENT)
        case true?: return try XenStoreClient(socketPath: path)
        case false?: return XenStoreClient(fileDescriptor: try Transport.openDevice(path), isSocket: false, peer: path)
        }
    }

    deinit {
        channel.withLock { $0.shutDown() }
    }

    /// Closes the connection; later calls throw ``XenStoreError/disconnected``.
    public func close() {
        channel.withLock { $0.shutDown() }
    }

    /// Sends one request and returns its reply's payload.
    public func request(_ type: XSType, _ payload: [UInt8], transaction: UInt32) throws(XenStoreError) -> [UInt8] {
        try channel.withLock { ch in
            Result { () throws(XenStoreError) in try ch.roundTrip(type, transaction: transaction, payload: payload) }
        }.get()
    }

    /// Outside any transaction.
    public func request(_ type: XSType, _ payload: [UInt8]) throws(XenStoreError) -> [UInt8] {
        try request(type, payload, transaction: 0)
    }

    /// Sends all `requests` before reading any reply (a few dozen in
    /// flight at a time), then returns each request's result in order: its
    /// reply's payload, or the error the daemon answered it with. One round
    /// trip for many requests instead of one each. A failed request does not
    /// stop the others; an I/O failure or protocol violation throws (and
    /// closes the connection), and an oversized request throws
    /// ``XenStoreError/payloadTooLarge(_:)`` before anything is sent.
    public func pipeline(_ requests: [XenStoreRequest], transaction: UInt32 = 0) throws(XenStoreError) -> [Result<[UInt8], XenStoreError>] {
        try channel.withLock { ch in
            Result { () throws(XenStoreError) in try ch.pipeline(requests, transaction: transaction, window: Self.pipelineWindow) }
        }.get()
    }

    /// Requests in flight at once in ``pipeline(_:transaction:)``.
    static let pipelineWindow = 64

    /// The connection's descriptor (-1 once closed), to wait on with
    /// poll(2) beside others. Read only through the client.
    public var fileDescriptor: Int32 { channel.withLock { $0.fd } }

    /// Whether watch events were already read off the connection (while
    /// waiting for a reply): poll(2) on ``fileDescriptor`` would not report them.
    public var hasBufferedEvents: Bool {
        channel.withLock { ch in
            while ch.fd >= 0, (try? ch.nextMessage()) != nil {}
            return ch.hasEvents
        }
    }

    // MARK: Watches

    /// Registers a watch on `path` (or `@introduceDomain` / `@releaseDomain`).
    /// The daemon fires it once right away.
    public func watch(_ path: String, token: String) throws(XenStoreError) {
        _ = try request(.watch(path, token: token))
    }

    public func unwatch(_ path: String, token: String) throws(XenStoreError) {
        _ = try request(.unwatch(path, token: token))
    }

    /// The next watch event: waits at most `timeout` (forever if nil),
    /// returns nil when it passes.
    public func nextWatchEvent(timeout: Duration? = nil) throws(XenStoreError) -> XenStoreWatchEvent? {
        let deadline = timeout.map { Int64(SystemClock.monotonicNanoseconds()) + Self.nanoseconds($0) }
        return try channel.withLock { ch in
            Result { () throws(XenStoreError) in try ch.nextEvent(deadline: deadline) }
        }.get()
    }

    /// Drops this connection's watches and transactions on the daemon's side.
    public func resetWatches() throws(XenStoreError) {
        _ = try request(.resetWatches)
        channel.withLock { $0.dropEvents() }
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        let (s, atto) = d.components
        return s * 1_000_000_000 + atto / 1_000_000_000
    }

    // MARK: Transactions

    /// Starts a transaction; returns its id.
    public func startTransaction() throws(XenStoreError) -> UInt32 {
        let reply = try request(.transactionStart)
        guard let text = XSPayload.split(reply).first, let id = UInt32(text), id != 0 else {
            throw .protocolViolation("bad transaction id")
        }
        return id
    }

    /// Commits (`commit` true) or discards a transaction. A conflicting
    /// commit throws `.xs(.EAGAIN)`.
    public func endTransaction(_ id: UInt32, commit: Bool) throws(XenStoreError) {
        let end = XSRequest.transactionEnd(commit: commit)
        _ = try request(end.type, end.payload, transaction: id)
    }

    /// Runs `body` in a transaction and commits it. When the commit (or an
    /// operation inside) gets EAGAIN, runs `body` again in a new transaction,
    /// at most `maxAttempts` times in all, backing off a little after the
    /// first few conflicts. If `body` throws, the transaction is discarded
    /// and the error rethrown. `body` may run several times: keep side
    /// effects outside xenstore out of it.
    public func withTransaction<R>(maxAttempts: Int = 32, _ body: (XenStoreTransaction) throws -> R) throws -> R {
        var attempt = 0
        while true {
            attempt += 1
            let tx = XenStoreTransaction(client: self, id: try startTransaction())
            let result: R
            do {
                result = try body(tx)
            } catch {
                try? endTransaction(tx.id, commit: false)
                guard Self.isConflict(error), attempt < maxAttempts else { throw error }
                Self.backOff(attempt)
                continue
            }
            do {
                try endTransaction(tx.id, commit: true)
                return result
            } catch {
                guard Self.isConflict(error), attempt < maxAttempts else { throw error }
                Self.backOff(attempt)
            }
        }
    }

    static func isConflict(_ error: any Error) -> Bool {
        (error as? XenStoreError)?.xsError == .EAGAIN
    }

    /// Nothing for the first retries, then a random sleep that grows with
    /// the attempt (capped at about 4 ms) so racing clients spread out.
    static func backOff(_ attempt: Int) {
        guard attempt > 2 else { return }
        let ceiling = UInt32(min(4000, 50 << min(attempt - 2, 7)))
        usleep(UInt32.random(in: 0...ceiling))
    }

    // MARK: Domains and the daemon

    /// Tells the daemon about domain `domid` (dom0 only).
    public func introduce(domid: UInt32, mfn: UInt64, eventChannel: UInt32) throws(XenStoreError) {
        _ = try request(.introduce(domid: domid, mfn: mfn, port: eventChannel))
    }

    public func release(domid: UInt32) throws(XenStoreError) {
        _ = try request(.release(domid: domid))
    }

    public func resume(domid: UInt32) throws(XenStoreError) {
        _ = try request(.resume(domid: domid))
    }

    public func isDomainIntroduced(domid: UInt32) throws(XenStoreError) -> Bool {
        XSPayload.split(try request(.isDomainIntroduced(domid: domid))).first != "F"
    }

    /// `/local/domain/<domid>` as the daemon names it.
    public func getDomainPath(domid: UInt32) throws(XenStoreError) -> String {
        XSPayload.split(try request(.getDomainPath(domid: domid))).first ?? ""
    }

    /// Gives device-model domain `domid` the rights of `target`.
    public func setTarget(domid: UInt32, target: UInt32) throws(XenStoreError) {
        _ = try request(.setTarget(domid: domid, target: target))
    }

    /// Sends a CONTROL command with its arguments; returns the raw reply.
    public func control(_ command: String, _ arguments: [String] = []) throws(XenStoreError) -> [UInt8] {
        try request(.control(command, arguments))
    }
}

/// A transaction in progress, as handed to the body of
/// ``XenStoreClient/withTransaction(maxAttempts:_:)``: every operation runs
/// in it.
public struct XenStoreTransaction: XenStoreOperations, Sendable {
    public let client: XenStoreClient
    public let id: UInt32

    public init(client: XenStoreClient, id: UInt32) {
        self.client = client
        self.id = id
    }

    public func request(_ type: XSType, _ payload: [UInt8]) throws(XenStoreError) -> [UInt8] {
        try client.request(type, payload, transaction: id)
    }

    /// ``XenStoreClient/pipeline(_:transaction:)`` in this transaction.
    public func pipeline(_ requests: [XenStoreRequest]) throws(XenStoreError) -> [Result<[UInt8], XenStoreError>] {
        try client.pipeline(requests, transaction: id)
    }
}

/// One request of a ``XenStoreClient/pipeline(_:transaction:)``.
public struct XenStoreRequest: Sendable, Equatable {
    public var type: XSType
    public var payload: [UInt8]

    public init(_ type: XSType, _ payload: [UInt8]) {
        self.type = type
        self.payload = payload
    }

    /// `request` encoded once, ready for the pipeline.
    public init(_ request: XSRequest) {
        self.init(request.type, request.payload)
    }

    public static func read(_ path: String) -> XenStoreRequest { .init(.read(path)) }

    public static func write(_ path: String, _ value: some Collection<UInt8>) -> XenStoreRequest {
        .init(.write(path, Array(value)))
    }

    public static func write(_ path: String, _ value: String) -> XenStoreRequest { write(path, value.utf8) }

    public static func rm(_ path: String) -> XenStoreRequest { .init(.rm(path)) }

    public static func setPermissions(_ path: String, _ permissions: XSPermissions) -> XenStoreRequest {
        .init(.setPerms(path, permissions))
    }
}
