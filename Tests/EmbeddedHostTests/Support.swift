import Foundation
@testable import EmbeddedHost
import Toolstack
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
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swxl-eh-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A simulated hypervisor in a temporary state dir.
struct Rig {
    let dir: String
    let sim: SimulatedHypervisor

    init(host: SimulatedHypervisor.HostSpec = .init()) throws {
        dir = try temporaryDirectory()
        sim = SimulatedHypervisor(dir: dir + "/hypervisor", host: host)
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: dir) }
}

/// A xenstore that takes every write and holds nothing: enough for the
/// toolstack to create and destroy domains when the test looks only at the host.
final class NullStore: StoreAccess {
    func read(_ path: String) throws(StoreError) -> String? { nil }
    func directory(_ path: String) throws(StoreError) -> [String] { [] }
    func write(_ path: String, _ value: String) throws(StoreError) {}
    func remove(_ path: String) throws(StoreError) {}
    func permissions(_ path: String) throws(StoreError) -> XSPermissions? { nil }
    func commit(removals: [String], writes: [StoreNode]) throws(StoreError) {}
    func readMany(_ paths: [String]) throws(StoreError) -> [String?] { paths.map { _ in nil } }
    func introduce(domid: UInt32, mfn: UInt64, port: UInt32) throws(StoreError) {}
    func release(domid: UInt32) throws(StoreError) {}
}

/// A xenstore in memory that holds what is written (no permissions, no
/// transactions beyond all-or-nothing commits): enough to compare what a
/// create leaves behind.
final class DictionaryStore: StoreAccess {
    var nodes: [String: String] = [:]
    var introduced: Set<UInt32> = []

    func read(_ path: String) throws(StoreError) -> String? { nodes[path] }
    func directory(_ path: String) throws(StoreError) -> [String] {
        let prefix = path == "/" ? "/" : path + "/"
        return Set(nodes.keys.filter { $0.hasPrefix(prefix) }.compactMap { $0.dropFirst(prefix.count).split(separator: "/").first.map(String.init) }).sorted()
    }
    func write(_ path: String, _ value: String) throws(StoreError) { nodes[path] = value }
    func remove(_ path: String) throws(StoreError) { nodes = nodes.filter { $0.key != path && !$0.key.hasPrefix(path + "/") } }
    func permissions(_ path: String) throws(StoreError) -> XSPermissions? { nil }
    func commit(removals: [String], writes: [StoreNode]) throws(StoreError) {
        for path in removals { try remove(path) }
        for node in writes { nodes[node.path] = node.value }
    }
    func readMany(_ paths: [String]) throws(StoreError) -> [String?] { paths.map { nodes[$0] } }
    func introduce(domid: UInt32, mfn: UInt64, port: UInt32) throws(StoreError) { introduced.insert(domid) }
    func release(domid: UInt32) throws(StoreError) { introduced.remove(domid) }
}
