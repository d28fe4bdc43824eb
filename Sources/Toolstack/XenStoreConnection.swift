#if canImport(Glibc)
import Glibc
#endif
import XenStoreProtocol

/// A blocking xenstore connection over a Unix socket, with the batching
/// the toolstack needs: a whole domain's nodes go out in one pipelined
/// transaction, and `list` reads every name in one round of requests.
/// Watch events that arrive between replies are queued for `nextEvent`.
public final class XenStoreConnection: StoreAccess {
    public let socketPath: String
    public let fd: Int32
    private var decoder = XSFrameDecoder()
    private var nextRequestID: UInt32 = 1
    private var events: [(path: String, token: String)] = []

    public init(socketPath: String) throws(StoreError) {
        self.socketPath = socketPath
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw StoreError("connect \(socketPath)", error: nil, message: String(cString: strerror(errno))) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(fd)
            throw StoreError("connect \(socketPath)", error: nil, message: "socket path too long")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw StoreError("connect \(socketPath)", error: nil, message: String(cString: strerror(e)))
        }
        self.fd = fd
    }

    deinit { close(fd) }

    // MARK: raw requests

    private func send(_ messages: [XSMessage]) throws(StoreError) {
        var bytes: [UInt8] = []
        for m in messages { bytes.append(contentsOf: m.encoded()) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw StoreError("send", error: nil, message: String(cString: strerror(errno))) }
            done += n
        }
    }

    /// The next message that is not a watch event (events are queued).
    private func receiveReply() throws(StoreError) -> XSMessage {
        while true {
            if let m = try receiveMessage(block: true) {
                if m.kind == .watchEvent {
                    let parts = XSPayload.split(m.payload)
                    events.append((parts.first ?? "", parts.count > 1 ? parts[1] : ""))
                    continue
                }
                return m
            }
        }
    }

    private func receiveMessage(block: Bool) throws(StoreError) -> XSMessage? {
        while true {
            do {
                if let m = try decoder.next() { return m }
            } catch {
                throw StoreError("receive", error: nil, message: "malformed message from xenstored")
            }
            if !block { return nil }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw StoreError("receive", error: nil, message: n == 0 ? "xenstored closed the connection" : String(cString: strerror(errno)))
            }
            decoder.append(buffer[0..<n])
        }
    }

    private func message(_ type: XSType, _ payload: [UInt8], tx: UInt32 = 0) -> XSMessage {
        defer { nextRequestID &+= 1 }
        return XSMessage(type, requestID: nextRequestID, transactionID: tx, payload: payload)
    }

    /// One request, one reply; an XS_ERROR reply throws.
    @discardableResult
    func request(_ type: XSType, _ payload: [UInt8], tx: UInt32 = 0, what: @autoclosure () -> String) throws(StoreError) -> [UInt8] {
        try send([message(type, payload, tx: tx)])
        let reply = try receiveReply()
        if reply.kind == .error { throw StoreError(what(), error: XSError(payload: reply.payload)) }
        return reply.payload
    }

    /// Sends all, then reads all replies: results in order (error or payload).
    func pipeline(_ messages: [XSMessage]) throws(StoreError) -> [Result<[UInt8], XSError>] {
        var results: [Result<[UInt8], XSError>] = []
        results.reserveCapacity(messages.count)
        // Keep the amount in flight bounded so neither side's buffers fill up.
        var i = 0
        while i < messages.count {
            let chunk = Array(messages[i..<min(i + 64, messages.count)])
            try send(chunk)
            for _ in chunk {
                let reply = try receiveReply()
                results.append(reply.kind == .error ? .failure(XSError(payload: reply.payload)) : .success(reply.payload))
            }
            i += chunk.count
        }
        return results
    }

    private static func pathPayload(_ path: String) -> [UInt8] { Array(path.utf8) + [0] }

    // MARK: StoreAccess

    public func read(_ path: String) throws(StoreError) -> String? {
        do {
            let bytes = try request(.read, Self.pathPayload(path), what: "read \(path)")
            return String(decoding: bytes, as: UTF8.self)
        } catch where error.error == .ENOENT {
            return nil
        }
    }

    public func directory(_ path: String) throws(StoreError) -> [String] {
        do {
            return XSPayload.split(try request(.directory, Self.pathPayload(path), what: "directory \(path)"))
        } catch where error.error == .ENOENT {
            return []
        }
    }

    public func write(_ path: String, _ value: String) throws(StoreError) {
        try request(.write, Self.pathPayload(path) + Array(value.utf8), what: "write \(path)")
    }

    public func remove(_ path: String) throws(StoreError) {
        do { try request(.rm, Self.pathPayload(path), what: "rm \(path)") } catch where error.error == .ENOENT {}
    }

    public func permissions(_ path: String) throws(StoreError) -> XSPermissions? {
        do {
            let texts = XSPayload.split(try request(.getPerms, Self.pathPayload(path), what: "get-perms \(path)"))
            return XSPermissions(parsing: texts)
        } catch where error.error == .ENOENT {
            return nil
        }
    }

    public func setPermissions(_ path: String, _ perms: XSPermissions) throws(StoreError) {
        try request(.setPerms, Self.pathPayload(path) + perms.payload, what: "set-perms \(path)")
    }

    public func commit(removals: [String], writes: [StoreNode]) throws(StoreError) {
        var attempt = 0
        while true {
            attempt += 1
            let txText = XSPayload.split(try request(.transactionStart, [0], what: "transaction start")).first ?? "0"
            guard let tx = UInt32(txText) else { throw StoreError("transaction start", error: .EINVAL) }
            var batch: [XSMessage] = []
            var labels: [String] = []
            batch.reserveCapacity(removals.count + writes.count * 2)
            for path in removals {
                batch.append(message(.rm, Self.pathPayload(path), tx: tx))
                labels.append("rm \(path)")
            }
            // A node created by dom0 inherits its parent's permissions: a
            // SET_PERMS is needed only where they differ from the parent's
            // written just before in this transaction.
            var written: [String: XSPermissions] = [:]
            for node in writes {
                batch.append(message(.write, Self.pathPayload(node.path) + Array(node.value.utf8), tx: tx))
                labels.append("write \(node.path)")
                if written[XSPath.parent(of: node.path)] != node.perms || !removedBefore(node.path, removals) {
                    batch.append(message(.setPerms, Self.pathPayload(node.path) + node.perms.payload, tx: tx))
                    labels.append("set-perms \(node.path)")
                }
                written[node.path] = node.perms
            }
            let results = try pipeline(batch)
            var failure: StoreError? = nil
            for (i, r) in results.enumerated() {
                if case .failure(let e) = r, !(e == .ENOENT && labels[i].hasPrefix("rm ")) {
                    failure = StoreError(labels[i], error: e)
                    break
                }
            }
            if let failure {
                _ = try? request(.transactionEnd, Array("F".utf8) + [0], tx: tx, what: "transaction abort")
                if failure.error == .EAGAIN && attempt < 20 { continue }
                throw failure
            }
            do {
                try request(.transactionEnd, Array("T".utf8) + [0], tx: tx, what: "transaction commit")
                return
            } catch where error.error == .EAGAIN && attempt < 20 {
                continue
            }
        }
    }

    /// Whether `path` is new in this transaction: under a subtree removed first.
    private func removedBefore(_ path: String, _ removals: [String]) -> Bool {
        removals.contains { XSPath.isWithin(path, $0) }
    }

    public func readMany(_ paths: [String]) throws(StoreError) -> [String?] {
        let results = try pipeline(paths.map { message(.read, Self.pathPayload($0)) })
        var out: [String?] = []
        out.reserveCapacity(results.count)
        for (i, r) in results.enumerated() {
            switch r {
            case .success(let bytes): out.append(String(decoding: bytes, as: UTF8.self))
            case .failure(.ENOENT): out.append(nil)
            case .failure(let e): throw StoreError("read \(paths[i])", error: e)
            }
        }
        return out
    }

    public func introduce(domid: UInt32, mfn: UInt64, port: UInt32) throws(StoreError) {
        try request(.introduce, XSPayload.strings(["\(domid)", "\(mfn)", "\(port)"]), what: "introduce domain \(domid)")
    }

    public func release(domid: UInt32) throws(StoreError) {
        do {
            try request(.release, XSPayload.strings(["\(domid)"]), what: "release domain \(domid)")
        } catch where error.error == .ENOENT {}
    }

    // MARK: watches

    /// Whether events (or bytes of them) were already read from the socket:
    /// poll(2) would not report them.
    public var hasPendingInput: Bool {
        while events.isEmpty, let m = try? decoder.next() {
            if m.kind == .watchEvent {
                let parts = XSPayload.split(m.payload)
                events.append((parts.first ?? "", parts.count > 1 ? parts[1] : ""))
            }
        }
        return !events.isEmpty
    }

    public func watch(_ path: String, token: String) throws(StoreError) {
        try request(.watch, XSPayload.strings([path, token]), what: "watch \(path)")
    }

    public func unwatch(_ path: String, token: String) throws(StoreError) {
        try request(.unwatch, XSPayload.strings([path, token]), what: "unwatch \(path)")
    }

    /// The next watch event; waits at most `timeoutMs` (-1: forever). Nil on timeout.
    public func nextEvent(timeoutMs: Int32) throws(StoreError) -> (path: String, token: String)? {
        while true {
            if !events.isEmpty { return events.removeFirst() }
            if let m = try receiveMessage(block: false) {
                if m.kind == .watchEvent {
                    let parts = XSPayload.split(m.payload)
                    return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
                }
                continue  // a stray reply
            }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let rc = poll(&p, 1, timeoutMs)
            if rc < 0 && errno == EINTR { continue }
            if rc == 0 { return nil }
            if let m = try receiveMessage(block: true), m.kind == .watchEvent {
                let parts = XSPayload.split(m.payload)
                return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
            }
        }
    }
}
