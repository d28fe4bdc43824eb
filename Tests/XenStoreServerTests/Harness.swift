import Foundation
import Logging
import XenStoreProtocol
@testable import XenStoreServer

/// Log lines a store wrote, as "level message".
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    var lines: [String] { lock.withLock { stored } }
    func append(_ line: String) { lock.withLock { stored.append(line) } }
}

struct CapturingLogHandler: LogHandler {
    let sink: LogLines
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        sink.append("\(level) \(message)")
    }
}

/// What a request got back: its reply payload, or an error name.
enum Reply: Equatable, CustomStringConvertible {
    case value([UInt8])
    case error(XSError)

    static let ok = Reply.value(XSPayload.ok)
    static func text(_ s: String) -> Reply { .value(Array(s.utf8)) }
    static func strings(_ items: [String]) -> Reply { .value(XSPayload.strings(items)) }

    var description: String {
        switch self {
        case .value(let bytes): "value(\(String(decoding: bytes, as: UTF8.self).debugDescription))"
        case .error(let e): "error(\(e.rawValue))"
        }
    }
}

/// Drives a ``Store`` with requests as a connection would send them.
final class Harness {
    let store: Store
    private var requestID: UInt32 = 0
    /// Watch events each connection has received, as (path, token).
    private(set) var events: [ConnectionID: [[String]]] = [:]

    let log = LogLines()

    init(quotas: Quotas = Quotas(), storage: Storage? = nil) throws {
        let sink = log
        store = try Store(storage: storage, quotas: quotas, logger: Logger(label: "test") { _ in CapturingLogHandler(sink: sink) })
    }

    func connect(_ domid: UInt32 = 0, readOnly: Bool = false) -> ConnectionID {
        store.connect(domid: domid, readOnly: readOnly)
    }

    /// Sends one raw request and returns the reply to it; watch events go to ``events``.
    @discardableResult
    func send(_ conn: ConnectionID, _ type: UInt32, payload: [UInt8], tx: UInt32 = 0) -> Reply {
        requestID += 1
        store.handle(XSMessage(type: type, requestID: requestID, transactionID: tx, payload: payload), from: conn)
        var reply: Reply?
        for (target, message) in store.outbox {
            if message.kind == .watchEvent {
                precondition(message.requestID == 0 && message.transactionID == 0)
                events[target, default: []].append(XSPayload.split(message.payload))
            } else {
                precondition(target == conn && message.requestID == requestID && reply == nil)
                reply = message.kind == .error ? .error(XSError(payload: message.payload)) : .value(message.payload)
                if message.kind != .error { precondition(message.type == type && message.transactionID == tx) }
            }
        }
        store.outbox.removeAll()
        return reply!
    }

    @discardableResult
    func send(_ conn: ConnectionID, _ type: XSType, _ args: [String], tx: UInt32 = 0) -> Reply {
        send(conn, type.rawValue, payload: XSPayload.strings(args), tx: tx)
    }

    func read(_ conn: ConnectionID, _ path: String, tx: UInt32 = 0) -> Reply { send(conn, .read, [path], tx: tx) }

    @discardableResult
    func write(_ conn: ConnectionID, _ path: String, _ value: String, tx: UInt32 = 0) -> Reply {
        send(conn, XSType.write.rawValue, payload: Array(path.utf8) + [0] + Array(value.utf8), tx: tx)
    }

    @discardableResult
    func setPerms(_ conn: ConnectionID, _ path: String, _ perms: [String], tx: UInt32 = 0) -> Reply {
        send(conn, .setPerms, [path] + perms, tx: tx)
    }

    /// Starts a transaction and returns its id.
    func start(_ conn: ConnectionID) -> UInt32 {
        guard case .value(let bytes) = send(conn, .transactionStart, [""]), let id = UInt32(XSPayload.split(bytes)[0]) else {
            preconditionFailure("transaction start failed")
        }
        return id
    }

    func end(_ conn: ConnectionID, _ tx: UInt32, commit: Bool = true) -> Reply {
        send(conn, .transactionEnd, [commit ? "T" : "F"], tx: tx)
    }

    /// Takes the events received so far by `conn`.
    func takeEvents(_ conn: ConnectionID) -> [[String]] {
        defer { events[conn] = nil }
        return events[conn] ?? []
    }

    /// The committed tree below `path` as (path, value, perms) triples, depth first.
    func tree(_ path: String = "/") -> [String] {
        guard let node = store.node(at: path) else { return [] }
        var out = ["\(path)=\(String(decoding: node.value, as: UTF8.self)) \(node.perms)"]
        for child in node.children { out += tree(XSPath.join(path, child)) }
        return out
    }
}
