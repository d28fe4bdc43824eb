import DomainConfig
import Foundation
import Glibc
import Logging
import SwxlSystem
import Testing
import XenStoreProtocol
import XenStoreServer
@testable import Toolstack

@Suite struct DomainMonitorTests {
    /// Each domain as the hypervisor has it: domid, name in xenstore, shut down or not.
    private func domains(_ rig: Rig) throws -> [String] {
        try rig.sim.listDomains().filter { $0.domid != 0 }.map { d in
            "\(d.domid) \(rig.store.nodes["/local/domain/\(d.domid)/name"]?.value ?? "-") \(d.shutdown ? "shutdown" : "running")"
        }
    }

    /// One look carries out each shut-down domain's own action, and leaves
    /// alone running domains, preserved ones and domains swxl did not create.
    @Test func aSweepCarriesOutEachDomainsAction() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let off = try rig.toolstack.create(rig.config("off"))                 // on_poweroff = destroy
        var rebootConfig = rig.config("again")
        rebootConfig.actions_after_reboot = .restart
        let again = try rig.toolstack.create(rebootConfig)
        var keepConfig = rig.config("keep")
        keepConfig.actions_after_shutdown = .preserve
        let keep = try rig.toolstack.create(keepConfig)
        let running = try rig.toolstack.create(rig.config("running"))
        let foreign = try rig.sim.createDomain(DomainCreateSpec(uuid: DomainUUID.random(), type: .pv, maxVCPUs: 1, maxMemoryKiB: 1024))
        try rig.sim.shutdown(domid: off, reason: .poweroff)
        try rig.sim.shutdown(domid: again, reason: .reboot)
        try rig.sim.shutdown(domid: keep, reason: .poweroff)
        try rig.sim.shutdown(domid: foreign, reason: .poweroff)

        let monitor = DomainMonitor(toolstack: rig.toolstack)
        var lines: [String] = []
        monitor.log = { lines.append($0) }
        #expect(monitor.sweep() == [off, again])
        let reborn = foreign + 1
        #expect(lines == ["domain \(off) (off) shut down (poweroff): destroy",
                          "domain \(again) (again) shut down (reboot): restart, now domain \(reborn)"])
        #expect(try domains(rig) == ["\(keep) keep shutdown", "\(running) running running",
                                     "\(foreign) - shutdown", "\(reborn) again running"])
        #expect(try rig.sim.domainInfo(domid: reborn)?.uuid == rebootConfig.uuid)
        #expect(rig.toolstack.record(off) == nil)
        #expect(rig.store.nodes.keys.filter { $0.hasPrefix("/local/domain/\(off)") }.isEmpty)
        // Nothing more to do on the next look.
        #expect(monitor.sweep() == [])
    }

    /// A restart that fails leaves nothing behind (the old domain is gone,
    /// the new one rolled back) and says why in the monitor's log.
    @Test func aFailedRestartLeavesNothingAndIsLogged() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let id = try rig.toolstack.create(rig.config("web"))
        try rig.sim.shutdown(domid: id, reason: .reboot)
        // The same host, with every create failing at its build step.
        let failing = Toolstack(hypervisor: rig.sim, store: rig.store, stateDir: rig.dir, faults: FaultInjection(step: .build))
        let monitor = DomainMonitor(toolstack: failing)
        var lines: [String] = []
        monitor.log = { lines.append($0) }
        #expect(monitor.sweep() == [id])
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("domain \(id) (web) shut down (reboot): restart failed: ") == true, "\(lines)")
        #expect(try domains(rig) == [])
        #expect(rig.leftovers() == [])
        #expect(rig.store.nodes.keys.filter { $0.hasPrefix("/local/domain/") || $0.hasPrefix("/vm/") }.isEmpty)
    }

    /// The loop looks after every event and leaves once no domain of swxl's
    /// is left; a second monitor for the same state dir does nothing.
    @Test func theLoopActsOnEventsAndLeavesWhenNoDomainIsLeft() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let id = try rig.toolstack.create(rig.config("web"))
        let monitor = DomainMonitor(toolstack: rig.toolstack)
        monitor.idleExitSeconds = 0
        var waits = 0
        var secondRan: Bool?
        let finished = try monitor.run { _ in
            waits += 1
            if waits == 1 {
                // While it runs, a second one finds the lock taken.
                secondRan = DomainMonitor(toolstack: rig.toolstack).run { _ in false }
                #expect(DomainMonitor.isRunning(stateDir: rig.dir))
                try rig.sim.shutdown(domid: id, reason: .poweroff)   // the guest powers off
                return true
            }
            Issue.record("still waiting after the last domain was destroyed")
            return false
        }
        #expect(finished)
        #expect(secondRan == false)
        #expect(waits == 1)
        #expect(try domains(rig) == [])
        #expect(rig.leftovers() == [])
        #expect(!DomainMonitor.isRunning(stateDir: rig.dir))
    }
}

/// swxl's own xenstored on a thread of this process, until `stop()`.
final class LiveDaemon: @unchecked Sendable {
    let server: SocketServer
    private let stopPipe: [Int32]
    private let done = DispatchSemaphore(value: 0)

    init(socketPath: String, stateDir: String) throws {
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        server = try SocketServer(store: try Store(storage: nil, logger: logger), paths: HostPaths(stateDir: stateDir),
                                  socketPath: socketPath, readOnlySocketPath: nil, logger: logger)
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0)
        stopPipe = fds
        server.stop(whenReadable: fds[0])
        let thread = Thread { [self] in
            server.run()
            done.signal()
        }
        thread.start()
    }

    func stop() {
        var byte: UInt8 = 1
        _ = write(stopPipe[1], &byte, 1)
        done.wait()
        server.shutdown()
        close(stopPipe[0])
        close(stopPipe[1])
    }
}

@Suite struct ReleaseEventsTests {
    /// Events come on the monitor's own connection; when xenstored goes
    /// away the waits become sleeps, and when it is back the watch is made
    /// again, each change said once in the log.
    @Test(.timeLimit(.minutes(1)))
    func eventsSurviveADaemonRestart() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let socket = dir + "/socket"
        var daemon = try LiveDaemon(socketPath: socket, stateDir: dir)
        let events = ReleaseEvents(socketPath: socket)
        var lines: [String] = []
        events.log = { lines.append($0) }
        #expect(events.wait(milliseconds: 5000))        // the watch fires once when it is made
        #expect(!events.wait(milliseconds: 50))
        // A domain released: @releaseDomain.
        let other = try XenStoreAccess(socketPath: socket)
        try other.introduce(domid: 5, mfn: 1, port: 1)
        try other.release(domid: 5)
        #expect(events.wait(milliseconds: 5000))
        #expect(lines.isEmpty)
        // xenstored goes: a wait reports nothing and says so once; the next ones just sleep.
        daemon.stop()
        #expect(!events.wait(milliseconds: 50))
        #expect(!events.wait(milliseconds: 50))
        #expect(lines.count == 1 && lines[0].hasPrefix("xenstored connection lost"), "\(lines)")
        // It comes back: the watch is made again (and fires once).
        daemon = try LiveDaemon(socketPath: socket, stateDir: dir)
        defer { daemon.stop() }
        #expect(events.wait(milliseconds: 5000))
        #expect(lines.count == 2 && lines[1] == "xenstored connection back", "\(lines)")
    }
}
