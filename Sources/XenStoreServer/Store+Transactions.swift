import XenStoreProtocol

/// TRANSACTION_START and TRANSACTION_END.
extension Store {
    // MARK: Transactions

    func transaction(_ id: UInt32, _ conn: Connection) throws(XSError) -> Transaction? {
        guard id != 0 else { return nil }
        guard let txn = conn.transactions[id] else { throw .ENOENT }
        return txn
    }

    func transactionStart(_ conn: Connection, _ txn: Transaction?) throws(XSError) -> [UInt8] {
        guard txn == nil else { throw .EBUSY }
        if !conn.privileged && conn.transactions.count >= quotas.transactionsPerConnection {
            throw quotaExceeded("transactions", conn, .ENOSPC)
        }
        var id = conn.nextTransactionID
        while id == 0 || conn.transactions[id] != nil { id &+= 1 }
        conn.nextTransactionID = id &+ 1
        conn.transactions[id] = Transaction(id: id)
        return XSPayload.strings([String(id)])
    }

    /// The caller has checked that `txn` exists before reading `commit` (Xen's order).
    func transactionEnd(commit: Bool, _ conn: Connection, _ txn: Transaction) throws(XSError) -> [UInt8] {
        conn.transactions[txn.id] = nil
        guard commit else { return XSPayload.ok }
        // Anything the transaction looked at or changed that someone else changed since: try again.
        for (path, seen) in txn.seen where nodes[path]?.generation != seen?.generation {
            throw .EAGAIN
        }
        for (path, entry) in txn.overlay {
            if let node = entry {
                var node = node
                node.generation = nextGeneration()
                putMain(path, node)
            } else {
                removeMain(path)
            }
        }
        pendingEvents.append(contentsOf: txn.events)
        return XSPayload.ok
    }
}
