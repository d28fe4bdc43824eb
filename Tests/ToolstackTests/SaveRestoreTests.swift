import DomainConfig
import Foundation
import SaveFormat
import SwxlSystem
import Testing
@testable import Toolstack
import XenStoreProtocol

/// Restore's refusals before any image is read, on either kind of host:
/// a stream made on the other kind is refused by name and nothing is left.
@Suite struct ToolstackRestoreTests {
    /// A stream up to its image: libxl's header and the context record of `format`.
    func stream(_ format: ImageFormat, extra: [UInt8] = []) throws -> (reader: DescriptorReader, close: () -> Void) {
        let bytes = LibxlStream.header() + LibxlStream.encode(LibxlRecord(type: format.contextRecord)) + extra
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        _ = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        return (DescriptorReader(fd: fds[0], source: "f.save"), { close(fds[0]) })
    }

    @Test(arguments: [(ImageFormat.libxc, ImageFormat.simulated), (.simulated, .libxc)])
    func aStreamOfTheOtherHostIsRefusedByName(host: ImageFormat, saved: ImageFormat) throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        rig.sim.imageFormat = host
        let (reader, done) = try stream(saved)
        defer { done() }
        let before = rig.store.nodes.keys.sorted()
        do {
            _ = try rig.toolstack.restore(rig.config("moved"), from: reader, paused: false, progress: { _, _ in })
            Issue.record("restored a \(saved) stream on a \(host) host")
        } catch {
            #expect(error == .invalid("f.save holds an image saved on \(saved.hostDescription); "
                                      + "this host (\(host.hostDescription)) cannot restore it"))
        }
        #expect(rig.leftovers() == [])
        #expect(rig.store.nodes.keys.sorted() == before)
    }

    /// A whole stream whose image the fake hypervisor "restores" without
    /// reading it: libxl's header, the context record, END.
    func restorable(_ rig: Rig) throws -> (reader: DescriptorReader, close: () -> Void) {
        rig.sim.restoreResult = BuildResult(storePort: 1, storeMFN: 0x100, consolePort: 2, consoleMFN: 0x101)
        return try stream(.simulated, extra: LibxlStream.encode(LibxlRecord(type: .end)))
    }

    /// The host is asked to count the restored pages only when someone
    /// shows them: a restore given no reporter passes none on (on Xen the
    /// bridge then starts no thread to poll the domain's pages).
    @Test(arguments: [false, true])
    func theHostIsGivenAProgressReporterOnlyWhenOneIsShown(shown: Bool) throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let (reader, done) = try restorable(rig)
        defer { done() }
        _ = try rig.toolstack.restore(rig.config("quiet"), from: reader, paused: true, progress: shown ? { _, _ in } : nil)
        #expect(rig.sim.restoreGotProgress == shown)
    }

    /// A restore that runs the guest unpauses it only once the console
    /// daemon has published the console's tty (xenconsoled has bound the
    /// console's event channel: what the guest prints at once is not held).
    @Test func aRestoreRunsTheGuestOnceTheConsoleDaemonHasConnected() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        rig.toolstack.consoleConnectTimeoutMs = 10_000
        let (reader, done) = try restorable(rig)
        defer { done() }
        var polls = 0
        var pausedWhenConnected: Bool?
        rig.store.beforeReadMany = { paths in
            guard paths.count == 1, paths[0].hasSuffix("/console/tty") else { return }
            polls += 1
            // xenconsoled connects on the third look.
            if polls == 3, let domid = UInt32(paths[0].split(separator: "/")[2]) {
                pausedWhenConnected = (try? rig.sim.domainInfo(domid: domid))??.paused
                rig.store.nodes[paths[0]]?.value = "/dev/pts/7"
            }
        }
        let started = SystemClock.monotonicNanoseconds()
        let id = try rig.toolstack.restore(rig.config("back"), from: reader, paused: false, progress: { _, _ in })
        #expect(SystemClock.monotonicNanoseconds() - started < 5_000_000_000, "it waited for the timeout")
        #expect(polls >= 3)
        #expect(pausedWhenConnected == true, "the guest ran before the console daemon had connected")
        #expect(try rig.sim.domainInfo(domid: id)?.paused == false)
    }

    /// Without a console daemon the guest runs all the same once the time
    /// is up; a restore left paused, and a create, do not wait.
    @Test func withoutAConsoleDaemonTheRestoredGuestRunsAfterTheTimeout() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        rig.toolstack.consoleConnectTimeoutMs = 150
        var ttyLooks = 0
        rig.store.beforeReadMany = { paths in if paths.contains(where: { $0.hasSuffix("/console/tty") }) { ttyLooks += 1 } }
        do {
            let (reader, done) = try restorable(rig)
            defer { done() }
            let started = SystemClock.monotonicNanoseconds()
            let id = try rig.toolstack.restore(rig.config("late"), from: reader, paused: false, progress: { _, _ in })
            #expect(SystemClock.monotonicNanoseconds() - started >= 150_000_000)
            #expect(try rig.sim.domainInfo(domid: id)?.paused == false)
            #expect(ttyLooks > 0)
        }
        ttyLooks = 0
        do {
            let (reader, done) = try restorable(rig)
            defer { done() }
            let id = try rig.toolstack.restore(rig.config("held"), from: reader, paused: true, progress: { _, _ in })
            #expect(try rig.sim.domainInfo(domid: id)?.paused == true)
        }
        _ = try rig.toolstack.create(rig.config("fresh"))
        #expect(ttyLooks == 0)
    }

    /// A restore that fails at any step, the wait for the console included
    /// (xenstore failing under it), leaves nothing, as a create.
    @Test(arguments: CreateStep.allCases)
    func aRestoreThatFailsAtAnyStepLeavesNothing(step: CreateStep) throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        rig.toolstack.consoleConnectTimeoutMs = 20
        rig.toolstack.faults = FaultInjection(step: step)
        let (reader, done) = try restorable(rig)
        defer { done() }
        #expect(throws: ToolstackError.injected(step)) {
            _ = try rig.toolstack.restore(rig.config("doomed"), from: reader, paused: false, progress: { _, _ in })
        }
        #expect(rig.store.nodes.isEmpty)
        #expect(rig.store.introduced.isEmpty)
        #expect(rig.leftovers().isEmpty, "\(rig.leftovers())")
    }

    @Test func aRestoreWhoseConsoleWaitFailsLeavesNothing() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let store = rig.store
        let failing = FailingWaitStore(store)
        let toolstack = Toolstack(hypervisor: rig.sim, store: failing, stateDir: rig.dir)
        toolstack.consoleConnectTimeoutMs = 1_000
        let (reader, done) = try restorable(rig)
        defer { done() }
        #expect(throws: ToolstackError.store(StoreError("wait for tty", error: .EIO))) {
            _ = try toolstack.restore(rig.config("lost"), from: reader, paused: false, progress: { _, _ in })
        }
        #expect(store.nodes.isEmpty)
        #expect(store.introduced.isEmpty)
        #expect(toolstack.state.rows().isEmpty)
        #expect(rig.sim.domainIDs().isEmpty)
    }

    @Test func aStreamThatIsNotLibxlsIsRefused() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        let junk = Array("LibxlFmX\0\0\0\u{2}\0\0\0\0".utf8)
        _ = junk.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        defer { close(fds[0]) }
        #expect(throws: ToolstackError.invalid("Invalid ident: expected 0x4c6962786c466d74, got 0x4c6962786c466d58")) {
            _ = try rig.toolstack.restore(rig.config("x"), from: DescriptorReader(fd: fds[0], source: "s"), paused: false,
                                          progress: { _, _ in })
        }
        #expect(rig.leftovers() == [])
    }
}

/// A memory store whose wait for a console's tty fails (xenstored gone
/// while a restore waits for the console daemon).
final class FailingWaitStore: StoreAccess {
    let base: MemoryStore
    init(_ base: MemoryStore) { self.base = base }
    func read(_ path: String) throws(StoreError) -> String? { try base.read(path) }
    func directory(_ path: String) throws(StoreError) -> [String] { try base.directory(path) }
    func write(_ path: String, _ value: String) throws(StoreError) { try base.write(path, value) }
    func remove(_ path: String) throws(StoreError) { try base.remove(path) }
    func permissions(_ path: String) throws(StoreError) -> XSPermissions? { try base.permissions(path) }
    func commit(removals: [String], writes: [StoreNode]) throws(StoreError) { try base.commit(removals: removals, writes: writes) }
    func readMany(_ paths: [String]) throws(StoreError) -> [String?] { try base.readMany(paths) }
    func introduce(domid: UInt32, mfn: UInt64, port: UInt32) throws(StoreError) { try base.introduce(domid: domid, mfn: mfn, port: port) }
    func release(domid: UInt32) throws(StoreError) { try base.release(domid: domid) }
    func wait(for paths: [String], timeoutMs: Int, until satisfied: ([String?]) -> Bool) throws(StoreError) -> Bool {
        guard paths.contains(where: { $0.hasSuffix("/console/tty") }) else {
            return try base.wait(for: paths, timeoutMs: timeoutMs, until: satisfied)
        }
        throw StoreError("wait for tty", error: .EIO)
    }
}
