import CSQLite
import SwxlSystem
#if canImport(Glibc)
import Glibc
#endif

/// A failed SQLite call, with SQLite's message.
public struct DatabaseError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One SQLite value, as bound to a statement or read from a row.
public enum SQLValue: Equatable {
    case int(Int64)
    case text(String)
    case null

    public var int: Int64? { if case .int(let v) = self { v } else { nil } }
    public var text: String? { if case .text(let v) = self { v } else { nil } }
}

/// A small SQLite database that several swxl processes use at once: the
/// simulated hypervisor's domain table and the toolstack's own records.
///
/// Why SQLite rather than a file per record: creating a file allocates an
/// inode, and on ext4 a directory whose files come and go makes that slow
/// (the allocator skips recently freed inodes, reading inode tables to
/// find them): a create wrote four new files and took 0.15 ms for each
/// with a thousand domains running, three times as long as with one. A
/// row costs the same at any size, and SQLite gives the locking (one
/// writer at a time, across processes) and atomic multi-row changes.
///
/// WAL mode, `synchronous=NORMAL`: a commit is an append to the log, which
/// survives the process being killed; a checkpoint (every thousand pages)
/// fsyncs. Writers take the lock up front (`BEGIN IMMEDIATE`) and wait up
/// to ten seconds for it; readers never wait.
///
/// One connection, used by one thread at a time (as every swxl process and
/// the guests' host do); processes and threads that run at once each open
/// their own.
public final class StateDatabase {
    private var db: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    public let path: String

    /// Opens (creating if needed) the database at `path`. On first use
    /// `schema` runs in one transaction and `populate` may add first rows.
    public init(path: String, schema: String, populate: (StateDatabase) throws(DatabaseError) -> Void = { _ in }) throws(DatabaseError) {
        self.path = path
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            db = nil
            throw DatabaseError("cannot open \(path): \(message)")
        }
        sqlite3_busy_timeout(db, 10_000)
        do throws(DatabaseError) {
            try exec("PRAGMA synchronous=NORMAL")
            if try query("PRAGMA user_version").first?.first?.int == 0 {
                // The log mode is kept in the file: set once, outside a transaction.
                try exec("PRAGMA journal_mode=WAL")
                try write { () throws(DatabaseError) in
                    // Another process may have got here first.
                    guard try query("PRAGMA user_version").first?.first?.int == 0 else { return }
                    try exec(schema)
                    try populate(self)
                    try exec("PRAGMA user_version=1")
                }
            }
        } catch {
            throw DatabaseError("cannot use \(path): \(error)")
        }
    }

    deinit {
        for stmt in statements.values { sqlite3_finalize(stmt) }
        sqlite3_close(db)
    }

    private var message: String { String(cString: sqlite3_errmsg(db)) }

    /// Runs SQL text without results (several statements allowed).
    func exec(_ sql: String) throws(DatabaseError) {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw DatabaseError(message) }
    }

    /// Runs `body` as one write transaction: all of it or none of it. The
    /// lock is taken at the start, so what `body` reads stays true until
    /// the commit.
    public func write<T, E: Error>(_ fail: (DatabaseError) -> E, _ body: () throws(E) -> T) throws(E) -> T {
        do { try exec("BEGIN IMMEDIATE") } catch { throw fail(error) }
        let result: T
        do {
            result = try body()
        } catch {
            _ = sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
            throw error
        }
        do { try exec("COMMIT") } catch {
            _ = sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
            throw fail(error)
        }
        return result
    }

    public func write<T>(_ body: () throws(DatabaseError) -> T) throws(DatabaseError) -> T {
        try write({ $0 }, body)
    }

    /// Runs one statement (prepared once per connection) and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ arguments: SQLValue...) throws(DatabaseError) -> [[SQLValue]] {
        try query(sql, arguments)
    }

    @discardableResult
    public func query(_ sql: String, _ arguments: [SQLValue]) throws(DatabaseError) -> [[SQLValue]] {
        let stmt = try statement(sql)
        defer {
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
        }
        for (i, value) in arguments.enumerated() {
            let index = Int32(i + 1)
            switch value {
            case .int(let v): sqlite3_bind_int64(stmt, index, v)
            case .null: sqlite3_bind_null(stmt, index)
            case .text(let s) where s.isEmpty:
                // Still a pointer: a null one would bind NULL.
                sqlite3_bind_text(stmt, index, "", 0, Self.transient)
            case .text(let s):
                var s = s
                s.withUTF8 { utf8 in
                    _ = utf8.withMemoryRebound(to: CChar.self) {
                        sqlite3_bind_text(stmt, index, $0.baseAddress!, Int32($0.count), Self.transient)
                    }
                }
            }
        }
        var rows: [[SQLValue]] = []
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { return rows }
            guard rc == SQLITE_ROW else { throw DatabaseError(message) }
            let columns = sqlite3_column_count(stmt)
            var row: [SQLValue] = []
            row.reserveCapacity(Int(columns))
            for c in 0..<columns {
                switch sqlite3_column_type(stmt, c) {
                case SQLITE_NULL: row.append(.null)
                case SQLITE_INTEGER: row.append(.int(sqlite3_column_int64(stmt, c)))
                default:
                    let text = sqlite3_column_text(stmt, c)
                    let count = Int(sqlite3_column_bytes(stmt, c))
                    row.append(.text(text.map { String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self) } ?? ""))
                }
            }
            rows.append(row)
        }
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { Int(sqlite3_changes(db)) }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private func statement(_ sql: String) throws(DatabaseError) -> OpaquePointer {
        if let stmt = statements[sql] { return stmt }
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil) == SQLITE_OK, let stmt else {
            throw DatabaseError(message)
        }
        statements[sql] = stmt
        return stmt
    }
}

/// Whether process `pid` is still the process that started at `started`
/// (field 22 of /proc/<pid>/stat: a recycled pid has a later start).
enum ProcessIdentity {
    static func startTime(of pid: pid_t) -> Int64? {
        guard let bytes = FileIO.readBytes("/proc/\(pid)/stat"),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // Fields after the command name (which may hold spaces): state is field 3, starttime field 22.
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 19 else { return nil }
        return Int64(String(decoding: fields[19], as: UTF8.self))
    }

    static func isAlive(pid: pid_t, started: Int64) -> Bool {
        guard pid > 0 else { return false }
        return startTime(of: pid) == started
    }
}
