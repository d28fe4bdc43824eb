import XenStoreProtocol

/// One node of the tree: its value, permissions and the names of its
/// children in the order they were created (Xen lists them that way).
public struct Node: Sendable, Equatable {
    public var value: [UInt8]
    public var perms: XSPermissions
    /// The child names as DIRECTORY sends them and storage keeps them: each
    /// NUL-terminated, in creation order. Kept encoded rather than as an
    /// array of strings, since DIRECTORY reads the list far more often than
    /// children come and go (encoding it per request was a fifth of the
    /// daemon's work with 16 clients listing 64-child nodes).
    public private(set) var childList: [UInt8]
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
        childList = XSPayload.strings(children)
        self.generation = generation
        self.creation = creation
    }

    /// The child names, in creation order.
    public var children: [String] { XSPayload.split(childList) }

    /// Adds a child name at the end.
    mutating func appendChild(_ name: String) {
        childList.append(contentsOf: name.utf8)
        childList.append(0)
    }

    /// Removes a child name, in place (no list of strings built).
    mutating func removeChild(_ name: String) {
        let target = Array(name.utf8)
        var start = 0
        while start < childList.count {
            var end = start
            while end < childList.count && childList[end] != 0 { end += 1 }
            if end - start == target.count && childList[start..<end].elementsEqual(target) {
                childList.removeSubrange(start...min(end, childList.count - 1))
                return
            }
            start = end + 1
        }
    }

    /// Whether storage must write this node again after it became `self`:
    /// only the value and permissions are stored (children and generations are not).
    func storedDiffers(from old: Node) -> Bool {
        value != old.value || perms != old.perms || creation != old.creation
    }

    /// The size the node-size quota counts: value plus child names, each with its NUL.
    var quotaSize: Int { value.count + childList.count }
}
