import DomainConfig
import Foundation
import Testing
@testable import Toolstack
import XenStoreProtocol

/// The package root (three levels above this file).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The tiny PV kernel of examples/, built if needed.
let tinyKernel: String = {
    let path = packageRoot.appendingPathComponent("examples/kernels/tiny-pv").path
    if !FileManager.default.fileExists(atPath: path) {
        let p = Process()
        p.executableURL = packageRoot.appendingPathComponent("scripts/make-tiny-kernel")
        try? p.run()
        p.waitUntilExit()
    }
    return path
}()

/// A fresh temporary directory, removed by `cleanup`.
func temporaryDirectory() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swxl-ts-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// An in-memory xenstore with transactions that apply all or nothing, and
/// a switch that makes the next operations fail.
final class MemoryStore: StoreAccess {
    var nodes: [String: (value: String, perms: XSPermissions)] = [:]
    var introduced: Set<UInt32> = []
    var commits = 0
    /// The first path each commit with writes wrote, and `introduce <domid>`, in order.
    var commitLog: [String] = []
    /// What each introduced domain's `console/ring-ref` held when it was introduced.
    var consoleRingAtIntroduce: [UInt32: String?] = [:]
    /// Fails commits whose writes touch a path with this prefix (EAGAIN `eagainCount` times first).
    var failCommitsWith: XSError? = nil
    var eagainCount = 0

    func read(_ path: String) throws(StoreError) -> String? { nodes[path]?.value }

    func directory(_ path: String) throws(StoreError) -> [String] {
        let prefix = path == "/" ? "/" : path + "/"
        return Set(nodes.keys.filter { $0.hasPrefix(prefix) }.compactMap { $0.dropFirst(prefix.count).split(separator: "/").first.map(String.init) }).sorted()
    }

    func write(_ path: String, _ value: String) throws(StoreError) {
        let perms = nodes[path]?.perms ?? nodes[XSPath.parent(of: path)]?.perms ?? XSPermissions(owner: 0)
        nodes[path] = (value, perms)
    }

    func remove(_ path: String) throws(StoreError) {
        for key in nodes.keys where key == path || key.hasPrefix(path + "/") { nodes[key] = nil }
    }

    func permissions(_ path: String) throws(StoreError) -> XSPermissions? { nodes[path]?.perms }

    func commit(removals: [String], writes: [StoreNode]) throws(StoreError) {
        while eagainCount > 0 { eagainCount -= 1 }  // a real connection retries; the outcome is one commit
        if let e = failCommitsWith, !writes.isEmpty { throw StoreError("commit", error: e) }
        var copy = nodes
        for path in removals { for key in copy.keys where key == path || key.hasPrefix(path + "/") { copy[key] = nil } }
        for node in writes { copy[node.path] = (node.value, node.perms) }
        nodes = copy
        commits += 1
        if let first = writes.first { commitLog.append(first.path) }
    }

    /// Called before each ``readMany`` (the default ``wait`` reads with it).
    var beforeReadMany: (([String]) -> Void)?
    func readMany(_ paths: [String]) throws(StoreError) -> [String?] {
        beforeReadMany?(paths)
        return paths.map { nodes[$0]?.value }
    }
    func introduce(domid: UInt32, mfn: UInt64, port: UInt32) throws(StoreError) {
        introduced.insert(domid)
        commitLog.append("introduce \(domid)")
        consoleRingAtIntroduce[domid] = nodes["/local/domain/\(domid)/console/ring-ref"]?.value
    }
    func release(domid: UInt32) throws(StoreError) { introduced.remove(domid) }
}

/// A toolstack over a hypervisor in memory (the embedded host's simulated
/// one has its own tests, in EmbeddedHostTests), a memory store and a
/// temporary state dir.
struct Rig {
    let dir: String
    /// The hypervisor, simulated in memory.
    let sim: FakeHypervisor
    let store: MemoryStore
    let toolstack: Toolstack

    init() throws {
        dir = try temporaryDirectory()
        sim = FakeHypervisor()
        store = MemoryStore()
        toolstack = Toolstack(hypervisor: sim, store: store, stateDir: dir)
    }

    /// A one-vcpu PV guest booting the tiny kernel.
    func config(_ name: String, memory: UInt64 = 128) -> DomainConfiguration {
        guestConfig(name, memoryMiB: memory, kernel: tinyKernel)
    }

    /// What the toolstack and the hypervisor keep per domain: the
    /// toolstack's rows (names, records, journal) and the hypervisor's domains.
    func leftovers() -> [String] {
        toolstack.state.rows() + sim.domainIDs().map { "hypervisor domain \($0)" }
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: dir) }
}

/// A PV guest's config as a config file with `memory` (and no `maxmem`) gives it.
func guestConfig(_ name: String, uuid: DomainUUID = .random(), memoryMiB: UInt64 = 128, kernel: String,
                 cmdline: String? = nil) -> DomainConfiguration {
    var config = DomainConfiguration(name_label: name, uuid: uuid)
    config.memory_dynamic_max = memoryMiB << 20
    config.memory_static_max = memoryMiB << 20
    config.PV_kernel = kernel
    config.PV_args = cmdline
    return config
}
