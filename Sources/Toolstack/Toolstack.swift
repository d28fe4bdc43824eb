#if canImport(Glibc)
import Glibc
#endif
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
/// Besides the hypervisor and xenstore, the toolstack keeps its own files
/// under `<state>/toolstack`:
/// - `names/<name>`: the domid holding a name (created O_EXCL: two creates
///   can never take the same name);
/// - `domains/<domid>`: the plan the domain was created from (for
///   `list -l`, restarts and the on_* actions);
/// - `journal/<pid>-<n>`: a create in progress, locked by its process; a
///   journal nobody holds is a create that died, and the next command
///   undoes what it had done;
/// - `console/<domid>.log`: what the simulated guest wrote to its console.
public final class Toolstack {
    public let hypervisor: any Hypervisor
    public let store: any StoreAccess
    public let stateDir: String
    public var faults: FaultInjection
    /// Called as each create step completes (the benchmark times steps with it).
    public var onStep: ((CreateStep) -> Void)? = nil

    public init(hypervisor: any Hypervisor, store: any StoreAccess, stateDir: String,
                faults: FaultInjection = FaultInjection()) {
        self.hypervisor = hypervisor
        self.store = store
        self.stateDir = stateDir
        self.faults = faults
    }

    var toolstackDir: String { stateDir + "/toolstack" }
    var namesDir: String { toolstackDir + "/names" }
    var recordsDir: String { toolstackDir + "/domains" }
    var journalDir: String { toolstackDir + "/journal" }
    public var consoleDir: String { toolstackDir + "/console" }
    public func consoleLog(_ domid: UInt32) -> String { consoleDir + "/\(domid).log" }
    func namePath(_ name: String) -> String { namesDir + "/" + name }
    func recordPath(_ domid: UInt32) -> String { recordsDir + "/\(domid)" }

    private func ensureDirs() throws(ToolstackError) {
        do {
            for d in [namesDir, recordsDir, journalDir, consoleDir] { try FileIO.makeDirectories(d) }
        } catch {
            throw .system(error.description)
        }
    }

    // MARK: create

    /// Creates, builds, records and (unless `paused`) starts a domain.
    /// All or nothing: on any failure every completed step is undone.
    public func create(_ plan: DomainPlan, paused: Bool = false) throws(ToolstackError) -> UInt32 {
        if let problem = DomainPlan.validateName(plan.name) { throw .invalidPlan(problem) }
        guard plan.uuid.count == 16 else { throw .invalidPlan("the uuid must be 16 bytes") }
        guard plan.memoryMiB > 0 else { throw .invalidPlan("memory must be more than 0 MB") }
        try ensureDirs()
        let journal = try Journal(dir: journalDir)
        var undo: [() -> Void] = []
        func rollback() {
            for step in undo.reversed() { step() }
            journal.finish()
        }
        do {
            // 1. The name.
            try reserveName(plan.name)
            journal.note("name=\(plan.name)")
            undo.append { [self] in unlink(namePath(plan.name)) }
            try faults.check(.reserveName)
            onStep?(.reserveName)

            // 2. The domain.
            let domid: UInt32
            do {
                domid = try hypervisor.createDomain(DomainCreateSpec(uuid: plan.uuid, type: plan.type,
                    maxVCPUs: plan.maxVCPUs, maxMemoryKiB: plan.maxMemoryMiB << 10))
            } catch { throw ToolstackError.hypervisor(error) }
            journal.note("domid=\(domid)\nuuid=\(DomainHandle.format(plan.uuid))")
            undo.append { [self] in try? hypervisor.destroy(domid: domid) }
            try faults.check(.createDomain)
            onStep?(.createDomain)

            // 3. Limits and 4. build.
            let built: BuildResult
            do {
                try hypervisor.setMaxMemory(domid: domid, kib: plan.maxMemoryMiB << 10)
                try hypervisor.setMaxVCPUs(domid: domid, count: plan.maxVCPUs)
                try faults.check(.limits)
            onStep?(.limits)
                built = try hypervisor.build(domid: domid, spec: BuildSpec(kernelPath: plan.kernel,
                    ramdiskPath: plan.ramdisk, commandLine: plan.cmdline, memoryKiB: plan.memoryMiB << 10))
                // A simulated kernel brings up its `vcpus` at boot (a real one
                // reads cpu/<n>/availability).
                if let sim = hypervisor as? SimulatedHypervisor {
                    try sim.setOnlineVCPUs(domid: domid, count: plan.vcpus)
                }
            } catch let e as HypervisorError {
                throw ToolstackError.hypervisor(e)
            }
            try faults.check(.build)
            onStep?(.build)

            // 5. The xenstore layout.
            let nodes = StoreLayout.nodes(domid: domid, plan: plan, build: built, startTimeNs: nowNanoseconds())
            undo.append { [self] in try? removeStoreNodes(domid: domid, plan: plan) }
            do {
                try store.commit(removals: StoreLayout.roots(domid: domid, uuid: plan.uuid), writes: nodes)
            } catch { throw ToolstackError.store(error) }
            try faults.check(.store)
            onStep?(.store)

            // 6. Introduce.
            undo.append { [self] in try? store.release(domid: domid) }
            do { try store.introduce(domid: domid, mfn: built.storeMFN, port: built.storePort) } catch {
                throw ToolstackError.store(error)
            }
            try faults.check(.introduce)
            onStep?(.introduce)

            // 7. Our record.
            undo.append { [self] in
                unlink(recordPath(domid))
                unlink(consoleLog(domid))
            }
            do {
                try FileIO.overwrite(recordPath(domid), plan.encoded)
                try FileIO.overwrite(namePath(plan.name), "\(domid)\n")
            } catch { throw ToolstackError.system(error.description) }
            try faults.check(.record)
            onStep?(.record)

            // 8. Run.
            if !paused {
                do { try hypervisor.unpause(domid: domid) } catch { throw ToolstackError.hypervisor(error) }
            }
            try faults.check(.unpause)
            onStep?(.unpause)
            journal.finish()
            return domid
        } catch let error as ToolstackError {
            rollback()
            throw error
        } catch {
            rollback()
            throw .system("\(error)")
        }
    }

    private func reserveName(_ name: String) throws(ToolstackError) {
        let fd = open(namePath(name), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd >= 0 {
            close(fd)
            return
        }
        if errno == EEXIST {
            // A name left by a domain that no longer exists is free again.
            if let id = FileIO.read(namePath(name)).flatMap({ UInt32($0.trimmingNewline) }),
               (try? hypervisor.domainInfo(domid: id)) ?? nil == nil {
                unlink(namePath(name))
                return try reserveName(name)
            }
            let id = FileIO.read(namePath(name)).flatMap { UInt32($0.trimmingNewline) }
            throw .nameInUse(name, domid: id ?? 0)
        }
        throw .system(SystemError("reserve name \(name)").description)
    }

    /// Removes every node of a domain: its three roots and its backends.
    func removeStoreNodes(domid: UInt32, plan: DomainPlan?, uuid: [UInt8]? = nil) throws(StoreError) {
        var removals = [XSPath.domainPath(domid), "/libxl/\(domid)"]
        if let uuid = plan?.uuid ?? uuid { removals.append("/vm/" + DomainHandle.format(uuid)) }
        else if let vm = try store.read(XSPath.domainPath(domid) + "/vm"), vm.hasPrefix("/vm/") { removals.append(vm) }
        var backends: Set<String> = [StoreLayout.backendRoot(backendDomid: 0, kind: "console", domid: domid)]
        for d in plan?.disks ?? [] { backends.insert(StoreLayout.backendRoot(backendDomid: d.backendDomid, kind: d.backendKind, domid: domid)) }
        for v in plan?.vifs ?? [] { backends.insert(StoreLayout.backendRoot(backendDomid: v.backendDomid, kind: "vif", domid: domid)) }
        if plan == nil || plan!.vkbs > 0 { backends.insert(StoreLayout.backendRoot(backendDomid: 0, kind: "vkbd", domid: domid)) }
        if plan == nil || plan!.vfbs > 0 { backends.insert(StoreLayout.backendRoot(backendDomid: 0, kind: "vfb", domid: domid)) }
        if plan == nil {
            for kind in try store.directory("/local/domain/0/backend") {
                backends.insert(StoreLayout.backendRoot(backendDomid: 0, kind: kind, domid: domid))
            }
        }
        try store.commit(removals: removals + backends.sorted(), writes: [])
    }

    // MARK: destroy

    /// Destroys a domain and removes everything recorded about it.
    public func destroy(domid: UInt32) throws(ToolstackError) {
        guard domid != 0 else { throw .invalidPlan("Domain-0 cannot be destroyed") }
        let plan = record(domid)
        let exists = (try? hypervisor.domainInfo(domid: domid)) ?? nil != nil
        guard exists || plan != nil else { throw .noSuchDomain("\(domid)") }
        do {
            try removeStoreNodes(domid: domid, plan: plan)
            try store.release(domid: domid)
        } catch { throw .store(error) }
        if exists {
            do { try hypervisor.destroy(domid: domid) } catch where error.errno != ESRCH { throw .hypervisor(error) } catch {}
        }
        if let plan, FileIO.read(namePath(plan.name)).flatMap({ UInt32($0.trimmingNewline) }) == domid {
            unlink(namePath(plan.name))
        }
        unlink(recordPath(domid))
        unlink(consoleLog(domid))
    }

    // MARK: looking domains up

    /// Whether this toolstack has created domains that still exist (one directory read).
    public var hasRecordedDomains: Bool { !FileIO.list(recordsDir).isEmpty }

    /// The plan a domain was created from, if this toolstack created it.
    public func record(_ domid: UInt32) -> DomainPlan? {
        FileIO.read(recordPath(domid)).flatMap { DomainPlan(encoded: $0) }
    }

    /// A domid from a name or a domid, as xl accepts either.
    public func resolve(_ identifier: String) throws(ToolstackError) -> UInt32 {
        if !identifier.isEmpty, identifier.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let id = UInt32(identifier) {
            guard (try? hypervisor.domainInfo(domid: id)) ?? nil != nil else { throw .noSuchDomain(identifier) }
            return id
        }
        if identifier == "Domain-0" { return 0 }
        if let id = FileIO.read(namePath(identifier)).flatMap({ UInt32($0.trimmingNewline) }),
           (try? hypervisor.domainInfo(domid: id)) ?? nil != nil {
            return id
        }
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
        guard domid != 0 else { throw .invalidPlan("Domain-0 cannot be shut down by swxl") }
        do { try store.write(XSPath.domainPath(domid) + "/control/shutdown", reason) } catch { throw .store(error) }
    }

    /// Waits until the domain has shut down or is gone; false on timeout.
    public func waitForShutdown(domid: UInt32, timeoutSeconds: Double) -> Bool {
        let deadline = nowNanoseconds() + UInt64(timeoutSeconds * 1e9)
        while nowNanoseconds() < deadline {
            guard let info = (try? hypervisor.domainInfo(domid: domid)) ?? nil else { return true }
            if info.shutdown || info.dying { return true }
            usleep(10_000)
        }
        return false
    }

    public func pause(domid: UInt32) throws(ToolstackError) {
        do { try hypervisor.pause(domid: domid) } catch { throw .hypervisor(error) }
    }

    public func unpause(domid: UInt32) throws(ToolstackError) {
        do { try hypervisor.unpause(domid: domid) } catch { throw .hypervisor(error) }
    }

    /// Renames a domain in xenstore (`/local/domain/<id>/name`, `/vm/<uuid>/name`).
    public func rename(domid: UInt32, to newName: String) throws(ToolstackError) {
        if let problem = DomainPlan.validateName(newName) { throw .invalidPlan(problem) }
        try ensureDirs()
        try reserveName(newName)
        var plan = record(domid)
        let oldName = plan?.name ?? ((try? store.read(XSPath.domainPath(domid) + "/name")) ?? nil)
        do {
            var writes = [StoreNode]()
            let ro = XSPermissions([XSPermission(.none, 0), XSPermission(.read, domid)])!
            writes.append(StoreNode(XSPath.domainPath(domid) + "/name", newName, ro))
            if let vm = try store.read(XSPath.domainPath(domid) + "/vm") { writes.append(StoreNode(vm + "/name", newName, ro)) }
            try store.commit(removals: [], writes: writes)
        } catch {
            unlink(namePath(newName))
            throw .store(error)
        }
        _ = try? FileIO.writeAtomically(namePath(newName), "\(domid)\n")
        if let oldName { unlink(namePath(oldName)) }
        if plan != nil {
            plan!.name = newName
            _ = try? FileIO.writeAtomically(recordPath(domid), plan!.encoded)
        }
    }

    /// Sets the balloon target (`memory/target`), as `xl mem-set` does.
    public func setMemoryTarget(domid: UInt32, mib: UInt64) throws(ToolstackError) {
        let info = try self.info(domid).info
        guard mib << 10 <= info.maxMemoryKiB else {
            throw .invalidPlan("memory_dynamic_max must be less than or equal to memory_static_max")
        }
        do { try store.write(XSPath.domainPath(domid) + "/memory/target", "\(mib << 10)") } catch { throw .store(error) }
    }

    /// Sets the most memory a domain may have, as `xl mem-max` does.
    public func setMemoryMax(domid: UInt32, mib: UInt64) throws(ToolstackError) {
        do {
            try hypervisor.setMaxMemory(domid: domid, kib: mib << 10)
        } catch { throw .hypervisor(error) }
        do { try store.write(XSPath.domainPath(domid) + "/memory/static-max", "\(mib << 10)") } catch { throw .store(error) }
    }

    /// Brings vcpus on or off line (`cpu/<n>/availability`), as `xl vcpu-set` does.
    public func setVCPUs(domid: UInt32, count: UInt32) throws(ToolstackError) {
        let info = try self.info(domid).info
        guard count >= 1, count <= info.maxVCPUs else {
            throw .invalidPlan("Requested vcpus (\(count)) is out of range 1..\(info.maxVCPUs)")
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

    /// What happens after a domain shut down for `reason`, per its on_* setting.
    /// Returns the new domid on restart.
    @discardableResult
    public func applyShutdownAction(domid: UInt32, reason: ShutdownReason) throws(ToolstackError) -> UInt32? {
        guard let plan = record(domid) else { return nil }
        switch plan.action(for: reason).effective {
        case .preserve:
            return nil
        case .destroy:
            try destroy(domid: domid)
            return nil
        case .restart, .renameRestart:
            try destroy(domid: domid)
            return try create(plan)
        default:
            try destroy(domid: domid)
            return nil
        }
    }

    // MARK: recovery

    /// Undoes creates that died midway (their journal is not locked by a
    /// live process). Cheap when there are none: one directory read.
    public func recoverInterruptedCreates() {
        for entry in FileIO.list(journalDir) where !entry.hasSuffix(".tmp") {
            let path = journalDir + "/" + entry
            let fd = open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }  // its create is still running
            let kv = parseKeyValues(FileIO.read(path) ?? "")
            if let domid = kv["domid"].flatMap({ UInt32($0) }) {
                // Without its record, every backend kind is searched.
                try? removeStoreNodes(domid: domid, plan: record(domid), uuid: kv["uuid"].flatMap { DomainHandle.parse($0) })
                try? store.release(domid: domid)
                try? hypervisor.destroy(domid: domid)
                unlink(recordPath(domid))
                unlink(consoleLog(domid))
            }
            if let name = kv["name"] {
                let holder = FileIO.read(namePath(name)).flatMap { UInt32($0.trimmingNewline) }
                if holder == nil || holder == kv["domid"].flatMap({ UInt32($0) }) { unlink(namePath(name)) }
            }
            unlink(path)
        }
    }
}

/// A create in progress: a file holding what has been done, locked by
/// the creating process for as long as it lives.
final class Journal {
    let path: String
    private let fd: Int32

    init(dir: String) throws(ToolstackError) {
        var seq = 0
        var p = ""
        var f: Int32 = -1
        repeat {
            p = dir + "/\(getpid())-\(seq)"
            f = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_APPEND, 0o644)
            seq += 1
        } while f < 0 && errno == EEXIST && seq < 1000
        guard f >= 0 else { throw .system(SystemError("create journal \(p)").description) }
        flock(f, LOCK_EX)
        path = p
        fd = f
    }

    func note(_ line: String) {
        var bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Done (or rolled back): the journal goes.
    private var finished = false

    func finish() {
        guard !finished else { return }
        finished = true
        unlink(path)
        close(fd)
    }
}

extension String {
    var trimmingNewline: String {
        var s = Substring(self)
        while let last = s.last, last == "\n" || last == " " || last == "\r" { s = s.dropLast() }
        return String(s)
    }
}
