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
            #expect(h.store.commitBatch())
            #expect(!h.store.hasUncommittedChanges)
            h.send(dom0, .rm, ["/g/a"])
            #expect(h.store.commitBatch())
            // Committing with nothing pending is a no-op.
            #expect(h.store.commitBatch())
            expected = h.tree()
        }
        #expect(expected == ["/= n0", "/g= n0", "/g/b=2 n0", "/g/tx=3 n0"])
        #expect(try Harness(storage: try SQLiteStorage(path: db)).tree() == expected)
    }

    @Test func aFailedGroupCommitTakesEveryChangeOfTheGroupBack() throws {
        let storage = FailingStorage()
        let h = try Harness(storage: storage)
        h.store.groupCommit = true
        let dom0 = h.connect()
        h.write(dom0, "/keep", "1")
        #expect(h.store.commitBatch())
        h.write(dom0, "/keep", "2")
        h.write(dom0, "/new/deep/node", "x")
        h.send(dom0, .rm, ["/keep"])
        #expect(h.store.lastRequestChanged)
        #expect(h.read(dom0, "/keep") == .error(.ENOENT))
        #expect(!h.store.lastRequestChanged)
        storage.failCommits = true
        #expect(!h.store.commitBatch())
        #expect(h.tree() == ["/= n0", "/keep=1 n0"])
        #expect(h.store.entries(ownedBy: 0) == 2)
        #expect(h.store.checkTree() == [])
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

/// Storage whose commits fail on demand.
final class FailingStorage: Storage {
    var failCommits = false
    func load() throws(StorageError) -> (nodes: [String: Node], domains: [DomainRecord]) { ([:], []) }
    func begin() throws(StorageError) {}
    func putNode(_ path: String, _ node: Node) throws(StorageError) {}
    func deleteNode(_ path: String) throws(StorageError) {}
    func putDomain(_ domain: DomainRecord) throws(StorageError) {}
    func deleteDomain(_ domid: UInt32) throws(StorageError) {}
    func commit() throws(StorageError) { if failCommits { throw StorageError("disk full") } }
    func rollback() {}
    func savepoint() throws(StorageError) {}
    func releaseSavepoint() throws(StorageError) {}
    func rollbackToSavepoint() {}
    var pendingLogPages: Int { 0 }
    func checkpoint() {}
}
