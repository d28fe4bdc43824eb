import DomainConfig
#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import Toolstack
import XenStoreProtocol

/// The embedded host's hypervisor: a domain table in `<state>/hypervisor`
/// that outlives processes.
///
/// - `host.db`: SQLite (see ``StateDatabase``): the host (pCPUs, memory,
///   Domain-0's memory, the next domid, the memory given to domains) and
///   one row per domain. Every change is one write transaction, so
///   concurrent `swxl create`s never get the same domid;
/// - `console`: the hypervisor's console ring (`xl dmesg`).
///
/// Domids grow from 1 as Xen's do and are not reused until they wrap at
/// `DOMID_FIRST_RESERVED`. A running domain's cpu time grows at 1% of
/// wall-clock time per online vcpu (an idle guest, shown `-b----`).
public final class SimulatedHypervisor: Hypervisor {
    /// The host a fresh state dir starts with.
    public struct HostSpec: Sendable, Equatable {
        public var cpus: UInt32
        public var memoryKiB: UInt64
        public var dom0MemoryKiB: UInt64
        /// The scheduler of its one CPU pool (Xen 4.17's default is credit2).
        public var scheduler: Scheduler
        /// Whether the hypervisor has shadow paging (`shadow` in virt_caps),
        /// which a live save of a PV guest needs; Debian's Xen 4.17.7 has none.
        public var shadowPaging: Bool
        public init(cpus: UInt32 = 4, memoryKiB: UInt64 = 16 << 20, dom0MemoryKiB: UInt64 = 1 << 20,
                    scheduler: Scheduler = .credit2, shadowPaging: Bool = true) {
            self.cpus = cpus
            self.memoryKiB = memoryKiB
            self.dom0MemoryKiB = dom0MemoryKiB
            self.scheduler = scheduler
            self.shadowPaging = shadowPaging
        }

        /// `SWXL_SIM_CPUS`, `SWXL_SIM_MEMORY` (MiB) and `SWXL_SIM_SCHED`
        /// (credit or credit2, as Xen's `sched=`) over the defaults; read
        /// when the state dir is first used.
        public init(environment env: [String: String]) {
            self.init()
            if let v = env["SWXL_SIM_CPUS"].flatMap({ UInt32($0) }), v > 0 { cpus = v }
            if let v = env["SWXL_SIM_SCHED"].flatMap({ Scheduler(rawValue: $0) }), v == .credit || v == .credit2 { scheduler = v }
            if let v = env["SWXL_SIM_MEMORY"].flatMap({ UInt64($0) }), v > 0 { memoryKiB = v << 10 }
            // `SWXL_SIM_SHADOW=0`: a hypervisor without shadow paging (read by every process, not stored).
            if env["SWXL_SIM_SHADOW"] == "0" { shadowPaging = false }
            dom0MemoryKiB = min(dom0MemoryKiB, memoryKiB / 4)
        }
    }

    public let dir: String
    let hostSpec: HostSpec
    /// What the simulated device backends refuse (and which bridges they pretend).
    public let backends: SimulatedBackends
    private var database: StateDatabase?

    public init(dir: String, host: HostSpec = HostSpec(), backends: SimulatedBackends = SimulatedBackends()) {
        self.dir = dir
        self.hostSpec = host
        self.backends = backends
    }

    // MARK: records

    struct Host: Equatable {
        var cpus: UInt32
        var memoryKiB: UInt64
        var dom0MemoryKiB: UInt64
        var nextDomid: UInt32
        var usedKiB: UInt64
        var bootNs: UInt64

        static let columns = "cpus, memory_kib, dom0_kib, next_domid, used_kib, boot_ns"

        var values: [SQLValue] {
            [.int(Int64(cpus)), .int(Int64(memoryKiB)), .int(Int64(dom0MemoryKiB)), .int(Int64(nextDomid)),
             .int(Int64(usedKiB)), .int(Int64(bootNs))]
        }

        init(cpus: UInt32, memoryKiB: UInt64, dom0MemoryKiB: UInt64, nextDomid: UInt32, usedKiB: UInt64, bootNs: UInt64) {
            self.cpus = cpus
            self.memoryKiB = memoryKiB
            self.dom0MemoryKiB = dom0MemoryKiB
            self.nextDomid = nextDomid
            self.usedKiB = usedKiB
            self.bootNs = bootNs
        }

        init?(row: [SQLValue]) {
            let n = row.map { $0.int.map { UInt64(max($0, 0)) } }
            guard n.count == 6, let cpus = n[0], let memory = n[1], let dom0 = n[2], let next = n[3], let used = n[4],
                  let boot = n[5] else { return nil }
            self.init(cpus: UInt32(truncatingIfNeeded: cpus), memoryKiB: memory, dom0MemoryKiB: dom0,
                      nextDomid: UInt32(truncatingIfNeeded: next), usedKiB: used, bootNs: boot)
        }
    }

    struct Record: Equatable {
        var domid: UInt32
        var uuid: DomainUUID
        var type: DomainType
        var maxVCPUs: UInt32
        var onlineVCPUs: UInt32
        var maxMemoryKiB: UInt64
        var currentMemoryKiB: UInt64
        /// "paused", "running", "shutdown", "crashed".
        var state: String
        var reason: ShutdownReason?
        var cpuNs: UInt64
        /// When it last started running (wall ns), 0 when not running.
        var sinceNs: UInt64
        var built: Bool
        var kernel: String

        init(domid: UInt32, uuid: DomainUUID, type: DomainType, maxVCPUs: UInt32, maxMemoryKiB: UInt64) {
            self.domid = domid
            self.uuid = uuid
            self.type = type
            self.maxVCPUs = maxVCPUs
            self.onlineVCPUs = maxVCPUs
            self.maxMemoryKiB = maxMemoryKiB
            self.currentMemoryKiB = 0
            self.state = "paused"
            self.reason = nil
            self.cpuNs = 0
            self.sinceNs = 0
            self.built = false
            self.kernel = ""
        }

        static let columns = "domid, uuid, type, max_vcpus, online_vcpus, max_kib, cur_kib, state, reason, cpu_ns, since_ns, built, kernel"

        var values: [SQLValue] {
            [.int(Int64(domid)), .text(uuid.description), .text(type.rawValue), .int(Int64(maxVCPUs)),
             .int(Int64(onlineVCPUs)), .int(Int64(maxMemoryKiB)), .int(Int64(currentMemoryKiB)), .text(state),
             reason.map { .int(Int64($0.rawValue)) } ?? .null, .int(Int64(cpuNs)), .int(Int64(sinceNs)),
             .int(built ? 1 : 0), .text(kernel)]
        }

        init?(row: [SQLValue]) {
            guard row.count == 13, let domid = row[0].int, let uuid = row[1].text.flatMap({ DomainUUID($0) }),
                  let type = row[2].text.flatMap({ DomainType(rawValue: $0) }), let maxVCPUs = row[3].int,
                  let online = row[4].int, let maxKiB = row[5].int, let curKiB = row[6].int, let state = row[7].text,
                  let cpuNs = row[9].int, let sinceNs = row[10].int, let built = row[11].int, let kernel = row[12].text
            else { return nil }
            self.init(domid: UInt32(truncatingIfNeeded: domid), uuid: uuid, type: type,
                      maxVCPUs: UInt32(truncatingIfNeeded: maxVCPUs), maxMemoryKiB: UInt64(max(maxKiB, 0)))
            onlineVCPUs = UInt32(truncatingIfNeeded: online)
            currentMemoryKiB = UInt64(max(curKiB, 0))
            self.state = state
            reason = row[8].int.flatMap { UInt32(exactly: $0) }.flatMap { ShutdownReason(rawValue: $0) }
            self.cpuNs = UInt64(max(cpuNs, 0))
            self.sinceNs = UInt64(max(sinceNs, 0))
            self.built = built != 0
            self.kernel = kernel
        }

        func cpuTime(now: UInt64) -> UInt64 {
            guard state == "running", sinceNs > 0, now > sinceNs else { return cpuNs }
            return cpuNs + (now - sinceNs) / 100 * UInt64(max(onlineVCPUs, 1))
        }

        /// Stops the cpu clock (pause, shutdown).
        mutating func stopClock(now: UInt64) {
            cpuNs = cpuTime(now: now)
            sinceNs = 0
        }
    }

    public var consolePath: String { dir + "/console" }

    static let schema = """
        CREATE TABLE host(id INTEGER PRIMARY KEY CHECK (id = 1), cpus INTEGER NOT NULL, memory_kib INTEGER NOT NULL,
            dom0_kib INTEGER NOT NULL, next_domid INTEGER NOT NULL, used_kib INTEGER NOT NULL, boot_ns INTEGER NOT NULL);
        CREATE TABLE domain(domid INTEGER PRIMARY KEY, uuid TEXT NOT NULL, type TEXT NOT NULL,
            max_vcpus INTEGER NOT NULL, online_vcpus INTEGER NOT NULL, max_kib INTEGER NOT NULL, cur_kib INTEGER NOT NULL,
            state TEXT NOT NULL, reason INTEGER, cpu_ns INTEGER NOT NULL, since_ns INTEGER NOT NULL,
            built INTEGER NOT NULL, kernel TEXT NOT NULL);
        """ + schedulingSchema

    /// The schema's later versions (``StateDatabase``'s migrations):
    /// 2. domains by uuid through an index (``domainIDs(withUUID:)``, at
    ///    every destroy, read the whole table without it).
    static let migrations = [
        "CREATE INDEX IF NOT EXISTS domain_uuid ON domain(uuid)",
    ]

    /// The scheduler's state, in tables of their own so that a state dir
    /// from before them gains them on first use: vCPUs' affinity (NULL: all
    /// CPUs, Xen's default), domains' credit parameters (absent: Xen's
    /// defaults), and the pool's scheduler and parameters.
    static let schedulingSchema = """
        CREATE TABLE IF NOT EXISTS vcpu_affinity(domid INTEGER NOT NULL, vcpu INTEGER NOT NULL, hard TEXT, soft TEXT,
            PRIMARY KEY(domid, vcpu));
        CREATE TABLE IF NOT EXISTS credit(domid INTEGER PRIMARY KEY, weight INTEGER NOT NULL, cap INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS pool(id INTEGER PRIMARY KEY, scheduler TEXT NOT NULL, tslice_ms INTEGER NOT NULL,
            ratelimit_us INTEGER NOT NULL, migration_delay_us INTEGER NOT NULL);
        """

    /// The database, opened on first use; a fresh one gets the host and
    /// the boot banner on the console.
    private func db(_ operation: String) throws(HypervisorError) -> StateDatabase {
        if let database { return database }
        do {
            try FileIO.makeDirectories(dir)
        } catch {
            throw HypervisorError(operation, errno: error.errno, error.description)
        }
        do {
            var imported = false
            let opened = try StateDatabase(path: dir + "/host.db", schema: Self.schema, migrations: Self.migrations) { (db) throws(DatabaseError) in
                if let legacy = Self.legacyTable(dir) {
                    try db.query("INSERT INTO host(id, \(Host.columns)) VALUES(1, ?, ?, ?, ?, ?, ?)", legacy.host.values)
                    for record in legacy.domains {
                        try db.query("INSERT INTO domain(\(Record.columns)) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", record.values)
                    }
                    imported = true
                    return
                }
                let host = Host(cpus: hostSpec.cpus, memoryKiB: hostSpec.memoryKiB, dom0MemoryKiB: hostSpec.dom0MemoryKiB,
                                nextDomid: 1, usedKiB: 0, bootNs: SystemClock.realtimeNanoseconds())
                try db.query("INSERT INTO host(id, \(Host.columns)) VALUES(1, ?, ?, ?, ?, ?, ?)", host.values)
                let p = PoolSchedParams.initial
                try db.query("INSERT INTO pool VALUES(0, ?, ?, ?, ?)", [.text(hostSpec.scheduler.rawValue), .int(Int64(p.tsliceMs)),
                                                                       .int(Int64(p.ratelimitUs)), .int(Int64(p.migrationDelayUs))])
                let (major, minor, extra) = Self.versionNumbers
                FileIO.append(consolePath, """
                    (XEN) Xen version \(major).\(minor)\(extra) (swxl embedded host)
                    (XEN) Simulated host: \(host.cpus) CPUs, \(host.memoryKiB >> 10) MB RAM
                    (XEN) Dom0 has \(host.dom0MemoryKiB >> 10) MB

                    """)
            }
            if imported { for old in ["domains", "host", "lock"] { FileIO.removeTree(dir + "/" + old) } }
            // A state dir from before the scheduling tables gains them.
            if try opened.query("SELECT 1 FROM sqlite_master WHERE name = 'pool'").isEmpty {
                try opened.write({ $0 }) { () throws(DatabaseError) in
                    for statement in Self.schedulingSchema.split(separator: ";") where !statement.allSatisfy(\.isWhitespace) {
                        try opened.query(String(statement))
                    }
                }
            }
            database = opened
            return opened
        } catch {
            throw HypervisorError(operation, errno: EIO, error.description)
        }
    }

    /// The table as swxl kept it before `host.db`: a `host` file and a
    /// file per domain under `domains/`, each `key=value` lines. Read once,
    /// into a new database, so an older state dir keeps its domains.
    static func legacyTable(_ dir: String) -> (host: Host, domains: [Record])? {
        guard let text = FileIO.read(dir + "/host") else { return nil }
        let kv = parseKeyValues(text)
        func number(_ kv: [String: String], _ key: String) -> UInt64? { kv[key].flatMap { UInt64($0) } }
        guard let cpus = number(kv, "cpus"), let memory = number(kv, "memory_kib") else { return nil }
        let host = Host(cpus: UInt32(truncatingIfNeeded: cpus), memoryKiB: memory, dom0MemoryKiB: number(kv, "dom0_kib") ?? 0,
                        nextDomid: UInt32(truncatingIfNeeded: number(kv, "next_domid") ?? 1),
                        usedKiB: number(kv, "used_kib") ?? 0, bootNs: number(kv, "boot_ns") ?? SystemClock.realtimeNanoseconds())
        var domains: [Record] = []
        for name in FileIO.list(dir + "/domains") {
            guard let text = FileIO.read(dir + "/domains/" + name) else { continue }
            let kv = parseKeyValues(text)
            guard let domid = number(kv, "domid"), let uuid = kv["uuid"].flatMap({ DomainUUID($0) }),
                  let type = kv["type"].flatMap({ DomainType(rawValue: $0) }) else { continue }
            var r = Record(domid: UInt32(truncatingIfNeeded: domid), uuid: uuid, type: type,
                           maxVCPUs: UInt32(truncatingIfNeeded: number(kv, "max_vcpus") ?? 1), maxMemoryKiB: number(kv, "max_kib") ?? 0)
            r.onlineVCPUs = UInt32(truncatingIfNeeded: number(kv, "online_vcpus") ?? UInt64(r.maxVCPUs))
            r.currentMemoryKiB = number(kv, "cur_kib") ?? 0
            r.state = kv["state"] ?? "paused"
            r.reason = number(kv, "reason").flatMap { UInt32(exactly: $0) }.flatMap { ShutdownReason(rawValue: $0) }
            r.cpuNs = number(kv, "cpu_ns") ?? 0
            r.sinceNs = number(kv, "since_ns") ?? 0
            r.built = kv["built"] == "1"
            r.kernel = kv["kernel"] ?? ""
            domains.append(r)
        }
        return (host, domains.sorted { $0.domid < $1.domid })
    }

    /// Runs one statement of `operation`.
    @discardableResult
    private func sql(_ operation: String, _ text: String, _ arguments: [SQLValue] = []) throws(HypervisorError) -> [[SQLValue]] {
        let db = try db(operation)
        do { return try db.query(text, arguments) } catch {
            throw HypervisorError(operation, errno: EIO, "\(db.path): \(error)")
        }
    }

    private func loadHost(_ operation: String) throws(HypervisorError) -> Host {
        guard let host = try sql(operation, "SELECT \(Host.columns) FROM host WHERE id = 1").first.flatMap({ Host(row: $0) }) else {
            throw HypervisorError(operation, errno: EIO, "\(dir)/host.db: the host row is missing or damaged")
        }
        return host
    }

    /// Runs `body` in one write transaction with the host, writing it back if changed.
    private func locked<T>(_ operation: String, _ body: (inout Host) throws(HypervisorError) -> T) throws(HypervisorError) -> T {
        let db = try db(operation)
        return try db.write({ (e: DatabaseError) in HypervisorError(operation, errno: EIO, "\(db.path): \(e)") }) { () throws(HypervisorError) -> T in
            var host = try loadHost(operation)
            let before = host
            let result = try body(&host)
            if host != before {
                try sql(operation, "UPDATE host SET (\(Host.columns)) = (?, ?, ?, ?, ?, ?) WHERE id = 1", host.values)
            }
            return result
        }
    }

    func load(_ domid: UInt32, _ operation: String = "domain info") throws(HypervisorError) -> Record? {
        try sql(operation, "SELECT \(Record.columns) FROM domain WHERE domid = ?", [.int(Int64(domid))]).first.flatMap { Record(row: $0) }
    }

    private func store(_ record: Record, _ operation: String) throws(HypervisorError) {
        try sql(operation, "INSERT OR REPLACE INTO domain(\(Record.columns)) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", record.values)
    }

    func modify(_ domid: UInt32, _ operation: String,
                        _ body: (inout Record, inout Host) throws(HypervisorError) -> Void) throws(HypervisorError) {
        try locked(operation) { (host: inout Host) throws(HypervisorError) in
            guard var record = try load(domid, operation) else { throw Self.noSuchDomain(operation, domid) }
            let before = record
            try body(&record, &host)
            if record != before { try store(record, operation) }
        }
    }

    static func noSuchDomain(_ operation: String, _ domid: UInt32) -> HypervisorError {
        HypervisorError(operation, errno: ESRCH, "domain \(domid) does not exist: No such process")
    }

    static let versionNumbers = (4, 17, "-sim")

    // MARK: Hypervisor

    /// It runs every guest type (as processes), with Xen 4.17's grant table versions.
    static let virtCaps = ["pv", "hvm", "hap", "shadow", "gnttab-v1", "gnttab-v2"]

    public func version() throws(HypervisorError) -> HypervisorVersion {
        let (major, minor, extra) = Self.versionNumbers
        return HypervisorVersion(major: major, minor: minor, extra: extra,
                                 capabilities: "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64",
                                 changeset: "swxl embedded host", pageSize: 4096,
                                 virtStart: 0xffff_8000_0000_0000, compiler: "swxl simulated hypervisor")
    }

    public func physInfo() throws(HypervisorError) -> PhysInfo {
        let host = try loadHost("physinfo")
        let free = host.memoryKiB - min(host.memoryKiB, host.dom0MemoryKiB + host.usedKiB)
        return PhysInfo(cpus: host.cpus, threadsPerCore: 1, coresPerSocket: host.cpus, nodes: 1,
                        cpuKHz: 2_400_000, totalKiB: host.memoryKiB, freeKiB: free,
                        virtCaps: Self.virtCaps.filter { $0 != "shadow" || hostSpec.shadowPaging }, scheduler: "credit2")
    }

    /// One socket of `cpus` cores, one node holding all the memory (the
    /// distance to itself 10, as ACPI's SLIT says), no PCI device.
    public func topology() throws(HypervisorError) -> HostTopology {
        let phys = try physInfo()
        return HostTopology(cpus: (0..<phys.cpus).map { HostTopology.CPU(core: $0, socket: 0, node: 0) },
                            nodes: [HostTopology.Node(size: phys.totalKiB << 10, free: phys.freeKiB << 10, distances: [10])],
                            pciDevices: [])
    }

    public func createDomain(_ spec: DomainCreateSpec) throws(HypervisorError) -> UInt32 {
        let op = "create domain"
        guard spec.maxVCPUs >= 1 else { throw HypervisorError(op, errno: EINVAL, "max_vcpus must be at least 1: Invalid argument") }
        return try locked(op) { (host: inout Host) throws(HypervisorError) -> UInt32 in
            let free = host.memoryKiB - min(host.memoryKiB, host.dom0MemoryKiB + host.usedKiB)
            if spec.maxMemoryKiB > free {
                throw HypervisorError(op, errno: ENOMEM,
                    "xc_dom_boot_mem_init: can't allocate low memory for domain: Out of memory (needs \(spec.maxMemoryKiB) kB, \(free) kB free)")
            }
            guard let domid = try nextFreeDomid(&host) else {
                throw HypervisorError(op, errno: ENOSPC, "no free domain id: No space left on device")
            }
            let record = Record(domid: domid, uuid: spec.uuid, type: spec.type, maxVCPUs: spec.maxVCPUs,
                                maxMemoryKiB: spec.maxMemoryKiB)
            try store(record, op)
            host.usedKiB += spec.maxMemoryKiB
            return domid
        }
    }

    private func nextFreeDomid(_ host: inout Host) throws(HypervisorError) -> UInt32? {
        var candidate = host.nextDomid
        for _ in 0..<Int(XSDomid.firstReserved) {
            if candidate == 0 || candidate >= XSDomid.firstReserved { candidate = 1 }
            if try sql("create domain", "SELECT 1 FROM domain WHERE domid = ?", [.int(Int64(candidate))]).isEmpty {
                host.nextDomid = candidate + 1
                return candidate
            }
            candidate += 1
        }
        return nil
    }

    public func setMaxMemory(domid: UInt32, kib: UInt64) throws(HypervisorError) {
        try modify(domid, "set max memory") { (r: inout Record, host: inout Host) throws(HypervisorError) in
            if kib > r.maxMemoryKiB {
                let free = host.memoryKiB - min(host.memoryKiB, host.dom0MemoryKiB + host.usedKiB)
                if kib - r.maxMemoryKiB > free {
                    throw HypervisorError("set max memory", errno: ENOMEM, "not enough free memory: Out of memory")
                }
            }
            host.usedKiB = host.usedKiB - r.maxMemoryKiB + kib
            r.maxMemoryKiB = kib
            r.currentMemoryKiB = min(r.currentMemoryKiB, kib)
        }
    }

    public func setMaxVCPUs(domid: UInt32, count: UInt32) throws(HypervisorError) {
        try modify(domid, "set max vcpus") { (r: inout Record, _: inout Host) throws(HypervisorError) in
            guard count >= 1 else { throw HypervisorError("set max vcpus", errno: EINVAL, "Invalid argument") }
            r.maxVCPUs = count
            r.onlineVCPUs = min(r.onlineVCPUs, count)
        }
    }

    public func build(domid: UInt32, spec: BuildSpec) throws(HypervisorError) -> BuildResult {
        let op = "build domain"
        var result = BuildResult(storePort: 1, storeMFN: 0, consolePort: 2, consoleMFN: 0)
        try modify(domid, op) { (r: inout Record, _: inout Host) throws(HypervisorError) in
            do { try KernelImage.check(path: spec.kernelPath, type: r.type) } catch {
                throw HypervisorError(op, errno: EINVAL, "\(error)")
            }
            if let ramdisk = spec.ramdiskPath, !ramdisk.isEmpty, !FileIO.exists(ramdisk) {
                throw HypervisorError(op, errno: ENOENT, "ramdisk \(ramdisk): No such file or directory")
            }
            guard spec.memoryKiB <= r.maxMemoryKiB else {
                throw HypervisorError(op, errno: ENOMEM, "memory \(spec.memoryKiB) kB is more than maxmem \(r.maxMemoryKiB) kB: Out of memory")
            }
            r.currentMemoryKiB = spec.memoryKiB
            // The simulated kernel brings up the vcpus it was told to at boot.
            if let online = spec.onlineVCPUs { r.onlineVCPUs = max(1, min(online, r.maxVCPUs)) }
            r.built = true
            r.kernel = spec.kernelPath
            result = Self.ringPages(domid)
        }
        return result
    }

    /// The store and console pages and ports of a built domain. Page
    /// frames in the simulated host: distinct per domain, as real MFNs are.
    static func ringPages(_ domid: UInt32) -> BuildResult {
        let base = 0x10_0000 + UInt64(domid) * 0x1_0000
        return BuildResult(storePort: 1, storeMFN: base + 0xff_fe, consolePort: 2, consoleMFN: base + 0xff_ff)
    }

    /// The simulated backends play dom0's kernel and Xen's hotplug scripts (see ``SimulatedBackends``).
    public var deviceBackends: any DeviceBackends { backends }

    /// The simulated guests are 64-bit PV kernels.
    public func nativeProtocol(domid: UInt32) -> String? { "x86_64-abi" }

    public func pause(domid: UInt32) throws(HypervisorError) {
        try modify(domid, "pause") { (r: inout Record, _: inout Host) throws(HypervisorError) in
            // As Xen counts pauses of a suspended domain: it stays paused once resumed.
            if r.state == "shutdown", r.reason == .suspend {
                try? FileIO.makeDirectories(guestDir(domid))
                try? FileIO.writeAtomically(guestDir(domid) + "/paused-on-resume", "")
                return
            }
            guard r.state == "running" || r.state == "paused" else {
                throw HypervisorError("pause", errno: EINVAL, "domain \(domid) is not running: Invalid argument")
            }
            r.stopClock(now: SystemClock.realtimeNanoseconds())
            r.state = "paused"
        }
    }

    public func unpause(domid: UInt32) throws(HypervisorError) {
        try modify(domid, "unpause") { (r: inout Record, _: inout Host) throws(HypervisorError) in
            guard r.built else { throw HypervisorError("unpause", errno: EINVAL, "domain \(domid) has not been built: Invalid argument") }
            guard r.state == "paused" || r.state == "running" else {
                throw HypervisorError("unpause", errno: EINVAL, "domain \(domid) has shut down: Invalid argument")
            }
            if r.state == "paused" {
                r.state = "running"
                r.sinceNs = SystemClock.realtimeNanoseconds()
            }
        }
    }

    public func shutdown(domid: UInt32, reason: ShutdownReason) throws(HypervisorError) {
        try modify(domid, "shutdown") { (r: inout Record, _: inout Host) throws(HypervisorError) in
            guard r.state != "shutdown" && r.state != "crashed" else { return }
            r.stopClock(now: SystemClock.realtimeNanoseconds())
            r.state = reason == .crash ? "crashed" : "shutdown"
            r.reason = reason
        }
        FileIO.append(consolePath, "(XEN) Domain \(domid) shutdown: \(reason.name)\n")
    }

    public func destroy(domid: UInt32) throws(HypervisorError) {
        try locked("destroy") { (host: inout Host) throws(HypervisorError) in
            guard let record = try load(domid, "destroy") else { throw Self.noSuchDomain("destroy", domid) }
            try sql("destroy", "DELETE FROM domain WHERE domid = ?", [.int(Int64(domid))])
            try sql("destroy", "DELETE FROM vcpu_affinity WHERE domid = ?", [.int(Int64(domid))])
            try sql("destroy", "DELETE FROM credit WHERE domid = ?", [.int(Int64(domid))])
            host.usedKiB -= min(host.usedKiB, record.maxMemoryKiB)
        }
        // Its memory goes with it.
        FileIO.removeTree(guestDir(domid))
    }

    public func domainInfo(domid: UInt32) throws(HypervisorError) -> DomainInfo? {
        if domid == 0 { return try dom0Info() }
        return try load(domid).map { info($0, now: SystemClock.realtimeNanoseconds()) }
    }

    public func listDomains() throws(HypervisorError) -> [DomainInfo] {
        let now = SystemClock.realtimeNanoseconds()
        let rows = try sql("list domains", "SELECT \(Record.columns) FROM domain ORDER BY domid")
        var out = [try dom0Info()]
        out.reserveCapacity(rows.count + 1)
        for row in rows { if let r = Record(row: row) { out.append(info(r, now: now)) } }
        return out
    }

    /// One query for one uuid, through the index on `uuid`: the whole list
    /// (10,000 rows parsed), and then a scan of the table, made every
    /// destroy slower the more domains ran.
    static let domainsByUUID = "SELECT domid FROM domain WHERE uuid = ? ORDER BY domid"

    public func domainIDs(withUUID uuid: DomainUUID) throws(HypervisorError) -> [UInt32] {
        if uuid == (try dom0Info()).uuid { return [0] }
        return try sql("domains by uuid", Self.domainsByUUID, [.text(uuid.description)])
            .compactMap { $0.first?.int.map { UInt32($0) } }
    }

    /// The domids of the domains other than Domain-0.
    func domainIDs() -> [UInt32] {
        ((try? sql("list domains", "SELECT domid FROM domain ORDER BY domid")) ?? []).compactMap { $0.first?.int.map { UInt32($0) } }
    }

    public func vcpuInfo(domid: UInt32) throws(HypervisorError) -> [VCPUInfo] {
        guard let d = try domainInfo(domid: domid) else { throw Self.noSuchDomain("vcpu info", domid) }
        let cpus = try physInfo().cpus
        let running = !(d.paused || d.shutdown || d.crashed)
        let affinity = try affinities(domid: domid, cpus: cpus)
        return (0..<d.maxVCPUs).map { v in
            let online = v < d.onlineVCPUs
            let (hard, soft) = affinity[v] ?? (CPUSet.all(cpus), CPUSet.all(cpus))
            // It runs on one of the CPUs it may use.
            let cpu = hard.cpus.isEmpty ? v % max(cpus, 1) : hard.cpus[Int(v) % hard.cpus.count]
            return VCPUInfo(vcpu: v, cpu: online ? cpu : nil, online: online,
                            running: online && domid == 0 && v == 0, blocked: online && running && !(domid == 0 && v == 0),
                            cpuTimeNs: online ? d.cpuTimeNs / UInt64(max(d.onlineVCPUs, 1)) : 0,
                            hardAffinity: hard, softAffinity: soft)
        }
    }

    public func readConsoleRing(clear: Bool) throws(HypervisorError) -> String {
        _ = try physInfo()  // makes sure the host (and its boot banner) exists
        let text = FileIO.read(consolePath) ?? ""
        if clear { _ = try? FileIO.writeAtomically(consolePath, "") }
        return text
    }

    // MARK: scheduling

    /// The vCPUs' affinity that differs from Xen's default, by vCPU.
    private func affinities(domid: UInt32, cpus: UInt32) throws(HypervisorError) -> [UInt32: (CPUSet, CPUSet)] {
        let rows = try sql("vcpu affinity", "SELECT vcpu, hard, soft FROM vcpu_affinity WHERE domid = ?", [.int(Int64(domid))])
        func set(_ value: SQLValue) -> CPUSet {
            guard let text = value.text else { return CPUSet.all(cpus) }
            return CPUSet(text.split(separator: ",").compactMap { UInt32($0) })
        }
        var out: [UInt32: (CPUSet, CPUSet)] = [:]
        for row in rows { if let v = row[0].int { out[UInt32(v)] = (set(row[1]), set(row[2])) } }
        return out
    }

    /// The most vCPUs of a domain (Domain-0 has one per host CPU); ESRCH when there is no such domain.
    private func maxVCPUs(_ domid: UInt32, _ operation: String) throws(HypervisorError) -> UInt32 {
        guard let d = try domainInfo(domid: domid) else { throw Self.noSuchDomain(operation, domid) }
        return d.maxVCPUs
    }

    /// As Xen's `vcpu_affinity_domctl`: a vCPU the domain does not have,
    /// or a hard affinity with none of the pool's CPUs, is refused; CPUs
    /// beyond the host's are dropped.
    public func setVCPUAffinity(domid: UInt32, vcpu: UInt32, hard: CPUSet?, soft: CPUSet?, force: Bool) throws(HypervisorError) {
        let op = "Setting vcpu affinity"
        try locked(op) { (host: inout Host) throws(HypervisorError) in
            guard vcpu < (try maxVCPUs(domid, op)) else { throw HypervisorError(op, errno: EINVAL, "Invalid argument") }
            let hard = hard?.below(host.cpus), soft = soft?.below(host.cpus)
            if let hard, hard.isEmpty { throw HypervisorError(op, errno: EINVAL, "Invalid argument") }
            let current = try affinities(domid: domid, cpus: host.cpus)[vcpu] ?? (CPUSet.all(host.cpus), CPUSet.all(host.cpus))
            let all = CPUSet.all(host.cpus)
            func text(_ s: CPUSet) -> SQLValue { s == all ? .null : .text(s.description) }
            try sql(op, "INSERT OR REPLACE INTO vcpu_affinity VALUES(?, ?, ?, ?)",
                    [.int(Int64(domid)), .int(Int64(vcpu)), text(hard ?? current.0), text(soft ?? current.1)])
        }
    }

    private func pool0(_ operation: String) throws(HypervisorError) -> (Scheduler, PoolSchedParams) {
        guard let row = try sql(operation, "SELECT scheduler, tslice_ms, ratelimit_us, migration_delay_us FROM pool WHERE id = 0").first,
              let scheduler = row[0].text.flatMap({ Scheduler(rawValue: $0) }),
              let t = row[1].int, let r = row[2].int, let m = row[3].int
        else { return (.credit2, .initial) }  // a state dir from before pools: Xen's defaults
        return (scheduler, PoolSchedParams(tsliceMs: Int(t), ratelimitUs: Int(r), migrationDelayUs: Int(m)))
    }

    /// One pool, 0, of every CPU.
    public func cpuPools() throws(HypervisorError) -> [CPUPoolInfo] {
        let host = try loadHost("cpupool info")
        return [CPUPoolInfo(id: 0, scheduler: try pool0("cpupool info").0, cpus: CPUSet.all(host.cpus))]
    }

    /// Xen's scheduler refuses another scheduler's operations (EINVAL).
    private func checkScheduler(_ scheduler: Scheduler, _ operation: String) throws(HypervisorError) {
        guard try pool0(operation).0 == scheduler else { throw HypervisorError(operation, errno: EINVAL, "Invalid argument") }
    }

    public func creditParams(domid: UInt32, scheduler: Scheduler) throws(HypervisorError) -> CreditParams {
        let op = "Getting domain sched \(scheduler.rawValue)"
        _ = try maxVCPUs(domid, op)
        try checkScheduler(scheduler, op)
        guard let row = try sql(op, "SELECT weight, cap FROM credit WHERE domid = ?", [.int(Int64(domid))]).first,
              let weight = row[0].int, let cap = row[1].int else { return .initial }
        return CreditParams(weight: Int(weight), cap: Int(cap))
    }

    /// As Xen's credit schedulers: 16-bit values, a weight of 0 leaves the
    /// weight as it is, and credit2 refuses a cap above 100 per vCPU.
    public func setCreditParams(domid: UInt32, scheduler: Scheduler, _ params: CreditParams) throws(HypervisorError) {
        let op = "Setting domain sched \(scheduler.rawValue)"
        try locked(op) { (_: inout Host) throws(HypervisorError) in
            let vcpus = try maxVCPUs(domid, op)
            var current = try creditParams(domid: domid, scheduler: scheduler)
            guard (0...0xffff).contains(params.weight), (0...0xffff).contains(params.cap),
                  scheduler != .credit2 || params.cap <= Int(vcpus) * 100
            else { throw HypervisorError(op, errno: EINVAL, "Invalid argument") }
            if params.weight != 0 { current.weight = params.weight }
            current.cap = params.cap
            try sql(op, "INSERT OR REPLACE INTO credit VALUES(?, ?, ?)",
                    [.int(Int64(domid)), .int(Int64(current.weight)), .int(Int64(current.cap))])
        }
    }

    public func poolSchedParams(pool: UInt32, scheduler: Scheduler) throws(HypervisorError) -> PoolSchedParams {
        let op = "getting \(scheduler == .credit ? "Credit" : "Credit2") scheduler parameters"
        guard pool == 0 else { throw HypervisorError(op, errno: ENOENT, "No such file or directory") }
        try checkScheduler(scheduler, op)
        return try pool0(op).1
    }

    /// Xen checks the bounds as libxl does (EINVAL).
    public func setPoolSchedParams(pool: UInt32, scheduler: Scheduler, _ params: PoolSchedParams) throws(HypervisorError) {
        let op = "Setting \(scheduler == .credit ? "Credit" : "Credit2") scheduler parameters"
        guard pool == 0 else { throw HypervisorError(op, errno: ENOENT, "No such file or directory") }
        try locked(op) { (_: inout Host) throws(HypervisorError) in
            try checkScheduler(scheduler, op)
            var p = try pool0(op).1
            let ratelimitOK = params.ratelimitUs == 0 || PoolSchedParams.ratelimitRange.contains(params.ratelimitUs)
            if scheduler == .credit {
                guard PoolSchedParams.tsliceRange.contains(params.tsliceMs), ratelimitOK,
                      params.ratelimitUs <= params.tsliceMs * 1000,
                      (0...PoolSchedParams.migrationDelayMaxUs).contains(params.migrationDelayUs)
                else { throw HypervisorError(op, errno: EINVAL, "Invalid argument") }
                p = params
            } else {
                guard ratelimitOK else { throw HypervisorError(op, errno: EINVAL, "Invalid argument") }
                p.ratelimitUs = params.ratelimitUs
            }
            try sql(op, "INSERT OR REPLACE INTO pool VALUES(0, ?, ?, ?, ?)",
                    [.text(scheduler.rawValue), .int(Int64(p.tsliceMs)), .int(Int64(p.ratelimitUs)), .int(Int64(p.migrationDelayUs))])
        }
    }

    // MARK: simulated-guest hooks (for SimGuestHost; not part of the Hypervisor protocol)

    /// The guest's balloon driver reached `kib`.
    func setCurrentMemory(domid: UInt32, kib: UInt64) throws(HypervisorError) {
        try modify(domid, "set memory") { (r: inout Record, _: inout Host) throws(HypervisorError) in
            r.currentMemoryKiB = min(kib, r.maxMemoryKiB)
        }
    }

    /// The guest brought vcpus on or off line.
    func setOnlineVCPUs(domid: UInt32, count: UInt32) throws(HypervisorError) {
        try modify(domid, "set vcpus") { (r: inout Record, _: inout Host) throws(HypervisorError) in
            let now = SystemClock.realtimeNanoseconds()
            r.stopClock(now: now)
            if r.state == "running" { r.sinceNs = now }
            r.onlineVCPUs = max(1, min(count, r.maxVCPUs))
        }
    }

    /// Writes a line to the hypervisor's console ring.
    func log(_ line: String) { FileIO.append(consolePath, "(XEN) " + line + "\n") }

    private func dom0Info() throws(HypervisorError) -> DomainInfo {
        let host = try loadHost("domain info")
        let now = SystemClock.realtimeNanoseconds()
        let cpu = now > host.bootNs ? (now - host.bootNs) / 50 : 0
        return DomainInfo(domid: 0, uuid: DomainUUID(bytes: [UInt8](repeating: 0, count: 16))!, running: true,
                          currentMemoryKiB: host.dom0MemoryKiB, maxMemoryKiB: host.dom0MemoryKiB,
                          onlineVCPUs: host.cpus, maxVCPUs: host.cpus, cpuTimeNs: cpu)
    }

    private func info(_ r: Record, now: UInt64) -> DomainInfo {
        DomainInfo(domid: r.domid, uuid: r.uuid, running: false, blocked: r.state == "running",
                   paused: r.state == "paused", shutdown: r.state == "shutdown" || r.state == "crashed",
                   dying: false, crashed: r.state == "crashed", shutdownReason: r.reason,
                   currentMemoryKiB: r.currentMemoryKiB, maxMemoryKiB: r.maxMemoryKiB,
                   onlineVCPUs: r.onlineVCPUs, maxVCPUs: r.maxVCPUs, cpuTimeNs: r.cpuTime(now: now))
    }
}
