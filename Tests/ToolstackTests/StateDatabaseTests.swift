import Foundation
import Testing
@testable import Toolstack

/// The toolstack's SQLite state as several processes open it at once.
@Suite struct StateDatabaseTests {
    /// A new file is switched to WAL mode once. While another process is
    /// writing the file, SQLite refuses that switch at once ("database is
    /// locked", no busy handler: 5 of 6 `swxl list` started together on a
    /// new state directory failed so), so opening retries it until the
    /// other process is done. The other process is SQLite's own shell,
    /// holding a write transaction on the new file (still in rollback
    /// mode, as when it is about to switch it too) for half a second. The
    /// shell waits for locks as swxl does (`.timeout`; by default it fails
    /// at once): each retry of the switch holds a shared lock for a moment,
    /// and a commit that met one failed with "database is locked" (a CI
    /// run, once).
    @Test func aNewFileWaitsForAnotherProcessBeforeItsLogModeChanges() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swxl-statedb-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/state.db", ready = dir + "/ready"
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        shell.arguments = [path]
        let input = Pipe()
        shell.standardInput = input
        shell.standardOutput = FileHandle.nullDevice
        try shell.run()
        input.fileHandleForWriting.write(Data("""
            .timeout 10000
            BEGIN IMMEDIATE;
            CREATE TABLE other(y);
            .shell touch \(ready)
            .shell sleep 0.5
            COMMIT;

            """.utf8))
        try input.fileHandleForWriting.close()
        var waited = 0
        while !FileManager.default.fileExists(atPath: ready) && waited < 500 { usleep(10_000); waited += 1 }
        try #require(FileManager.default.fileExists(atPath: ready), "the shell never took its lock")
        let db = try StateDatabase(path: path, schema: "CREATE TABLE t(x INTEGER)")
        #expect(try db.query("PRAGMA journal_mode") == [[.text("wal")]])
        #expect(try db.query("PRAGMA user_version") == [[.int(1)]])
        shell.waitUntilExit()
        #expect(shell.terminationStatus == 0)
    }
}
