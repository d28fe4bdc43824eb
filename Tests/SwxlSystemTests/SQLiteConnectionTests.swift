import Foundation
import Glibc
import SwxlSQLite
import SwxlSystem
import Testing

@Suite struct SQLiteConnectionTests {
    @Test func opensRunsAndReadsBackEveryKindOfBinding() throws {
        let dir = try temporaryDirectory()
        defer { FileIO.removeTree(dir) }
        let db = try SQLiteConnection(path: dir + "/t.db")
        try db.exec("CREATE TABLE t(i INTEGER, s TEXT, b BLOB, n INTEGER)")
        let insert = try db.prepare("INSERT INTO t VALUES(?1, ?2, ?3, ?4)")
        #expect(try db.prepare("INSERT INTO t VALUES(?1, ?2, ?3, ?4)").handle == insert.handle)  // prepared once

        insert.bind(1, int: -7)
        insert.bind(2, text: "héllo")
        insert.bind(3, blob: [0, 1, 2])
        insert.bindNull(4)
        #expect(try !insert.nextRow())
        insert.reset()
        // Empty text and blob stay text and blob, not NULL; in-place bytes are read during the step.
        var text = "in place"
        let bytes: [UInt8] = []
        let rc = text.withUTF8 { utf8 in
            bytes.withUnsafeBytes { blob in
                insert.bind(1, int: 1)
                insert.bindInPlace(2, text: UnsafeRawBufferPointer(utf8))
                insert.bindInPlace(3, blob: blob)
                insert.bind(4, int: 0)
                return insert.stepAndReset()
            }
        }
        #expect(rc == 101)  // SQLITE_DONE
        #expect(db.changes == 1)
        insert.bind(1, int: 2)
        insert.bind(2, text: "")
        insert.bind(3, blob: [])
        insert.bind(4, int: 0)
        #expect(insert.stepAndReset() == 101)

        struct Row: Equatable {
            var i: Int64, s: String, b: [UInt8], types: [SQLiteStatement.ColumnType]
        }
        var rows: [Row] = []
        let select = try db.prepare("SELECT i, s, b, n FROM t ORDER BY i")
        while try select.nextRow() {
            rows.append(Row(i: select.int(0), s: select.text(1), b: select.bytes(2),
                            types: (0..<select.columnCount).map { select.type($0) }))
        }
        select.reset()
        #expect(rows == [
            Row(i: -7, s: "héllo", b: [0, 1, 2], types: [.integer, .text, .blob, .null]),
            Row(i: 1, s: "in place", b: [], types: [.integer, .text, .blob, .integer]),
            Row(i: 2, s: "", b: [], types: [.integer, .text, .blob, .integer]),
        ])
    }

    @Test func errorsCarrySQLitesMessage() throws {
        let dir = try temporaryDirectory()
        defer { FileIO.removeTree(dir) }
        #expect(throws: SQLiteError("cannot open \(dir)/no/t.db: unable to open database file")) {
            try SQLiteConnection(path: dir + "/no/t.db")
        }
        let db = try SQLiteConnection(path: dir + "/t.db")
        #expect(throws: SQLiteError("no such table: missing")) { try db.exec("DELETE FROM missing") }
        #expect(throws: SQLiteError("no such table: missing")) { try db.prepare("SELECT * FROM missing") }
        let ran: Void? = db.withStatement("SELECT * FROM missing") { _ in Issue.record("ran a statement that did not prepare") }
        #expect(ran == nil)
        #expect(db.errorMessage == "no such table: missing")
        #expect(db.withStatement("SELECT 6 * 7") { s in (try? s.nextRow()) == true ? s.int(0) : nil } == 42)
    }

    @Test func aTransactionIsAllOrNothing() throws {
        let dir = try temporaryDirectory()
        defer { FileIO.removeTree(dir) }
        let db = try SQLiteConnection(path: dir + "/t.db")
        try db.exec("CREATE TABLE t(i INTEGER)")
        struct Stop: Error, Equatable {}
        func count() throws -> Int64 {
            let s = try db.prepare("SELECT count(*) FROM t")
            defer { s.reset() }
            _ = try s.nextRow()
            return s.int(0)
        }
        #expect(throws: Stop()) {
            try db.transaction(immediate: true, { _ in Stop() }) { () throws(Stop) in
                try? db.exec("INSERT INTO t VALUES(1)")
                throw Stop()
            }
        }
        #expect(try count() == 0)
        let value = try db.transaction({ $0 }) { () throws(SQLiteError) in
            try db.exec("INSERT INTO t VALUES(1)")
            return 5
        }
        #expect(value == 5)
        #expect(try count() == 1)
        // A transaction that cannot begin (one is open) fails through `fail`.
        try db.exec("BEGIN")
        #expect(throws: SQLiteError("cannot start a transaction within a transaction")) {
            try db.transaction({ $0 }) { () throws(SQLiteError) in }
        }
        db.rollback()
    }

    /// A second connection waits for the first one's write lock instead of failing at once.
    @Test func aBusyTimeoutWaitsForTheLock() throws {
        let dir = try temporaryDirectory()
        defer { FileIO.removeTree(dir) }
        let first = try SQLiteConnection(path: dir + "/t.db")
        try first.exec("PRAGMA journal_mode=WAL; CREATE TABLE t(i INTEGER)")
        let second = try SQLiteConnection(path: dir + "/t.db")
        try first.exec("BEGIN IMMEDIATE")
        #expect(throws: SQLiteError("database is locked", isBusy: true)) { try second.exec("BEGIN IMMEDIATE") }
        second.setBusyTimeout(milliseconds: 5000)
        nonisolated(unsafe) let holder = first  // used by the other thread only while this one waits
        let released = Thread { usleep(100_000); try? holder.exec("COMMIT") }
        released.start()
        try second.exec("BEGIN IMMEDIATE")
        try second.exec("COMMIT")
    }
}
