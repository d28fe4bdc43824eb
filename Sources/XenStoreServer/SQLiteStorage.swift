import CSQLite
import XenStoreProtocol

/// What the store writes to: the changes of one request, or with group
/// commit of several, in one transaction (begin, puts and deletes, commit),
/// durable before any of those requests is answered.
public protocol Storage: AnyObject {
    /// Everything stored: the nodes in creation order (child lists empty:
    /// the store rebuilds them), and the introduced domains.
    func load() throws(StorageError) -> (nodes: [(path: String, node: Node)], domains: [DomainRecord])
    func begin() throws(StorageError)
    func putNode(_ path: String, _ node: Node) throws(StorageError)
    func deleteNode(_ path: String) throws(StorageError)
    func putDomain(_ domain: DomainRecord) throws(StorageError)
    func deleteDomain(_ domid: UInt32) throws(StorageError)
    func commit() throws(StorageError)
    func rollback()
    /// Pages written to the log since the last checkpoint (0 if there is no log).
    var pendingLogPages: Int { get }
    /// Copies the log into the database file (an fsync or two), off the request path.
    func checkpoint()
}

public struct StorageError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// An introduced domain as it is kept across restarts.
public struct DomainRecord: Sendable, Equatable {
    public var domid: UInt32
    public var mfn: String
    public var port: String
    public var target: UInt32?

    public init(domid: UInt32, mfn: String, port: String, target: UInt32? = nil) {
        self.domid = domid
        self.mfn = mfn
        self.port = port
        self.target = target
    }
}

/// SQLite in WAL mode with `synchronous=NORMAL` and exclusive locking: a commit is one append to
/// the write-ahead log, handed to the kernel before the reply goes out. It
/// survives `kill -9` of the daemon (the kernel holds the pages); only a
/// crash of the whole machine may lose the last commits. `FULL` would add an
/// fsync per acknowledged change.
public final class SQLiteStorage: Storage {
    private var db: OpaquePointer?
    private var putNodeStmt: OpaquePointer?
    private var deleteNodeStmt: OpaquePointer?
    private var putDomainStmt: OpaquePointer?
    private var deleteDomainStmt: OpaquePointer?
    private var beginStmt: OpaquePointer?
    private var commitStmt: OpaquePointer?
    private var rollbackStmt: OpaquePointer?

    public init(path: String) throws(StorageError) {
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                              WALGathering.register()) == SQLITE_OK else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            db = nil
            throw StorageError("cannot open \(path): \(message)")
        }
        do throws(StorageError) {
            // One daemon per database (the pid file lock sees to that): keep the
            // file locks for good instead of taking them per transaction, which
            // also keeps the WAL index in memory.
            try exec("PRAGMA locking_mode=EXCLUSIVE")
            try exec("PRAGMA page_size=1024")
            try exec("PRAGMA journal_mode=WAL")
            try exec("PRAGMA synchronous=NORMAL")
            // Checkpoints (which fsync) are run by the daemon when it is idle,
            // not inside whichever commit crosses SQLite's threshold.
            try exec("PRAGMA wal_autocheckpoint=0")
            try exec("PRAGMA journal_size_limit=\(4 << 20)")
            try migrateChildListSchema()
            try exec("""
                CREATE TABLE IF NOT EXISTS node(path TEXT PRIMARY KEY, value BLOB NOT NULL, perms TEXT NOT NULL, creation INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS domain(domid INTEGER PRIMARY KEY, mfn TEXT NOT NULL, port TEXT NOT NULL, target INTEGER);
                """)
        } catch {
            throw StorageError("cannot use \(path): \(errorMessage)")
        }
        sqlite3_wal_hook(db, { context, _, _, pages in
            Unmanaged<SQLiteStorage>.fromOpaque(context!).takeUnretainedValue().pendingLogPages = Int(pages)
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
        putNodeStmt = try prepare("INSERT OR REPLACE INTO node(path, value, perms, creation) VALUES(?1, ?2, ?3, ?4)")
        deleteNodeStmt = try prepare("DELETE FROM node WHERE path = ?1")
        putDomainStmt = try prepare("INSERT OR REPLACE INTO domain(domid, mfn, port, target) VALUES(?1, ?2, ?3, ?4)")
        deleteDomainStmt = try prepare("DELETE FROM domain WHERE domid = ?1")
        beginStmt = try prepare("BEGIN")
        commitStmt = try prepare("COMMIT")
        rollbackStmt = try prepare("ROLLBACK")
    }

    deinit {
        for stmt in [putNodeStmt, deleteNodeStmt, putDomainStmt, deleteDomainStmt, beginStmt, commitStmt, rollbackStmt] {
            sqlite3_finalize(stmt)
        }
        sqlite3_close(db)
    }

    private var errorMessage: String { String(cString: sqlite3_errmsg(db)) }

    private func exec(_ sql: String) throws(StorageError) {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw StorageError("sqlite: \(errorMessage)") }
    }

    private func prepare(_ sql: String) throws(StorageError) -> OpaquePointer? {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil) == SQLITE_OK else {
            throw StorageError("sqlite: \(errorMessage)")
        }
        return stmt
    }

    /// Runs a prepared statement to completion and resets it.
    private func run(_ stmt: OpaquePointer?) throws(StorageError) {
        let rc = step(stmt)
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else { throw StorageError("sqlite: \(errorMessage)") }
    }

    /// One step of a statement that returns no rows, then its reset; SQLite's result code.
    private func step(_ stmt: OpaquePointer?) -> Int32 {
        let rc = sqlite3_step(stmt)
        // No sqlite3_clear_bindings: every caller binds all parameters before each run.
        sqlite3_reset(stmt)
        return rc
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private func bind(_ stmt: OpaquePointer?, _ index: Int32, text: String) {
        // An empty string still needs a pointer: a null one would bind NULL.
        guard !text.isEmpty else {
            sqlite3_bind_text(stmt, index, "", 0, Self.transient)
            return
        }
        // The string's own UTF-8 bytes with their length: no C-string copy, no strlen.
        var text = text
        text.withUTF8 { utf8 in
            _ = utf8.withMemoryRebound(to: CChar.self) {
                sqlite3_bind_text(stmt, index, $0.baseAddress!, Int32($0.count), Self.transient)
            }
        }
    }

    private func bind(_ stmt: OpaquePointer?, _ index: Int32, blob: [UInt8]) {
        blob.withUnsafeBytes { raw in
            // A zero-length blob needs a non-null pointer to stay a blob rather than NULL.
            _ = sqlite3_bind_blob(stmt, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count), Self.transient)
        }
    }

    private func columnBytes(_ stmt: OpaquePointer?, _ index: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(stmt, index))
        guard count > 0, let base = sqlite3_column_blob(stmt, index) else { return [] }
        return Array(UnsafeRawBufferPointer(start: base, count: count))
    }

    private func columnText(_ stmt: OpaquePointer?, _ index: Int32) -> String {
        guard let text = sqlite3_column_text(stmt, index) else { return "" }
        return String(cString: text)
    }

    /// Databases written before the `creation` column kept each node's child
    /// list in a `children` column. Their nodes get creation numbers from a
    /// walk of the tree in child order (parents before children, siblings in
    /// list order), so nothing is lost and the order survives.
    private func migrateChildListSchema() throws(StorageError) {
        var probe: OpaquePointer?
        let old = sqlite3_prepare_v2(db, "SELECT path, value, perms, children FROM node", -1, &probe, nil) == SQLITE_OK
        defer { sqlite3_finalize(probe) }
        guard old else { return }
        var rows: [String: (value: [UInt8], perms: String, children: [String])] = [:]
        while sqlite3_step(probe) == SQLITE_ROW {
            rows[columnText(probe, 0)] = (columnBytes(probe, 1), columnText(probe, 2), XSPayload.split(columnBytes(probe, 3)))
        }
        var order: [String] = []
        var queue = rows["/"] == nil ? [] : ["/"]
        while let path = queue.popLast() {
            order.append(path)
            // Depth first; children pushed in reverse so the first is walked first.
            for child in (rows[path]?.children ?? []).reversed() where rows[XSPath.join(path, child)] != nil {
                queue.append(XSPath.join(path, child))
            }
        }
        try exec("BEGIN")
        do throws(StorageError) {
            try exec("CREATE TABLE node_new(path TEXT PRIMARY KEY, value BLOB NOT NULL, perms TEXT NOT NULL, creation INTEGER NOT NULL) WITHOUT ROWID")
            let insert = try prepare("INSERT INTO node_new(path, value, perms, creation) VALUES(?1, ?2, ?3, ?4)")
            defer { sqlite3_finalize(insert) }
            for (i, path) in order.enumerated() {
                let row = rows[path]!
                bind(insert, 1, text: path)
                bind(insert, 2, blob: row.value)
                bind(insert, 3, text: row.perms)
                sqlite3_bind_int64(insert, 4, Int64(i + 1))
                try run(insert)
            }
            try exec("DROP TABLE node")
            try exec("ALTER TABLE node_new RENAME TO node")
            try exec("COMMIT")
        } catch {
            _ = sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
            throw error
        }
    }

    public func load() throws(StorageError) -> (nodes: [(path: String, node: Node)], domains: [DomainRecord]) {
        var nodes: [(path: String, node: Node)] = []
        let select = try prepare("SELECT path, value, perms, creation FROM node ORDER BY creation")
        defer { sqlite3_finalize(select) }
        while true {
            let rc = sqlite3_step(select)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw StorageError("sqlite: \(errorMessage)") }
            let path = columnText(select, 0)
            let permText = columnText(select, 2)
            let creation = sqlite3_column_int64(select, 3)
            guard XSPath.isValidAbsolute(path), creation > 0,
                  let perms = XSPermissions(parsing: permText.split(separator: ",").map(String.init)) else {
                throw StorageError("corrupt node row for '\(path)' (perms '\(permText)', creation \(creation))")
            }
            nodes.append((path, Node(value: columnBytes(select, 1), perms: perms, creation: UInt64(creation))))
        }
        var domains: [DomainRecord] = []
        let selectDomains = try prepare("SELECT domid, mfn, port, target FROM domain ORDER BY domid")
        defer { sqlite3_finalize(selectDomains) }
        while sqlite3_step(selectDomains) == SQLITE_ROW {
            let target: UInt32? = sqlite3_column_type(selectDomains, 3) == SQLITE_NULL ? nil : UInt32(sqlite3_column_int64(selectDomains, 3))
            domains.append(DomainRecord(domid: UInt32(sqlite3_column_int64(selectDomains, 0)),
                                        mfn: columnText(selectDomains, 1), port: columnText(selectDomains, 2), target: target))
        }
        return (nodes, domains)
    }

    public func begin() throws(StorageError) { try run(beginStmt) }
    public func commit() throws(StorageError) {
        try run(commitStmt)
        let rc = WALGathering.flush(db)
        guard rc == SQLITE_OK else { throw StorageError("sqlite: writing the log: \(String(cString: sqlite3_errstr(rc)))") }
    }
    public func rollback() { _ = try? run(rollbackStmt) }

    public private(set) var pendingLogPages = 0

    public func checkpoint() {
        var logged: Int32 = 0
        var copied: Int32 = 0
        if sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, &logged, &copied) == SQLITE_OK && copied == logged {
            pendingLogPages = 0
        }
    }

    /// The last permissions stored and their text: most nodes share their
    /// parent's permissions, and formatting them is a tenth of a put.
    private var lastPerms: (perms: XSPermissions, text: [UInt8])?

    /// SQLite's `SQLITE_STATIC`: it reads a parameter where it lies instead of copying it.
    private static let inPlace: sqlite3_destructor_type? = nil
    /// A non-null pointer for zero bytes (a null one would bind NULL).
    private static var noBytes: UnsafeRawPointer { UnsafeRawPointer(bitPattern: 1)! }

    public func putNode(_ path: String, _ node: Node) throws(StorageError) {
        if lastPerms?.perms != node.perms { lastPerms = (node.perms, Array(node.perms.description.utf8)) }
        sqlite3_bind_int64(putNodeStmt, 4, Int64(bitPattern: node.creation))
        // The texts and the value are bound in place (no copy, no
        // allocation): they stay valid until the step is over, and every
        // parameter is bound again before the next one.
        var path = path
        let rc = path.withUTF8 { pathBytes in
            node.value.withUnsafeBytes { value in
                lastPerms!.text.withUnsafeBytes { perms in
                    sqlite3_bind_text(putNodeStmt, 1, UnsafeRawPointer(pathBytes.baseAddress!).assumingMemoryBound(to: CChar.self),
                                      Int32(pathBytes.count), Self.inPlace)
                    sqlite3_bind_blob(putNodeStmt, 2, value.baseAddress ?? Self.noBytes, Int32(value.count), Self.inPlace)
                    sqlite3_bind_text(putNodeStmt, 3, perms.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(perms.count),
                                      Self.inPlace)
                    return step(putNodeStmt)
                }
            }
        }
        guard rc == SQLITE_DONE else { throw StorageError("sqlite: \(errorMessage)") }
    }

    public func deleteNode(_ path: String) throws(StorageError) {
        var path = path
        let rc = path.withUTF8 { pathBytes in
            sqlite3_bind_text(deleteNodeStmt, 1, UnsafeRawPointer(pathBytes.baseAddress!).assumingMemoryBound(to: CChar.self),
                              Int32(pathBytes.count), Self.inPlace)
            return step(deleteNodeStmt)
        }
        guard rc == SQLITE_DONE else { throw StorageError("sqlite: \(errorMessage)") }
    }

    public func putDomain(_ domain: DomainRecord) throws(StorageError) {
        sqlite3_bind_int64(putDomainStmt, 1, Int64(domain.domid))
        bind(putDomainStmt, 2, text: domain.mfn)
        bind(putDomainStmt, 3, text: domain.port)
        if let target = domain.target {
            sqlite3_bind_int64(putDomainStmt, 4, Int64(target))
        } else {
            sqlite3_bind_null(putDomainStmt, 4)
        }
        try run(putDomainStmt)
    }

    public func deleteDomain(_ domid: UInt32) throws(StorageError) {
        sqlite3_bind_int64(deleteDomainStmt, 1, Int64(domid))
        try run(deleteDomainStmt)
    }
}
