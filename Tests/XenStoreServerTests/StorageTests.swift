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
}
