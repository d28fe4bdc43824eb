import DomainConfig
import Foundation
import Glibc
import SwxlSystem
import Testing
@testable import Toolstack
import XenStoreClient
import XenStoreProtocol

/// xenstored killed under a command (issue 16, item 7): the toolstack's
/// requests are repeated on a new connection, and a create whose undo
/// could not reach xenstore is left in the journal for the next command.
@Suite struct DaemonRestartTests {
    /// A daemon that goes away between two requests: with `reconnect`
    /// (which here starts the next daemon, as the embedded host's connector
    /// does), each operation is repeated on the new one; without, it fails
    /// with the disconnection.
    @Test(.timeLimit(.minutes(1)))
    func operationsAreRepeatedOnTheNextDaemon() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let socket = dir + "/socket"
        var daemon = try LiveDaemon(socketPath: socket, stateDir: dir)
        var running = true
        defer { if running { daemon.stop() } }
        var starts = 0
        let store = try XenStoreAccess(socketPath: socket)
        store.reconnect = { () throws(XenStoreError) in
            if !running {
                starts += 1
                daemon = try! LiveDaemon(socketPath: socket, stateDir: dir)
                running = true
            }
            return try XenStoreClient(socketPath: socket)
        }
        let plain = try XenStoreAccess(socketPath: socket)
        try store.write("/a", "1")

        // Each kind of request, each time on a daemon that has just gone
        // (this one keeps nothing: each is checked on the daemon that answered).
        func restart() {
            daemon.stop()
            running = false
            #expect(!UnixSocket.canConnect(socket))
        }
        func current() throws -> XenStoreAccess { try XenStoreAccess(socketPath: socket) }
        restart()
        try store.write("/b", "2")
        #expect(try current().read("/b") == "2")
        restart()
        try store.commit(removals: ["/b"], writes: [StoreNode("/c/d", "3", XSPermissions(owner: 0))])
        #expect(try current().readMany(["/c/d"]) == ["3"])
        // Reads and a listing from a daemon that someone else started meanwhile.
        restart()
        daemon = try LiveDaemon(socketPath: socket, stateDir: dir)
        running = true
        try current().write("/r/s", "4")
        #expect(try store.readMany(["/r/s", "/b"]) == ["4", nil])
        daemon.stop()
        daemon = try LiveDaemon(socketPath: socket, stateDir: dir)
        try current().write("/r/t", "5")
        #expect(try store.directory("/r") == ["t"])
        restart()
        try store.introduce(domid: 7, mfn: 1, port: 2)
        try store.introduce(domid: 7, mfn: 1, port: 2)  // again: nothing changes
        restart()
        try store.release(domid: 7)
        restart()
        let writer = Thread {
            usleep(100_000)
            // (Once the wait has started the next daemon.)
            for _ in 0..<250 {
                if (try? XenStoreAccess(socketPath: socket).write("/e", "ready")) != nil { return }
                usleep(20_000)
            }
        }
        writer.start()
        #expect(try store.wait(for: ["/e"], timeoutMs: 10_000) { $0 == ["ready"] })
        #expect(starts == 5)

        // Without reconnect: a clear error, no retry.
        restart()
        #expect(throws: StoreError("write /x", error: nil, message: XenStoreError.disconnected.description)) {
            try plain.write("/x", "1")
        }
        #expect(starts == 5)
    }

    /// A create that fails with xenstore gone (killed, not back) cannot undo
    /// its nodes: its journal stays, so that the next command, finding its
    /// process gone, removes them, rather than leaving them for good.
    @Test func aCreateWhoseUndoCannotReachTheStoreIsFinishedByTheNextCommand() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let store = VanishingStore(rig.store)
        let toolstack = Toolstack(hypervisor: rig.sim, store: store, stateDir: rig.dir)
        // The layout is written, then the daemon goes: introduce fails, and so does every undo of the store.
        store.goneAfterCommits = 1
        #expect(throws: ToolstackError.store(StoreError("introduce domain 1", error: nil, message: "gone"))) {
            _ = try toolstack.create(rig.config("doomed"))
        }
        #expect(try rig.sim.listDomains().map(\.domid) == [0])
        #expect(rig.store.nodes["/local/domain/1/name"]?.value == "doomed")
        #expect(toolstack.state.rows().contains { $0.hasPrefix("journal ") && $0.hasSuffix(" doomed") }, "\(toolstack.state.rows())")

        // The daemon is back; the create's process has gone (its journal row names another start time).
        store.goneAfterCommits = nil
        try toolstack.state.sql("UPDATE journal SET started = started + 1")
        let next = Toolstack(hypervisor: rig.sim, store: store, stateDir: rig.dir)
        next.recoverInterruptedCreates()
        #expect(rig.store.nodes.keys.filter { !$0.hasPrefix("/local/domain/0/backend/") || $0.split(separator: "/").count > 5 }.sorted() == [])
        #expect(next.state.rows() == [])
        #expect(try next.create(rig.config("doomed")) == 2)
    }
}

/// A store whose daemon goes away after `goneAfterCommits` commits: every
/// operation after that fails as a lost connection does.
final class VanishingStore: StoreAccess {
    let inner: MemoryStore
    var goneAfterCommits: Int?
    private var commits = 0
    init(_ inner: MemoryStore) { self.inner = inner }

    private func check(_ operation: String) throws(StoreError) {
        if let limit = goneAfterCommits, commits >= limit { throw StoreError(operation, error: nil, message: "gone") }
    }
    func read(_ path: String) throws(StoreError) -> String? { try check("read \(path)"); return try inner.read(path) }
    func directory(_ path: String) throws(StoreError) -> [String] { try check("directory \(path)"); return try inner.directory(path) }
    func write(_ path: String, _ value: String) throws(StoreError) { try check("write \(path)"); try inner.write(path, value) }
    func remove(_ path: String) throws(StoreError) { try check("rm \(path)"); try inner.remove(path) }
    func permissions(_ path: String) throws(StoreError) -> XSPermissions? { try check("get-perms \(path)"); return try inner.permissions(path) }
    func commit(removals: [String], writes: [StoreNode]) throws(StoreError) {
        try check("transaction")
        try inner.commit(removals: removals, writes: writes)
        commits += 1
    }
    func readMany(_ paths: [String]) throws(StoreError) -> [String?] { try check("read"); return try inner.readMany(paths) }
    func introduce(domid: UInt32, mfn: UInt64, port: UInt32) throws(StoreError) {
        try check("introduce domain \(domid)")
        try inner.introduce(domid: domid, mfn: mfn, port: port)
    }
    func release(domid: UInt32) throws(StoreError) { try check("release domain \(domid)"); try inner.release(domid: domid) }
}
