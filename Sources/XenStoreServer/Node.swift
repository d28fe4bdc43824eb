import XenStoreProtocol

/// One node of the tree: its value, permissions and the names of its
/// children in the order they were created (Xen lists them that way).
public struct Node: Sendable, Equatable {
    public var value: [UInt8]
    public var perms: XSPermissions
    /// The child names as DIRECTORY sends them: each NUL-terminated, in
    /// creation order. Kept encoded rather than as an array of strings,
    /// since DIRECTORY reads the list far more often than children come and
    /// go (encoding it per request was a fifth of the daemon's work with 16
    /// clients listing 64-child nodes), and in chunks (``ChildList``), so
    /// that a change to a list of 10,000 names copies only a piece of it.
    public private(set) var childNames: ChildList
    /// The whole list, encoded.
    public var childList: [UInt8] { childNames.bytes }
    /// Changes whenever the node (value, perms or child list) changes;
    /// DIRECTORY_PART reports it and transactions compare it.
    public var generation: UInt64
    /// The generation at which the node was created, kept for its life.
    /// Storage keeps it instead of the child list: after a restart, sorting
    /// siblings by it gives back their creation order, and adding or removing
    /// a child then writes one row, not its parent's whole list again (which
    /// under `/vm` with a thousand domains was 37 kB per create).
    public var creation: UInt64

    public init(value: [UInt8] = [], perms: XSPermissions, children: [String] = [], generation: UInt64 = 0,
                creation: UInt64 = 0) {
        self.value = value
        self.perms = perms
        childNames = ChildList(children)
        self.generation = generation
        self.creation = creation
    }

    /// The child names, in creation order.
    public var children: [String] { XSPayload.split(childList) }

    /// Adds a child name at the end.
    mutating func appendChild(_ name: String) {
        childNames.append(name)
    }

    /// Adds the last component of the absolute path `path` (the part after
    /// its last slash) as a child name at the end, with no string made for it.
    mutating func appendChild(lastComponentOf path: String) {
        XSPath.withBytes(of: path) { bytes in
            var i = bytes.count
            while i > 0 && bytes[i - 1] != UInt8(ascii: "/") { i -= 1 }
            childNames.append(UnsafeBufferPointer(rebasing: bytes[i...]))
        }
    }

    /// Removes a child name, in place (see ``ChildList/remove(_:)``).
    mutating func removeChild(_ name: String) {
        childNames.remove(name)
    }

    /// Whether storage must write this node again after it became `self`:
    /// only the value and permissions are stored (children and generations are not).
    func storedDiffers(from old: Node) -> Bool {
        value != old.value || perms != old.perms || creation != old.creation
    }

    /// The size the node-size quota counts: value plus child names, each with its NUL.
    var quotaSize: Int { value.count + childNames.count }
}
