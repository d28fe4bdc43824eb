import CSQLite
import Glibc

/// A failed SQLite call: SQLite's message for it.
public struct SQLiteError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// SQLite answered SQLITE_BUSY: another connection holds a lock that
    /// this call did not (or could not) wait for.
    public var isBusy: Bool
    public init(_ message: String, isBusy: Bool = false) {
        self.message = message
        self.isBusy = isBusy
    }
    public var description: String { message }
}

/// One SQLite connection, used by one thread at a time (it is opened
/// without SQLite's own mutex), with the glue every swxl database needs:
/// open with a readable error, `exec`, statements prepared once for the
/// connection's life, transactions. What a database stores, and how, stays
/// with its owner (the daemon's store, the toolstack's state).
public final class SQLiteConnection {
    /// The raw handle, for SQLite calls this type does not wrap (hooks,
    /// checkpoints, file controls).
    public let handle: OpaquePointer
    public let path: String
    /// Every statement prepared here, by its SQL: finalized with the connection.
    private var statements: [String: SQLiteStatement] = [:]

    /// Opens (creating if needed) the database at `path`, through the VFS
    /// named `vfs` (nil: SQLite's default).
    public init(path: String, vfs: String? = nil) throws(SQLiteError) {
        self.path = path
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, vfs)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw SQLiteError("cannot open \(path): \(message)")
        }
        handle = db
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement.handle) }
        sqlite3_close(handle)
    }

    /// SQLite's message for the last failed call on this connection, with
    /// the system's reason behind an I/O failure ("disk I/O error (No space
    /// left on device)"): SQLite's own words do not say it.
    public var errorMessage: String {
        let message = String(cString: sqlite3_errmsg(handle))
        let code = sqlite3_extended_errcode(handle) & 0xff
        let errno = sqlite3_system_errno(handle)
        guard errno != 0, [SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_FULL, SQLITE_READONLY].contains(code) else { return message }
        return "\(message) (\(String(cString: strerror(errno))))"
    }

    /// Waits up to `milliseconds` for another connection's lock instead of failing at once.
    public func setBusyTimeout(milliseconds: Int32) {
        sqlite3_busy_timeout(handle, milliseconds)
    }

    /// Runs SQL text without results (several statements allowed).
    public func exec(_ sql: String) throws(SQLiteError) {
        let rc = sqlite3_exec(handle, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw SQLiteError(errorMessage, isBusy: rc & 0xff == SQLITE_BUSY) }
    }

    /// The statement for `sql`, prepared on first use and kept (SQLite's
    /// persistent preparation) until the connection closes.
    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let statement = statements[sql] { return statement }
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil) == SQLITE_OK,
              let stmt else {
            throw SQLiteError(errorMessage)
        }
        let statement = SQLiteStatement(handle: stmt)
        statements[sql] = statement
        return statement
    }

    /// Prepares `sql` for one use, runs `body` with it and finalizes it.
    /// nil, without running `body`, when `sql` does not prepare (as when
    /// it names a table or column the database lacks: ``errorMessage`` says).
    public func withStatement<R, E: Error>(_ sql: String, _ body: (SQLiteStatement) throws(E) -> R) throws(E) -> R? {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &stmt, nil) == SQLITE_OK, let stmt else {
            sqlite3_finalize(stmt)
            return nil
        }
        defer { sqlite3_finalize(stmt) }
        return try body(SQLiteStatement(handle: stmt))
    }

    /// Runs `body` as one transaction: all of it or none of it. With
    /// `immediate` the write lock is taken at the start, so what `body`
    /// reads stays true until the commit. A failure to begin or commit is
    /// turned into `E` by `fail`.
    public func transaction<T, E: Error>(immediate: Bool = false, _ fail: (SQLiteError) -> E,
                                         _ body: () throws(E) -> T) throws(E) -> T {
        do { try exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN") } catch { throw fail(error) }
        let result: T
        do {
            result = try body()
        } catch {
            rollback()
            throw error
        }
        do { try exec("COMMIT") } catch {
            rollback()
            throw fail(error)
        }
        return result
    }

    /// Undoes the open transaction, if any (a failed rollback leaves nothing to undo).
    public func rollback() {
        _ = sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }
}

/// A prepared statement of a ``SQLiteConnection`` (which finalizes it).
/// Parameters are numbered from 1, columns from 0, as in SQLite.
///
/// Two ways to bind text and blobs: copied (`bind(_:text:)`), or in place
/// (`bindInPlace`), where SQLite reads the caller's bytes during the step
/// that follows, without a copy or allocation; the caller keeps them valid
/// and binds again before the next step.
public struct SQLiteStatement {
    public let handle: OpaquePointer

    @usableFromInline
    init(handle: OpaquePointer) { self.handle = handle }

    // Computed, not stored: a stored static is reached through a lazy
    // initializer on every use from another module, and these sit on the
    // daemon's per-request path.
    /// `SQLITE_TRANSIENT`: SQLite copies the bytes before the bind returns.
    @inlinable
    static var copied: sqlite3_destructor_type { unsafeBitCast(-1, to: sqlite3_destructor_type.self) }
    /// `SQLITE_STATIC`: SQLite reads the bytes where they lie.
    @inlinable
    static var inPlace: sqlite3_destructor_type? { nil }
    /// A non-null pointer for zero bytes (a null one would bind NULL).
    @inlinable
    static var noBytes: UnsafeRawPointer { UnsafeRawPointer(bitPattern: 1)! }

    @inlinable
    public func bind(_ index: Int32, int value: Int64) {
        sqlite3_bind_int64(handle, index, value)
    }

    @inlinable
    public func bindNull(_ index: Int32) {
        sqlite3_bind_null(handle, index)
    }

    /// Binds a copy of `text`'s UTF-8 bytes (no C string made, no strlen).
    @inlinable
    public func bind(_ index: Int32, text: String) {
        var text = text
        text.withUTF8 { utf8 in
            // An empty string still needs a pointer: a null one would bind NULL.
            let base = utf8.baseAddress.map { UnsafeRawPointer($0) } ?? Self.noBytes
            sqlite3_bind_text(handle, index, base.assumingMemoryBound(to: CChar.self), Int32(utf8.count), Self.copied)
        }
    }

    /// Binds a copy of `blob` (zero bytes stay a blob, not NULL).
    @inlinable
    public func bind(_ index: Int32, blob: [UInt8]) {
        _ = blob.withUnsafeBytes { raw in
            sqlite3_bind_blob(handle, index, raw.baseAddress ?? Self.noBytes, Int32(raw.count), Self.copied)
        }
    }

    /// Binds UTF-8 text in place (see the type's note).
    @inlinable
    public func bindInPlace(_ index: Int32, text utf8: UnsafeRawBufferPointer) {
        sqlite3_bind_text(handle, index, (utf8.baseAddress ?? Self.noBytes).assumingMemoryBound(to: CChar.self),
                          Int32(utf8.count), Self.inPlace)
    }

    /// Binds a blob in place (see the type's note).
    @inlinable
    public func bindInPlace(_ index: Int32, blob: UnsafeRawBufferPointer) {
        sqlite3_bind_blob(handle, index, blob.baseAddress ?? Self.noBytes, Int32(blob.count), Self.inPlace)
    }

    /// One step; SQLite's result code (`SQLITE_ROW`, `SQLITE_DONE` or an error).
    @inlinable
    public func step() -> Int32 {
        sqlite3_step(handle)
    }

    /// Makes the statement ready to run again (bindings are kept).
    @inlinable
    public func reset() {
        sqlite3_reset(handle)
    }

    /// One step then a reset, for statements that return no rows; the step's result code.
    @inlinable
    public func stepAndReset() -> Int32 {
        let rc = sqlite3_step(handle)
        sqlite3_reset(handle)
        return rc
    }

    /// Steps to the next row: true when there is one, false when the
    /// statement is done; a failure is thrown with SQLite's message.
    public func nextRow() throws(SQLiteError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteError(String(cString: sqlite3_errmsg(sqlite3_db_handle(handle))))
        }
    }

    public func clearBindings() {
        sqlite3_clear_bindings(handle)
    }

    // MARK: the current row

    public var columnCount: Int32 { sqlite3_column_count(handle) }

    public func isNull(_ column: Int32) -> Bool { type(column) == .null }

    /// What a column of the current row holds.
    public enum ColumnType: Sendable, Equatable {
        case integer, float, text, blob, null
    }

    public func type(_ column: Int32) -> ColumnType {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: .integer
        case SQLITE_FLOAT: .float
        case SQLITE_TEXT: .text
        case SQLITE_BLOB: .blob
        default: .null
        }
    }

    public func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    /// The column as text (its bytes as UTF-8; "" for NULL).
    public func text(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// The column's bytes ([] for NULL or an empty blob).
    public func bytes(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let base = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: base, count: count))
    }
}
