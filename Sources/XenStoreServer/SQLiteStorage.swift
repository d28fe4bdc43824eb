import CSQLite
import Glibc
import SwxlSQLite
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
    /// Whether the file written to is no longer the one at its path
    /// (removed or replaced behind the daemon's back): what is written
    /// now would not be there after a restart.
    var isDetached: Bool { get }
}

extension Storage {
    public var isDetached: Bool { false }
}

public struct StorageError: Error, CustomStringConvertible, Sendable {
    public var description: String
    /// What the requests whose changes were lost are answered: ENOSPC for
    /// a full filesystem, EROFS for a read-only one, else EIO.
    public var error: XSError
    public init(_ description: String, error: XSError = .EIO) {
        self.description = description
        self.error = error
    }

    /// SQLite's failure as the daemon answers it: its result code, or the
    /// system's errno behind an I/O error.
    init(_ description: String, sqlite handle: OpaquePointer) {
        let code = sqlite3_extended_errcode(handle)
        let errno = sqlite3_system_errno(handle)
        let error: XSError = switch (code & 0xff, errno) {
        case (SQLITE_FULL, _), (SQLITE_IOERR, ENOSPC), (SQLITE_IOERR, EDQUOT): .ENOSPC
        case (SQLITE_READONLY, _), (SQLITE_IOERR, EROFS): .EROFS
        default: .EIO
        }
        self.init(description, error: error)
    }
}

/// An introduced domain as it is kept across restarts.
public struct DomainRecord: Sendable, Equatable {
    public var domid: UInt32
    public var mfn: String
    public var port: String
    public var target: UInt32?
    /// Its shutdown was announced (`@releaseDomain`) and RESUME has not come since; not stored.
    public var shutdownReported = false

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
    private let connection: SQLiteConnection
    /// The database file's identity when opened (device, inode).
    private let fileIdentity: (dev_t, ino_t)?
    private let putNodeStmt: SQLiteStatement
    private let deleteNodeStmt: SQLiteStatement
    private let putDomainStmt: SQLiteStatement
    private let deleteDomainStmt: SQLiteStatement
    private let beginStmt: SQLiteStatement
    private let commitStmt: SQLiteStatement
    private let rollbackStmt: SQLiteStatement

    public init(path: String) throws(StorageError) {
        let connection: SQLiteConnection
        do throws(SQLiteError) {
            connection = try SQLiteConnection(path: path, vfs: WALGathering.register())
        } catch {
            throw StorageError(error.message)
        }
        self.connection = connection
        fileIdentity = Self.identity(of: path)
        func exec(_ sql: String) throws(SQLiteError) { try connection.exec(sql) }
        do throws(SQLiteError) {
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
            try Self.migrateChildListSchema(connection)
            try exec("""
                CREATE TABLE IF NOT EXISTS node(path TEXT PRIMARY KEY, value BLOB NOT NULL, perms TEXT NOT NULL, creation INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS domain(domid INTEGER PRIMARY KEY, mfn TEXT NOT NULL, port TEXT NOT NULL, target INTEGER);
                """)
        } catch {
            throw StorageError("cannot use \(path): \(connection.errorMessage)")
        }
        do throws(SQLiteError) {
            putNodeStmt = try connection.prepare("INSERT OR REPLACE INTO node(path, value, perms, creation) VALUES(?1, ?2, ?3, ?4)")
            deleteNodeStmt = try connection.prepare("DELETE FROM node WHERE path = ?1")
            putDomainStmt = try connection.prepare("INSERT OR REPLACE INTO domain(domid, mfn, port, target) VALUES(?1, ?2, ?3, ?4)")
            deleteDomainStmt = try connection.prepare("DELETE FROM domain WHERE domid = ?1")
            beginStmt = try connection.prepare("BEGIN")
            commitStmt = try connection.prepare("COMMIT")
            rollbackStmt = try connection.prepare("ROLLBACK")
        } catch {
            throw StorageError("sqlite: \(error.message)")
        }
        sqlite3_wal_hook(connection.handle, { context, _, _, pages in
            Unmanaged<SQLiteStorage>.fromOpaque(context!).takeUnretainedValue().pendingLogPages = Int(pages)
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    private var errorMessage: String { connection.errorMessage }

    /// Runs a prepared statement to completion and resets it.
    private func run(_ stmt: SQLiteStatement) throws(StorageError) {
        // No clearing of bindings: every caller binds all parameters before each run.
        let rc = stmt.stepAndReset()
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else { throw StorageError("sqlite: \(errorMessage)", sqlite: connection.handle) }
    }

    /// Databases written before the `creation` column kept each node's child
    /// list in a `children` column. Their nodes get creation numbers from a
    /// walk of the tree in child order (parents before children, siblings in
    /// list order), so nothing is lost and the order survives.
    private static func migrateChildListSchema(_ connection: SQLiteConnection) throws(SQLiteError) {
        var rows: [String: (value: [UInt8], perms: String, children: [String])] = [:]
        let old: Void? = connection.withStatement("SELECT path, value, perms, children FROM node") { probe in
            while probe.step() == SQLITE_ROW {
                rows[probe.text(0)] = (probe.bytes(1), probe.text(2), XSPayload.split(probe.bytes(3)))
            }
        }
        guard old != nil else { return }
        var order: [String] = []
        var queue = rows["/"] == nil ? [] : ["/"]
        while let path = queue.popLast() {
            order.append(path)
            // Depth first; children pushed in reverse so the first is walked first.
            for child in (rows[path]?.children ?? []).reversed() where rows[XSPath.join(path, child)] != nil {
                queue.append(XSPath.join(path, child))
            }
        }
        try connection.transaction({ $0 }) { () throws(SQLiteError) in
            try connection.exec("CREATE TABLE node_new(path TEXT PRIMARY KEY, value BLOB NOT NULL, perms TEXT NOT NULL, creation INTEGER NOT NULL) WITHOUT ROWID")
            let inserted: Void? = try connection.withStatement("INSERT INTO node_new(path, value, perms, creation) VALUES(?1, ?2, ?3, ?4)") {
                (insert) throws(SQLiteError) in
                for (i, path) in order.enumerated() {
                    let row = rows[path]!
                    insert.bind(1, text: path)
                    insert.bind(2, blob: row.value)
                    insert.bind(3, text: row.perms)
                    insert.bind(4, int: Int64(i + 1))
                    guard insert.stepAndReset() == SQLITE_DONE else { throw SQLiteError(connection.errorMessage) }
                }
            }
            guard inserted != nil else { throw SQLiteError(connection.errorMessage) }
            try connection.exec("DROP TABLE node")
            try connection.exec("ALTER TABLE node_new RENAME TO node")
        }
    }

    public func load() throws(StorageError) -> (nodes: [(path: String, node: Node)], domains: [DomainRecord]) {
        var nodes: [(path: String, node: Node)] = []
        let selectedNodes: Void? = try connection.withStatement("SELECT path, value, perms, creation FROM node ORDER BY creation") {
            (select) throws(StorageError) in
            while true {
                let rc = select.step()
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else { throw StorageError("sqlite: \(errorMessage)") }
                let path = select.text(0)
                let permText = select.text(2)
                let creation = select.int(3)
                guard XSPath.isValidAbsolute(path), creation > 0,
                      let perms = XSPermissions(storageText: permText) else {
                    throw StorageError("corrupt node row for '\(path)' (perms '\(permText)', creation \(creation))")
                }
                nodes.append((path, Node(value: select.bytes(1), perms: perms, creation: UInt64(creation))))
            }
        }
        guard selectedNodes != nil else { throw StorageError("sqlite: \(errorMessage)") }
        var domains: [DomainRecord] = []
        let selectedDomains: Void? = connection.withStatement("SELECT domid, mfn, port, target FROM domain ORDER BY domid") { select in
            while select.step() == SQLITE_ROW {
                let target: UInt32? = select.isNull(3) ? nil : UInt32(select.int(3))
                domains.append(DomainRecord(domid: UInt32(select.int(0)), mfn: select.text(1), port: select.text(2), target: target))
            }
        }
        guard selectedDomains != nil else { throw StorageError("sqlite: \(errorMessage)") }
        return (nodes, domains)
    }

    public func begin() throws(StorageError) { try run(beginStmt) }
    public func commit() throws(StorageError) {
        try run(commitStmt)
        let rc = WALGathering.flush(connection.handle)
        guard rc == SQLITE_OK else {
            // The log's writes were gathered past SQLite: its own codes say nothing of them.
            let full = rc & 0xff == SQLITE_FULL || errno == ENOSPC || errno == EDQUOT
            throw StorageError("sqlite: writing the log: \(String(cString: sqlite3_errstr(rc)))",
                               error: full ? .ENOSPC : errno == EROFS ? .EROFS : .EIO)
        }
    }
    public func rollback() { _ = try? run(rollbackStmt) }

    public private(set) var pendingLogPages = 0

    public var isDetached: Bool {
        guard let opened = fileIdentity else { return false }
        guard let now = Self.identity(of: connection.path) else { return true }
        return now != opened
    }

    private static func identity(of path: String) -> (dev_t, ino_t)? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return (st.st_dev, st.st_ino)
    }

    public func checkpoint() {
        var logged: Int32 = 0
        var copied: Int32 = 0
        if sqlite3_wal_checkpoint_v2(connection.handle, nil, SQLITE_CHECKPOINT_PASSIVE, &logged, &copied) == SQLITE_OK && copied == logged {
            pendingLogPages = 0
        }
    }

    /// The last permissions stored and their text: most nodes share their
    /// parent's permissions, and formatting them is a tenth of a put.
    private var lastPerms: (perms: XSPermissions, text: [UInt8])?

    public func putNode(_ path: String, _ node: Node) throws(StorageError) {
        if lastPerms?.perms != node.perms { lastPerms = (node.perms, Array(node.perms.storageText.utf8)) }
        let stmt = putNodeStmt
        stmt.bind(4, int: Int64(bitPattern: node.creation))
        // The texts and the value are bound in place (no copy, no
        // allocation): they stay valid until the step is over, and every
        // parameter is bound again before the next one.
        var path = path
        let rc = path.withUTF8 { pathBytes in
            node.value.withUnsafeBytes { value in
                lastPerms!.text.withUnsafeBytes { perms in
                    stmt.bindInPlace(1, text: UnsafeRawBufferPointer(pathBytes))
                    stmt.bindInPlace(2, blob: value)
                    stmt.bindInPlace(3, text: perms)
                    return stmt.stepAndReset()
                }
            }
        }
        guard rc == SQLITE_DONE else { throw StorageError("sqlite: \(errorMessage)", sqlite: connection.handle) }
    }

    public func deleteNode(_ path: String) throws(StorageError) {
        let stmt = deleteNodeStmt
        var path = path
        let rc = path.withUTF8 { pathBytes in
            stmt.bindInPlace(1, text: UnsafeRawBufferPointer(pathBytes))
            return stmt.stepAndReset()
        }
        guard rc == SQLITE_DONE else { throw StorageError("sqlite: \(errorMessage)", sqlite: connection.handle) }
    }

    public func putDomain(_ domain: DomainRecord) throws(StorageError) {
        putDomainStmt.bind(1, int: Int64(domain.domid))
        putDomainStmt.bind(2, text: domain.mfn)
        putDomainStmt.bind(3, text: domain.port)
        if let target = domain.target {
            putDomainStmt.bind(4, int: Int64(target))
        } else {
            putDomainStmt.bindNull(4)
        }
        try run(putDomainStmt)
    }

    public func deleteDomain(_ domid: UInt32) throws(StorageError) {
        deleteDomainStmt.bind(1, int: Int64(domid))
        try run(deleteDomainStmt)
    }
}
