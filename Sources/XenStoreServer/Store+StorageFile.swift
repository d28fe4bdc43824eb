import SwxlSystem

/// The database file removed (or replaced) behind the daemon's back, say
/// by a careless `rm -rf` of the state directory: SQLite would go on
/// writing to a file no longer there, and every change acknowledged from
/// then on would be gone at the next start. The daemon looks at the file
/// at most every ``storageCheckInterval``, after a round of requests (its
/// replies sent: a look costs a clock read, a system call on a Xen PV
/// dom0); once it is gone, the whole tree (which it holds in memory, the
/// round's changes with it) goes into a new database at the same place. If no new one can be made (the directory cannot be
/// made again, the disk is full), changes are kept in memory only and the
/// next look tries again: nothing acknowledged is lost unless the daemon
/// dies before a new file is made.
extension Store {
    /// Nanoseconds between two looks at the database file.
    public static let storageCheckInterval: UInt64 = 100_000_000

    /// Looks at the database file if it is time; makes a new one from the
    /// tree in memory if it has gone. Call only with nothing left to commit.
    public func verifyStorage(now: UInt64) {
        guard let reopenStorage, unstored.isEmpty,
              now &- storageCheckedAt >= Self.storageCheckInterval else { return }
        storageCheckedAt = now
        if let storage {
            guard storage.isDetached else { return }
            // Closed before the new one is made: closing a SQLite database
            // removes its log by name, which would be the new one's.
            self.storage = nil
            logger.warning("the database file was removed or replaced: writing the tree to a new one")
        }
        do throws(StorageError) {
            let fresh = try reopenStorage()
            try fresh.begin()
            do throws(StorageError) {
                // In creation order, as load() gives them back.
                for (path, node) in nodes.sorted(by: { $0.value.creation < $1.value.creation }) {
                    try fresh.putNode(path, node)
                }
                for domain in domains.values { try fresh.putDomain(domain) }
                try fresh.commit()
            } catch {
                fresh.rollback()
                throw error
            }
            storage = fresh
            logger.warning("the tree (\(nodes.count) nodes, \(domains.count) domains) is in the new database file")
        } catch {
            // Until then changes are kept in memory only; the next try writes them all.
            logger.error("no new database file (trying again in \(Self.storageCheckInterval / 1_000_000) ms; until then changes are in memory only): \(error)")
        }
    }
}
