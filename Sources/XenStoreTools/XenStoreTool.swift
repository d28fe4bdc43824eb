#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import XenStoreClient
import XenStoreProtocol

/// A `xenstore-*` tool failed: the line it prints after its own name, e.g.
/// `couldn't read path /a: No such file or directory`. Its exit status is 1.
public struct XenStoreToolFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    /// The daemon went away before it answered (the connection closed or
    /// reset): what was asked may or may not have been done.
    public var connectionLost = false
    /// The daemon did not answer within the client's time limit: a request
    /// already sent may yet be done (the daemon may only be slow).
    public var timedOut = false
    public var description: String { message }
    public init(_ message: String, connectionLost: Bool = false, timedOut: Bool = false) {
        self.message = message
        self.connectionLost = connectionLost
        self.timedOut = timedOut
    }
}

/// What Xen's `xenstore-*` tools do, command by command, so that `swxl
/// store` behaves and fails as they do: each function here is one command
/// run against a connection, throwing the message the tool would print.
public enum XenStoreTool {
    /// Connects as libxenstore would, or fails as `xs_open` does.
    public static func open(_ connector: XenStoreConnector) throws(XenStoreToolFailure) -> XenStoreClient {
        do {
            return try connector.connect()
        } catch {
            throw XenStoreToolFailure("xs_open: \(reason(error))")
        }
    }

    /// Runs `operations` in order: in one transaction, retried on conflicts,
    /// when `atomically`. A failing operation fails them all with its
    /// ``XenStoreBatch/failureMessage(_:)``, after `line N: ` when `lines`
    /// numbers them.
    public static func run(_ operations: [XenStoreBatch.Operation], on client: XenStoreClient, atomically: Bool,
                           lines: [Int]? = nil) throws(XenStoreToolFailure) -> [XenStoreBatch.Output] {
        try perform(on: client, atomically: atomically) { store in
            var outputs: [XenStoreBatch.Output] = []
            outputs.reserveCapacity(operations.count)
            for (index, op) in operations.enumerated() {
                outputs.append(try step(op, in: store, context: lines.map { "line \($0[index]): " } ?? ""))
            }
            return outputs
        }
    }

    /// `xenstore-exists`: whether every path exists. Any answer from the
    /// daemon but a value means no, silently; other failures throw.
    public static func allExist(_ paths: [String], on client: XenStoreClient) throws(XenStoreToolFailure) -> Bool {
        try perform(on: client, atomically: paths.count > 1) { store in
            for path in paths {
                do {
                    _ = try store.read(path)
                } catch let error as XenStoreError where error.xsError != nil && error.xsError != .EAGAIN {
                    return false
                }
            }
            return true
        }
    }

    /// `xenstore-rm`; with `tidy` (`-t`), parents left with no value and no
    /// children go too.
    public static func remove(_ paths: [String], tidy: Bool, on client: XenStoreClient) throws(XenStoreToolFailure) {
        try perform(on: client, atomically: paths.count > 1 || tidy) { store in
            for path in paths {
                var target = path
                while true {
                    _ = try step(.rm(target), in: store)
                    guard tidy, let slash = target.lastIndex(of: "/") else { break }
                    let parent = String(target[..<slash])
                    guard !parent.isEmpty,
                          let value = try? store.read(parent), value.isEmpty,
                          let children = try? store.directory(parent), children.isEmpty else { break }
                    target = parent
                }
            }
        }
    }

    /// The permissions `xenstore-chmod` takes (`n0 r5`), or its complaint about the first bad one.
    public static func permissions(_ words: [String]) throws(XenStoreToolFailure) -> XSPermissions {
        var entries: [XSPermission] = []
        for text in words {
            guard let entry = XSPermission(text) else {
                throw XenStoreToolFailure("Invalid permission specification: '\(text)'")
            }
            entries.append(entry)
        }
        guard let perms = XSPermissions(entries) else { throw XenStoreToolFailure("Invalid permission specification: ''") }
        return perms
    }

    /// `xenstore-chmod`: `recursive` (`-r`) also sets them on everything
    /// below the path, `upto` (`-u`) on every parent up to the root.
    public static func setPermissions(_ path: String, _ perms: XSPermissions, recursive: Bool, upto: Bool,
                                      on client: XenStoreClient) throws(XenStoreToolFailure) {
        try perform(on: client, atomically: recursive || upto) { store in
            func set(_ target: String, recurse: Bool) throws {
                _ = try step(.chmod(target, perms), in: store)
                if recurse, let children = try? store.directory(target) {
                    for child in children { try set(XSPath.join(target, child), recurse: true) }
                }
            }
            try set(path, recurse: recursive)
            if upto {
                var parent = path
                while let slash = parent.lastIndex(of: "/"), slash != parent.startIndex {
                    parent = String(parent[..<slash])
                    try set(parent, recurse: false)
                }
            }
        }
    }

    /// `xenstore-watch`: sets a watch on each path (its token is the path),
    /// then hands each event to `event`, `count` of them or forever.
    public static func watch(_ paths: [String], on client: XenStoreClient, count: Int?,
                             event: (XenStoreWatchEvent) -> Void) throws(XenStoreToolFailure) {
        for path in paths {
            do { try client.watch(path, token: path) } catch {
                throw XenStoreToolFailure("Unable to add watch on \(path): \(reason(error))")
            }
        }
        var seen = 0
        while count.map({ seen < $0 }) ?? true {
            let next: XenStoreWatchEvent?
            do { next = try client.nextWatchEvent() } catch { throw XenStoreToolFailure(reason(error)) }
            guard let next else { continue }
            seen += 1
            event(next)
        }
    }

    // MARK: Output

    /// `xenstore-read`: each value escaped and on its own line, or as it is
    /// (`raw`), after `path: ` with `prefix`.
    public static func readText(_ paths: [String], _ values: [[UInt8]], prefix: Bool, raw: Bool) -> [UInt8] {
        var out: [UInt8] = []
        for (path, value) in zip(paths, values) {
            if prefix { out += Array("\(path): ".utf8) }
            if raw { out += value } else { out += Array((XenStoreText.sanitise(value) + "\n").utf8) }
        }
        return out
    }

    /// A JSON object from path to value.
    public static func readJSON(_ paths: [String], _ values: [[UInt8]]) -> String {
        XenStoreJSON.object(zip(paths, values).map { ($0, XenStoreJSON.quoted(bytes: $1)) }) + "\n"
    }

    /// `xenstore-list`: one child a line, as a full path with `prefix`.
    public static func listText(_ paths: [String], _ lists: [[String]], prefix: Bool) -> String {
        var text = ""
        for (path, names) in zip(paths, lists) {
            let base = path == "/" ? "" : path
            for name in names { text += prefix ? "\(base)/\(name)\n" : "\(name)\n" }
        }
        return text
    }

    /// A JSON object from path to its children.
    public static func listJSON(_ paths: [String], _ lists: [[String]]) -> String {
        XenStoreJSON.object(zip(paths, lists).map { ($0, XenStoreJSON.array($1.map(XenStoreJSON.quoted))) }) + "\n"
    }

    /// `xenstore-getperms`: one list a line (`n0,r5`), after `path: ` with `prefix`.
    public static func permissionsText(_ paths: [String], _ all: [XSPermissions], prefix: Bool) -> String {
        zip(paths, all).map { (prefix ? "\($0): " : "") + $1.description + "\n" }.joined()
    }

    /// A JSON object from path to its permission list.
    public static func permissionsJSON(_ paths: [String], _ all: [XSPermissions]) -> String {
        XenStoreJSON.object(zip(paths, all).map {
            ($0, XenStoreJSON.array($1.entries.map { XenStoreJSON.quoted($0.description) }))
        }) + "\n"
    }

    /// `xenstore-watch`'s line for an event (`path token`), or a JSON object.
    public static func eventLine(_ event: XenStoreWatchEvent, json: Bool) -> String {
        json ? XenStoreJSON.object([("path", XenStoreJSON.quoted(event.path)), ("token", XenStoreJSON.quoted(event.token))]) + "\n"
             : "\(event.path) \(event.token)\n"
    }

    // MARK: Running and failing

    /// An operation failed: the message to print, and why.
    struct StepFailure: Error {
        var message: String
        var cause: XenStoreError
    }

    /// Runs `body` on the connection, or in a transaction (retried on
    /// conflicts) when `atomically`; a failure becomes the tool's message.
    static func perform<T>(on client: XenStoreClient, atomically: Bool,
                           _ body: (any XenStoreOperations) throws -> T) throws(XenStoreToolFailure) -> T {
        do {
            if atomically {
                return try client.withTransaction { tx in try body(tx) }
            }
            return try body(client)
        } catch let failure as StepFailure {
            throw XenStoreToolFailure("\(failure.message): \(reason(failure.cause))", connectionLost: isConnectionLoss(failure.cause),
                                      timedOut: isTimeout(failure.cause))
        } catch {
            // Outside any one step: starting or committing the transaction, or the connection.
            throw XenStoreToolFailure(atomically ? "transaction failed: \(reason(error))" : reason(error),
                                      connectionLost: isConnectionLoss(error), timedOut: isTimeout(error))
        }
    }

    /// Runs one operation; its error becomes a ``StepFailure`` with its
    /// message, except a conflict (EAGAIN), which the transaction retries.
    static func step(_ op: XenStoreBatch.Operation, in store: any XenStoreOperations,
                     context: String = "") throws -> XenStoreBatch.Output {
        do {
            return try XenStoreBatch.run(op, in: store)
        } catch {
            if error == .xs(.EAGAIN) { throw error }
            throw StepFailure(message: context + XenStoreBatch.failureMessage(op), cause: error)
        }
    }

    /// Whether `error` is the daemon going away under a request.
    static func isConnectionLoss(_ error: any Error) -> Bool {
        switch error as? XenStoreError {
        case .disconnected?: true
        case .system(_, let code)?: code == ECONNRESET || code == EPIPE
        default: false
        }
    }

    /// Whether `error` is the client's time limit running out.
    static func isTimeout(_ error: any Error) -> Bool {
        if case .timedOut? = error as? XenStoreError { true } else { false }
    }

    /// Why an operation failed, in words: `No such file or directory`.
    public static func reason(_ error: any Error) -> String {
        switch error as? XenStoreError {
        case .xs(let e)?: e.message
        case let other?: other.description
        case nil: "\(error)"
        }
    }
}
