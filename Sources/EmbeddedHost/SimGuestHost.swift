#if canImport(Glibc)
import Glibc
#endif
import CEpoll
import DomainConfig
import SwxlSystem
import Synchronization
import Toolstack
import XenStoreClient
import XenStoreProtocol

/// Set by SIGTERM/SIGINT: the guest host stops its guests' scripts and leaves.
private let guestHostStopRequested = Atomic<Bool>(false)

/// The simulated PV guests of an embedded host, all served by one process
/// (`swxl _sim-guests`, started on demand, one per state dir) over one
/// connection to xenstored: a running domain costs neither a process nor
/// a descriptor (see ``SimGuestStore``), unless it runs a script.
///
/// For each running domain it does, with the domain's paths (see
/// ``SimGuestStore``), what a PV kernel does over xenbus: writes its feature flags, moves its device
/// frontends to Connected in step with their backends, follows
/// `memory/target` and `cpu/<n>/availability`, and watches
/// `control/shutdown`: on `poweroff`, `halt`, `reboot`, `crash` or
/// `suspend` it shuts the domain down with that reason.
///
/// It is also what xl's per-domain monitor is: after a shutdown it
/// applies the domain's on_poweroff/on_reboot/on_crash action (destroy,
/// restart with the same uuid, preserve).
///
/// As dom0 it plays the device backends once they are probed (the
/// toolstack's simulated backends put them in InitWait): Connected when
/// the frontend is, Closed when the frontend closes.
///
/// It leaves when the host has had no simulated domain for a few seconds.
public final class SimGuestHost {
    let toolstack: Toolstack
    let sim: SimulatedHypervisor
    let paths: HostPaths
    let control: XenStoreAccess
    /// Where each guest's console output goes.
    let consoles: ConsoleLog
    /// Each domain's console pseudo-terminals, from its introduction until
    /// it is gone (paused or shut down too, as xenconsoled serves them).
    var guestConsoles: [UInt32: SimulatedConsole] = [:]
    /// Running domains that have no console pty (see ``serveConsole(_:)``).
    var consolesRefused: Set<UInt32> = []
    /// Domains whose nodes changed and that may have come or gone: looked
    /// at one by one after each batch of events (see ``syncCandidates()``).
    var candidates: Set<UInt32> = []
    /// Candidates attached or found gone since the last introduction or
    /// release: what explains that event when it arrives after them.
    var resolved: Set<UInt32> = []
    /// The most domains with a console pty at a time.
    let maxConsoles: Int
    var guests: [UInt32: Guest] = [:]
    /// The stopped scripts of suspended guests, by domid: continued when the
    /// suspend is cancelled (a save with -c, a failed save), ended when the
    /// domain goes (a save that succeeded).
    var suspendedScripts: [UInt32: pid_t] = [:]
    /// One epoll set with the control connection and the consoles' ptys.
    private(set) var epfd: Int32 = -1
    private static let controlKey = UInt64.max
    var idleSince: UInt64 = 0
    public var idleExitSeconds: UInt64 = 3

    final class Guest {
        let domid: UInt32
        let conn: SimGuestStore
        var scriptPid: pid_t = 0
        init(domid: UInt32, conn: SimGuestStore) {
            self.domid = domid
            self.conn = conn
        }
    }

    /// The lock file that marks the running guest host.
    public static func lockPath(stateDir: String) -> String { stateDir + "/toolstack/sim-guests.lock" }

    /// Whether a guest host runs for this state dir.
    public static func isRunning(stateDir: String) -> Bool {
        LockFile.isHeld(lockPath(stateDir: stateDir))
    }

    public init(toolstack: Toolstack, sim: SimulatedHypervisor, paths: HostPaths, socket: String) throws(StoreError) {
        self.toolstack = toolstack
        self.sim = sim
        self.paths = paths
        self.consoles = ConsoleLog(stateDir: toolstack.stateDir)
        self.control = try XenStoreAccess(socketPath: socket)
        maxConsoles = Self.consoleLimit(CurrentProcess.environment())
    }

    /// Serves until idle. Returns false if another guest host already runs.
    public func run() throws(StoreError) -> Bool {
        try? FileIO.makeDirectories(paths.stateDir + "/toolstack")
        guard let lock = try? LockFile.tryAcquire(Self.lockPath(stateDir: paths.stateDir)) else { return false }
        defer { lock.release() }
        // The lock file names the running guest host's pid.
        try? lock.recordPid()
        CurrentProcess.raiseDescriptorLimit()
        signal(SIGPIPE, SIG_IGN)
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig) { _ in guestHostStopRequested.store(true, ordering: .relaxed) }
        }
        // However it leaves, the guests' scripts go with it.
        defer { for id in Array(guests.keys) { detach(id) } }
        defer { for id in Array(suspendedScripts.keys) { endSuspendedScript(id) } }
        defer { for id in Array(guestConsoles.keys) { closeConsole(id) } }

        try control.watch(XSPath.introduceDomain, token: "introduce")
        try control.watch(XSPath.releaseDomain, token: "release")
        // One watch, as dom0, on every domain: the daemon matches each write
        // against each watch, so a watch per guest would make every create
        // cost more the more guests run.
        try control.watch("/local/domain", token: "local")
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epfd >= 0 else { throw StoreError("epoll_create1", error: nil, message: String(cString: strerror(errno))) }
        defer { close(epfd) }
        watchReadable(control.client.fileDescriptor, key: Self.controlKey)
        idleSince = SystemClock.realtimeNanoseconds()
        var lastSync: UInt64 = 0
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        while !guestHostStopRequested.load(ordering: .relaxed) {
            let now = SystemClock.realtimeNanoseconds()
            if now - lastSync > 500_000_000 {
                sync()
                lastSync = now
            }
            reapScripts()
            if guests.isEmpty && !toolstack.hasRecordedDomains {
                if now - idleSince > idleExitSeconds * 1_000_000_000 { return true }
            } else {
                idleSince = now
            }
            // Events already read off the socket (while waiting for a reply) are not seen by epoll.
            let pending = control.client.hasBufferedEvents
            let n = events.withUnsafeMutableBufferPointer { epoll_wait(epfd, $0.baseAddress, Int32($0.count), pending ? 0 : 250) }
            if n < 0 && errno != EINTR {
                for id in Array(guests.keys) { detach(id) }
                return true
            }
            // Control events first: they may add or remove guests.
            while let event = try control.nextEvent(timeoutMs: 0) { handleControl(event) }
            syncCandidates()
            for event in events.prefix(Int(max(n, 0))) where event.data.u64 != Self.controlKey && event.data.u64 >> 32 != 0 {
                guestConsoles[UInt32(truncatingIfNeeded: event.data.u64)]?.serve(key: event.data.u64, epfd: epfd)
            }
        }
        return true
    }

    private func watchReadable(_ fd: Int32, key: UInt64) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = key
        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event)
    }

    // MARK: domains coming and going

    /// Attaches running domains, detaches gone ones: every domain the
    /// hypervisor has, looked at every 500 ms (what no event announces: an
    /// unpause), and at an introduction or release no event explained.
    func sync() {
        candidates.removeAll()
        resolved.removeAll()
        let live = Set(sim.domainIDs())
        for id in guests.keys where !live.contains(id) { detach(id) }
        for id in suspendedScripts.keys where !live.contains(id) { endSuspendedScript(id) }
        for id in guestConsoles.keys where !live.contains(id) { closeConsole(id) }
        consolesRefused = consolesRefused.filter { live.contains($0) }
        for id in live where id != 0 { serveConsole(id) }
        for id in live where guests[id] == nil {
            guard let d = (try? sim.domainInfo(domid: id)) ?? nil, !d.paused, !d.shutdown,
                  toolstack.record(id) != nil else { continue }
            attach(id)
        }
    }

    /// Looks at the domains whose nodes changed since the last look (their
    /// home made or removed): attaches a new one that runs, detaches one
    /// the hypervisor no longer has. A domain still being built stays a
    /// candidate. Each create and destroy costs a few lookups here,
    /// however many domains run (a whole ``sync()`` at every
    /// `@introduceDomain` and `@releaseDomain` made both slower the more
    /// domains ran).
    func syncCandidates() {
        guard !candidates.isEmpty else { return }
        for id in candidates {
            guard let d = (try? sim.domainInfo(domid: id)) ?? nil else {
                detach(id)
                endSuspendedScript(id)
                closeConsole(id)
                consolesRefused.remove(id)
                candidates.remove(id)
                resolved.insert(id)
                continue
            }
            serveConsole(id)
            if guests[id] != nil { continue }
            if !d.paused, !d.shutdown, toolstack.record(id) != nil {
                attach(id)
                candidates.remove(id)
                resolved.insert(id)
            }
        }
    }

    func attach(_ domid: UInt32) {
        let conn = SimGuestStore(control: control, domid: domid)
        let guest = Guest(domid: domid, conn: conn)
        guests[domid] = guest
        let config = toolstack.record(domid)
        // A guest whose suspend was cancelled goes on where it stopped; a
        // restored one resumes with its memory; the others boot.
        let stopped = suspendedScripts.removeValue(forKey: domid)
        if stopped != nil {
            appendConsole(domid, "Xen PV guest \(domid) (swxl simulated): suspend cancelled, running on\n")
        } else if sim.takeResumed(domid) {
            appendConsole(domid, "Xen PV guest \(domid) (swxl simulated): resumed from a saved image\n")
        } else {
            appendConsole(domid, "Xen PV guest \(domid) (swxl simulated): booting \(config?.PV_kernel ?? "")\n"
                          + "Command line: \(config?.PV_args ?? "")\n")
        }
        do {
            // What a Linux PV kernel writes of its own at boot, outside its
            // device frontends: `control/feature-<command>` = 1 for each
            // shutdown command it answers (Linux, drivers/xen/manage.c,
            // setup_shutdown_watcher: poweroff, reboot, and suspend when
            // built with CONFIG_HIBERNATE_CALLBACKS, as Debian's kernel is;
            // not halt). It does not write `device/suspend/event-channel`:
            // libxl creates that node empty for guests that have a suspend
            // event channel (Windows PV drivers, Mini-OS), and a Linux PV
            // guest suspends through `control/shutdown` instead.
            let features = ["control/feature-poweroff", "control/feature-reboot", "control/feature-suspend"]
            guard try conn.write(features.map { ($0, "1") }, ifExists: "control") else {
                detach(domid)
                return
            }
            // (Its changes reach this host through the one watch on /local/domain.)
        } catch {
            detach(domid)
            return
        }
        // Backends written before this host watched them start now.
        for kind in (try? control.directory(XSPath.domainPath(domid) + "/device")) ?? [] where kind != "suspend" {
            for devid in (try? control.directory(XSPath.domainPath(domid) + "/device/\(kind)")) ?? [] {
                if let backend = (try? control.read(XSPath.domainPath(domid) + "/device/\(kind)/\(devid)/backend")) ?? nil {
                    playBackend(backend + "/state")
                }
            }
        }
        // The guest's program is part of its memory: kept with the domain,
        // saved and restored with it. Settled before the guest looks at
        // anything: a save asked for before it is first seen suspends it
        // at once (below), and its image must hold the program it would
        // have run.
        var script = sim.guestScript(domid)
        if script == nil, let configured = config?.simGuestScript, !configured.isEmpty {
            sim.setGuestScript(domid, configured)
            script = configured
        }
        handleGuest(guest, (XSPath.domainPath(domid), "domain"))  // look at everything once
        guard guests[domid] != nil else {
            if let stopped { kill(-stopped, SIGTERM); kill(-stopped, SIGCONT) }
            return
        }
        if let stopped {
            guest.scriptPid = stopped
            kill(-stopped, SIGCONT)
            return
        }
        if let script, !script.isEmpty {
            guest.scriptPid = spawnScript(script, domid: domid)
        }
    }

    /// What a Linux PV guest does on `control/shutdown` = `suspend` once it
    /// has acknowledged it: freezes its processes (here: stops its
    /// script's process group, so its memory directory holds still) and
    /// suspends (shuts down with reason suspend). No shutdown action
    /// follows: the save that asked waits for it.
    func suspend(_ guest: Guest) {
        let domid = guest.domid
        appendConsole(domid, "Freezing user space processes ... (suspend requested)\n")
        guests.removeValue(forKey: domid)
        if guest.scriptPid > 0 {
            kill(-guest.scriptPid, SIGSTOP)
            suspendedScripts[domid] = guest.scriptPid
        } else {
            suspendedScripts[domid] = 0
        }
        try? sim.shutdown(domid: domid, reason: .suspend)
    }

    func endSuspendedScript(_ domid: UInt32) {
        guard let pid = suspendedScripts.removeValue(forKey: domid), pid > 0 else { return }
        kill(-pid, SIGTERM)
        kill(-pid, SIGCONT)
    }

    func detach(_ domid: UInt32) {
        guard let guest = guests.removeValue(forKey: domid) else { return }
        if guest.scriptPid > 0 { kill(-guest.scriptPid, SIGTERM) }  // its process group
    }

    func handleControl(_ event: (path: String, token: String)) {
        switch event.token {
        case "introduce", "release":
            // The domain's nodes were written (or removed) just before: it
            // is a candidate, or was one and has been dealt with since the
            // last introduction or release (when this host runs behind the
            // toolstack). If none is, something else happened (a domain
            // introduced again, a watch's first firing): look at all. (A
            // look at all of 10,000 domains costs milliseconds: when it
            // came with most creates and destroys, they took longer the
            // more domains ran.)
            if candidates.isEmpty && resolved.isEmpty {
                sync()
            } else if let one = resolved.first {
                resolved.remove(one)
            }
        case "local":
            // /local/domain/<id>/...
            let parts = event.path.split(separator: "/", maxSplits: 4)
            guard parts.count >= 3, let id = UInt32(parts[2]) else { return }
            if id != 0 && (parts.count == 3 || guests[id] == nil) { candidates.insert(id) }
            guard parts.count >= 4 else { return }
            if id == 0 {
                guard parts[3] == "backend" else { return }
                playBackend(event.path)
                // The frontend follows its backend.
                let p = event.path.split(separator: "/")
                if p.count >= 6, let front = UInt32(p[5]), let guest = guests[front] {
                    handleGuest(guest, (XSPath.domainPath(front) + "/device", "domain"))
                }
            } else if let guest = guests[id] {
                handleGuest(guest, (event.path, "domain"))
                if parts[3] == "device" && event.path.hasSuffix("/state") { playBackend(event.path) }
            }
        default:
            break
        }
    }

    // MARK: the guest side

    func handleGuest(_ guest: Guest, _ event: (path: String, token: String)) {
        let conn = guest.conn
        if event.token == "domain" {
            let base = XSPath.domainPath(guest.domid)
            let relative = event.path == base ? "" : event.path.hasPrefix(base + "/") ? String(event.path.dropFirst(base.count + 1)) : event.path
            if relative.isEmpty {
                // The watch's first firing: look at everything once.
                for token in ["shutdown", "sysrq", "memory", "cpu", "device"] { handleGuest(guest, (event.path, token)) }
            } else if relative == "control/shutdown" {
                handleGuest(guest, (event.path, "shutdown"))
            } else if relative == "control/sysrq" {
                handleGuest(guest, (event.path, "sysrq"))
            } else if relative == "memory/target" {
                handleGuest(guest, (event.path, "memory"))
            } else if relative.hasPrefix("cpu/") && relative.hasSuffix("/availability") {
                handleGuest(guest, (event.path, "cpu"))
            } else if relative == "device" || (relative.hasPrefix("device/") && (relative.hasSuffix("/state") || relative.split(separator: "/").count == 3)) {
                handleGuest(guest, (event.path, "device"))
            }
            return
        }
        guard guests[guest.domid] != nil else { return }
        switch event.token {
        case "shutdown":
            guard let request = try? conn.read("control/shutdown"), !request.isEmpty else { return }
            let reason: ShutdownReason
            switch request {
            case "poweroff", "halt": reason = .poweroff
            case "reboot": reason = .reboot
            case "crash": reason = .crash
            case "suspend": reason = .suspend
            default: return
            }
            _ = try? conn.write([("control/shutdown", "")], ifExists: "control/shutdown")
            if reason == .suspend {
                suspend(guest)
                return
            }
            appendConsole(guest.domid, request == "reboot" ? "reboot: Restarting system\n" : "reboot: Power down\n")
            detach(guest.domid)
            try? sim.shutdown(domid: guest.domid, reason: reason)
            _ = try? toolstack.applyShutdownAction(domid: guest.domid, reason: reason)
        case "sysrq":
            handleSysrq(guest)
        case "memory":
            if let text = try? conn.read("memory/target"), let kib = UInt64(text) {
                try? sim.setCurrentMemory(domid: guest.domid, kib: kib)
            }
        case "cpu":
            let cpus = (try? conn.directory("cpu")) ?? []
            guard !cpus.isEmpty else { return }
            let paths = cpus.map { "cpu/\($0)/availability" }
            let values = (try? conn.readMany(paths)) ?? []
            let online = values.filter { $0 == "online" }.count
            if online > 0 { try? sim.setOnlineVCPUs(domid: guest.domid, count: UInt32(online)) }
        case "device":
            stepFrontends(guest)
        default:
            break
        }
    }

    /// Frontends follow their backends as Linux's do: at the backend's
    /// InitWait, blkfront writes its ring and event channel, its ABI and
    /// `feature-persistent` and goes to Initialised; netfront writes its
    /// rings, event channel, `request-rx-copy` and its `feature-*` flags
    /// and goes straight to Connected (drivers/block/xen-blkfront.c
    /// `talk_to_blkback`, drivers/net/xen-netfront.c `talk_to_netback`,
    /// one queue). At the backend's Connected a frontend is Connected; at
    /// its Closing, Closed.
    func stepFrontends(_ guest: Guest) {
        let conn = guest.conn
        guard let kinds = try? conn.directory("device") else { return }
        for kind in kinds where kind != "suspend" {
            for (n, devid) in ((try? conn.directory("device/\(kind)")) ?? []).enumerated() {
                let front = "device/\(kind)/\(devid)"
                guard let backend = try? conn.read(front + "/backend"), !backend.isEmpty else { continue }
                let values = (try? conn.readMany([front + "/state", backend + "/state"])) ?? []
                guard values.count == 2, let f = values[0].flatMap({ Int($0) }), let b = values[1].flatMap({ Int($0) }) else { continue }
                if b == XenbusState.initWait.rawValue && f == XenbusState.initialising.rawValue {
                    let keys = Self.frontendKeys(kind: kind, index: n).map { (front + "/" + $0.0, $0.1) }
                    _ = try? conn.write(keys + [(front + "/state", (kind == "vif" ? XenbusState.connected : .initialised).text)],
                                        ifExists: front + "/state")
                    continue
                }
                let next: XenbusState?
                if b == XenbusState.connected.rawValue && f != XenbusState.connected.rawValue && f < XenbusState.closing.rawValue { next = .connected }
                else if b == XenbusState.closing.rawValue && f < XenbusState.closing.rawValue { next = .closed }
                else { next = nil }
                if let next { _ = try? conn.write([(front + "/state", next.text)], ifExists: front + "/state") }
            }
        }
    }

    /// What a Linux PV frontend writes before it leaves Initialising: the
    /// grant references and event channels (made-up numbers, distinct per
    /// device) and what it asks of its backend.
    static func frontendKeys(kind: String, index: Int) -> [(String, String)] {
        let ring = 8 + 2 * index, port = 10 + index
        switch kind {
        case "vbd":
            return [("ring-ref", "\(ring)"), ("event-channel", "\(port)"), ("protocol", "x86_64-abi"), ("feature-persistent", "1")]
        case "vif":
            return [("tx-ring-ref", "\(ring + 100)"), ("rx-ring-ref", "\(ring + 101)"), ("event-channel", "\(port + 20)"),
                    ("request-rx-copy", "1"), ("feature-rx-notify", "1"), ("feature-sg", "1"), ("feature-gso-tcpv4", "1"),
                    ("feature-gso-tcpv6", "1"), ("feature-ipv6-csum-offload", "1")]
        default:
            return []
        }
    }

    // MARK: the backend side (dom0)

    /// `/local/domain/0/backend/<kind>/<domid>/<devid>/...` changed.
    func playBackend(_ path: String) {
        let parts = path.split(separator: "/")
        // A frontend's state changed: look at its backend.
        if parts.count >= 7, parts[0] == "local", parts[3] == "device" {
            let front = "/" + parts[0..<6].joined(separator: "/")
            if let backend = (try? control.read(front + "/backend")) ?? nil { playBackend(backend + "/state") }
            return
        }
        // ["local","domain","0","backend",kind,domid,devid,...]
        guard parts.count >= 7, parts[2] == "0", parts[3] == "backend", parts[4] != "console" else { return }
        let dir = "/" + parts[0..<7].joined(separator: "/")
        guard let values = try? control.readMany([dir + "/state", dir + "/frontend"]),
              values.count == 2, let b = values[0].flatMap({ Int($0) }), let front = values[1] else { return }
        let f = (try? control.read(front + "/state")).flatMap { $0.flatMap { Int($0) } }
        // The toolstack plays the probe (InitWait) and the close (Closed)
        // through the simulated backends; here the backend connects once
        // its frontend has and its hotplug script has run (netback waits
        // for `hotplug-status=connected`; blkback has no device to serve
        // until the block script writes `physical-device`, just before
        // that), and closes when its frontend does. Connecting earlier
        // would also move the backend past InitWait before the toolstack
        // has seen it there, which fails the attach as on real Xen.
        let next: XenbusState?
        if b == XenbusState.initWait.rawValue, let f, f == XenbusState.initialised.rawValue || f == XenbusState.connected.rawValue {
            let ready = ((try? control.read(dir + "/hotplug-status")) ?? nil) == "connected"
            next = ready ? .connected : nil
        }
        else if b == XenbusState.connected.rawValue, let f, f >= XenbusState.closing.rawValue { next = .closed }
        else { next = nil }
        if let next { writeBackend(dir, [("state", next.text)]) }
    }

    /// Writes `keys` under the backend `dir` only while the backend exists,
    /// in one transaction: a create rolled back (a vif refused while
    /// attaching) removes the backend meanwhile, and a plain write would
    /// bring a node of it back.
    private func writeBackend(_ dir: String, _ keys: [(String, String)]) {
        _ = try? control.client.withTransaction { tx in
            guard try tx.exists(dir + "/frontend-id") else { return }
            for (key, value) in keys { try tx.write(dir + "/" + key, value) }
        }
    }

    // MARK: the guest script and the console

    func appendConsole(_ domid: UInt32, _ text: String) {
        if let console = guestConsoles[domid] { console.printKernel(text) } else { consoles.append(domid, text) }
    }

    /// Runs the guest's script with `XENSTORED_PATH` set to its socket, on
    /// its console's terminal (see ``SimulatedConsole``), or, without one,
    /// its output going straight to the guest's console log.
    func spawnScript(_ script: String, domid: UInt32) -> pid_t {
        // The script speaks as its domain, over the domain's own socket,
        // which the daemon opens when asked (it may open them all at
        // introduction: then this changes nothing).
        do {
            _ = try control.client.control("domain-socket", ["\(domid)"])
        } catch {
            appendConsole(domid, "swxl: cannot run \(DomainConfiguration.simGuestScriptKey) \(script): xenstored opened no socket for domain \(domid): \(error)\n")
            return 0
        }
        try? FileIO.makeDirectories(consoles.directory)
        try? FileIO.makeDirectories(sim.memoryDir(domid))
        let terminal = try? guestConsoles[domid]?.openGuestTerminal(epfd: epfd)
        defer { if let terminal { close(terminal) } }
        do {
            return try BackgroundProcess.spawn(
                executable: "/bin/sh", arguments: ["-c", script],
                environment: ["XENSTORED_PATH": paths.domainSocket(domid), "SWXL_DOMID": "\(domid)", "SWXL_FAULT": nil,
                              "SWXL_GUEST_MEMORY": sim.memoryDir(domid)],
                output: terminal.map { .terminal($0) } ?? .append(consoles.path(domid)))
        } catch {
            appendConsole(domid, "swxl: cannot run \(DomainConfiguration.simGuestScriptKey) \(script)\n")
            return 0
        }
    }

    func reapScripts() {
        var status: Int32 = 0
        while waitpid(-1, &status, WNOHANG) > 0 {}
    }

    // MARK: starting it

    /// Starts `argv` (the guest host command) detached, unless one runs.
    /// `environment` is what it runs with besides ours (the host's, when
    /// the host was opened with another: a library user's state dir).
    public static func ensureRunning(stateDir: String, argv: [String], environment: [String: String] = [:]) {
        if isRunning(stateDir: stateDir) { return }
        guard let pid = try? BackgroundProcess.spawn(executable: argv[0], arguments: Array(argv.dropFirst()),
                                                     environment: environment) else { return }
        // Reaped by nobody if we exit first; if we live on, do not leave a zombie.
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
    }
}
