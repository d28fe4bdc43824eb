import XenStoreProtocol

/// What a store starts with on a Xen host.
extension Store {
    /// Creates `/tool` and `/tool/xenstored`, empty and owned by dom0 with
    /// no rights for others (`n0`), as Xen 4.17's `setup_structure()` does
    /// for a fresh store; nodes already there are left as they are.
    public func makeXenStructure() {
        let conn = connect(domid: 0)
        defer { disconnect(conn) }
        for path in ["/tool", "/tool/xenstored"] where node(at: path) == nil {
            handle(XSMessage(type: XSType.mkdir.rawValue, requestID: 0, transactionID: 0, payload: Array(path.utf8) + [0]), from: conn)
        }
        outbox.removeAll()
    }
}
