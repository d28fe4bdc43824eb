#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import Synchronization
import XenStoreClient
import XenStoreProtocol

/// Set by SIGTERM/SIGINT/SIGHUP: the monitor leaves at its next turn.
private let monitorStopRequested = Atomic<Bool>(false)

/// What xl's per-domain monitor does, for every domain swxl created on a
/// real Xen host, in one process (`swxl _monitor`, started on demand by the
/// commands that create or shut down domains, one per state dir): when such
/// a domain has shut down, it carries out the domain's `on_poweroff`,
/// `on_reboot` or `on_crash` action (destroy; restart with the same uuid;
/// preserve), as ``Toolstack/applyShutdownAction(domid:reason:)`` does.
///
/// It wakes on xenstored's `@releaseDomain` (fired when a domain shuts down
/// or goes away) and looks again every second in case an event was missed;
/// a look is one hypercall listing the domains. It leaves a few seconds
/// after the last domain with a swxl record is gone. On the embedded host
/// the simulated guests' host (EmbeddedHost's `SimGuestHost`) does this job.
public final class DomainMonitor {
    let toolstack: Toolstack
    public var idleExitSeconds: UInt64 = 3
    /// Gets one line per action carried out, and per action that failed
    /// (the monitor has no terminal; `swxl _monitor` appends them to
    /// ``logPath(stateDir:)``, as xl's monitor writes /var/log/xen/xl-NAME.log).
    public var log: (String) -> Void = { _ in }

    public init(toolstack: Toolstack) {
        self.toolstack = toolstack
    }

    /// The lock file that marks the running monitor (it holds the pid).
    public static func lockPath(stateDir: String) -> String { stateDir + "/toolstack/monitor.lock" }

    /// Where `swxl _monitor` writes what it did.
    public static func logPath(stateDir: String) -> String { stateDir + "/toolstack/monitor.log" }

    /// Whether a monitor runs for this state dir.
    public static func isRunning(stateDir: String) -> Bool {
        LockFile.isHeld(lockPath(stateDir: stateDir))
    }

    /// Starts `argv` (the monitor command) in the background unless a monitor runs.
    /// `environment` is what it runs with besides ours (the host's, when
    /// the host was opened with another: a library user's state dir).
    public static func ensureRunning(stateDir: String, argv: [String], environment: [String: String] = [:]) {
        if isRunning(stateDir: stateDir) {
            PhaseTrace.mark("monitor already running")
            return
        }
        PhaseTrace.mark("monitor starting")
        guard let pid = try? BackgroundProcess.spawn(executable: argv[0], arguments: Array(argv.dropFirst()),
                                                     environment: environment) else { return }
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
    }

    /// Carries out the action of every domain with a swxl record that has
    /// shut down (and is not already dying). Returns the domids acted on.
    @discardableResult
    public func sweep() -> [UInt32] {
        guard let domains = try? toolstack.hypervisor.listDomains() else { return [] }
        var acted: [UInt32] = []
        for d in domains where d.domid != 0 && d.shutdown && !d.dying {
            guard let config = toolstack.record(d.domid) else { continue }
            let reason = d.shutdownReason ?? (d.crashed ? .crash : .poweroff)
            // A suspended domain belongs to the save or migration that suspended it.
            if reason == .suspend { continue }
            let action = config.action(for: reason)
            // A preserved domain stays as it is until `swxl destroy`; a followed one is its follower's.
            if action.effective == .preserve || toolstack.isFollowed(config.uuid) { continue }
            let what = "domain \(d.domid) (\(config.name_label)) shut down (\(reason.name)): \(action.rawValue)"
            do {
                let newDomid = try toolstack.applyShutdownAction(domid: d.domid, reason: reason)
                log(what + (newDomid.map { ", now domain \($0)" } ?? ""))
            } catch {
                log(what + " failed: \(error)")
            }
            acted.append(d.domid)
        }
        return acted
    }

    /// Serves until no domain has a swxl record for ``idleExitSeconds`` or
    /// a stop signal comes. `waitForEvent(ms)` waits at most that long for
    /// a watch event (true if one came). Returns false, doing nothing, if
    /// another monitor already runs for the state dir.
    public func run(waitForEvent: (Int32) throws -> Bool) rethrows -> Bool {
        try? FileIO.makeDirectories(toolstack.stateDir + "/toolstack")
        guard let lock = try? LockFile.tryAcquire(Self.lockPath(stateDir: toolstack.stateDir)) else { return false }
        defer { lock.release() }
        try? lock.recordPid()
        var idleSince = SystemClock.monotonicNanoseconds()
        while !monitorStopRequested.load(ordering: .relaxed) {
            sweep()
            let now = SystemClock.monotonicNanoseconds()
            if toolstack.hasRecordedDomains {
                idleSince = now
            } else if now - idleSince >= idleExitSeconds * 1_000_000_000 {
                return true
            }
            _ = try waitForEvent(1000)
        }
        return true
    }

    /// SIGTERM, SIGINT and SIGHUP make ``run(waitForEvent:)`` return at its next turn.
    public static func stopOnSignals() {
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig) { _ in monitorStopRequested.store(true, ordering: .relaxed) }
        }
    }
}

/// The monitor's log (`swxl _monitor` has no terminal): each line after
/// its UTC time, `2026-12-03T23:19:51Z domain 3 (web) shut down ...`,
/// appended in one write so that lines never interleave.
public final class MonitorLogFile {
    private let fd: Int32

    /// Appends to `path`, created if missing. A log that cannot be opened
    /// takes nothing (the monitor still does its job).
    public init(path: String) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Appends `line` stamped with `time` (seconds since the epoch; now by default).
    public func append(_ line: String, at time: time_t = time(nil)) {
        guard fd >= 0 else { return }
        var bytes = Array(Self.stamped(line, at: time).utf8)
        _ = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// `line` as the log holds it: the UTC time (ISO 8601, whole seconds), a space, the line, a newline.
    public static func stamped(_ line: String, at time: time_t) -> String {
        var when = time
        var tmv = tm()
        gmtime_r(&when, &tmv)
        var stamp = [CChar](repeating: 0, count: 32)
        let n = strftime(&stamp, stamp.count, "%Y-%m-%dT%H:%M:%SZ", &tmv)
        return String(decoding: stamp.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) + " " + line + "\n"
    }
}

/// The monitor's wake-ups: `@releaseDomain` events on a xenstore connection
/// of its own. A lost connection (xenstored restarted) is made again, with
/// its watch, at the next wait; until then a wait is a plain sleep, and the
/// monitor keeps looking once a second.
public final class ReleaseEvents {
    private let connect: () throws(StoreError) -> XenStoreAccess
    private var connection: XenStoreAccess?
    private var wasLost = false
    /// Told once when the connection is lost, and once when it is back.
    public var log: (String) -> Void = { _ in }

    /// `connect` opens a connection to xenstored.
    public init(connect: @escaping () throws(StoreError) -> XenStoreAccess) {
        self.connect = connect
    }

    /// Connects to the socket at `socketPath`.
    public convenience init(socketPath: String) {
        self.init { () throws(StoreError) in try XenStoreAccess(socketPath: socketPath) }
    }

    /// Waits at most `milliseconds` for events; true if any came (all of
    /// them are taken).
    public func wait(milliseconds: Int32) -> Bool {
        if connection == nil {
            do {
                let fresh = try connect()
                try fresh.watch(XSPath.releaseDomain, token: "release")
                connection = fresh
                if wasLost { log("xenstored connection back") }
                wasLost = false
            } catch {
                usleep(UInt32(max(milliseconds, 0)) * 1000)
                return false
            }
        }
        guard let connection else { return false }
        do {
            guard try connection.nextEvent(timeoutMs: milliseconds) != nil else { return false }
            while try connection.nextEvent(timeoutMs: 0) != nil {}
            return true
        } catch {
            log("xenstored connection lost (\(error)); looking every second until it is back")
            self.connection = nil
            wasLost = true
            return false
        }
    }
}

