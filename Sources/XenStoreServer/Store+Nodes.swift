import XenStoreProtocol

/// READ, DIRECTORY, DIRECTORY_PART, GET_PERMS, WRITE, MKDIR, RM, SET_PERMS.
extension Store {
    // MARK: Reads

    func read(_ text: String, _ conn: Connection, _ txn: Transaction?) throws(XSError) -> [UInt8] {
        let name = try path(text, conn)
        guard let found = try lookup(name, conn, txn, need: .read) else { throw .ENOENT }
        return found.value
    }

    func directory(_ text: String, _ conn: Connection, _ txn: Transaction?) throws(XSError) -> [UInt8] {
        let name = try path(text, conn)
        guard let found = try lookup(name, conn, txn, need: .read) else { throw .ENOENT }
        guard found.childNames.count <= XSMessage.maxPayload else { throw .E2BIG }
        return found.childList
    }

    func directoryPart(_ text: String, offset: Int, _ conn: Connection, _ txn: Transaction?) throws(XSError) -> [UInt8] {
        let name = try path(text, conn)
        guard let found = try lookup(name, conn, txn, need: .read) else { throw .ENOENT }
        var out = XSPayload.strings([String(found.generation, radix: 16)])
        let total = found.childNames.count
        if offset >= total {
            out.append(0)
            return out
        }
        // The names that fit whole in what is left of the reply: those
        // whose NUL lies within `limit` bytes of `offset`.
        let limit = XSMessage.maxPayload - out.count - 1
        let window = found.childNames.bytes(from: offset, limit: limit)
        let end = (window.lastIndex(of: 0) ?? -1) + 1
        out.append(contentsOf: window[0..<end])
        if offset + end == total { out.append(0) }
        return out
    }

    func getPerms(_ text: String, _ conn: Connection, _ txn: Transaction?) throws(XSError) -> [UInt8] {
        if XSPath.isSpecial(text) {
            let perms = specialPerms[text]!
            guard rights(perms, conn).contains(.read) else { throw .EACCES }
            return perms.payload
        }
        let name = try path(text, conn)
        guard let found = try lookup(name, conn, txn, need: .read) else { throw .ENOENT }
        return found.perms.payload
    }

    // MARK: Changes

    func write(_ text: String, _ value: [UInt8], _ conn: Connection, _ txn: Transaction?) throws(XSError) -> [UInt8] {
        let name = try path(text, conn)
        try requireWritable(conn)
        // An existing node outside a transaction (the usual write): found
        // and stored through one position of the dictionary, so the path is
        // hashed and compared once, not once to find and again to store.
        // Any other write (a new node, or inside a transaction) goes the
        // general way below, with the same checks in the same order.
        if txn == nil, let index = nodes.index(forKey: name) {
            let old = nodes.values[index]
            guard rights(old.perms, conn).isSuperset(of: .write) else { throw .EACCES }
            if !conn.privileged && value.count + old.childNames.count > quotas.nodeSize {
                throw quotaExceeded("node-size", conn, .ENOSPC)
            }
            var node = old
            node.value = value
            node.generation = nextGeneration()
            #if DEBUG
            counters.nodeLookups += 1
            counters.nodeStores += 1
            #endif
            nodes.values[index] = node
            mainChanged(name, old: old, new: node)
            queueEvent(Event(path: name, exact: false, perms: node.perms), txn)
            return XSPayload.ok
        }
        var ancestor: (path: String, node: Node)?
        if var found = try lookup(name, conn, txn, need: .write, ancestor: &ancestor) {
            if !conn.privileged && value.count + found.childNames.count > quotas.nodeSize {
                throw quotaExceeded("node-size", conn, .ENOSPC)
            }
            found.value = value
            put(name, found, txn)
            queueEvent(Event(path: name, exact: false, perms: found.perms), txn)
        } else {
            try create(name, value: value, conn, txn, parent: ancestor)
        }
        return XSPayload.ok
    }

    func mkdir(_ text: String, _ conn: Connection, _ txn: Transaction?) throws(XSError) -> [UInt8] {
        let name = try path(text, conn)
        try requireWritable(conn)
        var ancestor: (path: String, node: Node)?
        if try lookup(name, conn, txn, need: .write, ancestor: &ancestor) == nil {
            try create(name, value: [], conn, txn, parent: ancestor)
        }
        return XSPayload.ok
    }

    /// Creates `name` and any missing parents. The new nodes take the
    /// permissions of the nearest existing ancestor; an unprivileged domain
    /// owns what it creates. `known`: the nearest existing ancestor, if the
    /// caller's lookup found it (then the tree is not searched again).
    func create(_ name: String, value: [UInt8], _ conn: Connection, _ txn: Transaction?,
                parent known: (path: String, node: Node)? = nil) throws(XSError) {
        // The known ancestor is the parent when it is as long as the parent
        // would be (an ancestor is a prefix): its path is used, none is made.
        // (Its length taken once: each look at the optional tuple copied it.)
        let knownLength = known?.path.utf8.count ?? -1
        var parentPath = knownLength == Self.parentLength(name, name.utf8.count) ? known!.path : XSPath.parent(of: name)
        var parent: Node
        // Missing ancestors, deepest first (none, the usual case, allocates nothing).
        var missing: [String] = []
        while true {
            if parentPath.utf8.count == knownLength {
                parent = known!.node
                break
            }
            if let found = node(parentPath, txn) {
                parent = found
                break
            }
            missing.append(parentPath)
            parentPath = XSPath.parent(of: parentPath)
        }
        // What is made, top down: the missing ancestors, then `name`.
        let chain: [String]? = missing.isEmpty ? nil : missing.reversed() + [name]
        let first = chain?[0] ?? name
        var perms = parent.perms
        if !conn.privileged {
            perms = perms.owned(by: conn.domid)
            let owned = (ownedEntries[conn.domid] ?? 0) + (txn?.entryDelta[conn.domid] ?? 0)
            if owned + missing.count + 1 > quotas.entriesPerDomain { throw quotaExceeded("entries", conn, .ENOSPC) }
            if value.count > quotas.nodeSize || parent.quotaSize + Self.nameLength(first) + 1 > quotas.nodeSize {
                throw quotaExceeded("node-size", conn, .ENOSPC)
            }
        }
        parent.appendChild(lastComponentOf: first)
        put(parentPath, parent, txn)
        if let chain {
            for (i, path) in chain.enumerated() {
                let last = i == chain.count - 1
                let child = Node(value: last ? value : [], perms: perms, children: last ? [] : [XSPath.name(of: chain[i + 1])])
                put(path, child, txn)
            }
        } else {
            put(name, Node(value: value, perms: perms), txn)
        }
        queueEvent(Event(path: name, exact: false, perms: perms), txn)
    }

    /// The length of the last component of an absolute path (after its last slash).
    static func nameLength(_ path: String) -> Int {
        XSPath.withBytes(of: path) { bytes in
            var i = bytes.count
            while i > 0 && bytes[i - 1] != UInt8(ascii: "/") { i -= 1 }
            return bytes.count - i
        }
    }

    func rm(_ text: String, _ conn: Connection, _ txn: Transaction?) throws(XSError) -> [UInt8] {
        let name = try path(text, conn)
        try requireWritable(conn)
        guard let found = try lookup(name, conn, txn, need: .write) else {
            // Not there: fine if its parent is.
            guard node(XSPath.parent(of: name), txn) != nil else { throw .ENOENT }
            return XSPayload.ok
        }
        guard name != "/" else { throw .EINVAL }
        let parentPath = XSPath.parent(of: name)
        if var parent = node(parentPath, txn) {
            let child = XSPath.name(of: name)
            parent.removeChild(child)
            put(parentPath, parent, txn)
        }
        removeTree(name, found, root: name, txn)
        return XSPayload.ok
    }

    /// Removes `path` and everything below, children first; each removed
    /// node fires the watches set exactly on it, the top one also those above.
    func removeTree(_ path: String, _ found: Node, root: String, _ txn: Transaction?) {
        guard let txn else {
            removeTreeMain(path, found, root: root, taken: false)
            return
        }
        // (A leaf's empty list is not split into an empty array of names.)
        if found.childNames.count > 0 {
            for child in found.children {
                let childPath = XSPath.join(path, child)
                if let childNode = node(childPath, txn) { removeTree(childPath, childNode, root: root, txn) }
            }
        }
        remove(path, txn)
        queueEvent(Event(path: path, exact: path != root, perms: found.perms), txn)
    }

    /// ``removeTree(_:_:root:_:)`` in the main tree: each node below is
    /// taken out of the tree by the one dictionary operation that also finds
    /// it (not looked up, then removed: two hashes of its path), its path
    /// made straight from its parent's child list (not split into names
    /// first). `taken`: `path` is already out of the tree (`found` was there).
    private func removeTreeMain(_ path: String, _ found: Node, root: String, taken: Bool) {
        found.childNames.forEachName { name in
            let childPath = XSPath.join(path, name: name)
            #if DEBUG
            counters.nodeRemovals += 1
            #endif
            if let child = nodes.removeValue(forKey: childPath) {
                removeTreeMain(childPath, child, root: root, taken: true)
            }
        }
        if taken { mainRemoved(path, old: found) } else { removeMain(path) }
        pendingEvents.append(Event(path: path, exact: path != root, perms: found.perms))
    }

    func setPerms(_ text: String, _ perms: XSPermissions, _ conn: Connection, _ txn: Transaction?) throws(XSError) -> [UInt8] {
        try requireWritable(conn)
        if !conn.privileged && perms.entries.count > quotas.permsPerNode {
            throw quotaExceeded("permissions", conn, .ENOSPC)
        }
        // An owner the hypervisor does not have: ENOENT, as under Xen 4.17.
        let perms = markingAbsentDomains(perms)
        if perms.entries[0].ignored { throw .ENOENT }
        if XSPath.isSpecial(text) {
            let old = specialPerms[text]!
            guard rights(old, conn).isSuperset(of: [.write, .owner]) else { throw .EACCES }
            if !conn.privileged && perms.owner != old.owner { throw .EPERM }
            specialPerms[text] = perms
            return XSPayload.ok
        }
        let name = try path(text, conn)
        guard var found = try lookup(name, conn, txn, need: [.write, .owner]) else { throw .ENOENT }
        if !conn.privileged && perms.owner != found.perms.owner { throw .EPERM }
        let old = found.perms
        found.perms = perms
        put(name, found, txn)
        queueEvent(Event(path: name, exact: false, perms: perms, oldPerms: old), txn)
        return XSPayload.ok
    }
}
