#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import SwxlSystem
import XenStoreProtocol

/// Where the daemon listens and keeps its data, and how it behaves.
public struct DaemonConfiguration: Sendable, Equatable {
    public var paths: HostPaths
    /// The main socket: `XENSTORED_PATH` if set, else `<state>/xenstored/socket`.
    public var socketPath: String
    /// The read-only socket: the main socket's path with `_ro` appended
    /// (nil: none, as on a Xen host, where Xen 4.17's daemon makes one socket).
    public var readOnlySocketPath: String?
    /// The pid file, which is also the lock that keeps a second daemon from
    /// serving the same socket: `<state>/xenstored/xenstored.pid` unless set
    /// (Xen's `--pid-file`).
    public var pidFilePath: String
    /// Serve as the xenstored of a Xen host (see ``xenHost(paths:environment:)``).
    public private(set) var xenHost = false
    /// On a Xen host: serve dom0's own ring and guests' rings and watch
    /// domains go (`VIRQ_DOM_EXC`), as Xen 4.17's `domain_init()` and
    /// `dom0_init()`; Xen's `--no-domain-init` turns it off (then
    /// introduced domains get sockets, as on the embedded host).
    public var domainInit = false
    /// Keep the tree in memory only (no SQLite file).
    public var memoryOnly = false
    /// When introduced domains' sockets are opened (without rings).
    public var domainSockets = DomainSocketPolicy.atIntroduction
    public var quotas = Quotas()
    /// Keep the nodes a released domain owned.
    public var keepOrphans = false
    /// How long the loop polls without sleeping after handling requests
    /// (nil: ``SocketServer/defaultSpinMicroseconds(onlineCPUs:)``, 50 µs unless one CPU is online).
    public var busyPollMicroseconds: UInt64?
    /// While busy polling, hold a CPU-latency request of 0 µs (see ``CPULatencyRequest``), where allowed.
    public var cpuLatencyRequest = true
    /// The longest time the loop looks at guests' rings after replying to
    /// a guest (see ``GuestPoll``); 0: never.
    public var guestPollMicroseconds = GuestPoll.defaultMicroseconds

    public init(paths: HostPaths, environment: [String: String]) {
        self.paths = paths
        socketPath = HostPaths.clientSocket(environment: environment, default: paths.daemonSocket)
        readOnlySocketPath = socketPath + "_ro"
        pidFilePath = paths.daemonPidFile
    }

    /// As the xenstored of a Xen host, where Xen 4.17's daemons serve: one
    /// socket, `XENSTORED_PATH` if set, else `<XENSTORED_RUNDIR or
    /// /var/run/xenstored>/socket` (libxenstore's `xs_daemon_socket()`),
    /// no read-only socket; a fresh store in memory at every start holding
    /// `/`, `/tool` and `/tool/xenstored` (Xen's `setup_structure()`); the
    /// pid file `<rundir>/xenstored.pid` unless `--pid-file` names one.
    public static func xenHost(paths: HostPaths, environment: [String: String]) -> DaemonConfiguration {
        var config = DaemonConfiguration(paths: paths, environment: environment)
        let runDir = environment["XENSTORED_RUNDIR"] ?? xenRunDirectory
        config.socketPath = HostPaths.clientSocket(environment: environment, default: runDir + "/socket")
        config.readOnlySocketPath = nil
        config.pidFilePath = runDir + "/xenstored.pid"
        config.memoryOnly = true
        config.xenHost = true
        config.domainInit = true
        return config
    }

    /// libxenstore's `XEN_RUN_STORED` in Debian's Xen 4.17.
    public static let xenRunDirectory = "/var/run/xenstored"

    /// The SQLite database: `<state>/xenstored/store.db`.
    public var databasePath: String { paths.xenstoredDir + "/store.db" }
}

public enum Daemon {
    /// Serves in the calling thread until SIGTERM, SIGINT or SIGHUP, then
    /// removes its sockets and pid file. `ready` runs once it is listening.
    public static func run(_ config: DaemonConfiguration, logger: Logger, ready: () -> Void = {}) throws(ServerError) {
        // On a Xen host, another xenstored (Xen's) must be left alone: its
        // socket is not taken over. Asked before the pid file is written: the parent of a detached
        // daemon takes "the socket answers and the pid file names the
        // daemon" for ready, and the other daemon's answer with our pid
        // in the file made a failing start look like success.
        if config.xenHost && UnixSocket.canConnect(config.socketPath) {
            throw ServerError("another xenstored answers on \(config.socketPath)")
        }
        if !config.xenHost { try makeDirectory(config.paths.xenstoredDir) }
        try makeDirectory(XSPath.parent(of: config.socketPath))
        try makeDirectory(XSPath.parent(of: config.pidFilePath))
        let pidLock = try lockPidFile(config.pidFilePath)
        defer {
            unlink(config.pidFilePath)
            pidLock.release()
        }

        let storage: Storage?
        do throws(StorageError) {
            storage = config.memoryOnly ? nil : try SQLiteStorage(path: config.databasePath)
        } catch {
            throw ServerError("\(error)")
        }
        let store: Store
        do throws(StorageError) {
            store = try Store(storage: storage, quotas: config.quotas, logger: logger)
            store.keepOrphans = config.keepOrphans
            if config.xenHost { store.makeXenStructure() }
            // The socket loop commits once per round of ready requests.
            store.groupCommit = true
            if let (budget, limit) = MemoryBudget.current() {
                store.memoryBudget = budget
                logger.info("\(limit): the tree may take \(budget) bytes (now \(store.treeBytes))")
            }
            if !config.memoryOnly {
                let path = config.databasePath
                store.reopenStorage = { () throws(StorageError) -> Storage in
                    _ = try? FileIO.makeDirectories(XSPath.parent(of: path), mode: 0o700)
                    // Whatever took the file's place is kept aside, not written into.
                    if access(path, F_OK) == 0 {
                        _ = rename(path, path + ".replaced-\(time(nil))")
                    }
                    for suffix in ["-wal", "-shm"] { unlink(path + suffix) }
                    return try SQLiteStorage(path: path)
                }
            }
        } catch {
            throw ServerError("\(error)")
        }

        let stop: StopSignals
        do throws(SystemError) { stop = try StopSignals() } catch { throw ServerError("\(error)") }

        // Every connection is a descriptor: allow as many as the hard limit does.
        CurrentProcess.raiseDescriptorLimit()

        // On a Xen host, the hypervisor's devices (and VIRQ_DOM_EXC below)
        // as Xen's domain_init() takes them, and dom0's ring, before the
        // socket is made: a daemon that cannot have them leaves no trace.
        let platform = config.domainInit ? try XenDomainPlatform(logger: logger) : nil
        let dom0Ring = try platform.map { p throws(ServerError) in try Dom0Ring(platform: p) }
        let server = try SocketServer(store: store, paths: config.paths, socketPath: config.socketPath,
                                      readOnlySocketPath: config.readOnlySocketPath, logger: logger,
                                      domainSockets: config.domainSockets)
        server.stop(whenReadable: stop.readEnd)
        let busyPoll = config.busyPollMicroseconds ?? SocketServer.defaultSpinMicroseconds()
        server.spinNanoseconds = busyPoll * 1000
        if config.busyPollMicroseconds == nil && busyPoll == 0 {
            logger.info("one CPU online: no busy polling after requests (--busy-poll-us sets it)")
        }
        if config.cpuLatencyRequest && busyPoll > 0 {
            server.cpuLatency = CPULatencyRequest()
            if server.cpuLatency == nil {
                logger.debug("no CPU latency request (\(CPULatencyRequest.devicePath): \(String(cString: strerror(errno)))): idle CPUs may halt while busy")
            }
        }
        server.guestPoll = GuestPoll(maxMicroseconds: config.guestPollMicroseconds)
        // The poll yields the CPU to dom0's tasks at every turn, and dom0's
        // vCPU to Xen at every GuestPoll.vcpuYieldEvery-th (XenDomainPlatform.
        // yieldVCPU). For measuring, SWXL_XSD_POLL_YIELD: "process", to
        // dom0's tasks only; "vcpuN", dom0's vCPU at every N-th turn.
        let yieldMode = getenv("SWXL_XSD_POLL_YIELD").map { String(cString: $0) } ?? ""
        if let platform, yieldMode != "process" {
            let every = yieldMode.hasPrefix("vcpu") ? UInt32(yieldMode.dropFirst(4)) ?? GuestPoll.vcpuYieldEvery : GuestPoll.vcpuYieldEvery
            server.guestPollYields = [GuestPoll.Yield { _ = sched_yield() }, GuestPoll.Yield(every: every) { platform.yieldVCPU() }]
        }
        let guestRings = try platform.map { p throws(ServerError) in try GuestRings(server: server, platform: p) }
        // Dom0's ring's port held masked while the loop works (GuestRings.
        // holdDom0Port); SWXL_XSD_DOM0_HOLD=0 unmasks it at every event, for measuring.
        if let dom0Ring, let guestRings, getenv("SWXL_XSD_DOM0_HOLD").map({ String(cString: $0) != "0" }) ?? true {
            guestRings.holdDom0Port(dom0Ring.localPort)
        }
        // Served once the socket listens (as Xen's daemon: sockets, then dom0_init()).
        dom0Ring?.attach(to: server)
        defer { withExtendedLifetime((dom0Ring, guestRings, platform)) {} }
        logger.info("xenstored listening on \(config.socketPath) (\(config.memoryOnly ? "memory only" : config.databasePath))")
        ready()
        server.run()
        server.shutdown()
        if config.guestPollMicroseconds > 0 {
            let c = server.guestPollCounts
            logger.info("guest poll: \(c.windows) windows opened, \(c.found) requests (or room for output) found by it, \(c.empty) windows closed without one; \(c.held) notifications held for a request taken in part, \(c.heldSentAtClose) of them sent as a window closed")
        }
        logger.info("xenstored stopped")
    }

    /// Starts `executable arguments` as a daemon in its own session, with
    /// stdin and stdout on /dev/null, and waits until it accepts connections
    /// on `config.socketPath`. Returns its pid. Until then its stderr comes
    /// to us, so a daemon that fails to start is reported with its reason;
    /// after that the daemon's stderr leads nowhere.
    public static func spawnDetached(executable: String, arguments: [String], config: DaemonConfiguration, timeoutSeconds: Double = 10) throws(ServerError) -> pid_t {
        // BackgroundProcess gives the daemon none of our descriptors (it
        // outlives us) and no blocked or ignored signal (a daemon that
        // inherited Dispatch's mask would never see SIGTERM).
        let outcome: ServerStart
        do throws(SystemError) {
            outcome = try BackgroundProcess.startServer(executable: executable, arguments: arguments,
                                                        socketPath: config.socketPath, pidFile: config.pidFilePath,
                                                        timeoutSeconds: timeoutSeconds)
        } catch {
            throw ServerError("cannot start \(executable): \(String(cString: strerror(error.errno)))")
        }
        switch outcome {
        case .listening(let pid): return pid
        case .exited(let reason, let status):
            throw ServerError(reason.isEmpty ? "xenstored exited during start-up (status \(status))" : reason)
        case .timedOut:
            throw ServerError("xenstored did not start listening on \(config.socketPath) within \(Int(timeoutSeconds)) s")
        }
    }

    /// `mkdir -p` with mode 0700 for what it creates.
    static func makeDirectory(_ path: String) throws(ServerError) {
        do throws(SystemError) {
            try FileIO.makeDirectories(path, mode: 0o700)
        } catch {
            throw ServerError("cannot create \(error.path ?? path): \(String(cString: strerror(error.errno)))")
        }
    }

    /// Takes the daemon's lock (one daemon per state directory) and records our pid.
    private static func lockPidFile(_ path: String) throws(ServerError) -> LockFile {
        let acquired: LockFile?
        do throws(SystemError) {
            acquired = try LockFile.tryAcquire(path, mode: 0o644)
        } catch {
            throw ServerError("cannot open \(path): \(String(cString: strerror(error.errno)))")
        }
        guard let lock = acquired else {
            let other = LockFile.readPid(path).map { " (pid \($0))" } ?? ""
            throw ServerError("another xenstored is already running for this state directory\(other)")
        }
        do throws(SystemError) {
            try lock.recordPid()
        } catch {
            lock.release()
            throw ServerError("cannot write \(path): \(String(cString: strerror(error.errno)))")
        }
        return lock
    }
}
