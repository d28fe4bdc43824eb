import DomainConfig
#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import XenStoreProtocol

/// A domain as `swxl list` shows it.
public struct DomainSummary: Sendable, Equatable {
    public var info: DomainInfo
    public var name: String
    public init(info: DomainInfo, name: String) {
        self.info = info
        self.name = name
    }
}

/// The domain lifecycle over any `Hypervisor` and xenstore: the same code
/// path writes the same layout on real Xen and on the embedded host.
///
/// Besides the hypervisor and xenstore, the toolstack keeps its own state
/// under `<state>/toolstack`:
/// - `toolstack.db`: names, the resolved configs domains were created from,
///   and the journal of creates in progress (see ``ToolstackState``).
///
/// What a host keeps per domain beyond that (the embedded host's console
/// logs) it removes in ``onDomainForgotten``.
public final class Toolstack {
    public let hypervisor: any Hypervisor
    public let store: any StoreAccess
    public let stateDir: String
    public var faults: FaultInjection
    /// How long device backends are waited for (see ``addDevices(_:)``).
    public var deviceTimeouts = DeviceTimeouts()
    /// How long a save waits for the guest to suspend (libxl's 60 s and 60 s).
    public var suspendTimeouts = SuspendTimeouts()
    /// How long a restore that runs the guest waits, before the unpause,
    /// for the console daemon to show it has connected to the console
    /// (see ``waitForConsoleDaemon(domid:)``); 0: not at all.
    public var consoleConnectTimeoutMs = 0
    /// Called as each create step completes (the benchmark times steps with it).
    public var onStep: ((CreateStep) -> Void)? = nil
    /// Called when the toolstack has forgotten a domain (destroyed, a
    /// create rolled back, an interrupted create undone), so that the host
    /// removes what it keeps per domain: the embedded host its console log.
    public var onDomainForgotten: ((UInt32) -> Void)? = nil

    public init(hypervisor: any Hypervisor, store: any StoreAccess, stateDir: String,
                faults: FaultInjection = FaultInjection()) {
        self.hypervisor = hypervisor
        self.store = store
        self.stateDir = stateDir
        self.faults = faults
    }

    var toolstackDir: String { stateDir + "/toolstack" }
    /// Names, records and the create journal.
    lazy var state = ToolstackState(dir: toolstackDir)

    private func domainExists(_ domid: UInt32) -> Bool { (try? hypervisor.domainInfo(domid: domid)) ?? nil != nil }

    // MARK: create

    /// Creates, builds, records and (unless `paused`) starts a domain from
    /// `config`, resolved first (see ``DomainConfiguration/resolved(randomMAC:currentDirectory:)``).
    /// All or nothing: on any failure every completed step is undone.
    public func create(_ config: DomainConfiguration, paused: Bool = false) throws(ToolstackError) -> UInt32 {
        try create(config, paused: paused, image: nil)
    }

    /// Create, or (with `image`) restore: the domain is filled by `image`
    /// instead of being built from its kernel; everything else is create's,
    /// rollback included.
    /// With `managed`, the managed domain of that uuid is started (see
    /// Toolstack+Managed.swift): refused if it is no longer defined.
    /// With `waitForConsole` (a restore), the unpause waits for the console
    /// daemon (``waitForConsoleDaemon(domid:)``).
    func create(_ config: DomainConfiguration, paused: Bool,
                image: ((UInt32) throws(HypervisorError) -> BuildResult)?, managed: Bool = false,
                waitForConsole: Bool = false) throws(ToolstackError) -> UInt32 {
        let config = try config.resolved()
        try checkDevices(config)
        let name = config.name_label
        let maxVCPUs = UInt32(clamping: config.VCPUs_max)
        // 1. The name, with the journal that undoes this create if it dies.
        let journal = try state.beginCreate(name: name, uuid: config.uuid, managed: managed, domainExists: domainExists)
        var undo: [() throws -> Void] = [{ [self] in try state.releaseName(name) }]
        func rollback() {
            var undone = true
            for step in undo.reversed() {
                do { try step() } catch { undone = false }
            }
            // What could not be undone (xenstore gone for good) stays in
            // the journal: the next command, finding this process gone,
            // undoes it (``recoverInterruptedCreates()``).
            if undone { state.endCreate(journal: journal) }
        }
        do {
            try faults.check(.reserveName)
            onStep?(.reserveName)

            // 2. The domain.
            let domid: UInt32
            do {
                domid = try hypervisor.createDomain(DomainCreateSpec(uuid: config.uuid, type: config.type,
                    maxVCPUs: maxVCPUs, maxMemoryKiB: config.maxmemMiB << 10))
            } catch { throw ToolstackError.hypervisor(error) }
            // The domain goes before xenstored is told: xenconsoled, woken by
            // @releaseDomain, then finds it dying and lets its console go
            // (told first, it would keep the console page mapped, and the
            // domain would linger, dying).
            undo.append { [self] in
                try hypervisor.destroy(domid: domid)
                try store.release(domid: domid)
            }
            try state.noteDomain(journal: journal, domid: domid, uuid: config.uuid)
            try faults.check(.createDomain)
            onStep?(.createDomain)

            // 3. Limits and 4. build.
            let built: BuildResult
            do {
                try hypervisor.setMaxMemory(domid: domid, kib: (config.memoryMiB << 10) + Self.maxMemorySlackKiB)
                try hypervisor.setMaxVCPUs(domid: domid, count: maxVCPUs)
                // As libxl's build: the vCPUs' affinity once their number is set.
                try applyAffinity(domid: domid, config: config)
                try faults.check(.limits)
            onStep?(.limits)
                if let image {
                    built = try image(domid)
                } else {
                    built = try hypervisor.build(domid: domid, spec: BuildSpec(kernelPath: config.PV_kernel ?? "",
                        ramdiskPath: config.PV_ramdisk, commandLine: config.PV_args ?? "", memoryKiB: config.memoryMiB << 10,
                        onlineVCPUs: UInt32(clamping: config.VCPUs_at_startup)))
                }
            } catch let e as HypervisorError {
                throw ToolstackError.hypervisor(e)
            }
            // As libxl's build_post: the scheduler's parameters once built.
            try applySchedParams(domid: domid, config: config)
            try faults.check(.build)
            onStep?(.build)

            // 5. The xenstore layout with the console's nodes, in one
            // transaction before INTRODUCE (libxl writes the console after
            // it): xenconsoled, woken by @introduceDomain, then finds the
            // console whole and connects at once, while the domain is still
            // paused, instead of once the guest may already be writing
            // (its notifications before xenconsoled binds the event
            // channel are dropped, and its output waits for the next one).
            let nodes = StoreLayout.nodes(domid: domid, config: config, build: built, startTimeNs: SystemClock.realtimeNanoseconds())
                + StoreLayout.consoleNodes(domid: domid, build: built)
            undo.append { [self] in try removeStoreNodes(domid: domid, config: config) }
            do {
                try store.commit(removals: StoreLayout.roots(domid: domid, uuid: config.uuid), writes: nodes)
            } catch { throw ToolstackError.store(error) }
            try faults.check(.store)
            onStep?(.store)

            // 6. Introduce (undone with the domain, above).
            do { try store.introduce(domid: domid, mfn: built.storeMFN, port: built.storePort) } catch {
                throw ToolstackError.store(error)
            }
            try faults.check(.introduce)
            onStep?(.introduce)

            // 7. As libxl: the disks, then the networks (and keyboards,
            // framebuffers); their scripts side by side. (The console went
            // with the layout, above.)
            undo.append { [self] in removeDevices(devicesInStore(domid: domid)) }
            let devices = DeviceEntry.all(domid: domid, config: config, protocol: hypervisor.nativeProtocol(domid: domid))
            try addDevices(devices.filter { $0.handle.kind == "vbd" } + devices.filter { $0.handle.kind != "vbd" })
            try faults.check(.devices)
            onStep?(.devices)

            // 8. Our record.
            undo.append { [self] in
                try state.forget(domid: domid, name: nil)
                onDomainForgotten?(domid)
            }
            try state.record(config, domid: domid)
            try faults.check(.record)
            onStep?(.record)

            // 9. Run.
            if !paused {
                if waitForConsole { try waitForConsoleDaemon(domid: domid) }
                do { try hypervisor.unpause(domid: domid) } catch { throw ToolstackError.hypervisor(error) }
                announceRunState(domid: domid, "running")
            }
            try faults.check(.unpause)
            onStep?(.unpause)
            state.endCreate(journal: journal)
            return domid
        } catch let error as ToolstackError {
            rollback()
            throw error
        } catch {
            rollback()
            throw .system("\(error)")
        }
    }

    /// Waits, at most ``consoleConnectTimeoutMs``, until the console daemon
    /// has published the console's tty (`console/tty`, written empty with
    /// the layout): xenconsoled writes it once it has bound the console's
    /// event channel. A restored guest prints as soon as it runs, and a
    /// notification it sends before the daemon has bound the channel is
    /// lost: what it printed waits in the ring for its next one (measured
    /// in the QEMU harness: xenconsoled bound 70-90 ms after an unpause
    /// that did not wait, and the first line came up to 100 ms late).
    /// libxl waits for the tty too (10 s, and fails the create without
    /// it); swxl runs the guest anyway once the time is up: its console
    /// is then only late.
    func waitForConsoleDaemon(domid: UInt32) throws(ToolstackError) {
        guard consoleConnectTimeoutMs > 0 else { return }
        let tty = XSPath.domainPath(domid) + "/console/tty"
        let connected: Bool
        do {
            connected = try store.wait(for: [tty], timeoutMs: consoleConnectTimeoutMs) { !($0[0] ?? "").isEmpty }
        } catch { throw .store(error) }
        PhaseTrace.mark(connected ? "console daemon connected" : "console daemon not connected in \(consoleConnectTimeoutMs) ms")
    }

    /// Refuses, before anything is written, the devices libxl would refuse
    /// while choosing their backends (``DiskBackendChoice``) and those the
    /// host's backends cannot serve (``DeviceBackends/check(_:)``).
    func checkDevices(_ config: DomainConfiguration) throws(ToolstackError) {
        do {
            try DiskBackendChoice.check(config)
            // The entries as they will be written (the domid does not matter to the checks).
            for entry in DeviceEntry.all(domid: 0, config: config, protocol: nil) {
                try hypervisor.deviceBackends.check(entry)
            }
        } catch { throw .hypervisor(error) }
    }

    /// Removes every node of a domain: its three roots and its backends
    /// (without its config, every backend kind is searched).
    func removeStoreNodes(domid: UInt32, config: DomainConfiguration?, uuid: DomainUUID? = nil) throws(StoreError) {
        var removals = [XSPath.domainPath(domid), "/libxl/\(domid)"]
        // `/vm/<uuid>` stays while another domain has the uuid (the other
        // end of a migration to this host, until it has gone).
        let shared = { [self] (id: DomainUUID) -> Bool in
            ((try? hypervisor.domainIDs(withUUID: id)) ?? []).contains { $0 != domid }
        }
        if let uuid = config?.uuid ?? uuid {
            if !shared(uuid) { removals.append("/vm/" + uuid.description) }
        } else if let vm = try store.read(XSPath.domainPath(domid) + "/vm"), vm.hasPrefix("/vm/") {
            if !(DomainUUID(String(vm.dropFirst(4))).map(shared) ?? false) { removals.append(vm) }
        }
        var backends: Set<String> = [StoreLayout.backendRoot(backendDomid: 0, kind: "console", domid: domid)]
        for d in config?.disks ?? [] { backends.insert(StoreLayout.backendRoot(backendDomid: d.backendDomid, kind: d.backendKind, domid: domid)) }
        for v in config?.vifs ?? [] { backends.insert(StoreLayout.backendRoot(backendDomid: v.backendDomid, kind: "vif", domid: domid)) }
        if config.map({ !$0.vkbs.isEmpty }) ?? true { backends.insert(StoreLayout.backendRoot(backendDomid: 0, kind: "vkbd", domid: domid)) }
        if config.map({ !$0.vfbs.isEmpty }) ?? true { backends.insert(StoreLayout.backendRoot(backendDomid: 0, kind: "vfb", domid: domid)) }
        if config == nil {
            for kind in try store.directory("/local/domain/0/backend") {
                backends.insert(StoreLayout.backendRoot(backendDomid: 0, kind: kind, domid: domid))
            }
        }
        try store.commit(removals: removals + backends.sorted(), writes: [])
    }

    // MARK: destroy

    /// Destroys a domain and removes everything recorded about it.
    public func destroy(domid: UInt32) throws(ToolstackError) {
        guard domid != 0 else { throw .invalid("Domain-0 cannot be destroyed") }
        let config = record(domid)
        let exists = (try? hypervisor.domainInfo(domid: domid)) ?? nil != nil
        guard exists || config != nil else { throw .noSuchDomain("\(domid)") }
        // As libxl: the domain paused, then each device torn down (its script run), then the rest.
        if exists { try? hypervisor.pause(domid: domid) }
        removeDevices(devicesInStore(domid: domid))
        PhaseTrace.mark("destroy: devices removed")
        do { try removeStoreNodes(domid: domid, config: config) } catch { throw .store(error) }
        PhaseTrace.mark("destroy: xenstore nodes removed")
        // The domain first, then xenstored (see `create`'s undo): xenconsoled lets a dying domain's console go.
        if exists {
            do { try hypervisor.destroy(domid: domid) } catch where error.errno != ESRCH { throw .hypervisor(error) } catch {}
        }
        PhaseTrace.mark("destroy: domain destroyed in the hypervisor")
        do { try store.release(domid: domid) } catch { throw .store(error) }
        try state.forget(domid: domid, name: config?.name_label)
        PhaseTrace.mark("destroy: released and forgotten")
        onDomainForgotten?(domid)
    }

    // MARK: looking domains up

    /// Whether this toolstack has created domains that still exist.
    public var hasRecordedDomains: Bool { state.hasRecords }

    /// The resolved config a domain was created from, if this toolstack created it.
    public func record(_ domid: UInt32) -> DomainConfiguration? { state.config(domid) }

    /// Every domain's record, by domid (one query; for listing many).
    public func records() -> [UInt32: DomainConfiguration] { state.configs() }

    /// A domid from a name or a domid, as xl accepts either.
    public func resolve(_ identifier: String) throws(ToolstackError) -> UInt32 {
        if !identifier.isEmpty, identifier.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let id = UInt32(identifier) {
            guard (try? hypervisor.domainInfo(domid: id)) ?? nil != nil else { throw .noSuchDomain(identifier) }
            return id
        }
        if identifier == "Domain-0" { return 0 }
        if let id = state.domid(named: identifier), domainExists(id) { return id }
        // Domains this toolstack did not create: look their names up in xenstore.
        for summary in try list() where summary.name == identifier { return summary.info.domid }
        throw .noSuchDomain(identifier)
    }

    /// Every domain with its name, Domain-0 first.
    public func list() throws(ToolstackError) -> [DomainSummary] {
        let infos: [DomainInfo]
        do { infos = try hypervisor.listDomains() } catch { throw .hypervisor(error) }
        let names: [String?]
        do { names = try store.readMany(infos.map { XSPath.domainPath($0.domid) + "/name" }) } catch { throw .store(error) }
        return zip(infos, names).map { info, name in
            DomainSummary(info: info, name: name ?? (info.domid == 0 ? "Domain-0" : "(null)"))
        }
    }

    public func info(_ domid: UInt32) throws(ToolstackError) -> DomainSummary {
        let info: DomainInfo?
        do { info = try hypervisor.domainInfo(domid: domid) } catch { throw .hypervisor(error) }
        guard let info else { throw .noSuchDomain("\(domid)") }
        let name = (try? store.read(XSPath.domainPath(domid) + "/name")) ?? nil
        return DomainSummary(info: info, name: name ?? (domid == 0 ? "Domain-0" : "(null)"))
    }

    // MARK: control

    /// Asks the guest to shut down (`control/shutdown`), as `xl shutdown` does.
    public func requestShutdown(domid: UInt32, reason: String) throws(ToolstackError) {
        guard domid != 0 else { throw .invalid("Domain-0 cannot be shut down by swxl") }
        do { try store.write(XSPath.domainPath(domid) + "/control/shutdown", reason) } catch { throw .store(error) }
    }

    /// Sends a magic SysRq key to the guest's kernel, as libxl does
    /// (`control/sysrq`, which the guest empties when it takes the key).
    public func sendSysrq(domid: UInt32, key: Character) throws(ToolstackError) {
        do { try store.write(XSPath.domainPath(domid) + "/control/sysrq", String(key)) } catch { throw .store(error) }
    }

    /// Waits until the domain has shut down or is gone; false on timeout.
    public func waitForShutdown(domid: UInt32, timeoutSeconds: Double) -> Bool {
        let deadline = SystemClock.realtimeNanoseconds() + UInt64(timeoutSeconds * 1e9)
        while SystemClock.realtimeNanoseconds() < deadline {
            guard let info = (try? hypervisor.domainInfo(domid: domid)) ?? nil else { return true }
            if info.shutdown || info.dying { return true }
            usleep(10_000)
        }
        return false
    }

    /// Waits until the domain no longer exists (xl's `shutdown -ww`);
    /// false if it still does after `timeoutSeconds`.
    public func waitForDeath(domid: UInt32, timeoutSeconds: Double) -> Bool {
        let deadline = SystemClock.realtimeNanoseconds() + UInt64(timeoutSeconds * 1e9)
        while SystemClock.realtimeNanoseconds() < deadline {
            if !domainExists(domid) { return true }
            usleep(10_000)
        }
        return !domainExists(domid)
    }

    public func pause(domid: UInt32) throws(ToolstackError) {
        do { try hypervisor.pause(domid: domid) } catch { throw .hypervisor(error) }
        announceRunState(domid: domid, "paused")
    }

    public func unpause(domid: UInt32) throws(ToolstackError) {
        do { try hypervisor.unpause(domid: domid) } catch { throw .hypervisor(error) }
        announceRunState(domid: domid, "running")
    }

    /// Where the toolstack announces a change of a domain's run state that
    /// xenstore would not otherwise show (a pause, an unpause, a create's
    /// final unpause), so that a watcher (`swxl serve`'s event hub) looks
    /// at once: `/libxl/<domid>/run-state`, in the domain's toolstack
    /// directory (the guest cannot see it), written (`running`, `paused`)
    /// and removed at once: a watch fires for both, and nothing stays (the
    /// directory keeps xl's layout).
    public static func runStatePath(domid: UInt32) -> String { "/libxl/\(domid)/run-state" }

    /// Announces at ``runStatePath(domid:)``, if the domain has a toolstack
    /// directory (one that another toolstack made may have none, and none
    /// is made for it). Only a notification: the change is made, and a
    /// watcher that misses it sees it at its next look at the hypervisor,
    /// so a failure to write it is not an error.
    func announceRunState(domid: UInt32, _ state: String) {
        guard (try? store.read("/libxl/\(domid)")) ?? nil != nil else { return }
        try? store.write(Self.runStatePath(domid: domid), state)
        try? store.remove(Self.runStatePath(domid: domid))
    }

    /// Renames a domain in xenstore (`/local/domain/<id>/name`, `/vm/<uuid>/name`).
    public func rename(domid: UInt32, to newName: String) throws(ToolstackError) {
        if let problem = DomainConfiguration.validateName(newName) { throw .invalid(problem) }
        // Domain 0's name is not among the names this toolstack keeps, and is never free.
        if newName == "Domain-0" { throw .nameInUse(newName, domid: 0) }
        var config = record(domid)
        try state.reserveName(newName, for: domid, uuid: config?.uuid, domainExists: domainExists)
        let oldName = config?.name_label ?? ((try? store.read(XSPath.domainPath(domid) + "/name")) ?? nil)
        do {
            var writes = [StoreNode]()
            let ro = XSPermissions([XSPermission(.none, 0), XSPermission(.read, domid)])!
            writes.append(StoreNode(XSPath.domainPath(domid) + "/name", newName, ro))
            if let vm = try store.read(XSPath.domainPath(domid) + "/vm") { writes.append(StoreNode(vm + "/name", newName, ro)) }
            try store.commit(removals: [], writes: writes)
        } catch {
            try? state.releaseName(newName, heldBy: domid)
            throw .store(error)
        }
        config?.name_label = newName
        try state.renamed(domid: domid, from: oldName, to: newName, config: config)
    }

    /// What libxl adds to a domain's memory for the hypervisor's limit
    /// (`LIBXL_MAXMEM_CONSTANT` on x86): the guest may hold that much more
    /// than its balloon target before the toolstack raises the limit.
    public static let maxMemorySlackKiB: UInt64 = 1024

    /// Sets the balloon target (`memory/target`), as `xl mem-set` does: at
    /// most `memory/static-max`, and the hypervisor's limit follows the
    /// target (libxl's `enforce`).
    public func setMemoryTarget(domid: UInt32, mib: UInt64) throws(ToolstackError) {
        let dom = XSPath.domainPath(domid)
        _ = try self.info(domid)
        guard let staticMax = try memoryKiB(dom + "/memory/static-max") else {
            throw .invalid("cannot get memory info from \(dom)/memory/static-max")
        }
        guard mib << 10 <= staticMax else {
            throw .invalid("memory_dynamic_max must be less than or equal to memory_static_max")
        }
        do { try hypervisor.setMaxMemory(domid: domid, kib: (mib << 10) + Self.maxMemorySlackKiB) } catch { throw .hypervisor(error) }
        do { try store.write(dom + "/memory/target", "\(mib << 10)") } catch { throw .store(error) }
    }

    /// Sets the most memory a domain may have, as `xl mem-max` does: not
    /// below its balloon target; the hypervisor's limit is it plus libxl's slack.
    public func setMemoryMax(domid: UInt32, mib: UInt64) throws(ToolstackError) {
        let dom = XSPath.domainPath(domid)
        _ = try self.info(domid)
        guard let target = try memoryKiB(dom + "/memory/target") else {
            throw .invalid("cannot get memory info from \(dom)/memory/target")
        }
        guard mib << 10 >= target else {
            throw .invalid("memory_static_max must be greater than or or equal to memory_dynamic_max")
        }
        do { try hypervisor.setMaxMemory(domid: domid, kib: (mib << 10) + Self.maxMemorySlackKiB) } catch { throw .hypervisor(error) }
        do { try store.write(dom + "/memory/static-max", "\(mib << 10)") } catch { throw .store(error) }
    }

    /// A KiB figure the toolstack keeps in xenstore; nil if it is missing or not a number.
    private func memoryKiB(_ path: String) throws(ToolstackError) -> UInt64? {
        do { return try store.read(path).flatMap { UInt64($0) } } catch { throw .store(error) }
    }

    /// Brings vcpus on or off line (`cpu/<n>/availability`), as `xl vcpu-set` does.
    public func setVCPUs(domid: UInt32, count: UInt32) throws(ToolstackError) {
        let info = try self.info(domid).info
        guard count >= 1, count <= info.maxVCPUs else {
            throw .invalid("Requested vcpus (\(count)) is out of range 1..\(info.maxVCPUs)")
        }
        let dom = XSPath.domainPath(domid)
        let ro = XSPermissions([XSPermission(.none, 0), XSPermission(.read, domid)])!
        let nodes = (0..<info.maxVCPUs).map { StoreNode(dom + "/cpu/\($0)/availability", $0 < count ? "online" : "offline", ro) }
        do { try store.commit(removals: [], writes: nodes) } catch { throw .store(error) }
    }

    /// Seconds since the domain started (`/vm/<uuid>/start_time`).
    public func startTime(domid: UInt32) -> Double? {
        guard let vm = (try? store.read(XSPath.domainPath(domid) + "/vm")) ?? nil,
              let text = (try? store.read(vm + "/start_time")) ?? nil else { return nil }
        return Double(text)
    }

    /// The lock a `create -F` process holds while it follows the domain
    /// `uuid` (across restarts) and carries out its on_* actions itself, as
    /// xl's foreground create does; whoever does it for the other domains
    /// (the monitor, the simulated guests' host) leaves that one alone.
    public func followerLockPath(_ uuid: DomainUUID) -> String { stateDir + "/toolstack/follow-\(uuid).lock" }

    /// Whether a `create -F` process follows the domain `uuid`.
    public func isFollowed(_ uuid: DomainUUID) -> Bool { LockFile.isHeld(followerLockPath(uuid)) }

    /// What happens after a domain shut down for `reason`, per its on_* setting.
    /// Returns the new domid on restart. Nothing is done for a domain a
    /// `create -F` follows, unless that process asks (`byFollower`).
    @discardableResult
    public func applyShutdownAction(domid: UInt32, reason: ShutdownReason, byFollower: Bool = false) throws(ToolstackError) -> UInt32? {
        // A suspended domain waits for whoever suspended it (a save, a
        // migration), as xl's monitor leaves it ("Domain has suspended.").
        guard reason != .suspend, let config = record(domid) else { return nil }
        if !byFollower && isFollowed(config.uuid) { return nil }
        switch config.action(for: reason).effective {
        case .preserve:
            return nil
        case .destroy:
            try destroy(domid: domid)
            return nil
        case .restart, .renameRestart:
            try destroy(domid: domid)
            return try create(config)
        default:
            try destroy(domid: domid)
            return nil
        }
    }

    // MARK: recovery

    /// Undoes creates that died midway (their process is gone). Cheap
    /// when there are none: one query.
    public func recoverInterruptedCreates() {
        for create in state.interruptedCreates() where state.adopt(create) {
            if let domid = create.domid {
                removeDevices(devicesInStore(domid: domid))
                // Without its record, every backend kind is searched.
                let removed = (try? removeStoreNodes(domid: domid, config: record(domid), uuid: create.uuid)) != nil
                try? hypervisor.destroy(domid: domid)
                let released = (try? store.release(domid: domid)) != nil
                // Until xenstore has let the domain go, the journal keeps it for the next command.
                guard removed && released else { continue }
                try? state.forget(domid: domid, name: nil)
                onDomainForgotten?(domid)
            }
            state.abandon(create)
        }
    }
}
