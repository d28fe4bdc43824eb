import Logging
import XenStoreProtocol

/// What a Xen host does for the domains the store introduces: their rings
/// mapped and their event channels bound, and undone. The store stays
/// free of I/O: it only calls this.
public protocol DomainRingHost: AnyObject {
    /// Maps `domid`'s ring, binds its event channel `port` and serves the
    /// ring on a fresh connection; on failure nothing is left and the error is the request's.
    func introduce(domid: UInt32, mfn: UInt64, port: UInt32) throws(XSError)
    /// An introduced domain introduced again: its event channel bound anew
    /// to `port`, its ring and connection reset.
    func reintroduce(domid: UInt32, port: UInt32) throws(XSError)
    /// Stops serving `domid`'s ring: unbound, unmapped.
    func release(domid: UInt32)
    /// Whether the hypervisor has domain `domid` (in any state).
    func domainExists(_ domid: UInt32) -> Bool
}

/// Domains, quotas and CONTROL.
extension Store {
    // MARK: Domains

    /// INTRODUCE, RELEASE and SET_TARGET come from a writable connection (the caller checks).
    /// On a Xen host (``ringHost``), as Xen 4.17's `do_introduce()`: port 0
    /// is EINVAL; a new domain's ring is mapped and its event channel bound
    /// (a failure is the request's error and leaves nothing), its connection
    /// starts afresh and `@introduceDomain` fires; a domain introduced again
    /// gets its event channel bound anew and its connection reset (its
    /// watches and transactions dropped), and no event. On the embedded
    /// host a second introduction changes nothing.
    func introduceDomain(_ domid: UInt32, mfn: UInt64, port: UInt32) throws(XSError) {
        guard domid != 0 else { throw .EINVAL }
        guard let ringHost else {
            if domains[domid] != nil { return }
            let record = DomainRecord(domid: domid, mfn: String(mfn), port: String(port))
            try saveDomain { s throws(StorageError) in try s.putDomain(record) }
            domains[domid] = record
            domainChanges.append(.introduced(domid))
            fireSpecial(XSPath.introduceDomain)
            return
        }
        guard port != 0 else { throw .EINVAL }
        if var record = domains[domid] {
            try ringHost.reintroduce(domid: domid, port: port)
            record.port = String(port)
            domains[domid] = record
            return
        }
        let record = DomainRecord(domid: domid, mfn: String(mfn), port: String(port))
        try ringHost.introduce(domid: domid, mfn: mfn, port: port)
        do throws(XSError) {
            try saveDomain { s throws(StorageError) in try s.putDomain(record) }
        } catch {
            ringHost.release(domid: domid)
            throw error
        }
        domains[domid] = record
        fireSpecial(XSPath.introduceDomain)
    }

    func introduce(_ domid: UInt32, mfn: UInt64, port: UInt32) throws(XSError) -> [UInt8] {
        try introduceDomain(domid, mfn: mfn, port: port)
        return XSPayload.ok
    }

    func release(_ domid: UInt32) throws(XSError) -> [UInt8] {
        guard domid != 0 else { throw .EINVAL }
        guard domains[domid] != nil else { throw .ENOENT }
        try saveDomain { s throws(StorageError) in try s.deleteDomain(domid) }
        forget(domid)
        fireSpecial(XSPath.releaseDomain)
        return XSPayload.ok
    }

    /// IS_DOMAIN_INTRODUCED as Xen 4.17's `do_is_domain_introduced()`:
    /// `DOMID_SELF` is "T" whoever asks (Xen answers so without looking),
    /// domain 0 is always there, any other id is "T" while introduced.
    func isDomainIntroduced(_ domid: UInt32) -> [UInt8] {
        XSPayload.strings([domid == XSDomid.firstReserved || isKnownDomain(domid) ? "T" : "F"])
    }

    /// Domain 0 (always introduced, as Xen's daemon introduces it at
    /// start) or an introduced domain.
    func isKnownDomain(_ domid: UInt32) -> Bool { domid == 0 || domains[domid] != nil }

    /// RESUME: the domain's next shutdown is announced again. Domain 0 is
    /// EINVAL on a Xen host (Xen's `onearg_domain()`), ENOENT on the embedded one.
    func resume(_ domid: UInt32) throws(XSError) -> [UInt8] {
        if domid == 0 && ringHost != nil { throw .EINVAL }
        guard domains[domid] != nil else { throw .ENOENT }
        domains[domid]!.shutdownReported = false
        return XSPayload.ok
    }

    /// What Xen 4.17's `destroy_domain()` does, but the event: the domain's
    /// connections (with their watches and transactions) and the nodes it
    /// owned go (unless ``keepOrphans``), it leaves the special paths'
    /// permissions, and its ring is unmapped and unbound.
    func forget(_ domid: UInt32) {
        domains[domid] = nil
        for (id, other) in connections where other.domid == domid { disconnect(id) }
        if keepOrphans { giveNodesToDom0(ownedBy: domid) } else { removeNodes(ownedBy: domid) }
        ignoreEntries(naming: domid)
        namedDomains.remove(domid)
        removeFromSpecialPermissions(domid)
        ringHost?.release(domid: domid)
        domainChanges.append(.released(domid))
        flushLog(.domain(domid))
    }

    /// Xen's `remove_domid_from_perm()`: an owner that goes is replaced by
    /// dom0, and its entries in the lists are dropped.
    func removeFromSpecialPermissions(_ domid: UInt32) {
        for (path, perms) in specialPerms {
            var entries = perms.entries
            if entries[0].domid == domid { entries[0].domid = 0 }
            entries = [entries[0]] + entries.dropFirst().filter { $0.domid != domid }
            specialPerms[path] = XSPermissions(entries)!
        }
    }

    /// What Xen 4.17's `check_domains()` does when `VIRQ_DOM_EXC` fires,
    /// with `state` as the hypervisor reports each introduced domain: one
    /// that shut down (or crashed) is announced by `@releaseDomain` once
    /// until RESUME; one that is dying or gone is forgotten (``forget(_:)``)
    /// and `@releaseDomain` fires for it. Several shutdowns seen at once
    /// share one event, and a forgotten domain's event announces them too.
    /// The events go to ``outbox``; with ``groupCommit`` the removed nodes
    /// wait for ``commitBatch()``. Returns the domains forgotten.
    @discardableResult
    public func checkDomains(_ state: (UInt32) -> HypervisorDomainState) -> [UInt32] {
        var shutDown = false
        var gone: [UInt32] = []
        for domid in domains.keys.sorted() {
            switch state(domid) {
            case .running:
                break
            case .shutDown:
                if !domains[domid]!.shutdownReported {
                    domains[domid]!.shutdownReported = true
                    shutDown = true
                }
            case .dying, .gone:
                gone.append(domid)
            }
        }
        if !gone.isEmpty {
            do throws(XSError) {
                try saveDomain { s throws(StorageError) in for domid in gone { try s.deleteDomain(domid) } }
            } catch {
                logger.error("domains \(gone) are gone but their records stay in the database: \(error)")
            }
        }
        for domid in gone {
            logger.info("domain \(domid) is gone: its connection, ring and nodes are released")
            forget(domid)
            fireSpecial(XSPath.releaseDomain)
        }
        if shutDown && gone.isEmpty { fireSpecial(XSPath.releaseDomain) }
        // Domains named in permissions but never introduced: one that went
        // grants nothing from now on either (no event: it had no connection).
        for domid in namedDomains.sorted() where domains[domid] == nil {
            switch state(domid) {
            case .dying, .gone:
                namedDomains.remove(domid)
                ignoreEntries(naming: domid)
            case .running, .shutDown:
                break
            }
        }
        finishChangeWithoutRequest()
        return gone
    }

    /// After a change no request made: stored (or left for the group
    /// commit), and its events delivered.
    func finishChangeWithoutRequest() {
        if !groupCommit, let failure = storeChanges() {
            logger.error("storage failed: \(failure)")
        }
        if groupCommit && storage != nil {
            if unstored.isEmpty { batchUndo.removeAll(keepingCapacity: true) } else { batchUndo.append(contentsOf: undo) }
        }
        undo.removeAll(keepingCapacity: true)
        for event in pendingEvents { deliver(event) }
        pendingEvents.removeAll(keepingCapacity: true)
    }

    /// Removes every node the domain owns, with what lies below, as Xen 4.17
    /// does when a domain goes: a later domain with the same id must not
    /// inherit them.
    func removeNodes(ownedBy domid: UInt32) {
        guard domid != 0, let paths = ownedPaths[domid] else { return }
        let owned = paths.filter { $0 != "/" }.sorted { $0.utf8.count < $1.utf8.count }
        var removed: [String] = []
        for path in owned where !removed.contains(where: { XSPath.isWithin(path, $0) }) {
            guard let found = nodes[path] else { continue }
            let parentPath = XSPath.parent(of: path)
            if var parent = nodes[parentPath] {
                let name = XSPath.name(of: path)
                parent.removeChild(name)
                put(parentPath, parent, nil)
            }
            removeTree(path, found, root: path, nil)
            removed.append(path)
        }
        logger.info("domain \(domid) released: removed \(removed.count) subtree(s) it owned")
    }

    /// SET_PERMS's list as Xen 4.17's `domain_alloc_permrefs()` leaves it:
    /// on a Xen host an entry naming a domain the hypervisor does not have
    /// is ignored (a domain made later with that id must not inherit it).
    /// The embedded host has no hypervisor to ask (its toolstack sets a new
    /// domain's permissions before introducing it): the list stays as given.
    /// A domain found there is remembered (``namedDomains``), as Xen keeps
    /// a `struct domain` for it, so the hypervisor is asked once per domain,
    /// not per request.
    func markingAbsentDomains(_ perms: XSPermissions) -> XSPermissions {
        guard let ringHost else { return perms }
        var entries = perms.entries
        for i in entries.indices where !entries[i].ignored {
            let domid = entries[i].domid
            guard !isKnownDomain(domid), !namedDomains.contains(domid) else { continue }
            if ringHost.domainExists(domid) { namedDomains.insert(domid) } else { entries[i].ignored = true }
        }
        return XSPermissions(entries)!
    }

    /// Marks every permission entry that grants `domid` something as
    /// ignored, as Xen 4.17 does for a domain that went (there lazily, by
    /// comparing generations): a later domain with the same id inherits no
    /// access. The entries stay in the list, as `GET_PERMS` shows them
    /// under Xen. No watch fires (the node's permissions as seen by any
    /// living domain are unchanged), but each node's generation moves on:
    /// a transaction that saw it with the entry live ends in EAGAIN rather
    /// than writing the entry back live.
    func ignoreEntries(naming domid: UInt32) {
        guard domid != 0, (grantedEntries[domid] ?? 0) > 0 else { return }
        let marked = nodes.compactMap { entry in entry.value.perms.ignoring(domid).map { (entry.key, $0) } }
        for (path, perms) in marked {
            var node = nodes[path]!
            node.perms = perms
            node.generation = nextGeneration()
            putMain(path, node)
        }
        logger.info("domain \(domid) released: its entries in \(marked.count) node(s)' permissions are ignored from now on")
    }

    /// Xen's `--keep-orphans` (`-K`), as 4.17's `domain_tree_remove_sub()`
    /// does it: the nodes a released domain owned stay, owned by dom0 (the
    /// rest of their permissions as they were), and no watch fires; a later
    /// domain with the same id does not inherit them.
    func giveNodesToDom0(ownedBy domid: UInt32) {
        guard domid != 0, let paths = ownedPaths[domid] else { return }
        let owned = Array(paths)
        for path in owned {
            var node = nodes[path]!
            node.perms = node.perms.owned(by: 0)
            put(path, node, nil)
        }
        logger.info("domain \(domid) released: \(owned.count) node(s) it owned given to dom0 (--keep-orphans)")
    }

    /// SET_TARGET as Xen 4.17's `do_set_target()`: both domains must be
    /// there (ENOENT), domain 0 among them (Xen's daemon has it from the
    /// start). Domain 0's own target changes nothing (it has every right
    /// already), so it is not recorded; a guest whose target is domain 0
    /// gets dom0's rights on dom0's nodes, as under Xen.
    func setTarget(_ domid: UInt32, target: UInt32) throws(XSError) -> [UInt8] {
        guard isKnownDomain(domid), isKnownDomain(target) else { throw .ENOENT }
        guard domid != 0 else { return XSPayload.ok }
        var record = domains[domid]!
        record.target = target
        try saveDomain { s throws(StorageError) in try s.putDomain(record) }
        domains[domid] = record
        return XSPayload.ok
    }

    /// Domain records are written in their own batch, before memory changes.
    func saveDomain(_ body: (Storage) throws(StorageError) -> Void) throws(XSError) {
        guard let storage else { return }
        // The front end commits a group before a domain request (see changesDomains).
        guard unstored.isEmpty else {
            logger.error("domain change while a group commit is pending")
            throw .EIO
        }
        do throws(StorageError) {
            try storage.begin()
            do throws(StorageError) {
                try body(storage)
                try storage.commit()
            } catch {
                storage.rollback()
                throw error
            }
        } catch {
            logger.error("storage failed: \(error)")
            throw error.error
        }
    }

    // MARK: Quotas

    func quotaExceeded(_ name: String, _ conn: Connection, _ error: XSError) -> XSError {
        log(.warning, by: logSource(conn.id), "domain \(conn.domid) over quota '\(name)' (\(quotas[name] ?? 0)): \(error.rawValue)")
        return error
    }

    // MARK: Control

    /// The CONTROL commands, as `help` lists them.
    public static let controlCommands: [(String, String)] = [
        ("check", "check the tree's consistency"),
        ("domain-socket", "<domid>: open the introduced domain's socket (<state>/domains/<domid>/xenbus) if it is not open"),
        ("help", "list the supported commands"),
        ("log", "on|off: log every request (debug level) or go back to the start level"),
        ("memreport", "count nodes, connections, watches and transactions"),
        ("print", "<string>: write <string> to the log"),
        ("quota", "[<name> <value>]: show the quotas, or set one (\(Quotas.names.joined(separator: ", ")))"),
    ]

    func control(_ command: String, _ arguments: [String], _ conn: Connection) throws(XSError) -> [UInt8] {
        let args = [command] + arguments
        switch command {
        case "help":
            return text(Self.controlCommands.map { "\($0.0): \($0.1)" }.joined(separator: "\n"))
        case "print":
            guard args.count >= 2 else { throw .EINVAL }
            logger.notice("\(args.dropFirst().joined(separator: " "))")
            return XSPayload.ok
        case "log":
            guard args.count == 2 else { throw .EINVAL }
            switch args[1] {
            case "on":
                if startLogLevel == nil { startLogLevel = logger.logLevel }
                logger.logLevel = .debug
            case "off":
                logger.logLevel = startLogLevel ?? .warning
            default: throw .EINVAL
            }
            return XSPayload.ok
        case "quota":
            if args.count == 1 {
                return text(Quotas.names.map { "\($0): \(quotas[$0]!)" }.joined(separator: "\n"))
            }
            guard args.count == 3, quotas[args[1]] != nil, let value = Int(args[2]), value >= 0 else { throw .EINVAL }
            try requireWritable(conn)
            quotas[args[1]] = value
            return XSPayload.ok
        case "domain-socket":
            guard args.count == 2, let domid = UInt32(args[1]), domid != 0 else { throw .EINVAL }
            guard ringHost == nil else { throw .ENOSYS }
            try requireWritable(conn)
            guard domains[domid] != nil else { throw .ENOENT }
            domainChanges.append(.socketRequested(domid))
            return XSPayload.ok
        case "check":
            let problems = checkTree()
            return text(problems.isEmpty ? "OK" : problems.joined(separator: "\n"))
        case "memreport":
            let transactions = connections.values.reduce(0) { $0 + $1.transactions.count }
            let watches = connections.values.reduce(0) { $0 + $1.watches.count }
            return text("nodes: \(nodes.count)\nconnections: \(connections.count)\nwatches: \(watches)\ntransactions: \(transactions)\ndomains: \(domains.count)")
        default:
            throw .EINVAL
        }
    }

    func text(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }

    /// Every child listed exists, every node but `/` is listed by its parent,
    /// and the index of what each domain owns agrees with the nodes.
    func checkTree() -> [String] {
        var problems: [String] = []
        if nodes["/"] == nil && !nodes.isEmpty { problems.append("no root node") }
        var listed = Set<String>()
        for (path, node) in nodes {
            for child in node.children {
                let childPath = XSPath.join(path, child)
                if nodes[childPath] == nil { problems.append("\(path) lists missing child \(child)") }
                if !listed.insert(childPath).inserted { problems.append("\(path) lists \(child) twice") }
            }
        }
        for path in nodes.keys where path != "/" && !listed.contains(path) {
            problems.append("\(path) is not listed by its parent")
        }
        // The index of what each domain owns (``ownedPaths``) agrees with the nodes.
        var owned: [UInt32: Set<String>] = [:]
        for (path, node) in nodes where node.perms.owner != 0 { owned[node.perms.owner, default: []].insert(path) }
        if owned != ownedPaths {
            for domid in Set(owned.keys).union(ownedPaths.keys) {
                let truth = owned[domid] ?? [], index = ownedPaths[domid] ?? []
                for path in truth.subtracting(index) { problems.append("\(path) is owned by domain \(domid) but not indexed as such") }
                for path in index.subtracting(truth) { problems.append("\(path) is indexed as owned by domain \(domid) but is not") }
            }
        }
        var granted: [UInt32: Int] = [:]
        for node in nodes.values { for domid in node.perms.grantees { granted[domid, default: 0] += 1 } }
        if granted != grantedEntries { problems.append("granted entries counted \(grantedEntries), in the tree \(granted)") }
        return problems.sorted()
    }
}
