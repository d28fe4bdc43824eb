import XenStoreClient
import XenStoreProtocol

/// `xenstore-ls`: a depth-first walk of a subtree and its text format.
public enum XenStoreListing {
    /// One node met on the walk.
    public struct Node: Sendable, Equatable {
        public var path: String
        public var name: String
        /// 0 for the children of the listed path.
        public var depth: Int
        /// nil when the node could not be read.
        public var value: [UInt8]?
        /// When asked for: the permissions, or the error that hid them.
        public var permissions: Result<XSPermissions, XenStoreError>?

        public init(path: String, name: String, depth: Int, value: [UInt8]?, permissions: Result<XSPermissions, XenStoreError>? = nil) {
            self.path = path
            self.name = name
            self.depth = depth
            self.value = value
            self.permissions = permissions
        }
    }

    /// Layout of the text form.
    public struct Format: Sendable, Equatable {
        /// Show `  (n0,r1)` after each value.
        public var permissions = false
        /// Whole paths instead of indented names; nothing is cut.
        public var fullPaths = false
        /// The line width values are cut to (`xenstore-ls` uses the
        /// terminal's width less 2, or 80 when not on a terminal).
        public var width = 80

        public init(permissions: Bool = false, fullPaths: Bool = false, width: Int = 80) {
            self.permissions = permissions
            self.fullPaths = fullPaths
            self.width = width
        }
    }

    /// Walks below `path` (not including it), children in the daemon's
    /// order, each before its own children. A node that vanishes meanwhile
    /// is skipped; failing to list `path` itself, or any other error
    /// listing a node, throws.
    public static func walk(_ store: some XenStoreOperations, _ path: String, permissions: Bool,
                            visit: (Node) -> Void) throws(XenStoreError) {
        try walk(store, path, depth: 0, permissions: permissions, visit: visit)
    }

    private static func walk(_ store: some XenStoreOperations, _ path: String, depth: Int, permissions: Bool,
                             visit: (Node) -> Void) throws(XenStoreError) {
        let children: [String]
        do {
            children = try store.directory(path)
        } catch .xs(.ENOENT) where depth > 0 {
            return
        }
        for name in children {
            let child = path.hasSuffix("/") ? path + name : path + "/" + name
            var node = Node(path: child, name: name, depth: depth, value: try? store.read(child))
            if permissions {
                do { node.permissions = .success(try store.getPermissions(child)) } catch { node.permissions = .failure(error) }
            }
            visit(node)
            try walk(store, child, depth: depth + 1, permissions: permissions, visit: visit)
        }
    }

    /// `xenstore-ls`: walks below `path` and hands its lines (or, with
    /// `json`, a JSON array of ``json(_:)`` objects) to `output` in pieces
    /// as they come, and to `warning` what the tool prints on stderr for a
    /// node whose permissions it could not read.
    public static func print(_ store: some XenStoreOperations, _ path: String, format: Format, json: Bool,
                             output: ([UInt8]) -> Void, warning: (String) -> Void) throws(XenStoreToolFailure) {
        var out: [UInt8] = []
        var first = true
        if json { out += Array("[".utf8) }
        do {
            try walk(store, path, permissions: format.permissions) { node in
                if json {
                    out += Array(((first ? "" : ",") + Self.json(node)).utf8)
                    first = false
                } else {
                    out += Array(line(node, format).utf8)
                    if case .failure(let error)? = node.permissions {
                        output(out)
                        out.removeAll()
                        warning("\ncould not access permissions for \(node.name): \(XenStoreTool.reason(error))")
                    }
                }
                if out.count >= 1 << 16 {
                    output(out)
                    out.removeAll(keepingCapacity: true)
                }
            }
        } catch {
            output(out)
            throw XenStoreToolFailure("xs_directory (\(path)): \(XenStoreTool.reason(error))")
        }
        if json { out += Array("]\n".utf8) }
        output(out)
    }

    /// The line `xenstore-ls` prints for `node` (with its newline). A node
    /// whose permissions could not be read gets none shown (the caller
    /// warns on stderr, as `xenstore-ls` does).
    public static func line(_ node: Node, _ format: Format) -> String {
        let tagLength = 8 // ` = "..."`
        let maxWidth = format.fullPaths ? Int(Int32.max / 2) : format.width
        let desiredWidth = format.fullPaths ? 0 : 60
        var out = ""
        var width = 0
        if format.fullPaths {
            out += node.path
        } else {
            out += String(repeating: " ", count: node.depth)
            width = node.depth
            let name = cut(node.name, to: maxWidth - tagLength - width)
            out += name
            width += name.utf8.count
        }
        if let value = node.value {
            let text = XenStoreText.sanitise(value)
            if maxWidth < width + value.count + tagLength {
                out += " = \"" + cut(text, to: maxWidth - tagLength - width) + "\\...\""
            } else {
                out += " = \"" + text + "\""
                width += text.utf8.count + 5
                if format.permissions {
                    out += " "
                    width += 1
                    while width < min(desiredWidth, maxWidth) {
                        out += width & 1 == 1 ? "." : " "
                        width += 1
                    }
                }
            }
        } else {
            out += ":\n"
        }
        if case .success(let perms)? = node.permissions {
            out += "  (" + perms.description + ")"
        }
        return out + "\n"
    }

    /// `printf("%.*s")`: at most `limit` bytes; a negative limit cuts nothing.
    static func cut(_ s: String, to limit: Int) -> String {
        guard limit >= 0, s.utf8.count > limit else { return s }
        return String(decoding: s.utf8.prefix(limit), as: UTF8.self)
    }

    /// The JSON form of a node: `{"path":…,"value":…,"perms":[…]}`
    /// (`value` null when unreadable; `perms` only when asked for).
    public static func json(_ node: Node) -> String {
        var pairs = [("path", XenStoreJSON.quoted(node.path)),
                     ("value", node.value.map { XenStoreJSON.quoted(bytes: $0) } ?? "null")]
        switch node.permissions {
        case .success(let perms)?: pairs.append(("perms", XenStoreJSON.array(perms.entries.map { XenStoreJSON.quoted($0.description) })))
        case .failure?: pairs.append(("perms", "null"))
        case nil: break
        }
        return XenStoreJSON.object(pairs)
    }
}
