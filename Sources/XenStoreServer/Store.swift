import Logging
import XenStoreProtocol
import SwxlSystem

/// Identifies one client connection inside the store.
public typealias ConnectionID = Int

/// A change to the set of introduced domains that the socket front end acts on.
public enum DomainChange: Sendable, Equatable {
    /// Open `<state>/domains/<domid>/xenbus`.
    case introduced(UInt32)
    /// Close that socket and every connection speaking as the domain.
    case released(UInt32)
    /// Open the domain's socket now, if the front end opens them only on
    /// request (CONTROL `domain-socket`).
    case socketRequested(UInt32)
}

/// The xenstore database and its rules, with no I/O of its own: requests go
/// in through ``handle(_:from:)``, replies and watch events come out in
/// ``outbox``. Every change is written to ``Storage`` (if any) and committed
/// before its reply is queued, or with ``groupCommit`` before the front end
/// sends it.
public final class Store {
    // MARK: State

    var nodes: [String: Node] = [:]
    var generationCounter: UInt64 = 0
    /// Nodes owned by each domain, for the entries quota.
    var ownedEntries: [UInt32: Int] = [:]
    /// The paths of the nodes each domain but dom0 owns: a domain's
    /// release finds its nodes here instead of walking the whole tree
    /// (which, with 10,000 domains, made every destroy cost milliseconds).
    var ownedPaths: [UInt32: Set<String>] = [:]
    /// Live permission entries (not the owner's, not ignored) naming each
    /// domain: when one goes, only if it has some must the tree be walked
    /// to mark them ignored.
    var grantedEntries: [UInt32: Int] = [:]
    /// On a Xen host: domains not introduced that SET_PERMS named and the
    /// hypervisor had (Xen 4.17's `struct domain` from `domain_alloc_permrefs()`);
    /// looked at on each `VIRQ_DOM_EXC` (``checkDomains(_:)``).
    var namedDomains: Set<UInt32> = []
    var connections: [ConnectionID: Connection] = [:]
    /// The connection ``handle(_:from:)`` last found (see ``connection(_:)``); nil once disconnected.
    var lastConnection: Connection?
    var nextConnectionID: ConnectionID = 1
    /// Watches by the (absolute or special) path they watch.
    var watchesByPath: [String: [Watch]] = [:]
    /// How many watches are set on paths of each length in bytes (the
    /// index): ``deliver(_:)`` looks up only paths some watch could be on.
    var watchedLengths: [Int] = []
    var watchesPerDomain: [UInt32: Int] = [:]
    var domains: [UInt32: DomainRecord] = [:]
    /// Permissions of `@introduceDomain` and `@releaseDomain`.
    var specialPerms: [String: XSPermissions] = [
        XSPath.introduceDomain: XSPermissions(owner: 0),
        XSPath.releaseDomain: XSPermissions(owner: 0),
    ]

    public var quotas: Quotas
    /// Keep the nodes of a released domain (Xen's `--keep-orphans`) instead of removing them.
    public var keepOrphans = false
    public var logger: Logger
    /// Bytes the tree takes, roughly (``footprint(_:_:)`` of every node).
    public internal(set) var treeBytes = 0
    /// Bytes the tree may take (from the daemon's memory limit, see
    /// ``MemoryBudget``); a request that would take it past them is
    /// refused with ENOMEM. nil: no limit.
    public var memoryBudget: Int?
    /// Bounds the lines each client can cause (``log(_:by:_:)``).
    var logLimiter = LogLimiter()
    /// The limiter's clock (nanoseconds); tests set their own.
    var logClock: () -> UInt64 = SystemClock.monotonicNanoseconds
    /// Where changes are kept; replaced by ``verifyStorage(now:)`` if its file goes.
    var storage: Storage?
    /// Makes a new, empty storage where the first one was (the daemon sets
    /// it); nil: a storage whose file goes is not replaced.
    public var reopenStorage: (() throws(StorageError) -> Storage)?
    var storageCheckedAt: UInt64 = 0

    /// Messages to send, each to one connection, in order.
    public var outbox: [(ConnectionID, XSMessage)] = []
    /// Domains introduced or released since the front end last looked.
    public var domainChanges: [DomainChange] = []
    /// On a Xen host: maps and binds introduced domains' rings, and undoes
    /// it (nil: the embedded host, whose domains speak over sockets).
    public weak var ringHost: DomainRingHost?

    #if DEBUG
    /// What the hot paths did, for tests that check work is not done twice.
    struct Counters {
        /// Lookups of a path among the watches.
        var watchLookups = 0
        /// Lookups of a path in the tree (``node(_:_:)``).
        var nodeLookups = 0
        /// Stores into the tree's dictionary.
        var nodeStores = 0
        /// Changes to the per-domain count of owned nodes.
        var ownerCountChanges = 0
        /// Nodes compared with what they were, to know whether storage must write them again.
        var storedComparisons = 0
        /// Removals from the tree's dictionary (each a hash of the path).
        var nodeRemovals = 0
    }
    var counters = Counters()
    #endif

    // Per-request bookkeeping.
    var undo: [(String, Node?)] = []
    var pendingEvents: [Event] = []

    /// Every change to a stored row (value, permissions, creation) or to a
    /// node's existence since the last commit, in order: the path and the
    /// node it then held (nil: removed). Nothing touches storage while
    /// requests run; a commit writes each path once, with its last state. A
    /// request that fails takes its own entries back out.
    var unstored: [(path: String, node: Node?)] = []
    /// Where the current request's entries in ``unstored`` begin.
    private var requestUnstoredStart = 0
    /// For ``storeChanges()`` with many entries: each path's last one (kept to reuse its storage).
    private var lastEntry: [String: Int] = [:]

    /// Commit the changes of many requests in one SQLite transaction; the
    /// front end calls ``commitBatch()`` before it sends any of their replies.
    public var groupCommit = false
    /// With ``groupCommit``: what undoes every change since the last commit, oldest first.
    var batchUndo: [(String, Node?)] = []
    /// Whether the last request handled changed the tree.
    public private(set) var lastRequestChanged = false
    /// The log level to go back to after `CONTROL log off`.
    var startLogLevel: Logger.Level?

    /// Loads the tree from `storage` (nil: memory only). A fresh store holds `/` owned by dom0.
    public init(storage: Storage?, quotas: Quotas = Quotas(), logger: Logger = Logger(label: "xenstored")) throws(StorageError) {
        self.storage = storage
        self.quotas = quotas
        self.logger = logger
        if let storage {
            let loaded = try storage.load()
            // In creation order: each node joins its parent's child list
            // after its older siblings, as when it was made.
            for (path, var node) in loaded.nodes {
                generationCounter = max(generationCounter, node.creation)
                node.generation = node.creation
                if path != "/" {
                    let parent = XSPath.parent(of: path)
                    guard nodes[parent] != nil else {
                        throw StorageError("stored tree is inconsistent: \(path) has no parent")
                    }
                    nodes[parent]!.appendChild(XSPath.name(of: path))
                }
                nodes[path] = node
                ownedEntries[node.perms.owner, default: 0] += 1
                if node.perms.owner != 0 { ownedPaths[node.perms.owner, default: []].insert(path) }
                for domid in node.perms.grantees { grantedEntries[domid, default: 0] += 1 }
            }
            for domain in loaded.domains { domains[domain.domid] = domain }
            treeBytes = nodes.reduce(0) { $0 + Self.footprint($1.key, $1.value) }
        }
        if nodes["/"] == nil {
            let root = Node(perms: XSPermissions(owner: 0), generation: 1, creation: 1)
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
            generationCounter = max(generationCounter, 1)
            nodes["/"] = root
            ownedEntries[0, default: 0] += 1
            treeBytes += Self.footprint("/", root)
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
        if lastConnection?.id == id { lastConnection = nil }
        guard let conn = connections.removeValue(forKey: id) else { return }
        dropWatches(of: conn)
        conn.transactions.removeAll()
        if conn.domid == 0 { flushLog(.connection(id)) }
    }

    /// The connection `id`: the one of the last request without a lookup
    /// (a client mostly sends many in a row; hashing its id cost a
    /// request over a hundred instructions).
    func connection(_ id: ConnectionID) -> Connection? {
        if let last = lastConnection, last.id == id { return last }
        let found = connections[id]
        if found != nil { lastConnection = found }
        return found
    }

    public func domid(of id: ConnectionID) -> UInt32? { connections[id]?.domid }
    public func isPrivileged(_ id: ConnectionID) -> Bool { connections[id]?.privileged ?? false }

    // MARK: Requests

    /// Handles one request. Its reply (and any watch events it causes) are
    /// appended to ``outbox`` once the change is durable.
    public func handle(_ msg: XSMessage, from id: ConnectionID) {
        msg.payload.withUnsafeBufferPointer { handle(msg.header, payload: $0, from: id) }
    }

    /// ``handle(_:from:)`` for a request whose payload is read in place
    /// (the front ends' frames, see ``XSFrameDecoder/nextFrame()``).
    public func handle(_ msg: XSHeader, payload: UnsafeBufferPointer<UInt8>, from id: ConnectionID) {
        guard let conn = connection(id) else { return }
        requestUnstoredStart = unstored.count
        let bytesBefore = treeBytes
        var after: [XSMessage] = []
        var reply: XSMessage
        do throws(XSError) {
            reply = msg.reply(try dispatch(msg, payload, conn, &after))
        } catch {
            reply = msg.errorReply(error)
            after = []
        }
        if reply.type == XSType.error.rawValue {   // (no call to make an XSType of it)
            revertMainChanges()
            pendingEvents.removeAll()
        } else if let memoryBudget, treeBytes > memoryBudget, treeBytes > bytesBefore {
            // Over the memory the daemon may use: refused before it is stored.
            log(.warning, by: logSource(id), "the tree would take \(treeBytes) bytes, more than the \(memoryBudget) the daemon's memory limit leaves it: ENOMEM")
            revertMainChanges()
            pendingEvents.removeAll()
            after = []
            reply = msg.errorReply(.ENOMEM)
        } else if !groupCommit, let failure = storeChanges() {
            logger.error("storage failed, request not applied: \(failure)")
            revertMainChanges()
            pendingEvents.removeAll()
            after = []
            reply = msg.errorReply(failure.error)
        }
        lastRequestChanged = !undo.isEmpty
        if groupCommit && storage != nil {
            // With nothing waiting to be stored, memory and storage agree:
            // a failed commit later has nothing before this point to take back.
            if unstored.isEmpty {
                if !batchUndo.isEmpty { batchUndo.removeAll(keepingCapacity: true) }
            } else {
                batchUndo.append(contentsOf: undo)
            }
        }
        // Emptied from the end: `removeAll(keepingCapacity:)` goes through
        // the generic `replaceSubrange`, several hundred instructions for a
        // request's one or two entries.
        while undo.popLast() != nil {}
        outbox.append((id, reply))
        for m in after { outbox.append((id, m)) }
        if !pendingEvents.isEmpty {
            for event in pendingEvents { deliver(event) }
            while pendingEvents.popLast() != nil {}
        }
    }

    /// Requests only a privileged connection may send.
    static func isPrivileged(_ type: XSType) -> Bool {
        switch type {
        case .control, .introduce, .release, .isDomainIntroduced, .resume, .setTarget: true
        default: false
        }
    }

    /// Checks in Xen's order: unknown type (ENOSYS), privilege (EACCES),
    /// transaction id (ENOENT; WATCH and UNWATCH ignore it), what Xen checks
    /// before it reads the arguments, the arguments (``XSRequest``), then the request itself.
    func dispatch(_ msg: XSHeader, _ payload: UnsafeBufferPointer<UInt8>, _ conn: Connection,
                  _ after: inout [XSMessage]) throws(XSError) -> [UInt8] {
        guard let type = msg.kind, type != .watchEvent, type != .error else { throw .ENOSYS }
        if Self.isPrivileged(type) && !conn.privileged { throw .EACCES }
        let txn = type == .watch || type == .unwatch ? nil : try transaction(msg.transactionID, conn)
        switch type {
        case .transactionEnd: if txn == nil { throw .ENOENT }
        case .introduce, .release, .setTarget, .resume: try requireWritable(conn)
        default: break
        }
        let request = try XSRequest(type, payload: payload)
        // Consumed: its strings and bytes move into the handler, not copied.
        switch consume request {
        case .read(let path): return try read(path, conn, txn)
        case .write(let path, let value): return try write(path, value, conn, txn)
        case .mkdir(let path): return try mkdir(path, conn, txn)
        case .rm(let path): return try rm(path, conn, txn)
        case .directory(let path): return try directory(path, conn, txn)
        case .directoryPart(let path, let offset): return try directoryPart(path, offset: offset, conn, txn)
        case .getPerms(let path): return try getPerms(path, conn, txn)
        case .setPerms(let path, let perms): return try setPerms(path, perms, conn, txn)
        case .transactionStart: return try transactionStart(conn, txn)
        case .transactionEnd(let commit): return try transactionEnd(commit: commit, conn, txn!)
        case .watch(let path, let token): return try watch(path, token: token, conn, &after)
        case .unwatch(let path, let token): return try unwatch(path, token: token, conn)
        case .resetWatches:
            dropWatches(of: conn)
            conn.transactions.removeAll()
            return XSPayload.ok
        case .introduce(let domid, let mfn, let port): return try introduce(domid, mfn: mfn, port: port)
        case .release(let domid): return try release(domid)
        case .isDomainIntroduced(let domid): return isDomainIntroduced(domid)
        case .getDomainPath(let domid):
            return XSPayload.strings([XSPath.domainPath(domid)])
        case .setTarget(let domid, let target): return try setTarget(domid, target: target)
        case .resume(let domid): return try resume(domid)
        case .control(let command, let arguments): return try control(command, arguments, conn)
        }
    }

    // MARK: Tree access (main tree or a transaction's view)

    func nextGeneration() -> UInt64 {
        generationCounter += 1
        return generationCounter
    }

    /// The node at `path` as `txn` sees it (recording what a transaction read).
    func node(_ path: String, _ txn: Transaction?) -> Node? {
        #if DEBUG
        counters.nodeLookups += 1
        #endif
        guard let txn else { return nodes[path] }
        if let entry = txn.overlay[path] { return entry }
        // A transaction keeps seeing a node as it was when it first looked (as Xen 4.17 does).
        if let seen = txn.seen[path] { return seen }
        let current = nodes[path]
        // Room for a few paths at once rather than growing one by one (each time rehashing).
        if txn.seen.isEmpty { txn.seen.reserveCapacity(8) }
        txn.seen[path] = .some(current)
        return current
    }

    func put(_ path: String, _ node: Node, _ txn: Transaction?) {
        var node = node
        node.generation = nextGeneration()
        if let txn {
            let old = self.node(path, txn)
            node.creation = old?.creation ?? node.generation
            if txn.overlay.isEmpty { txn.overlay.reserveCapacity(4) }
            txn.overlay[path] = .some(node)
            txn.account(old: old, new: node)
        } else {
            // One dictionary lookup (a node keeps its creation for life): a
            // node taken from the tree comes with its creation, a new one
            // (creation 0) is created now. Put right after, in a second
            // store, only if the node there (or its absence) says otherwise.
            let generation = node.generation
            if node.creation == 0 { node.creation = generation }
            #if DEBUG
            counters.nodeStores += 1
            #endif
            guard let old = nodes.updateValue(node, forKey: path) else {
                if node.creation != generation { restoreCreation(path, &node, generation) }
                mainChanged(path, old: nil, new: node)
                return
            }
            if old.creation != node.creation { restoreCreation(path, &node, old.creation) }
            mainChanged(path, old: old, new: node)
        }
    }

    private func restoreCreation(_ path: String, _ node: inout Node, _ creation: UInt64) {
        node.creation = creation
        #if DEBUG
        counters.nodeStores += 1
        #endif
        nodes[path] = node
    }

    func remove(_ path: String, _ txn: Transaction?) {
        if let txn {
            let old = node(path, txn)
            txn.overlay[path] = .some(nil)
            txn.account(old: old, new: nil)
        } else {
            removeMain(path)
        }
    }

    func putMain(_ path: String, _ node: Node) {
        mainChanged(path, old: nodes.updateValue(node, forKey: path), new: node)
    }

    /// Records that `path` went from `old` to `new` in the main tree: undo, accounting, storage.
    /// (`old` is consumed: it moves into the undo log last, instead of
    /// being copied there first, three retains and releases a change.)
    func mainChanged(_ path: String, old: consuming Node?, new node: Node) {
        account(path, old: old, new: node)
        // Nothing is stored in memory only (a Xen host): the values are not
        // compared (a 2000-byte value costs thousands of instructions to).
        if storage != nil {
            // A parent that only gained or lost a child has nothing new to store.
            var differs = true
            if let old {
                #if DEBUG
                counters.storedComparisons += 1
                #endif
                differs = node.storedDiffers(from: old)
            }
            if differs { unstored.append((path, node)) }
        }
        undo.append((path, consume old))
    }

    func removeMain(_ path: String) {
        #if DEBUG
        counters.nodeRemovals += 1
        #endif
        guard let old = nodes.removeValue(forKey: path) else { return }
        mainRemoved(path, old: old)
    }

    /// Records that `path`, which held `old`, was taken out of the main tree: undo, accounting, storage.
    func mainRemoved(_ path: String, old: Node) {
        undo.append((path, old))
        account(path, old: old, new: nil)
        if storage != nil { unstored.append((path, nil)) }
    }

    func account(_ path: String, old: Node?, new: Node?) {
        if let old { treeBytes -= Self.footprint(path, old) }
        if let new { treeBytes += Self.footprint(path, new) }
        let oldOwner = old?.perms.owner, newOwner = new?.perms.owner
        // A node that keeps its owner leaves the owners' counts as they were
        // (nil: no node, so a node made or removed always counts).
        if oldOwner != newOwner {
            if let oldOwner { countOwned(oldOwner, -1) }
            if let newOwner { countOwned(newOwner, 1) }
            if let oldOwner, oldOwner != 0 {
                ownedPaths[oldOwner]?.remove(path)
                if ownedPaths[oldOwner]?.isEmpty == true { ownedPaths[oldOwner] = nil }
            }
            if let newOwner, newOwner != 0 { ownedPaths[newOwner, default: []].insert(path) }
        }
        // Grantees only where a list has more than the owner's entry: most
        // nodes have none, and comparing the lists (copies of both) is then skipped.
        let grants = (old?.perms.entries.count ?? 0) > 1 || (new?.perms.entries.count ?? 0) > 1
        if grants && old?.perms != new?.perms {
            if let old {
                for domid in old.perms.grantees {
                    let left = grantedEntries[domid, default: 0] - 1
                    grantedEntries[domid] = left > 0 ? left : nil
                }
            }
            if let new { for domid in new.perms.grantees { grantedEntries[domid, default: 0] += 1 } }
        }
    }

    private func countOwned(_ owner: UInt32, _ delta: Int) {
        #if DEBUG
        counters.ownerCountChanges += 1
        #endif
        ownedEntries[owner, default: 0] += delta
    }

    /// Writes the last state of every path in ``unstored`` in one SQLite
    /// transaction, in the order of their last changes; returns the failure
    /// if it could not (then nothing was written).
    func storeChanges() -> StorageError? {
        guard let storage, !unstored.isEmpty else { return nil }
        defer { unstored.removeAll(keepingCapacity: true) }
        // Whether entry `i` is its path's last: a few entries are compared
        // with those after them, many go through a dictionary.
        let many = unstored.count > 16
        if many {
            lastEntry.removeAll(keepingCapacity: true)
            for (i, entry) in unstored.enumerated() { lastEntry[entry.path] = i }
        }
        func isLast(_ i: Int) -> Bool {
            if many { return lastEntry[unstored[i].path] == i }
            let path = unstored[i].path
            for j in (i + 1)..<unstored.count where unstored[j].path == path { return false }
            return true
        }
        do throws(StorageError) {
            try storage.begin()
            do throws(StorageError) {
                for i in unstored.indices where isLast(i) {
                    if let node = unstored[i].node {
                        try storage.putNode(unstored[i].path, node)
                    } else {
                        try storage.deleteNode(unstored[i].path)
                    }
                }
                try storage.commit()
            } catch {
                storage.rollback()
                throw error
            }
            return nil
        } catch {
            return error
        }
    }

    /// Puts the in-memory tree back as it was before this request, and
    /// forgets what it left to store.
    func revertMainChanges() {
        revert(undo)
        undo.removeAll(keepingCapacity: true)
        unstored.removeSubrange(min(requestUnstoredStart, unstored.count)...)
    }

    private func revert(_ log: [(String, Node?)]) {
        for (path, old) in log.reversed() {
            let current = nodes[path]
            account(path, old: current, new: old)
            nodes[path] = old
        }
    }

    /// With ``groupCommit``: whether changes wait for ``commitBatch()``.
    public var hasUncommittedChanges: Bool { !unstored.isEmpty }

    /// Whether ``commitBatch()`` has anything to do: changes to store, or a
    /// batch's undo records to drop.
    var commitIsDue: Bool { !unstored.isEmpty || !batchUndo.isEmpty }

    /// With ``groupCommit``: commits every change since the last call in one
    /// SQLite transaction. If that fails, all of them are taken back out of
    /// the tree too, and the front end must answer EIO to the requests that
    /// made them (see ``lastRequestChanged``) instead of their replies:
    /// the error returned (ENOSPC, EROFS or EIO); nil when committed.
    public func commitBatch() -> XSError? {
        // Nothing to commit (always so in memory only, as on a Xen host): the
        // front end calls this after every round, so no generic emptying then.
        if unstored.isEmpty {
            if !batchUndo.isEmpty { batchUndo.removeAll(keepingCapacity: true) }
            return nil
        }
        defer { batchUndo.removeAll(keepingCapacity: true) }
        guard let failure = storeChanges() else { return nil }
        logger.error("storage failed, \(batchUndo.count) change(s) not applied: \(failure)")
        revert(batchUndo)
        return failure.error
    }

    /// Log pages after which an idle daemon checkpoints, and after which a busy one must.
    public static let idleCheckpointPages = 1000
    public static let busyCheckpointPages = 4000

    /// Whether SQLite's log has grown enough to be worth a checkpoint when idle.
    public var wantsCheckpoint: Bool { (storage?.pendingLogPages ?? 0) >= Self.idleCheckpointPages }

    /// Checkpoints SQLite's log: when `idle`, past ``idleCheckpointPages``;
    /// when busy only past ``busyCheckpointPages``, to bound the log.
    public func checkpoint(idle: Bool) {
        guard let storage, unstored.isEmpty else { return }
        if storage.pendingLogPages >= (idle ? Self.idleCheckpointPages : Self.busyCheckpointPages) {
            storage.checkpoint()
        }
    }

    /// Requests the front end must not batch with others: they change the
    /// set of domains (and their sockets), which ``commitBatch()`` could not take back.
    public static func changesDomains(_ msg: XSMessage) -> Bool { changesDomains(msg.header) }

    public static func changesDomains(_ msg: XSHeader) -> Bool {
        msg.type == XSType.introduce.rawValue || msg.type == XSType.release.rawValue || msg.type == XSType.setTarget.rawValue
    }

    // MARK: Permissions

    func rights(_ perms: XSPermissions, _ conn: Connection) -> Rights {
        if conn.privileged { return .all }
        let target = domains[conn.domid]?.target
        let owner = perms.owner
        if owner == conn.domid || (target != nil && owner == target) { return .all }
        for entry in perms.entries.dropFirst() where !entry.ignored && (entry.domid == conn.domid || (target != nil && entry.domid == target)) {
            return Rights(entry.access)
        }
        return Rights(perms.entries[0].access)
    }

    /// The node at `path` if `conn` has `need` on it; nil if it does not exist
    /// and the nearest existing ancestor grants `need` (so it may be
    /// created); EACCES otherwise, without revealing whether it exists.
    func lookup(_ path: String, _ conn: Connection, _ txn: Transaction?, need: Rights) throws(XSError) -> Node? {
        var ancestor: (path: String, node: Node)?
        return try lookup(path, conn, txn, need: need, ancestor: &ancestor)
    }

    /// ``lookup(_:_:_:need:)``, which when `path` does not exist also gives
    /// the nearest existing ancestor it found (for ``create(_:value:_:_:parent:)``).
    func lookup(_ path: String, _ conn: Connection, _ txn: Transaction?, need: Rights,
                ancestor: inout (path: String, node: Node)?) throws(XSError) -> Node? {
        if let found = node(path, txn) {
            guard rights(found.perms, conn).isSuperset(of: need) else { throw .EACCES }
            return found
        }
        var candidate = path
        repeat {
            candidate = XSPath.parent(of: candidate)
            if let found = node(candidate, txn) {
                if rights(found.perms, conn).isDisjoint(with: need) { throw .EACCES }
                ancestor = (candidate, found)
                return nil
            }
        } while candidate != "/"
        return nil
    }

    func requireWritable(_ conn: Connection) throws(XSError) {
        if conn.readOnly { throw .EROFS }
    }

    // MARK: Arguments

    func path(_ text: String, _ conn: Connection) throws(XSError) -> String {
        guard !text.isEmpty, let absolute = XSPath.resolve(text, base: conn.base) else { throw .EINVAL }
        return absolute
    }

    // MARK: Inspection (tests, CONTROL)

    /// The node at an absolute path, as committed.
    public func node(at path: String) -> Node? { nodes[path] }
    public var nodeCount: Int { nodes.count }
    public func entries(ownedBy domid: UInt32) -> Int { ownedEntries[domid] ?? 0 }
}

extension Store {
    /// What one node costs in memory, roughly: its path (the dictionary
    /// key), value and child list, and a fixed part for the entry, the
    /// permissions and the counters.
    static func footprint(_ path: String, _ node: Node) -> Int {
        path.utf8.count + node.value.count + node.childNames.count + 128
    }
}
