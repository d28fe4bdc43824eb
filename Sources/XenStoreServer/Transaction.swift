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
