import Toolstack
import XenStoreProtocol

/// One simulated guest's view of xenstore, over the guest host's one
/// connection (dom0's): paths relative to the guest's home, as its own
/// connection would take them, and writes that happen only while the
/// node they depend on exists.
///
/// A guest used to have a connection of its own (its domain's socket):
/// with 10,000 domains that was 10,000 descriptors here and 20,000 in the
/// daemon (the socket's listener and the accepted connection), past the
/// process limit. Through dom0's connection the tree comes out the same:
/// the guest writes only nodes libxl made for it (`control/feature-*`,
/// `control/shutdown`, its frontends), which keep their permissions, and
/// the frontend keys it adds inherit the frontend directory's owner (the
/// guest). What differs, a write after the domain is gone, is what the
/// guarded writes are for: the guest's own connection would have been
/// closed at its release, where dom0's write would make the nodes again.
struct SimGuestStore {
    let control: XenStoreAccess
    let domid: UInt32
    let home: String

    init(control: XenStoreAccess, domid: UInt32) {
        self.control = control
        self.domid = domid
        home = XSPath.domainPath(domid)
    }

    /// `path` as the guest's connection resolves it.
    func absolute(_ path: String) -> String {
        path.hasPrefix("/") || path.hasPrefix("@") ? path : path.isEmpty ? home : home + "/" + path
    }

    func read(_ path: String) throws(StoreError) -> String? { try control.read(absolute(path)) }

    func directory(_ path: String) throws(StoreError) -> [String] { try control.directory(absolute(path)) }

    func readMany(_ paths: [String]) throws(StoreError) -> [String?] { try control.readMany(paths.map(absolute)) }

    /// Writes `keys` in one transaction if `guardPath` exists (false if it
    /// does not: the domain, or the device, has gone).
    @discardableResult
    func write(_ keys: [(String, String)], ifExists guardPath: String) throws -> Bool {
        try control.client.withTransaction { tx -> Bool in
            guard try tx.exists(absolute(guardPath)) else { return false }
            for (key, value) in keys { try tx.write(absolute(key), value) }
            return true
        }
    }
}
