import XenStoreProtocol

/// One client as the store sees it: who it speaks as, its open
/// transactions and its watches.
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
