#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import Toolstack
import XenHost
import XenStoreClient
import XenStoreProtocol

/// A host swxl drives, opened: its toolstack (the hypervisor and xenstore)
/// and what differs between real Xen and the embedded host. Callers ask
/// this value (``kind``, ``consoleLog``, ``ensureWatcher()``) and never
/// test the hypervisor's type.
public final class ToolstackHost {
    public let kind: HostKind
    public let toolstack: Toolstack
    public let paths: HostPaths
    /// swxl's own executable: it runs the processes a host needs
    /// (`xenstored`, `_sim-guests`, `_monitor`).
    public let program: String
    let environment: [String: String]
    /// The embedded host's hypervisor; nil on Xen.
    let simulator: SimulatedHypervisor?

    init(kind: HostKind, toolstack: Toolstack, paths: HostPaths, program: String,
         environment: [String: String], simulator: SimulatedHypervisor?) {
        self.kind = kind
        self.toolstack = toolstack
        self.paths = paths
        self.program = program
        self.environment = environment
        self.simulator = simulator
    }

    /// Opens the host of `kind`, connected to its xenstore, and undoes any
    /// create that died midway. On the embedded host without
    /// `XENSTORED_PATH`, swxl's xenstored (`program xenstored`) is started
    /// when none answers, unless `startDaemon` is false (the daemons swxl
    /// starts itself must not start one: without it they have nothing to do).
    public static func open(kind: HostKind, environment env: [String: String], program: String,
                            startDaemon: Bool = true) throws(ToolstackError) -> ToolstackHost {
        let paths = HostPaths(environment: env, uid: getuid())
        switch kind {
        case .embedded:
            let store: XenStoreAccess
            if env["XENSTORED_PATH"]?.isEmpty ?? true {
                let connector = XenStoreConnector(environment: env, uid: getuid(),
                                                  daemonCommand: startDaemon ? XenStoreConnector.embeddedDaemonCommand(program) : nil)
                // A daemon that dies under a command is started again and the request repeated (see XenStoreAccess).
                do {
                    store = XenStoreAccess(client: try connector.connectEmbedded(),
                                           reconnect: { () throws(XenStoreError) in try connector.connectEmbedded() })
                } catch {
                    throw .store(StoreError("start xenstored", error: nil, message: "\(error)"))
                }
            } else {
                let socket = HostPaths.clientSocket(environment: env, default: paths.daemonSocket)
                do { store = try XenStoreAccess(socketPath: socket) } catch { throw .store(error) }
                store.reconnect = { () throws(XenStoreError) in try XenStoreClient(socketPath: socket) }
            }
            return embedded(paths: paths, store: store, environment: env, program: program)
        case .xen:
            let hypervisor: XenHypervisor
            do { hypervisor = try XenHypervisor() } catch { throw .hypervisor(error) }
            PhaseTrace.mark("host: hypervisor interface open")
            let socket = HostPaths.clientSocket(environment: env, default: HostPaths.systemSocket)
            let store: XenStoreAccess
            do { store = try XenStoreAccess(socketPath: socket) } catch { throw .store(error) }
            PhaseTrace.mark("host: xenstored connected")
            let toolstack = Toolstack(hypervisor: hypervisor, store: store, stateDir: paths.stateDir,
                                      faults: FaultInjection(environment: env))
            toolstack.suspendTimeouts = SuspendTimeouts(environment: env)
            toolstack.consoleConnectTimeoutMs = Self.consoleConnectTimeoutMs(environment: env)
            toolstack.recoverInterruptedCreates()
            PhaseTrace.mark("host: interrupted creates looked for")
            return ToolstackHost(kind: .xen, toolstack: toolstack, paths: paths, program: program,
                                 environment: env, simulator: nil)
        }
    }

    /// How long a restore on Xen waits for xenconsoled before it runs the
    /// guest (``Toolstack/consoleConnectTimeoutMs``): 2 s, or
    /// `SWXL_CONSOLE_CONNECT_TIMEOUT_MS` (0: no wait). The embedded host
    /// does not wait: it has no xenconsoled (its simulated guests'
    /// consoles are served by swxl's own process, started after the restore).
    static func consoleConnectTimeoutMs(environment env: [String: String]) -> Int {
        env["SWXL_CONSOLE_CONNECT_TIMEOUT_MS"].flatMap { Int($0) }.map { max($0, 0) } ?? 2_000
    }

    /// The embedded host over `store`: the simulated hypervisor in the
    /// state dir, and the guests' console logs removed with their domains.
    static func embedded(paths: HostPaths, store: any StoreAccess, environment env: [String: String],
                         program: String) -> ToolstackHost {
        let simulator = SimulatedHypervisor(dir: paths.hypervisorDir, host: .init(environment: env),
                                            backends: SimulatedBackends(environment: env))
        let toolstack = Toolstack(hypervisor: simulator, store: store, stateDir: paths.stateDir,
                                  faults: FaultInjection(environment: env))
        toolstack.suspendTimeouts = SuspendTimeouts(environment: env)
        let consoles = ConsoleLog(stateDir: paths.stateDir)
        toolstack.onDomainForgotten = { consoles.remove($0) }
        toolstack.recoverInterruptedCreates()
        return ToolstackHost(kind: .embedded, toolstack: toolstack, paths: paths, program: program,
                             environment: env, simulator: simulator)
    }

    /// The guests' console logs: the embedded host keeps them; nil on Xen,
    /// where xenconsoled serves a guest's console.
    public var consoleLog: ConsoleLog? {
        simulator == nil ? nil : ConsoleLog(stateDir: toolstack.stateDir)
    }

    /// The xenstore socket this host's toolstack speaks to (as libxenstore
    /// chooses it), for a client that needs a connection of its own (a
    /// console's watch).
    public var storeSocket: String {
        HostPaths.clientSocket(environment: environment,
                               default: simulator == nil ? HostPaths.systemSocket : paths.daemonSocket)
    }

    /// Where console clients take their one-per-domain lock: on Xen
    /// xenconsole's own directory (XEN_LOCK_DIR, /var/lock), so swxl's and
    /// xl's consoles exclude each other; on the embedded host its state dir.
    public var consoleLockDirectory: String {
        simulator == nil ? "/var/lock" : paths.stateDir + "/toolstack"
    }

    /// Starts the process that follows the domains after a command has
    /// returned, unless it runs: on the embedded host the simulated guests'
    /// host (`_sim-guests`, which also carries out the on_* actions), on
    /// Xen the monitor (`_monitor`) that carries out on_* actions as xl's does.
    public func ensureWatcher() {
        if simulator != nil {
            SimGuestHost.ensureRunning(stateDir: toolstack.stateDir, argv: [program, "_sim-guests"], environment: environment)
        } else {
            DomainMonitor.ensureRunning(stateDir: toolstack.stateDir, argv: [program, "_monitor"], environment: environment)
        }
    }

    /// `swxl _sim-guests`: serves the embedded host's simulated guests until
    /// the host has none (see ``SimGuestHost``). Does nothing on Xen.
    /// When xenstored dies under it (killed, restarted), the guests are
    /// served again once a daemon answers (the next command starts one):
    /// they are domains still running, whose guests would otherwise stop
    /// answering (no frontends connecting, no on_* actions) until a command
    /// that starts this host came. It gives up when no daemon answers
    /// within ``daemonReturnSeconds``.
    public func serveSimulatedGuests() throws(StoreError) {
        guard let simulator else { return }
        let socket = HostPaths.clientSocket(environment: environment, default: paths.daemonSocket)
        while true {
            do {
                _ = try SimGuestHost(toolstack: toolstack, sim: simulator, paths: paths, socket: socket).run()
                return
            } catch {
                guard toolstack.hasRecordedDomains, Self.waitForDaemon(socket, seconds: Self.daemonReturnSeconds) else { throw error }
            }
        }
    }

    /// How long the simulated guests' host waits for xenstored to come back.
    static let daemonReturnSeconds: UInt64 = 30

    /// Whether a daemon answers at `socket` within `seconds`.
    static func waitForDaemon(_ socket: String, seconds: UInt64) -> Bool {
        let deadline = SystemClock.monotonicNanoseconds() + seconds * 1_000_000_000
        while SystemClock.monotonicNanoseconds() < deadline {
            if UnixSocket.canConnect(socket) { return true }
            usleep(20_000)
        }
        return false
    }

    /// `swxl _monitor`: carries out the on_* actions of swxl's domains on
    /// Xen until none is left (see ``DomainMonitor``), logging to
    /// ``DomainMonitor/logPath(stateDir:)``. Does nothing on the embedded
    /// host, whose simulated guests' host does this job.
    public func runMonitor() {
        guard kind == .xen else { return }
        let events = ReleaseEvents(socketPath: HostPaths.clientSocket(environment: environment, default: HostPaths.systemSocket))
        DomainMonitor.stopOnSignals()
        let monitor = DomainMonitor(toolstack: toolstack)
        let logFile = MonitorLogFile(path: DomainMonitor.logPath(stateDir: toolstack.stateDir))
        monitor.log = { logFile.append($0) }
        events.log = monitor.log
        _ = monitor.run { events.wait(milliseconds: $0) }
    }
}
