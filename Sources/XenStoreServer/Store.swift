import Logging
import XenStoreProtocol

/// Identifies one client connection inside the store.
public typealias ConnectionID = Int

/// A change to the set of introduced domains that the socket front end acts on.
public enum DomainChange: Sendable, Equatable {
    /// Open `<state>/domains/<domid>/xenbus`.
    case introduced(UInt32)
    /// Close that socket and every connection speaking as the domain.
    case released(UInt32)
}

/// The xenstore database and its rules, with no I/O of its own: requests go
/// in through ``handle(_:from:)``, replies and watch events come out in
/// ``outbox``. Every change is written through to ``Storage`` (if any) and
/// committed before its reply is queued.
public final class Store {
    // MARK: State

    private(set) var nodes: [String: Node] = [:]
    private var generationCounter: UInt64 = 0
    /// Nodes owned by each domain, for the entries quota.
    private var ownedEntries: [UInt32: Int] = [:]
    private var connections: [ConnectionID: Connection] = [:]
    private var nextConnectionID: ConnectionID = 1
    /// Watches by the (absolute or special) path they watch.
    private var watchesByPath: [String: [Watch]] = [:]
    private var watchesPerDomain: [UInt32: Int] = [:]
    private(set) var domains: [UInt32: DomainRecord] = [:]
    /// Permissions of `@introduceDomain` and `@releaseDomain`.
    private var specialPerms: [String: XSPermissions] = [
        XSPath.introduceDomain: XSPermissions(owner: 0),
        XSPath.releaseDomain: XSPermissions(owner: 0),
    ]

    public var quotas: Quotas
    public var logger: Logger
    private let storage: Storage?

    /// Messages to send, each to one connection, in order.
    public var outbox: [(ConnectionID, XSMessage)] = []
    /// Domains introduced or released since the front end last looked.
    public var domainChanges: [DomainChange] = []

    // Per-request bookkeeping.
    private var undo: [(String, Node?)] = []
    private var storageOpen = false
    private var storageFailure: StorageError?
    private var pendingEvents: [Event] = []

    /// Loads the tree from `storage` (nil: memory only). A fresh store holds `/` owned by dom0.
    public init(storage: Storage?, quotas: Quotas = Quotas(), logger: Logger = Logger(label: "xenstored")) throws(StorageError) {
        self.storage = storage
        self.quotas = quotas
        self.logger = logger
        if let storage {
            let loaded = try storage.load()
            for (path, var node) in loaded.nodes {
                generationCounter += 1
                node.generation = generationCounter
                nodes[path] = node
                ownedEntries[node.perms.owner, default: 0] += 1
            }
            for domain in loaded.domains { domains[domain.domid] = domain }
            if let problem = checkTree().first { throw StorageError("stored tree is inconsistent: \(problem)") }
        }
        if nodes["/"] == nil {
            let root = Node(perms: XSPermissions(owner: 0))
            if let storage {
                try storage.begin()
                do throws(StorageError) {
                    try storage.putNode("/", root)
                    try storage.commit()
                } catch {
                    storage.rollback()
                    throw error
                }
            }
            generationCounter += 1
            nodes["/"] = Node(perms: root.perms, generation: generationCounter)
            ownedEntries[0, default: 0] += 1
        }
    }

    /// The introduced domains (whose sockets the front end opens at start).
    public var introducedDomains: [UInt32] { domains.keys.sorted() }

    // MARK: Connections

    /// A new client speaking as `domid` (0: the privileged toolstack).
    public func connect(domid: UInt32 = 0, readOnly: Bool = false) -> ConnectionID {
        let id = nextConnectionID
        nextConnectionID += 1
        connections[id] = Connection(id: id, domid: domid, readOnly: readOnly)
        return id
    }

    /// Forgets a client: its watches and open transactions go with it.
    public func disconnect(_ id: ConnectionID) {
        guard let conn = connections.removeValue(forKey: id) else { return }
        dropWatches(of: conn)
        conn.transactions.removeAll()
    }

    public func domid(of id: ConnectionID) -> UInt32? { connections[id]?.domid }
    public func isPrivileged(_ id: ConnectionID) -> Bool { connections[id]?.privileged ?? false }

    // MARK: Requests

    /// Handles one request. Its reply (and any watch events it causes) are
    /// appended to ``outbox`` once the change is durable.
    public func handle(_ msg: XSMessage, from id: ConnectionID) {
        guard let conn = connections[id] else { return }
        var after: [XSMessage] = []
        var reply: XSMessage
        do throws(XSError) {
            reply = msg.reply(try dispatch(msg, conn, &after))
        } catch {
            reply = msg.errorReply(error)
            after = []
        }
        if reply.kind == .error {
            revertMainChanges()
            pendingEvents.removeAll()
        } else if let failure = finishStorage() {
            logger.error("storage failed, request not applied: \(failure)")
            revertMainChanges()
            pendingEvents.removeAll()
            after = []
            reply = msg.errorReply(.EIO)
        }
        undo.removeAll(keepingCapacity: true)
        outbox.append((id, reply))
        for m in after { outbox.append((id, m)) }
        for event in pendingEvents { deliver(event) }
        pendingEvents.removeAll(keepingCapacity: true)
    }

    private func dispatch(_ msg: XSMessage, _ conn: Connection, _ after: inout [XSMessage]) throws(XSError) -> [UInt8] {
        guard let type = msg.kind else { throw .ENOSYS }
        switch type {
        case .read, .write, .mkdir, .rm, .directory, .directoryPart, .getPerms, .setPerms, .transactionEnd:
            let txn = try transaction(msg.transactionID, conn)
            switch type {
            case .read: return try read(msg.payload, conn, txn)
            case .write: return try write(msg.payload, conn, txn)
            case .mkdir: return try mkdir(msg.payload, conn, txn)
            case .rm: return try rm(msg.payload, conn, txn)
            case .directory: return try directory(msg.payload, conn, txn)
            case .directoryPart: return try directoryPart(msg.payload, conn, txn)
            case .getPerms: return try getPerms(msg.payload, conn, txn)
            case .setPerms: return try setPerms(msg.payload, conn, txn)
            default: return try transactionEnd(msg.payload, conn, txn)
            }
        case .transactionStart: return try transactionStart(msg, conn)
        case .watch: return try watch(msg.payload, conn, &after)
        case .unwatch: return try unwatch(msg.payload, conn)
        case .resetWatches:
            dropWatches(of: conn)
            conn.transactions.removeAll()
            return XSPayload.ok
        case .introduce: return try introduce(msg.payload, conn)
        case .release: return try release(msg.payload, conn)
        case .isDomainIntroduced:
            try requirePrivileged(conn)
            let domid = try domidArgument(msg.payload)
            return XSPayload.strings([domid == 0 || domains[domid] != nil ? "T" : "F"])
        case .getDomainPath:
            let domid = try domidArgument(msg.payload)
            return XSPayload.strings([XSPath.domainPath(domid)])
        case .setTarget: return try setTarget(msg.payload, conn)
        case .resume:
            try requirePrivileged(conn, modifies: true)
            let domid = try domidArgument(msg.payload)
            guard domains[domid] != nil else { throw .ENOENT }
            return XSPayload.ok
        case .control: return try control(msg.payload, conn)
        case .watchEvent, .error:
            throw .ENOSYS
        }
    }

    // MARK: Tree access (main tree or a transaction's view)

    private func nextGeneration() -> UInt64 {
        generationCounter += 1
        return generationCounter
    }

    /// The node at `path` as `txn` sees it (recording what a transaction read).
    private func node(_ path: String, _ txn: Transaction?) -> Node? {
        guard let txn else { return nodes[path] }
        if let entry = txn.overlay[path] { return entry }
        // A transaction keeps seeing a node as it was when it first looked (as Xen 4.17 does).
        if let seen = txn.seen[path] { return seen }
        let current = nodes[path]
        txn.seen[path] = .some(current)
        return current
    }

    private func put(_ path: String, _ node: Node, _ txn: Transaction?) {
        var node = node
        node.generation = nextGeneration()
        if let txn {
            let old = self.node(path, txn)
            txn.overlay[path] = .some(node)
            txn.account(old: old, new: node)
        } else {
            putMain(path, node)
        }
    }

    private func remove(_ path: String, _ txn: Transaction?) {
        if let txn {
            let old = node(path, txn)
            txn.overlay[path] = .some(nil)
            txn.account(old: old, new: nil)
        } else {
            removeMain(path)
        }
    }

    private func putMain(_ path: String, _ node: Node) {
        let old = nodes.updateValue(node, forKey: path)
        undo.append((path, old))
        account(old: old, new: node)
        withStorage { s throws(StorageError) in try s.putNode(path, node) }
    }

    private func removeMain(_ path: String) {
        guard let old = nodes.removeValue(forKey: path) else { return }
        undo.append((path, old))
        account(old: old, new: nil)
        withStorage { s throws(StorageError) in try s.deleteNode(path) }
    }

    private func account(old: Node?, new: Node?) {
        if let old { ownedEntries[old.perms.owner, default: 0] -= 1 }
        if let new { ownedEntries[new.perms.owner, default: 0] += 1 }
    }

    /// Runs one storage write inside this request's batch.
    private func withStorage(_ body: (Storage) throws(StorageError) -> Void) {
        guard let storage, storageFailure == nil else { return }
        do throws(StorageError) {
            if !storageOpen {
                try storage.begin()
                storageOpen = true
            }
            try body(storage)
        } catch {
            storageFailure = error
        }
    }

    /// Commits this request's batch; returns the failure if it could not.
    private func finishStorage() -> StorageError? {
        defer {
            storageOpen = false
            storageFailure = nil
        }
        guard let storage else { return nil }
        if let failure = storageFailure {
            if storageOpen { storage.rollback() }
            return failure
        }
        guard storageOpen else { return nil }
        do throws(StorageError) {
            try storage.commit()
            return nil
        } catch {
            storage.rollback()
            return error
        }
    }

    /// Puts the in-memory tree back as it was before this request.
    private func revertMainChanges() {
        if storageOpen, let storage { storage.rollback() }
        storageOpen = false
        storageFailure = nil
        for (path, old) in undo.reversed() {
            let current = nodes[path]
            account(old: current, new: old)
            nodes[path] = old
        }
        undo.removeAll(keepingCapacity: true)
    }

    // MARK: Permissions

    private func rights(_ perms: XSPermissions, _ conn: Connection) -> Rights {
        if conn.privileged { return .all }
        let target = domains[conn.domid]?.target
        let owner = perms.owner
        if owner == conn.domid || (target != nil && owner == target) { return .all }
        for entry in perms.entries.dropFirst() where entry.domid == conn.domid || (target != nil && entry.domid == target) {
            return Rights(entry.access)
        }
        return Rights(perms.entries[0].access)
    }

    /// The node at `path` if `conn` has `need` on it; nil if it does not exist
    /// and the nearest existing ancestor grants `need` (so it may be
    /// created); EACCES otherwise, without revealing whether it exists.
    private func lookup(_ path: String, _ conn: Connection, _ txn: Transaction?, need: Rights) throws(XSError) -> Node? {
        if let found = node(path, txn) {
            guard rights(found.perms, conn).isSuperset(of: need) else { throw .EACCES }
            return found
        }
        var ancestor = path
        repeat {
            ancestor = XSPath.parent(of: ancestor)
            if let found = node(ancestor, txn) {
                if rights(found.perms, conn).isDisjoint(with: need) { throw .EACCES }
                return nil
            }
        } while ancestor != "/"
        return nil
    }

    private func requirePrivileged(_ conn: Connection, modifies: Bool = false) throws(XSError) {
        guard conn.privileged else { throw .EACCES }
        if modifies && conn.readOnly { throw .EROFS }
    }

    private func requireWritable(_ conn: Connection) throws(XSError) {
        if conn.readOnly { throw .EROFS }
    }

    // MARK: Arguments

    private func path(_ text: String, _ conn: Connection) throws(XSError) -> String {
        guard !text.isEmpty, let absolute = XSPath.resolve(text, base: conn.base) else { throw .EINVAL }
        return absolute
    }

    /// The single NUL-terminated argument of READ, MKDIR, RM, ...
    private func oneArgument(_ payload: [UInt8]) throws(XSError) -> String {
        guard let args = XSPayload.exactly(1, in: payload) else { throw .EINVAL }
        return args[0]
    }

    /// At least `count` NUL-terminated strings (extra ones are ignored, as Xen does).
    private func arguments(_ payload: [UInt8], atLeast count: Int) throws(XSError) -> [String] {
        var items: [String] = []
        var rest = payload[...]
        while items.count < count {
            guard let nul = rest.firstIndex(of: 0) else { throw .EINVAL }
            items.append(String(decoding: rest[..<nul], as: UTF8.self))
            rest = rest[(nul + 1)...]
        }
        return items
    }

    private func domidArgument(_ payload: [UInt8]) throws(XSError) -> UInt32 {
        try parseDomid(arguments(payload, atLeast: 1)[0])
    }

    private func parseDomid(_ text: String) throws(XSError) -> UInt32 {
        guard let domid = UInt32(text), domid < Self.firstReservedDomid else { throw .EINVAL }
        return domid
    }

    /// `DOMID_FIRST_RESERVED`.
    static let firstReservedDomid: UInt32 = 0x7ff0

    // MARK: Reads

    private func read(_ payload: [UInt8], _ conn: Connection, _ txn: Transaction?) throws(XSError) -> [UInt8] {
        let name = try path(oneArgument(payload), conn)
        guard let found = try lookup(name, conn, txn, need: .read) else { throw .ENOENT }
        return found.value
    }

    private func directory(_ payload: [UInt8], _ conn: Connection, _ txn: Transaction?) throws(XSError) -> [UInt8] {
        let name = try path(oneArgument(payload), conn)
        guard let found = try lookup(name, conn, txn, need: .read) else { throw .ENOENT }
        let list = found.childList
        guard list.count <= XSMessage.maxPayload else { throw .E2BIG }
        return list
    }

    private func directoryPart(_ payload: [UInt8], _ conn: Connection, _ txn: Transaction?) throws(XSError) -> [UInt8] {
        let args = try arguments(payload, atLeast: 2)
        let name = try path(args[0], conn)
        guard let found = try lookup(name, conn, txn, need: .read) else { throw .ENOENT }
        // Xen reads the offset with atoi(): leading digits, anything else is 0.
        let offset = Int(args[1].prefix(while: \.isNumber).prefix(9)) ?? 0
        var out = XSPayload.strings([String(found.generation, radix: 16)])
        let list = found.childList
        if offset >= list.count {
            out.append(0)
            return out
        }
        let limit = XSMessage.maxPayload - out.count - 1
        var end = offset
        while end < list.count {
            guard let nul = list[end...].firstIndex(of: 0) else { break }
            if nul + 1 - offset > limit { break }
            end = nul + 1
        }
        out.append(contentsOf: list[offset..<end])
        if end == list.count { out.append(0) }
        return out
    }

    private func getPerms(_ payload: [UInt8], _ conn: Connection, _ txn: Transaction?) throws(XSError) -> [UInt8] {
        let text = try oneArgument(payload)
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

    private func write(_ payload: [UInt8], _ conn: Connection, _ txn: Transaction?) throws(XSError) -> [UInt8] {
        guard let (text, rest) = XSPayload.firstString(payload) else { throw .EINVAL }
        let name = try path(text, conn)
        try requireWritable(conn)
        let value = Array(rest)
        if var found = try lookup(name, conn, txn, need: .write) {
            if !conn.privileged && found.children.reduce(value.count, { $0 + $1.utf8.count + 1 }) > quotas.nodeSize {
                throw quotaExceeded("node-size", conn, .ENOSPC)
            }
            found.value = value
            put(name, found, txn)
            queueEvent(Event(path: name, exact: false, perms: found.perms), txn)
        } else {
            try create(name, value: value, conn, txn)
        }
        return XSPayload.ok
    }

    private func mkdir(_ payload: [UInt8], _ conn: Connection, _ txn: Transaction?) throws(XSError) -> [UInt8] {
        let name = try path(oneArgument(payload), conn)
        try requireWritable(conn)
        if try lookup(name, conn, txn, need: .write) == nil {
            try create(name, value: [], conn, txn)
        }
        return XSPayload.ok
    }

    /// Creates `name` and any missing parents. The new nodes take the
    /// permissions of the nearest existing ancestor; an unprivileged domain
    /// owns what it creates.
    private func create(_ name: String, value: [UInt8], _ conn: Connection, _ txn: Transaction?) throws(XSError) {
        var missing = [name]
        var parentPath = XSPath.parent(of: name)
        var parent: Node
        while true {
            if let found = node(parentPath, txn) {
                parent = found
                break
            }
            missing.append(parentPath)
            parentPath = XSPath.parent(of: parentPath)
        }
        missing.reverse()
        var perms = parent.perms
        if !conn.privileged {
            perms = perms.owned(by: conn.domid)
            let owned = (ownedEntries[conn.domid] ?? 0) + (txn?.entryDelta[conn.domid] ?? 0)
            if owned + missing.count > quotas.entriesPerDomain { throw quotaExceeded("entries", conn, .ENOSPC) }
            let firstName = XSPath.name(of: missing[0])
            if value.count > quotas.nodeSize || parent.quotaSize + firstName.utf8.count + 1 > quotas.nodeSize {
                throw quotaExceeded("node-size", conn, .ENOSPC)
            }
        }
        parent.children.append(XSPath.name(of: missing[0]))
        put(parentPath, parent, txn)
        for (i, path) in missing.enumerated() {
            let last = i == missing.count - 1
            let child = Node(value: last ? value : [], perms: perms, children: last ? [] : [XSPath.name(of: missing[i + 1])])
            put(path, child, txn)
        }
        queueEvent(Event(path: name, exact: false, perms: perms), txn)
    }

    private func rm(_ payload: [UInt8], _ conn: Connection, _ txn: Transaction?) throws(XSError) -> [UInt8] {
        let name = try path(oneArgument(payload), conn)
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
            parent.children.removeAll { $0 == child }
            put(parentPath, parent, txn)
        }
        removeTree(name, found, root: name, txn)
        return XSPayload.ok
    }

    /// Removes `path` and everything below, children first; each removed
    /// node fires the watches set exactly on it, the top one also those above.
    private func removeTree(_ path: String, _ found: Node, root: String, _ txn: Transaction?) {
        for child in found.children {
            let childPath = XSPath.join(path, child)
            if let childNode = node(childPath, txn) { removeTree(childPath, childNode, root: root, txn) }
        }
        remove(path, txn)
        queueEvent(Event(path: path, exact: path != root, perms: found.perms), txn)
    }

    private func setPerms(_ payload: [UInt8], _ conn: Connection, _ txn: Transaction?) throws(XSError) -> [UInt8] {
        guard let (text, rest) = XSPayload.firstString(payload) else { throw .EINVAL }
        let items = XSPayload.split(rest)
        guard let perms = XSPermissions(parsing: items), perms.entries.allSatisfy({ $0.domid <= UInt32(UInt16.max) }) else { throw .EINVAL }
        try requireWritable(conn)
        if !conn.privileged && perms.entries.count > quotas.permsPerNode {
            throw quotaExceeded("permissions", conn, .ENOSPC)
        }
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

    // MARK: Transactions

    private func transaction(_ id: UInt32, _ conn: Connection) throws(XSError) -> Transaction? {
        guard id != 0 else { return nil }
        guard let txn = conn.transactions[id] else { throw .ENOENT }
        return txn
    }

    private func transactionStart(_ msg: XSMessage, _ conn: Connection) throws(XSError) -> [UInt8] {
        guard msg.transactionID == 0 else { throw .EBUSY }
        if !conn.privileged && conn.transactions.count >= quotas.transactionsPerConnection {
            throw quotaExceeded("transactions", conn, .ENOSPC)
        }
        var id = conn.nextTransactionID
        while id == 0 || conn.transactions[id] != nil { id &+= 1 }
        conn.nextTransactionID = id &+ 1
        conn.transactions[id] = Transaction(id: id)
        return XSPayload.strings([String(id)])
    }

    private func transactionEnd(_ payload: [UInt8], _ conn: Connection, _ txn: Transaction?) throws(XSError) -> [UInt8] {
        guard let txn else { throw .ENOENT }
        let verdict = try oneArgument(payload)
        guard verdict == "T" || verdict == "F" else { throw .EINVAL }
        conn.transactions[txn.id] = nil
        guard verdict == "T" else { return XSPayload.ok }
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

    // MARK: Watches

    private func queueEvent(_ event: Event, _ txn: Transaction?) {
        if let txn { txn.events.append(event) } else { pendingEvents.append(event) }
    }

    /// Parses a WATCH/UNWATCH path: absolute, relative to the domain, or special.
    private func watchPath(_ text: String, _ conn: Connection) throws(XSError) -> (path: String, relativeBase: String?) {
        if text.utf8.first == UInt8(ascii: "@") {
            guard text.utf8.count <= XSPath.relativeMax else { throw .EINVAL }
            return (text, nil)
        }
        let absolute = try path(text, conn)
        return (absolute, text.utf8.first == UInt8(ascii: "/") ? nil : conn.base)
    }

    private func watch(_ payload: [UInt8], _ conn: Connection, _ after: inout [XSMessage]) throws(XSError) -> [UInt8] {
        let args = try arguments(payload, atLeast: 2)
        let (path, relativeBase) = try watchPath(args[0], conn)
        let token = args[1]
        if conn.watches.contains(where: { $0.path == path && $0.token == token }) { throw .EEXIST }
        if !conn.privileged && (watchesPerDomain[conn.domid] ?? 0) >= quotas.watchesPerDomain {
            throw quotaExceeded("watches", conn, .E2BIG)
        }
        let watch = Watch(connection: conn.id, path: path, token: token, relativeBase: relativeBase)
        conn.watches.append(watch)
        watchesByPath[path, default: []].append(watch)
        watchesPerDomain[conn.domid, default: 0] += 1
        // One event straight away, for the watched path itself.
        after.append(eventMessage(watch, path: path))
        return XSPayload.ok
    }

    private func unwatch(_ payload: [UInt8], _ conn: Connection) throws(XSError) -> [UInt8] {
        let args = try arguments(payload, atLeast: 2)
        let (path, _) = try watchPath(args[0], conn)
        guard let index = conn.watches.firstIndex(where: { $0.path == path && $0.token == args[1] }) else { throw .ENOENT }
        removeWatch(conn.watches.remove(at: index), domid: conn.domid)
        return XSPayload.ok
    }

    private func dropWatches(of conn: Connection) {
        for watch in conn.watches { removeWatch(watch, domid: conn.domid) }
        conn.watches.removeAll()
    }

    private func removeWatch(_ watch: Watch, domid: UInt32) {
        watchesByPath[watch.path]?.removeAll { $0 === watch }
        if watchesByPath[watch.path]?.isEmpty == true { watchesByPath[watch.path] = nil }
        watchesPerDomain[domid, default: 1] -= 1
    }

    private func eventMessage(_ watch: Watch, path: String) -> XSMessage {
        var shown = path
        if let base = watch.relativeBase, path.utf8.count > base.utf8.count, path.hasPrefix(base) {
            shown = String(path.utf8.dropFirst(base.utf8.count + 1))!
        }
        return XSMessage(.watchEvent, payload: XSPayload.strings([shown, watch.token]))
    }

    /// Sends `event` to every watch it matches: watches on the path itself
    /// and, unless the event is exact, on any ancestor. Unprivileged watchers
    /// only hear of nodes they may read.
    private func deliver(_ event: Event) {
        if watchesByPath.isEmpty { return }
        var candidate = event.path
        while true {
            if let watches = watchesByPath[candidate] {
                for watch in watches { deliver(event, to: watch) }
            }
            if event.exact || candidate == "/" || XSPath.isSpecial(candidate) { break }
            candidate = XSPath.parent(of: candidate)
        }
    }

    private func deliver(_ event: Event, to watch: Watch) {
        guard let conn = connections[watch.connection] else { return }
        if !conn.privileged {
            let readable = rights(event.perms, conn).contains(.read)
                || (event.oldPerms.map { rights($0, conn).contains(.read) } ?? false)
            guard readable else { return }
        }
        outbox.append((conn.id, eventMessage(watch, path: event.path)))
    }

    private func fireSpecial(_ path: String) {
        pendingEvents.append(Event(path: path, exact: true, perms: specialPerms[path]!))
    }

    // MARK: Domains

    private func introduce(_ payload: [UInt8], _ conn: Connection) throws(XSError) -> [UInt8] {
        try requirePrivileged(conn, modifies: true)
        let args = try arguments(payload, atLeast: 3)
        let domid = try parseDomid(args[0])
        guard domid != 0 else { throw .EINVAL }
        if domains[domid] != nil { return XSPayload.ok }
        let record = DomainRecord(domid: domid, mfn: args[1], port: args[2])
        try saveDomain { s throws(StorageError) in try s.putDomain(record) }
        domains[domid] = record
        domainChanges.append(.introduced(domid))
        fireSpecial(XSPath.introduceDomain)
        return XSPayload.ok
    }

    private func release(_ payload: [UInt8], _ conn: Connection) throws(XSError) -> [UInt8] {
        try requirePrivileged(conn, modifies: true)
        let domid = try domidArgument(payload)
        guard domid != 0 else { throw .EINVAL }
        guard domains[domid] != nil else { throw .ENOENT }
        try saveDomain { s throws(StorageError) in try s.deleteDomain(domid) }
        domains[domid] = nil
        for (id, other) in connections where other.domid == domid { disconnect(id) }
        domainChanges.append(.released(domid))
        fireSpecial(XSPath.releaseDomain)
        return XSPayload.ok
    }

    private func setTarget(_ payload: [UInt8], _ conn: Connection) throws(XSError) -> [UInt8] {
        try requirePrivileged(conn, modifies: true)
        let args = try arguments(payload, atLeast: 2)
        let domid = try parseDomid(args[0])
        let target = try parseDomid(args[1])
        guard domid != 0, target != 0 else { throw .EINVAL }
        guard var record = domains[domid], domains[target] != nil else { throw .ENOENT }
        record.target = target
        try saveDomain { s throws(StorageError) in try s.putDomain(record) }
        domains[domid] = record
        return XSPayload.ok
    }

    /// Domain records are written in their own batch, before memory changes.
    private func saveDomain(_ body: (Storage) throws(StorageError) -> Void) throws(XSError) {
        guard let storage else { return }
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

    private func quotaExceeded(_ name: String, _ conn: Connection, _ error: XSError) -> XSError {
        logger.warning("domain \(conn.domid) over quota '\(name)' (\(quotas[name] ?? 0)): \(error.rawValue)")
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

    private var startLogLevel: Logger.Level?

    private func control(_ payload: [UInt8], _ conn: Connection) throws(XSError) -> [UInt8] {
        try requirePrivileged(conn)
        let args = XSPayload.split(payload)
        guard let command = args.first else { throw .EINVAL }
        switch command {
        case "help":
            return text(Self.controlCommands.map { "\($0.0): \($0.1)\n" }.joined())
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
                return text(Quotas.names.map { "\($0): \(quotas[$0]!)\n" }.joined())
            }
            guard args.count == 3, quotas[args[1]] != nil, let value = Int(args[2]), value >= 0 else { throw .EINVAL }
            try requirePrivileged(conn, modifies: true)
            quotas[args[1]] = value
            return XSPayload.ok
        case "check":
            let problems = checkTree()
            return text(problems.isEmpty ? "OK\n" : problems.joined(separator: "\n") + "\n")
        case "memreport":
            let transactions = connections.values.reduce(0) { $0 + $1.transactions.count }
            let watches = connections.values.reduce(0) { $0 + $1.watches.count }
            return text("nodes: \(nodes.count)\nconnections: \(connections.count)\nwatches: \(watches)\ntransactions: \(transactions)\ndomains: \(domains.count)\n")
        default:
            throw .EINVAL
        }
    }

    private func text(_ s: String) -> [UInt8] { Array(s.utf8) + [0] }

    /// Every child listed exists and every node but `/` is listed by its parent.
    func checkTree() -> [String] {
        var problems: [String] = []
        if nodes["/"] == nil && !nodes.isEmpty { problems.append("no root node") }
        for (path, node) in nodes {
            for child in node.children where nodes[XSPath.join(path, child)] == nil {
                problems.append("\(path) lists missing child \(child)")
            }
            if path != "/" {
                let parent = nodes[XSPath.parent(of: path)]
                if parent?.children.contains(XSPath.name(of: path)) != true {
                    problems.append("\(path) is not listed by its parent")
                }
            }
        }
        return problems.sorted()
    }

    // MARK: Inspection (tests, CONTROL)

    /// The node at an absolute path, as committed.
    public func node(at path: String) -> Node? { nodes[path] }
    public var nodeCount: Int { nodes.count }
    public func entries(ownedBy domid: UInt32) -> Int { ownedEntries[domid] ?? 0 }
}

// MARK: - Supporting types

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
