import XenStoreClient
import XenStoreProtocol

/// The operations `swxl store transaction` runs atomically, one per line:
///
///     read PATH
///     write PATH VALUE        (VALUE: the rest of the line, escapes as xenstore-write)
///     mkdir PATH
///     rm PATH
///     list PATH
///     exists PATH             (the batch fails if PATH does not exist)
///     getperms PATH
///     chmod PATH PERM...      (e.g. n0 r5)
///
/// Blank lines and lines starting with `#` are skipped.
public enum XenStoreBatch {
    public enum Operation: Sendable, Equatable {
        case read(String)
        case write(String, [UInt8])
        case mkdir(String)
        case rm(String)
        case list(String)
        case exists(String)
        case getperms(String)
        case chmod(String, XSPermissions)

        public var name: String {
            switch self {
            case .read: "read"
            case .write: "write"
            case .mkdir: "mkdir"
            case .rm: "rm"
            case .list: "list"
            case .exists: "exists"
            case .getperms: "getperms"
            case .chmod: "chmod"
            }
        }

        /// Whether doing it changes the store.
        public var changesStore: Bool {
            switch self {
            case .write, .mkdir, .rm, .chmod: true
            case .read, .list, .exists, .getperms: false
            }
        }

        public var path: String {
            switch self {
            case .read(let p), .write(let p, _), .mkdir(let p), .rm(let p), .list(let p),
                 .exists(let p), .getperms(let p), .chmod(let p, _): p
            }
        }
    }

    /// What one operation gave back.
    public enum Output: Sendable, Equatable {
        case none
        case value([UInt8])
        case children([String])
        case permissions(XSPermissions)

        /// What a read gave, or nil for another output.
        public var value: [UInt8]? { if case .value(let v) = self { v } else { nil } }
        /// What a list gave, or nil for another output.
        public var children: [String]? { if case .children(let names) = self { names } else { nil } }
        /// What a getperms gave, or nil for another output.
        public var permissions: XSPermissions? { if case .permissions(let perms) = self { perms } else { nil } }
    }

    /// A line that is not an operation.
    public struct SyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
        public init(message: String) { self.message = message }
    }

    /// Parses one line; nil for a blank or comment line.
    public static func parse(_ line: String) throws(SyntaxError) -> Operation? {
        let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
        if trimmed.isEmpty || trimmed.first == "#" { return nil }
        let verb = String(trimmed.prefix(while: { $0 != " " && $0 != "\t" }))
        let rest = trimmed.dropFirst(verb.count)
        let words = rest.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)

        func onePath() throws(SyntaxError) -> String {
            guard words.count == 1 else { throw SyntaxError(message: "\(verb) takes one path") }
            return words[0]
        }
        switch verb {
        case "read": return .read(try onePath())
        case "mkdir": return .mkdir(try onePath())
        case "rm": return .rm(try onePath())
        case "list": return .list(try onePath())
        case "exists": return .exists(try onePath())
        case "getperms": return .getperms(try onePath())
        case "write":
            // The value is everything after the path and one separating blank.
            let afterVerb = rest.drop(while: { $0 == " " || $0 == "\t" })
            let path = String(afterVerb.prefix(while: { $0 != " " && $0 != "\t" }))
            guard !path.isEmpty else { throw SyntaxError(message: "write takes a path and a value") }
            let afterPath = afterVerb.dropFirst(path.count)
            guard !afterPath.isEmpty else { throw SyntaxError(message: "write takes a path and a value") }
            return .write(path, XenStoreText.unsanitise(String(afterPath.dropFirst())))
        case "chmod":
            guard words.count >= 2 else { throw SyntaxError(message: "chmod takes a path and permissions") }
            guard let perms = XSPermissions(parsing: Array(words.dropFirst())) else {
                throw SyntaxError(message: "invalid permissions: \(words.dropFirst().joined(separator: " "))")
            }
            return .chmod(words[0], perms)
        default:
            throw SyntaxError(message: "unknown operation '\(verb)'")
        }
    }

    /// Runs one operation (in a transaction, usually).
    public static func run(_ op: Operation, in store: some XenStoreOperations) throws(XenStoreError) -> Output {
        switch op {
        case .read(let p): return .value(try store.read(p))
        case .write(let p, let v): try store.write(p, v); return .none
        case .mkdir(let p): try store.mkdir(p); return .none
        case .rm(let p): try store.rm(p); return .none
        case .list(let p): return .children(try store.directory(p))
        case .exists(let p): _ = try store.read(p); return .none
        case .getperms(let p): return .permissions(try store.getPermissions(p))
        case .chmod(let p, let perms): try store.setPermissions(p, perms); return .none
        }
    }

    /// The message `xenstore-*` prints when `op` fails.
    public static func failureMessage(_ op: Operation) -> String {
        switch op {
        case .read(let p): "couldn't read path \(p)"
        case .write(let p, _): "could not write path \(p)"
        case .mkdir(let p): "could not create path \(p)"
        case .rm(let p): "could not remove path \(p)"
        case .list(let p): "could not list path \(p)"
        case .exists(let p): "path \(p) does not exist"
        case .getperms(let p): "could not access permissions for \(p)"
        case .chmod(let p, _): "Error occurred setting permissions on '\(p)'"
        }
    }

    /// The text printed for one result (nothing for operations without output).
    public static func text(_ output: Output) -> String {
        switch output {
        case .none: ""
        case .value(let v): XenStoreText.sanitise(v) + "\n"
        case .children(let names): names.map { $0 + "\n" }.joined()
        case .permissions(let perms): perms.description + "\n"
        }
    }

    /// `{"op":…,"path":…}` plus `value`, `children` or `perms`.
    public static func json(_ op: Operation, _ output: Output) -> String {
        var pairs = [("op", XenStoreJSON.quoted(op.name)), ("path", XenStoreJSON.quoted(op.path))]
        switch output {
        case .none: break
        case .value(let v): pairs.append(("value", XenStoreJSON.quoted(bytes: v)))
        case .children(let names): pairs.append(("children", XenStoreJSON.array(names.map(XenStoreJSON.quoted))))
        case .permissions(let perms): pairs.append(("perms", XenStoreJSON.array(perms.entries.map { XenStoreJSON.quoted($0.description) })))
        }
        return XenStoreJSON.object(pairs)
    }
}
