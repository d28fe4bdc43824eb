import DomainConfig
import EmbeddedHost
import Foundation
@testable import ManagementAPI
import Testing
import Toolstack

/// The package root (three levels above this file).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The built `swxl` (its xenstored and simulated guests' host serve the rig).
let swxlBinary: String = {
    if let path = ProcessInfo.processInfo.environment["SWXL_BIN"], !path.isEmpty { return path }
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("swxl").path), dir.path != "/" {
        dir.deleteLastPathComponent()
    }
    return dir.appendingPathComponent("swxl").path
}()

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

/// An embedded host in a temporary state dir (its own xenstored, started
/// by the toolstack as the CLI starts it) and the surface over it, with a
/// session logged in over the Unix socket. `close` stops what it started.
final class SurfaceRig: @unchecked Sendable {
    let dir: String
    let host: ToolstackHost
    let surface: XenAPISurface
    var session = ""
    var environment: [String: String] { ["SWXL_STATE_DIR": dir, "SWXL_HOST": "embedded", "XENSTORED_PATH": ""] }

    init(watchStore: Bool = false, eventLooks: EventHub.Looks = EventHub.Looks()) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("swxl-api-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let env = ["SWXL_STATE_DIR": dir, "SWXL_HOST": "embedded", "SWXL_EMBEDDED_BRIDGES": "xenbr0,br1"]
        host = try ToolstackHost.open(kind: .embedded, environment: env, program: swxlBinary)
        surface = XenAPISurface(host: host, productVersion: "9.9.9", watchStore: watchStore, eventLooks: eventLooks)
        session = try ok("session.login_with_password", [.string("root"), .string("")]).stringValue
    }

    /// The same host opened again, as another process opens it (its own
    /// connections): what the tests do "elsewhere" while the surface's
    /// event watcher uses the surface's toolstack.
    func elsewhere() throws -> ToolstackHost {
        try ToolstackHost.open(kind: .embedded, environment: ["SWXL_STATE_DIR": dir, "SWXL_HOST": "embedded",
                                                             "SWXL_EMBEDDED_BRIDGES": "xenbr0,br1"], program: swxlBinary)
    }

    static let unixContext = XenAPICallContext(origin: .unixSocket(uid: 0), verifyPassword: { _, _ in true })

    func call(_ method: String, _ params: [XenAPIValue], context: XenAPICallContext = SurfaceRig.unixContext) -> XenAPIResult {
        surface.callSynchronously(method, params, context: context)
    }

    /// A call with the session first that must succeed.
    @discardableResult
    func ok(_ method: String, _ params: [XenAPIValue] = [], sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> XenAPIValue {
        let params = method == "session.login_with_password" ? params : [.string(session)] + params
        switch call(method, params) {
        case .success(let v): return v
        case .failure(let e):
            Issue.record("\(method) failed: \(e)", sourceLocation: sourceLocation)
            throw RigError.failed(e)
        }
    }

    /// A call with the session first that must fail; its error description.
    func fails(_ method: String, _ params: [XenAPIValue] = []) -> [String] {
        if case .failure(let e) = call(method, [.string(session)] + params) { return e }
        return ["(succeeded)"]
    }

    /// A PV config for the tiny kernel.
    func config(_ name: String, memoryMiB: UInt64 = 64, disks: [DiskDevice] = [], vifs: [NetworkInterface] = [],
                script: String? = nil) -> DomainConfiguration {
        var config = DomainConfiguration(name_label: name, uuid: .random())
        config.memory_dynamic_max = memoryMiB << 20
        config.memory_static_max = memoryMiB << 20
        config.PV_kernel = tinyKernel
        config.disks = disks
        config.vifs = vifs
        if let script { config.platform[DomainConfiguration.simGuestScriptKey] = script }
        return config
    }

    /// A sparse image file in the state dir.
    func image(_ name: String, size: Int = 16 << 20) throws -> String {
        let path = dir + "/\(name).img"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(size))
        try handle.close()
        return path
    }

    func waitUntil(_ seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }

    func close() {
        surface.stop()
        if let domains = try? host.toolstack.list() {
            for d in domains where d.info.domid != 0 { try? host.toolstack.destroy(domid: d.info.domid) }
        }
        for file in ["toolstack/sim-guests.lock", "xenstored/xenstored.pid"] {
            if let text = try? String(contentsOfFile: dir + "/" + file, encoding: .utf8),
               let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 {
                kill(pid, SIGTERM)
                _ = waitUntil(5) { kill(pid, 0) != 0 || isZombie(pid) }
            }
        }
        try? FileManager.default.removeItem(atPath: dir)
    }
}

enum RigError: Error { case failed([String]) }

/// Whether `pid` has exited but not been reaped yet (it is not our child).
func isZombie(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return true }
    return stat[stat.index(close, offsetBy: 2)] == "Z"
}

extension XenAPIValue {
    var stringValue: String { if case .string(let s) = self { return s } else { return "" } }
    var arrayValue: [XenAPIValue] { if case .array(let a) = self { return a } else { return [] } }
    var structValue: [String: XenAPIValue] { if case .struct(let m) = self { return m } else { return [:] } }
    var strings: [String] { arrayValue.map(\.stringValue) }
}
