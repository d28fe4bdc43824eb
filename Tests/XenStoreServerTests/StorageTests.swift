import CSQLite
import Foundation
import Testing
import XenStoreProtocol
@testable import XenStoreServer

/// A temporary directory removed at the end of the test.
final class TemporaryDirectory {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("swxl-server-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

@Suite struct StorageTests {
    @Test func everyAcknowledgedChangeIsReloaded() throws {
        let dir = try TemporaryDirectory()
        let db = dir.path + "/store.db"
        var expected: [String] = []
        do {
            let h = try Harness(storage: try SQLiteStorage(path: db))
            let dom0 = h.connect()
            h.write(dom0, "/a/b", "one")
            h.write(dom0, "/a/c", "two")
            h.send(dom0, XSType.write.rawValue, payload: Array("/bin".utf8) + [0, 0, 1, 2, 255])
            h.setPerms(dom0, "/a/c", ["r5", "b6"])
            h.send(dom0, .rm, ["/a/b"])
            h.write(dom0, "/a/b", "again")
            let tx = h.start(dom0)
            h.write(dom0, "/tx/x", "committed", tx: tx)
            #expect(h.end(dom0, tx) == .ok)
            let aborted = h.start(dom0)
            h.write(dom0, "/tx/y", "aborted", tx: aborted)
            #expect(h.end(dom0, aborted, commit: false) == .ok)
            h.send(dom0, .introduce, ["7", "100", "3"])
            expected = h.tree()
        }
        let reloaded = try Harness(storage: try SQLiteStorage(path: db))
        #expect(reloaded.tree() == expected)
        #expect(reloaded.tree() == ["/= n0", "/a= n0", "/a/c=two r5,b6", "/a/b=again n0", "/bin=\u{0}\u{1}\u{2}\u{FFFD} n0", "/tx= n0", "/tx/x=committed n0"])
        #expect(reloaded.store.introducedDomains == [7])
        #expect(reloaded.store.checkTree() == [])
        #expect(reloaded.store.node(at: "/bin")?.value == [0, 1, 2, 255])
    }

    @Test func groupCommitWritesManyRequestsAtOnce() throws {
        let dir = try TemporaryDirectory()
        let db = dir.path + "/store.db"
        var expected: [String] = []
        do {
            let h = try Harness(storage: try SQLiteStorage(path: db))
            h.store.groupCommit = true
            let dom0 = h.connect()
            h.write(dom0, "/g/a", "1")
            h.write(dom0, "/g/b", "2")
            #expect(h.send(dom0, .rm, ["/nothing/here"]) == .error(.ENOENT))
            let tx = h.start(dom0)
            h.write(dom0, "/g/tx", "3", tx: tx)
            #expect(h.end(dom0, tx) == .ok)
            #expect(h.store.hasUncommittedChanges)
            #expect(h.store.commitBatch() == nil)
            #expect(!h.store.hasUncommittedChanges)
            h.send(dom0, .rm, ["/g/a"])
            #expect(h.store.commitBatch() == nil)
            // Committing with nothing pending is a no-op.
            #expect(h.store.commitBatch() == nil)
            expected = h.tree()
        }
        #expect(expected == ["/= n0", "/g= n0", "/g/b=2 n0", "/g/tx=3 n0"])
        #expect(try Harness(storage: try SQLiteStorage(path: db)).tree() == expected)
    }

    @Test func aNewChildWritesOneRowNotItsParentsList() throws {
        let storage = RecordingStorage()
        let h = try Harness(storage: storage)
        let dom0 = h.connect()
        storage.puts = []
        h.write(dom0, "/vm/a", "1")
        #expect(storage.puts == ["/vm", "/vm/a"])
        storage.puts = []
        h.write(dom0, "/vm/b", "2")
        h.send(dom0, .rm, ["/vm/a"])
        let tx = h.start(dom0)
        h.write(dom0, "/vm/c", "3", tx: tx)
        #expect(h.end(dom0, tx) == .ok)
        // A value or permission change of the parent is still written.
        h.setPerms(dom0, "/vm", ["n0", "r1"])
        #expect(storage.puts == ["/vm/b", "/vm/c", "/vm"])
        #expect(storage.deletes == ["/vm/a"])
    }

    @Test func siblingsKeepTheirOrderAcrossARestart() throws {
        let dir = try TemporaryDirectory()
        let db = dir.path + "/store.db"
        var expected: [String] = []
        do {
            let h = try Harness(storage: try SQLiteStorage(path: db))
            let dom0 = h.connect()
            for name in ["z", "a", "m"] { h.write(dom0, "/s/\(name)", name) }
            let tx = h.start(dom0)
            for name in ["y", "b", "x"] { h.write(dom0, "/s/t/\(name)", name, tx: tx) }
            h.write(dom0, "/s/c", "c", tx: tx)
            #expect(h.end(dom0, tx) == .ok)
            h.send(dom0, .rm, ["/s/a"])
            h.write(dom0, "/s/a", "again")
            expected = h.tree()
        }
        #expect(expected == ["/= n0", "/s= n0", "/s/z=z n0", "/s/m=m n0", "/s/t= n0", "/s/t/y=y n0", "/s/t/b=b n0",
                             "/s/t/x=x n0", "/s/c=c n0", "/s/a=again n0"])
        do {
            let reloaded = try Harness(storage: try SQLiteStorage(path: db))
            #expect(reloaded.tree() == expected)
            #expect(reloaded.store.checkTree() == [])
            // New nodes after the restart still sort after the old ones.
            let dom0 = reloaded.connect()
            reloaded.write(dom0, "/s/new", "n")
        }
        let again = try Harness(storage: try SQLiteStorage(path: db))
        #expect(again.tree("/s").last == "/s/new=n n0")
    }

    @Test func aDatabaseWithChildListsIsMigrated() throws {
        let dir = try TemporaryDirectory()
        let db = dir.path + "/store.db"
        // The schema before creation numbers: each row held its children.
        var handle: OpaquePointer?
        #expect(sqlite3_open(db, &handle) == SQLITE_OK)
        let old = """
            CREATE TABLE node(path TEXT PRIMARY KEY, value BLOB NOT NULL, perms TEXT NOT NULL, children BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE domain(domid INTEGER PRIMARY KEY, mfn TEXT NOT NULL, port TEXT NOT NULL, target INTEGER);
            INSERT INTO node VALUES('/', x'', 'n0', CAST('local' || char(0) || 'tool' || char(0) AS BLOB));
            INSERT INTO node VALUES('/tool', CAST('t' AS BLOB), 'n0,r3', x'');
            INSERT INTO node VALUES('/local', x'', 'n0', CAST('domain' || char(0) AS BLOB));
            INSERT INTO node VALUES('/local/domain', x'', 'n0', CAST('9' || char(0) || '1' || char(0) AS BLOB));
            INSERT INTO node VALUES('/local/domain/1', CAST('one' AS BLOB), 'n1', x'');
            INSERT INTO node VALUES('/local/domain/9', CAST('nine' AS BLOB), 'n9', x'');
            INSERT INTO domain VALUES(9, '100', '3', NULL);
            """
        #expect(sqlite3_exec(handle, old, nil, nil, nil) == SQLITE_OK)
        sqlite3_close(handle)
        let expected = ["/= n0", "/local= n0", "/local/domain= n0", "/local/domain/9=nine n9", "/local/domain/1=one n1",
                        "/tool=t n0,r3"]
        do {
            let migrated = try Harness(storage: try SQLiteStorage(path: db))
            #expect(migrated.tree() == expected)
            #expect(migrated.store.introducedDomains == [9])
            #expect(migrated.store.checkTree() == [])
            let dom0 = migrated.connect()
            migrated.write(dom0, "/local/domain/5", "five")
        }
        #expect(try Harness(storage: try SQLiteStorage(path: db)).tree() == Array(expected[0..<5]) + ["/local/domain/5=five n0", "/tool=t n0,r3"])
    }

    @Test func aFailedGroupCommitTakesEveryChangeOfTheGroupBack() throws {
        let storage = FailingStorage()
        let h = try Harness(storage: storage)
        h.store.groupCommit = true
        let dom0 = h.connect()
        h.write(dom0, "/keep", "1")
        #expect(h.store.commitBatch() == nil)
        h.write(dom0, "/keep", "2")
        h.write(dom0, "/new/deep/node", "x")
        h.send(dom0, .rm, ["/keep"])
        #expect(h.store.lastRequestChanged)
        #expect(h.read(dom0, "/keep") == .error(.ENOENT))
        #expect(!h.store.lastRequestChanged)
        storage.failCommits = true
        #expect(h.store.commitBatch() == .EIO)
        #expect(h.tree() == ["/= n0", "/keep=1 n0"])
        #expect(h.store.entries(ownedBy: 0) == 2)
        #expect(h.store.checkTree() == [])
    }

    @Test func aGroupWritesEachChangedPathOnceWithItsLastState() throws {
        let storage = RecordingStorage()
        let h = try Harness(storage: storage)
        h.store.groupCommit = true
        let dom0 = h.connect()
        h.write(dom0, "/old", "0")
        #expect(h.store.commitBatch() == nil)
        storage.log = []
        // Nothing reaches storage while the group's requests run.
        h.write(dom0, "/a", "1")
        h.write(dom0, "/a", "2")
        h.write(dom0, "/gone/x", "3")
        h.send(dom0, .rm, ["/gone"])
        h.send(dom0, .rm, ["/old"])
        h.write(dom0, "/old", "again")
        let tx = h.start(dom0)
        h.write(dom0, "/a", "4", tx: tx)
        #expect(h.end(dom0, tx) == .ok)
        #expect(storage.log == [])
        #expect(h.store.commitBatch() == nil)
        // Each path once, with its last state, in the order of the last changes.
        #expect(storage.log == ["begin", "delete /gone/x", "delete /gone", "put /old=again", "put /a=4", "commit"])
    }

    @Test func pathsChangedManyTimesInAGroupAreReloadedWithTheirLastState() throws {
        let dir = try TemporaryDirectory()
        let db = dir.path + "/store.db"
        var expected: [String] = []
        do {
            let h = try Harness(storage: try SQLiteStorage(path: db))
            h.store.groupCommit = true
            let dom0 = h.connect()
            h.write(dom0, "/keep/old", "0")
            #expect(h.store.commitBatch() == nil)
            for i in 1...5 { h.write(dom0, "/c/a", "\(i)") }
            h.setPerms(dom0, "/c/a", ["n0", "r3"])
            h.write(dom0, "/c/a", "last")
            h.write(dom0, "/c/tmp", "x")
            h.send(dom0, .rm, ["/c/tmp"])
            h.send(dom0, .rm, ["/keep/old"])
            h.write(dom0, "/keep/old", "back")
            h.send(dom0, .rm, ["/keep"])
            h.write(dom0, "/keep/new", "n")
            #expect(h.store.commitBatch() == nil)
            expected = h.tree()
        }
        #expect(expected == ["/= n0", "/c= n0", "/c/a=last n0,r3", "/keep= n0", "/keep/new=n n0"])
        let reloaded = try Harness(storage: try SQLiteStorage(path: db))
        #expect(reloaded.tree() == expected)
        #expect(reloaded.store.checkTree() == [])
    }

    @Test func afterAFailedGroupCommitTheNextGroupStoresEverything() throws {
        let storage = FailingStorage()
        let h = try Harness(storage: storage)
        h.store.groupCommit = true
        let dom0 = h.connect()
        storage.failCommits = true
        h.write(dom0, "/lost", "1")
        #expect(h.store.commitBatch() == .EIO)
        #expect(!h.store.hasUncommittedChanges)
        storage.failCommits = false
        storage.puts = []
        h.write(dom0, "/kept", "2")
        #expect(h.store.commitBatch() == nil)
        #expect(storage.puts == ["/kept"])
        #expect(h.tree() == ["/= n0", "/kept=2 n0"])
    }

    /// What a `kill -9` leaves: the database and its log as the kernel has
    /// them the moment a commit returns, the daemon still running. A copy
    /// of both files then must load with every committed change (SQLite
    /// recovers the log), however the log's writes were gathered.
    @Test func everyCommitIsInTheFilesWhenItReturns() throws {
        let dir = try TemporaryDirectory()
        let db = dir.path + "/store.db"
        let storage = try SQLiteStorage(path: db)
        let h = try Harness(storage: storage)
        h.store.groupCommit = true
        let dom0 = h.connect()
        let big = String(repeating: "x", count: 1500)  // a value over a page
        for round in 0..<40 {
            for i in 0..<(round % 7 + 1) { h.write(dom0, "/r/n\((round * 5 + i) % 23)", "\(round)-\(i)" + (i == 2 ? big : "")) }
            if round % 5 == 4 { h.send(dom0, .rm, ["/r/n\(round % 23)"]) }
            #expect(h.store.commitBatch() == nil)
            if round % 13 == 12 { h.store.checkpoint(idle: true) }
            let copy = dir.path + "/copy\(round).db"
            for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: db + suffix) {
                try FileManager.default.copyItem(atPath: db + suffix, toPath: copy + suffix)
            }
            #expect(try Harness(storage: try SQLiteStorage(path: copy)).tree() == h.tree(), "round \(round)")
        }
    }

    @Test func theLogIsCheckpointedOnlyWhenAsked() throws {
        let dir = try TemporaryDirectory()
        let db = dir.path + "/store.db"
        var expected: [String] = []
        do {
            let storage = try SQLiteStorage(path: db)
            let h = try Harness(storage: storage)
            let dom0 = h.connect()
            for i in 0..<Store.idleCheckpointPages { h.write(dom0, "/log/n\(i % 10)", "\(i)") }
            #expect(storage.pendingLogPages >= Store.idleCheckpointPages)
            #expect(h.store.wantsCheckpoint)
            // Busy: not yet (the log is below the busy threshold).
            h.store.checkpoint(idle: false)
            #expect(h.store.wantsCheckpoint)
            h.store.checkpoint(idle: true)
            #expect(storage.pendingLogPages == 0)
            #expect(!h.store.wantsCheckpoint)
            h.write(dom0, "/log/after", "x")
            expected = h.tree()
        }
        #expect(try Harness(storage: try SQLiteStorage(path: db)).tree() == expected)
    }

    @Test func aCorruptDatabaseIsRefusedWithItsPath() throws {
        let dir = try TemporaryDirectory()
        let db = dir.path + "/store.db"
        try Data("this is not a database, it is a text file long enough to have a header page".utf8).write(to: URL(fileURLWithPath: db))
        #expect(throws: StorageError.self) { try SQLiteStorage(path: db) }
        do {
            _ = try SQLiteStorage(path: db)
        } catch {
            #expect(error.description == "cannot use \(db): file is not a database")
        }
        // The file is left as it was for the operator to look at.
        #expect(try String(contentsOfFile: db, encoding: .utf8).hasPrefix("this is not a database"))
    }

    @Test func aFailedCommitChangesNothing() throws {
        let storage = FailingStorage()
        let h = try Harness(storage: storage)
        let dom0 = h.connect()
        let watcher = h.connect()
        h.write(dom0, "/keep", "1")
        h.send(watcher, .watch, ["/", "w"])
        _ = h.takeEvents(watcher)
        storage.failCommits = true
        #expect(h.write(dom0, "/keep", "2") == .error(.EIO))
        #expect(h.write(dom0, "/new/node", "x") == .error(.EIO))
        #expect(h.send(dom0, .rm, ["/keep"]) == .error(.EIO))
        #expect(h.takeEvents(watcher) == [])
        #expect(h.tree() == ["/= n0", "/keep=1 n0"])
        #expect(h.store.entries(ownedBy: 0) == 2)
        storage.failCommits = false
        #expect(h.write(dom0, "/keep", "3") == .ok)
        #expect(h.read(dom0, "/keep") == .text("3"))
    }
}

/// Storage that only notes which paths were written and deleted, and
/// (in `log`) every call: "begin", "put PATH=VALUE", "delete PATH", "commit".
final class RecordingStorage: Storage {
    var puts: [String] = []
    var deletes: [String] = []
    var log: [String] = []
    func load() throws(StorageError) -> (nodes: [(path: String, node: Node)], domains: [DomainRecord]) { ([], []) }
    func begin() throws(StorageError) { log.append("begin") }
    func putNode(_ path: String, _ node: Node) throws(StorageError) {
        puts.append(path)
        log.append("put \(path)=\(String(decoding: node.value, as: UTF8.self))")
    }
    func deleteNode(_ path: String) throws(StorageError) {
        deletes.append(path)
        log.append("delete \(path)")
    }
    func putDomain(_ domain: DomainRecord) throws(StorageError) {}
    func deleteDomain(_ domid: UInt32) throws(StorageError) {}
    func commit() throws(StorageError) { log.append("commit") }
    func rollback() {}
    var pendingLogPages: Int { 0 }
    func checkpoint() {}
}

/// Storage whose commits fail on demand (it notes the paths it was given).
final class FailingStorage: Storage {
    var failCommits = false
    var puts: [String] = []
    func load() throws(StorageError) -> (nodes: [(path: String, node: Node)], domains: [DomainRecord]) { ([], []) }
    func begin() throws(StorageError) {}
    func putNode(_ path: String, _ node: Node) throws(StorageError) { puts.append(path) }
    func deleteNode(_ path: String) throws(StorageError) {}
    func putDomain(_ domain: DomainRecord) throws(StorageError) {}
    func deleteDomain(_ domid: UInt32) throws(StorageError) {}
    func commit() throws(StorageError) { if failCommits { throw StorageError("disk full") } }
    func rollback() {}
    var pendingLogPages: Int { 0 }
    func checkpoint() {}
}

@Suite struct LargeTransactionTests {
    /// A change bigger than what the log's writes are gathered up to (1 MiB):
    /// removing a subtree of a few thousand nodes in one request.
    @Test(arguments: [false, true])
    func aLargeSubtreeIsRemovedAndStaysRemoved(groupCommit: Bool) throws {
        let dir = try TemporaryDirectory()
        let db = dir.path + "/store.db"
        do {
            let h = try Harness(storage: try SQLiteStorage(path: db))
            h.store.groupCommit = groupCommit
            let dom0 = h.connect()
            let value = String(repeating: "v", count: 1000)
            for i in 0..<3000 {
                #expect(h.write(dom0, "/big/n\(i)", value) == .ok)
                if groupCommit { #expect(h.store.commitBatch() == nil) }
                // As the daemon does when idle.
                h.store.checkpoint(idle: true)
            }
            #expect(h.send(dom0, .rm, ["/big"]) == .ok)
            if groupCommit { #expect(h.store.commitBatch() == nil) }
            #expect(h.read(dom0, "/big") == .error(.ENOENT))
        }
        let reloaded = try Harness(storage: try SQLiteStorage(path: db))
        #expect(reloaded.tree() == ["/= n0"])
    }
}
