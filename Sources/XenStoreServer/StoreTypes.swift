import XenStoreProtocol

/// Read, write and owner rights of one connection on one node.
struct Rights: OptionSet {
    let rawValue: UInt8
    static let read = Rights(rawValue: 1)
    static let write = Rights(rawValue: 2)
    static let owner = Rights(rawValue: 4)
    static let all: Rights = [.read, .write, .owner]

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init(_ access: XSPermission.Access) {
        var r: Rights = []
        if access.canRead { r.insert(.read) }
        if access.canWrite { r.insert(.write) }
        self = r
    }
}

final class Connection {
    let id: ConnectionID
    let domid: UInt32
    let readOnly: Bool
    /// `/local/domain/<domid>`: where relative paths start.
    let base: String
    var transactions: [UInt32: Transaction] = [:]
    var nextTransactionID: UInt32 = 1
    var watches: [Watch] = []

    var privileged: Bool { domid == 0 }

    init(id: ConnectionID, domid: UInt32, readOnly: Bool) {
        self.id = id
        self.domid = domid
        self.readOnly = readOnly
        self.base = XSPath.domainPath(domid)
    }
}

final class Watch {
    let connection: ConnectionID
    /// Absolute path or a special `@` name.
    let path: String
    let token: String
    /// Set when the watch was given relative: events then name paths relative to it.
    let relativeBase: String?

    init(connection: ConnectionID, path: String, token: String, relativeBase: String?) {
        self.connection = connection
        self.path = path
        self.token = token
        self.relativeBase = relativeBase
    }
}

/// A change that fires watches.
struct Event {
    var path: String
    /// Only watches set on exactly this path (a node removed below the removed top).
    var exact: Bool
    var perms: XSPermissions
    var oldPerms: XSPermissions? = nil
}

/// An open transaction: its own changes over the tree, each node it
/// looked at as it first saw it (nil: absent), and the events it will fire.
/// It commits only if none of the nodes it saw changed meanwhile.
final class Transaction {
    let id: UInt32
    /// Changed paths: a node, or nil for removed.
    var overlay: [String: Node?] = [:]
    var seen: [String: Node?] = [:]
    var events: [Event] = []
    var entryDelta: [UInt32: Int] = [:]

    init(id: UInt32) { self.id = id }

    func account(old: Node?, new: Node?) {
        if let old { entryDelta[old.perms.owner, default: 0] -= 1 }
        if let new { entryDelta[new.perms.owner, default: 0] += 1 }
    }
}

extension XSPermissions {
    /// The same list with the first entry naming `domid`.
    func owned(by domid: UInt32) -> XSPermissions {
        var list = entries
        list[0].domid = domid
        return XSPermissions(list)!
    }
}
