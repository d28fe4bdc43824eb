#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import XenStoreClient
import XenStoreProtocol

/// A failed xenstore operation.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The xenstore error, when the daemon answered with one.
    public var error: XSError?
    /// What was being done, e.g. "write /local/domain/1/name".
    public var operation: String
    public var message: String

    public init(_ operation: String, error: XSError?, message: String? = nil) {
        self.operation = operation
        self.error = error
        self.message = message ?? error?.message ?? "failed"
    }

    public var description: String { "xenstore: \(operation): \(message)" }
}

/// What the toolstack needs from xenstore. `XenStoreAccess` speaks the
/// wire protocol through `XenStoreClient`; tests may substitute their own.
public protocol StoreAccess: AnyObject {
    /// The value, or nil when the node does not exist.
    func read(_ path: String) throws(StoreError) -> String?
    /// The children's names; empty when the node does not exist.
    func directory(_ path: String) throws(StoreError) -> [String]
    func write(_ path: String, _ value: String) throws(StoreError)
    /// Removes a subtree; a missing node is not an error.
    func remove(_ path: String) throws(StoreError)
    /// Nil when the node does not exist.
    func permissions(_ path: String) throws(StoreError) -> XSPermissions?
    /// In one transaction (retried on EAGAIN): removes `removals`, then
    /// writes each node's value and sets its permissions, in order.
    func commit(removals: [String], writes: [StoreNode]) throws(StoreError)
    /// Many reads at once (nil for missing nodes), in order.
    func readMany(_ paths: [String]) throws(StoreError) -> [String?]
    func introduce(domid: UInt32, mfn: UInt64, port: UInt32) throws(StoreError)
    func release(domid: UInt32) throws(StoreError)
    /// Waits until `satisfied` holds for the values at `paths` (nil for a
    /// missing node), looking again each time one of them changes; false
    /// after `timeoutMs`. Over a connection, through a watch on each path
    /// (as libxl's `libxl__ev_devstate_wait`); the default looks every few
    /// milliseconds, for stores in memory.
    func wait(for paths: [String], timeoutMs: Int, until satisfied: ([String?]) -> Bool) throws(StoreError) -> Bool
    /// Writes `value` at `path` only if it still holds `expected`, in one
    /// transaction (libxl's cancel of an unanswered suspend request);
    /// false, and nothing written, if it holds something else.
    func replace(_ path: String, ifEqual expected: String, with value: String) throws(StoreError) -> Bool
    /// Tells xenstored a suspended domain runs again (`XS_RESUME`,
    /// `xs_resume_domain`), after a save that failed or kept it.
    func resume(domid: UInt32) throws(StoreError)
}

extension StoreAccess {
    /// For stores in memory, where nothing runs between the read and the write.
    public func replace(_ path: String, ifEqual expected: String, with value: String) throws(StoreError) -> Bool {
        guard try read(path) == expected else { return false }
        try write(path, value)
        return true
    }

    public func resume(domid: UInt32) throws(StoreError) {}

    public func wait(for paths: [String], timeoutMs: Int, until satisfied: ([String?]) -> Bool) throws(StoreError) -> Bool {
        let deadline = SystemClock.monotonicNanoseconds() + UInt64(max(timeoutMs, 0)) * 1_000_000
        while true {
            if satisfied(try readMany(paths)) { return true }
            if SystemClock.monotonicNanoseconds() >= deadline { return false }
            usleep(2_000)
        }
    }
}

extension StoreError {
    /// A client failure while doing `operation`.
    init(_ operation: String, _ failure: XenStoreError) {
        switch failure {
        case .xs(let e): self.init(operation, error: e)
        case .system(_, let code): self.init(operation, error: nil, message: String(cString: strerror(code)))
        default: self.init(operation, error: nil, message: failure.description)
        }
    }
}

/// `StoreAccess` over a `XenStoreClient`: missing nodes are nil (or
/// empty, or nothing to do), a domain's nodes go out as one pipelined
/// transaction, and many reads as one pipeline.
///
/// With ``reconnect`` set (the embedded host's toolstack), an operation
/// whose connection the daemon closed, or whose daemon no longer answers
/// at all (killed, restarting), is run again on a new connection: each of
/// them is idempotent (a write of the same value, a removal, a whole
/// transaction, an introduction the daemon already has), so a command never
/// reports a failure, or leaves a create half undone, because the daemon
/// restarted under it. Without it (and after ``maxReconnects`` in one
/// operation) the operation fails with the daemon's disconnection.
public final class XenStoreAccess: StoreAccess {
    public private(set) var client: XenStoreClient
    /// A new connection to the same daemon (started again if need be).
    public var reconnect: (() throws(XenStoreError) -> XenStoreClient)?
    /// How many new connections one operation may take.
    public static let maxReconnects = 8

    public init(client: XenStoreClient, reconnect: (() throws(XenStoreError) -> XenStoreClient)? = nil) {
        self.client = client
        self.reconnect = reconnect
    }

    /// Runs `body` on the connection; if the connection was lost and
    /// ``reconnect`` is set, on a new one, up to ``maxReconnects`` times.
    private func onClient<T>(_ body: (XenStoreClient) throws(XenStoreError) -> T) throws(XenStoreError) -> T {
        var reconnects = 0
        while true {
            do { return try body(client) } catch {
                guard reconnect != nil, error.isConnectionLoss, reconnects < Self.maxReconnects else { throw error }
                reconnects += 1
                try reconnectNow(after: error)
            }
        }
    }

    /// ``onClient(_:)`` for a body that throws other errors too (a transaction's).
    private func onClientAnyError<T>(_ body: (XenStoreClient) throws -> T) throws -> T {
        var reconnects = 0
        while true {
            do { return try body(client) } catch let error as XenStoreError where reconnect != nil && error.isConnectionLoss
                                                                            && reconnects < Self.maxReconnects {
                reconnects += 1
                try reconnectNow(after: error)
            }
        }
    }

    /// A new connection in place of the lost one: the daemon may be between
    /// two lives, so a few tries (the connector waits for, or starts, the next).
    private func reconnectNow(after loss: XenStoreError) throws(XenStoreError) {
        guard let reconnect else { throw loss }
        var lastError = loss
        for attempt in 0..<3 {
            if attempt > 0 { usleep(50_000) }
            do throws(XenStoreError) {
                client = try reconnect()
                return
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// Connects to the daemon's socket.
    public convenience init(socketPath: String) throws(StoreError) {
        do { self.init(client: try XenStoreClient(socketPath: socketPath)) } catch {
            throw StoreError("connect \(socketPath)", error)
        }
    }

    public func read(_ path: String) throws(StoreError) -> String? {
        do { return try onClient { c throws(XenStoreError) in try c.readIfPresent(path) }.map { String(decoding: $0, as: UTF8.self) } } catch {
            throw StoreError("read \(path)", error)
        }
    }

    public func directory(_ path: String) throws(StoreError) -> [String] {
        do { return try onClient { c throws(XenStoreError) in try c.directory(path) } } catch .xs(.ENOENT) { return [] } catch {
            throw StoreError("directory \(path)", error)
        }
    }

    public func write(_ path: String, _ value: String) throws(StoreError) {
        do { try onClient { c throws(XenStoreError) in try c.write(path, value) } } catch { throw StoreError("write \(path)", error) }
    }

    public func remove(_ path: String) throws(StoreError) {
        do { try onClient { c throws(XenStoreError) in try c.rm(path) } } catch .xs(.ENOENT) {} catch { throw StoreError("rm \(path)", error) }
    }

    public func permissions(_ path: String) throws(StoreError) -> XSPermissions? {
        do { return try onClient { c throws(XenStoreError) in try c.getPermissions(path) } } catch .xs(.ENOENT) { return nil } catch {
            throw StoreError("get-perms \(path)", error)
        }
    }

    public func setPermissions(_ path: String, _ perms: XSPermissions) throws(StoreError) {
        do { try onClient { c throws(XenStoreError) in try c.setPermissions(path, perms) } } catch { throw StoreError("set-perms \(path)", error) }
    }

    /// A failed request of the commit's batch, by its label.
    private struct BatchFailure: Error {
        var label: String
        var error: XenStoreError
    }

    public func commit(removals: [String], writes: [StoreNode]) throws(StoreError) {
        var batch: [XenStoreRequest] = []
        var labels: [String] = []
        batch.reserveCapacity(removals.count + writes.count * 2)
        for path in removals {
            batch.append(.rm(path))
            labels.append("rm \(path)")
        }
        // A node created by dom0 inherits its parent's permissions: a
        // SET_PERMS is needed only where they differ from the parent's
        // written just before in this transaction.
        var written: [String: XSPermissions] = [:]
        for node in writes {
            batch.append(.write(node.path, node.value))
            labels.append("write \(node.path)")
            if written[XSPath.parent(of: node.path)] != node.perms || !removals.contains(where: { XSPath.isWithin(node.path, $0) }) {
                batch.append(.setPermissions(node.path, node.perms))
                labels.append("set-perms \(node.path)")
            }
            written[node.path] = node.perms
        }
        do {
            try onClientAnyError { c in try c.withTransaction(maxAttempts: 20) { tx in
                for (i, result) in try tx.pipeline(batch).enumerated() {
                    guard case .failure(let e) = result, !(e == .xs(.ENOENT) && batch[i].type == .rm) else { continue }
                    // A conflict is retried by withTransaction.
                    throw e == .xs(.EAGAIN) ? e : BatchFailure(label: labels[i], error: e) as any Error
                }
            } }
        } catch let failure as BatchFailure {
            throw StoreError(failure.label, failure.error)
        } catch let e as XenStoreError {
            throw StoreError("transaction", e)
        } catch {
            throw StoreError("transaction", error: nil, message: "\(error)")
        }
    }

    public func readMany(_ paths: [String]) throws(StoreError) -> [String?] {
        let results: [Result<[UInt8], XenStoreError>]
        do { results = try onClient { c throws(XenStoreError) in try c.pipeline(paths.map { .read($0) }) } } catch {
            throw StoreError("read \(paths.first ?? "")", error)
        }
        var out: [String?] = []
        out.reserveCapacity(results.count)
        for (i, r) in results.enumerated() {
            switch r {
            case .success(let bytes): out.append(String(decoding: bytes, as: UTF8.self))
            case .failure(.xs(.ENOENT)): out.append(nil)
            case .failure(let e): throw StoreError("read \(paths[i])", e)
            }
        }
        return out
    }

    public func introduce(domid: UInt32, mfn: UInt64, port: UInt32) throws(StoreError) {
        // Introducing a domain the daemon already has changes nothing (on the embedded host).
        do { try onClient { c throws(XenStoreError) in try c.introduce(domid: domid, mfn: mfn, eventChannel: port) } } catch {
            throw StoreError("introduce domain \(domid)", error)
        }
    }

    public func release(domid: UInt32) throws(StoreError) {
        do { try onClient { c throws(XenStoreError) in try c.release(domid: domid) } } catch .xs(.ENOENT) {} catch {
            throw StoreError("release domain \(domid)", error)
        }
    }

    public func resume(domid: UInt32) throws(StoreError) {
        do { try client.resume(domid: domid) } catch { throw StoreError("resume domain \(domid)", error) }
    }

    public func replace(_ path: String, ifEqual expected: String, with value: String) throws(StoreError) -> Bool {
        do {
            return try client.withTransaction { tx in
                let now = try tx.readIfPresent(path).map { String(decoding: $0, as: UTF8.self) }
                guard now == expected else { return false }
                try tx.write(path, value)
                return true
            }
        } catch let e as XenStoreError {
            throw StoreError("write \(path)", e)
        } catch {
            throw StoreError("write \(path)", error: nil, message: "\(error)")
        }
    }

    /// One watch per path, with a token of this call's own, so that a
    /// stale event of an earlier wait is not taken for a change. A lost
    /// connection (see ``reconnect``) starts the wait again on a new one,
    /// with the same deadline.
    public func wait(for paths: [String], timeoutMs: Int, until satisfied: ([String?]) -> Bool) throws(StoreError) -> Bool {
        let deadline = SystemClock.monotonicNanoseconds() + UInt64(max(timeoutMs, 0)) * 1_000_000
        do {
            return try onClient { c throws(XenStoreError) in try wait(on: c, for: paths, deadline: deadline, until: satisfied) }
        } catch {
            throw StoreError("wait for \(paths.first ?? "")", error)
        }
    }

    private func wait(on client: XenStoreClient, for paths: [String], deadline: UInt64,
                      until satisfied: ([String?]) -> Bool) throws(XenStoreError) -> Bool {
        waitCount &+= 1
        let token = "swxl-wait-\(waitCount)"
        var watched: [String] = []
        defer { for path in watched { try? client.unwatch(path, token: token) } }
        for path in paths {
            try client.watch(path, token: token)
            watched.append(path)
        }
        while true {
            var values: [String?] = []
            for result in try client.pipeline(paths.map { .read($0) }) {
                switch result {
                case .success(let bytes): values.append(String(decoding: bytes, as: UTF8.self))
                case .failure(.xs(.ENOENT)): values.append(nil)
                case .failure(let e): throw e
                }
            }
            if satisfied(values) { return true }
            // Wait for the next change of ours (a watch fires once when set, too).
            while true {
                let now = SystemClock.monotonicNanoseconds()
                if now >= deadline { return false }
                let left = Int64(min((deadline - now) / 1_000_000 + 1, 60_000))
                guard let event = try client.nextWatchEvent(timeout: .milliseconds(left)) else { return false }
                if event.token == token { break }
            }
        }
    }
    private var waitCount = 0

    // MARK: watches (the simulated guests' host)

    public func watch(_ path: String, token: String) throws(StoreError) {
        do { try client.watch(path, token: token) } catch { throw StoreError("watch \(path)", error) }
    }

    /// The next watch event; waits at most `timeoutMs` (-1: forever). Nil on timeout.
    public func nextEvent(timeoutMs: Int32) throws(StoreError) -> (path: String, token: String)? {
        do {
            let event = try client.nextWatchEvent(timeout: timeoutMs < 0 ? nil : .milliseconds(timeoutMs))
            return event.map { ($0.path, $0.token) }
        } catch {
            throw StoreError("watch event", error)
        }
    }
}

extension XenStoreError {
    /// The daemon went away under the request (killed, restarting): the
    /// connection was closed or reset, or nothing listens any more. Not a
    /// refusal or a protocol error, which a new connection would not change.
    var isConnectionLoss: Bool {
        switch self {
        case .disconnected: true
        case .system(_, let code): code == ECONNRESET || code == EPIPE || code == ECONNREFUSED || code == ENOENT
        default: false
        }
    }
}
