import Foundation
import Glibc
import SwxlSystem
import Testing
import Toolstack
@testable import XenHost
import XenStoreProtocol

/// Xen's hotplug scripts, run as libxl runs them.
@Suite struct HotplugScriptTests {
    /// Writes an executable script through a close-on-exec descriptor: a
    /// descriptor open for writing that a process started meanwhile by
    /// another test inherited would make running the script fail with
    /// ETXTBSY ("Text file busy"), as it did once.
    static func writeScript(_ path: String, _ text: String) throws {
        try FileIO.writeAtomically(path, text, mode: 0o755)
    }

    /// The hotplug script's run, as libxl_linux.c makes it.
    @Test func hotplugScriptsGetLibxlsArgumentsAndEnvironment() throws {
        let disk = DeviceHandle(domid: 1, kind: "vbd", backendKind: "vbd", devid: 51712, script: "/etc/xen/scripts/block", label: "disk 0")
        #expect(HotplugScript(disk, .add) == HotplugScript(path: "/etc/xen/scripts/block", arguments: ["add"], environment: [
            "script": "/etc/xen/scripts/block", "XENBUS_TYPE": "vbd", "XENBUS_PATH": "backend/vbd/1/51712", "XENBUS_BASE_PATH": "backend"]))
        #expect(HotplugScript(disk, .remove)?.arguments == ["remove"])
        let vif = DeviceHandle(domid: 4, kind: "vif", backendKind: "vif", devid: 1, script: "/etc/xen/scripts/vif-bridge", label: "vif 1")
        #expect(HotplugScript(vif, .add, gatewaydev: "eth0") == HotplugScript(path: "/etc/xen/scripts/vif-bridge",
            arguments: ["online", "type_if=vif"], environment: [
                "script": "/etc/xen/scripts/vif-bridge", "XENBUS_TYPE": "vif", "XENBUS_PATH": "backend/vif/4/1",
                "XENBUS_BASE_PATH": "backend", "netdev": "eth0", "vif": "vif4.1"]))
        #expect(HotplugScript(vif, .remove)?.arguments == ["offline", "type_if=vif"])
        #expect(HotplugScript(vif, .remove)?.environment["netdev"] == "")
        #expect(HotplugScript(DeviceHandle(domid: 1, kind: "vfb", backendKind: "vfb", devid: 0, label: "vfb 0"), .add) == nil)
    }

    /// Scripts in a temporary directory: what they are given, their exit
    /// status, stdin on /dev/null, the kill after the timeout, and the
    /// message with the script's `hotplug-error`.
    @Test func theRunnerRunsScriptsAsLibxlDoes() throws {
        let dir = try XenHostTests.tempDir().path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func script(_ name: String, _ body: String) throws -> String {
            let path = dir + "/" + name
            try Self.writeScript(path, "#!/bin/sh\n" + body + "\n")
            return path
        }
        let report = dir + "/report"
        let recorder = try script("recorder", """
            { echo "args=$*"; echo "script=$script"; echo "type=$XENBUS_TYPE"; echo "path=$XENBUS_PATH"; \
              echo "base=$XENBUS_BASE_PATH"; echo "vif=$vif"; echo "netdev=[$netdev]"; echo "stdin=$(cat)"; } > \(report)
            exit 0
            """)
        let vif = DeviceHandle(domid: 4, kind: "vif", backendKind: "vif", devid: 1, script: recorder, label: "vif 1")
        let run = try #require(HotplugScript(vif, .add))
        #expect(HotplugScript.runAll([run]) == [.exited(0)])
        #expect(try String(contentsOfFile: report, encoding: .utf8) == """
            args=online type_if=vif
            script=\(recorder)
            type=vif
            path=backend/vif/4/1
            base=backend
            vif=vif4.1
            netdev=[]
            stdin=

            """)

        let failing = HotplugScript(path: try script("failing", "exit 3"), arguments: ["add"], environment: [:])
        let sleeper = HotplugScript(path: try script("sleeper", "sleep 30"), arguments: ["add"], environment: [:])
        let ok = HotplugScript(path: try script("ok", "exit 0"), arguments: ["remove"], environment: [:])
        let start = Date()
        let outcomes = HotplugScript.runAll([failing, sleeper, ok, HotplugScript(path: dir + "/none", arguments: ["add"], environment: [:])],
                                            timeoutSeconds: 0.5)
        #expect(Date().timeIntervalSince(start) < 5, "killed at the timeout, not waited for")
        #expect(outcomes.prefix(3) == [.exited(3), .timedOut, .exited(0)])
        #expect(outcomes[3] == .exited(127) || { if case .notStarted = outcomes[3] { true } else { false } }())
        #expect(failing.failure(.exited(3), hotplugError: "Could not find bridge device xenbr0")
                == "\(failing.path) add failed: Could not find bridge device xenbr0")
        #expect(failing.failure(.exited(3), hotplugError: nil) == "\(failing.path) add exited with error status 3")
        #expect(sleeper.failure(.timedOut, hotplugError: nil) == "killing execution of \(sleeper.path) add because of timeout")
        #expect(ok.failure(.exited(0), hotplugError: "old") == nil)
    }

    /// As many scripts at a time as asked (dom0's online CPUs by default):
    /// the first waits up to 2 s for the second to start, so side by side
    /// the second starts before the first ends, and one at a time after.
    @Test func scriptsRunAsManyAtATimeAsAsked() throws {
        let dir = try XenHostTests.tempDir().path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = dir + "/log"
        try Self.writeScript(dir + "/first", """
            #!/bin/sh
            echo start-first >> \(log); i=0
            while [ $i -lt 40 ] && ! grep -q start-second \(log); do sleep 0.05; i=$((i+1)); done
            echo end-first >> \(log)

            """)
        try Self.writeScript(dir + "/second", "#!/bin/sh\necho start-second >> \(log)\n")
        let runs = ["first", "second"].map { HotplugScript(path: dir + "/" + $0, arguments: ["add"], environment: [:]) }
        func order(_ atOnce: Int) throws -> [String] {
            try? FileManager.default.removeItem(atPath: log)
            #expect(HotplugScript.runAll(runs, atOnce: atOnce) == [.exited(0), .exited(0)])
            return try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        }
        #expect(try order(1) == ["start-first", "end-first", "start-second"])
        let together = try order(2)
        #expect(Set(together) == ["start-first", "end-first", "start-second"])
        #expect((together.firstIndex(of: "start-second") ?? 9) < (together.firstIndex(of: "end-first") ?? 0))
    }

    /// On Xen the backends run the scripts and read `hotplug-error` back.
    @Test func xensBackendsReportTheScriptsReason() throws {
        let dir = try XenHostTests.tempDir().path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/vif-fails"
        try Self.writeScript(path, "#!/bin/sh\nexit 1\n")
        let store = ReadOnlyStore()
        let vif = DeviceHandle(domid: 4, kind: "vif", backendKind: "vif", devid: 0, script: path, label: "vif 0")
        store.nodes[vif.backendPath + "/hotplug-error"] = "Could not find bridge device xenbr0"
        let onDriverDomain = DeviceHandle(domid: 4, kind: "vif", backendKind: "vif", devid: 1, backendDomid: 2, script: path, label: "vif 1")
        let results = XenDeviceBackends().hotplug([vif, onDriverDomain], .add, store: store)
        #expect(results == [HypervisorError("add vif 0", errno: EIO, "\(path) online failed: Could not find bridge device xenbr0"), nil])
    }
}

/// A xenstore in memory that only reads (the script runner only reads).
final class ReadOnlyStore: StoreAccess {
    var nodes: [String: String] = [:]
    func read(_ path: String) throws(StoreError) -> String? { nodes[path] }
    func directory(_ path: String) throws(StoreError) -> [String] { [] }
    func write(_ path: String, _ value: String) throws(StoreError) { nodes[path] = value }
    func remove(_ path: String) throws(StoreError) { nodes[path] = nil }
    func permissions(_ path: String) throws(StoreError) -> XSPermissions? { nil }
    func commit(removals: [String], writes: [StoreNode]) throws(StoreError) {}
    func readMany(_ paths: [String]) throws(StoreError) -> [String?] { paths.map { nodes[$0] } }
    func introduce(domid: UInt32, mfn: UInt64, port: UInt32) throws(StoreError) {}
    func release(domid: UInt32) throws(StoreError) {}
}
