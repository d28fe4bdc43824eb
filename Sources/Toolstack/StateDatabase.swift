import SwxlSQLite
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
    private let connection: SQLiteConnection
    public var path: String { connection.path }

    /// Opens (creating if needed) the database at `path`. On first use
    /// `schema` runs in one transaction and `populate` may add first rows.
    ///
    /// `migrations` are the schema's later versions: the database's
    /// `user_version` is 1 after `schema` and each migration adds one, so
    /// migration `i` (from 0) brings version `i + 1` to `i + 2`. A new
    /// database gets `schema` and then every migration; an older one gets
    /// the migrations it lacks, once, in one transaction (the first process
    /// to open it does them; the others find them done). A database of a
    /// later version (a newer swxl's) is used as it is.
    public init(path: String, schema: String, migrations: [String] = [],
                populate: (StateDatabase) throws(DatabaseError) -> Void = { _ in }) throws(DatabaseError) {
        do throws(SQLiteError) {
            connection = try SQLiteConnection(path: path)
        } catch {
            throw DatabaseError(error.message)
        }
        connection.setBusyTimeout(milliseconds: 10_000)
        let latest = Int64(1 + migrations.count)
        do throws(DatabaseError) {
            try exec("PRAGMA synchronous=NORMAL")
            let version = try query("PRAGMA user_version").first?.first?.int ?? 0
            if version == 0 {
                // The log mode is kept in the file: set once, outside a transaction.
                try enterWALMode()
                try write { () throws(DatabaseError) in
                    // Another process may have got here first.
                    guard try query("PRAGMA user_version").first?.first?.int == 0 else { return }
                    try exec(schema)
                    try populate(self)
                    for migration in migrations { try exec(migration) }
                    try exec("PRAGMA user_version=\(latest)")
                }
            }
            if version < latest {
                try write { () throws(DatabaseError) in
                    let now = try query("PRAGMA user_version").first?.first?.int ?? 0
                    guard now >= 1, now < latest else { return }
                    for migration in migrations[Int(now - 1)...] { try exec(migration) }
                    try exec("PRAGMA user_version=\(latest)")
                }
            }
        } catch {
            throw DatabaseError("cannot use \(path): \(error)")
        }
    }

    /// Switches a new file to WAL mode. That takes the file exclusively
    /// from inside a read, and while another process holds a write lock on
    /// the still rollback-mode file (as when several processes open the
    /// same new file together) SQLite answers "database is locked" at once
    /// rather than wait (a busy handler could deadlock there): 5 of 6
    /// `swxl list` started together on a new state directory failed so.
    /// So it is tried again, for as long as the busy timeout would wait.
    private func enterWALMode() throws(DatabaseError) {
        let deadline = SystemClock.monotonicNanoseconds() + 10_000_000_000
        while true {
            do throws(SQLiteError) {
                try connection.exec("PRAGMA journal_mode=WAL")
                return
            } catch where error.isBusy && SystemClock.monotonicNanoseconds() < deadline {
                usleep(2_000)
            } catch {
                throw DatabaseError(error.message)
            }
        }
    }

    /// The schema's version (`PRAGMA user_version`).
    public var version: Int64 { ((try? query("PRAGMA user_version")) ?? []).first?.first?.int ?? 0 }

    /// Runs SQL text without results (several statements allowed).
    func exec(_ sql: String) throws(DatabaseError) {
        do throws(SQLiteError) { try connection.exec(sql) } catch { throw DatabaseError(error.message) }
    }

    /// Runs `body` as one write transaction: all of it or none of it. The
    /// lock is taken at the start, so what `body` reads stays true until
    /// the commit.
    public func write<T, E: Error>(_ fail: (DatabaseError) -> E, _ body: () throws(E) -> T) throws(E) -> T {
        try connection.transaction(immediate: true, { fail(DatabaseError($0.message)) }, body)
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
        let stmt: SQLiteStatement
        do throws(SQLiteError) { stmt = try connection.prepare(sql) } catch { throw DatabaseError(error.message) }
        defer {
            stmt.reset()
            stmt.clearBindings()
        }
        for (i, value) in arguments.enumerated() {
            let index = Int32(i + 1)
            switch value {
            case .int(let v): stmt.bind(index, int: v)
            case .null: stmt.bindNull(index)
            case .text(let s): stmt.bind(index, text: s)
            }
        }
        var rows: [[SQLValue]] = []
        do throws(SQLiteError) {
            while try stmt.nextRow() {
                let columns = stmt.columnCount
                var row: [SQLValue] = []
                row.reserveCapacity(Int(columns))
                for c in 0..<columns {
                    switch stmt.type(c) {
                    case .null: row.append(.null)
                    case .integer: row.append(.int(stmt.int(c)))
                    default: row.append(.text(stmt.text(c)))
                    }
                }
                rows.append(row)
            }
        } catch {
            throw DatabaseError(error.message)
        }
        return rows
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { connection.changes }
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
