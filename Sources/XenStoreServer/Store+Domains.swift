import Logging
import XenStoreProtocol

/// Domains, quotas and CONTROL.
extension Store {
    // MARK: Domains

    /// INTRODUCE, RELEASE and SET_TARGET come from a writable connection (the caller checks).
    func introduce(_ domid: UInt32, mfn: UInt64, port: UInt32) throws(XSError) -> [UInt8] {
        guard domid != 0 else { throw .EINVAL }
        if domains[domid] != nil { return XSPayload.ok }
        let record = DomainRecord(domid: domid, mfn: String(mfn), port: String(port))
        try saveDomain { s throws(StorageError) in try s.putDomain(record) }
        domains[domid] = record
        domainChanges.append(.introduced(domid))
        fireSpecial(XSPath.introduceDomain)
        return XSPayload.ok
    }

    func release(_ domid: UInt32) throws(XSError) -> [UInt8] {
        guard domid != 0 else { throw .EINVAL }
        guard domains[domid] != nil else { throw .ENOENT }
        try saveDomain { s throws(StorageError) in try s.deleteDomain(domid) }
        domains[domid] = nil
        for (id, other) in connections where other.domid == domid { disconnect(id) }
        if !keepOrphans { removeNodes(ownedBy: domid) }
        domainChanges.append(.released(domid))
        fireSpecial(XSPath.releaseDomain)
        flushLog(.domain(domid))
        return XSPayload.ok
    }

    /// Removes every node the domain owns, with what lies below, as Xen 4.17
    /// does when a domain goes: a later domain with the same id must not
    /// inherit them.
    func removeNodes(ownedBy domid: UInt32) {
        guard (ownedEntries[domid] ?? 0) > 0 else { return }
        let owned = nodes.compactMap { $0.value.perms.owner == domid && $0.key != "/" ? $0.key : nil }
            .sorted { $0.utf8.count < $1.utf8.count }
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

    func setTarget(_ domid: UInt32, target: UInt32) throws(XSError) -> [UInt8] {
        guard domid != 0, target != 0 else { throw .EINVAL }
        guard var record = domains[domid], domains[target] != nil else { throw .ENOENT }
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
            throw .EIO
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

    /// Every child listed exists and every node but `/` is listed by its parent.
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
        return problems.sorted()
    }
}
