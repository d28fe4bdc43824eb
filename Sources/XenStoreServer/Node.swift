import CSwxlSystem
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
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

    /// Removes a child name, in place (no list of strings built). The
    /// entry is found with `memmem` (``swxl_memmem``) on the encoded list (NUL, name, NUL, or
    /// name and NUL at the start): under `/local/domain` or `/vm` with
    /// 10,000 children, a byte-by-byte walk of the list was most of each
    /// destroy's time in the daemon.
    mutating func removeChild(_ name: String) {
        var entry: [UInt8] = [0]
        entry.append(contentsOf: name.utf8)
        entry.append(0)
        let length = entry.count - 2
        guard length > 0, childList.count > length else { return }
        let start: Int? = childList.withUnsafeBytes { list in
            entry.withUnsafeBytes { wanted in
                // The first entry has no NUL before it.
                if memcmp(list.baseAddress!, wanted.baseAddress! + 1, length + 1) == 0 { return 0 }
                guard let hit = swxl_memmem(list.baseAddress!, list.count, wanted.baseAddress!, wanted.count) else { return nil }
                return list.baseAddress!.distance(to: UnsafeRawPointer(hit)) + 1
            }
        }
        guard let start else { return }
        childList.removeSubrange(start..<(start + length + 1))
    }

    /// Whether storage must write this node again after it became `self`:
    /// only the value and permissions are stored (children and generations are not).
    func storedDiffers(from old: Node) -> Bool {
        value != old.value || perms != old.perms || creation != old.creation
    }

    /// The size the node-size quota counts: value plus child names, each with its NUL.
    var quotaSize: Int { value.count + childList.count }
}
