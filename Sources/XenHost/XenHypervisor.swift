import XenStoreProtocol
import Toolstack
import CXen
import DomainConfig
import Glibc
import Logging
import SwxlSystem

/// The `Hypervisor` protocol on real Xen, through the CXen bridge over
/// libxenctrl and libxenguest. Needs `/dev/xen/privcmd`, i.e. a dom0 (root).
///
/// Xen's own log messages go to swift-log under the label `swxl.xen`,
/// never straight to stderr.
public final class XenHypervisor: Hypervisor {
    let handle: OpaquePointer
    /// Where unpacked copies of compressed kernels are kept (nil: none).
    public let kernelCache: String?

    /// Opens the hypervisor interface; fails when this is not a Xen dom0
    /// or we may not use it. `kernelCache` keeps unpacked kernels so that
    /// a create does not inflate the same kernel again (see docs/real-xen.md).
    public init(kernelCache: String? = XenKernelCache.defaultDirectory(environment: CurrentProcess.environment())) throws(HypervisorError) {
        self.kernelCache = kernelCache
        var h: OpaquePointer?
        let rc = cxen_open(&h, xenLogMessage)
        guard rc == 0, let h else {
            let e = -rc
            let hint = e == EACCES || e == EPERM ? " (swxl must run as root on a Xen host)" : ""
            throw HypervisorError("open hypervisor", errno: e,
                                  "cannot open the Xen hypervisor interface (/dev/xen/privcmd): \(errnoText(e))\(hint)")
        }
        handle = h
    }

    deinit { cxen_close(handle) }

    // MARK: host

    public func version() throws(HypervisorError) -> HypervisorVersion {
        var v = cxen_version()
        try check(cxen_version(handle, &v), "version")
        return HypervisorVersion(
            major: Int(v.major), minor: Int(v.minor), extra: cString(&v.extra),
            capabilities: cString(&v.capabilities), changeset: cString(&v.changeset),
            pageSize: v.pagesize, virtStart: v.virt_start, commandLine: cString(&v.commandline),
            compiler: cString(&v.compiler), compiledBy: cString(&v.compile_by),
            compileDomain: cString(&v.compile_domain), compileDate: cString(&v.compile_date),
            buildID: cString(&v.build_id))
    }

    public func physInfo() throws(HypervisorError) -> PhysInfo {
        var p = try fullPhysInfo()
        let pageKiB: UInt64 = 4
        return PhysInfo(cpus: p.nr_cpus, threadsPerCore: p.threads_per_core,
                        coresPerSocket: p.cores_per_socket, nodes: p.nr_nodes, cpuKHz: p.cpu_khz,
                        totalKiB: p.total_pages * pageKiB,
                        freeKiB: (p.free_pages - min(p.free_pages, p.outstanding_pages)) * pageKiB,
                        maxCPUID: p.max_cpu_id,
                        hwCaps: withUnsafeBytes(of: &p.hw_cap) { Array($0.bindMemory(to: UInt32.self)) },
                        virtCaps: Self.virtCapNames(p.capabilities), scheduler: cString(&p.scheduler),
                        outstandingKiB: p.outstanding_pages * pageKiB,
                        sharingFreedKiB: p.sharing_freed_pages * pageKiB,
                        sharingUsedKiB: p.sharing_used_frames * pageKiB, freeCPUs: p.free_cpus)
    }

    /// The capability bits in the words and order of Xen 4.17's `xl info`
    /// (directio is said per guest kind that has it).
    static func virtCapNames(_ caps: UInt32) -> [String] {
        func has(_ flag: Int) -> Bool { caps & UInt32(flag) != 0 }
        let pv = has(CXEN_CAP_PV), hvm = has(CXEN_CAP_HVM), directio = has(CXEN_CAP_DIRECTIO)
        var words: [(Bool, String)] = [(pv, "pv"), (hvm, "hvm"), (hvm && directio, "hvm_directio"),
                                        (pv && directio, "pv_directio")]
        words += [(has(CXEN_CAP_HAP), "hap"), (has(CXEN_CAP_SHADOW), "shadow"),
                  (has(CXEN_CAP_IOMMU_HAP_PT_SHARE), "iommu_hap_pt_share"), (has(CXEN_CAP_VMTRACE), "vmtrace"),
                  (has(CXEN_CAP_VPMU), "vpmu"), (has(CXEN_CAP_GNTTAB_V1), "gnttab-v1"),
                  (has(CXEN_CAP_GNTTAB_V2), "gnttab-v2")]
        return words.filter(\.0).map(\.1)
    }

    func fullPhysInfo() throws(HypervisorError) -> cxen_physinfo {
        var p = cxen_physinfo()
        try check(cxen_physinfo(handle, &p), "physinfo")
        return p
    }

    public func readConsoleRing(clear: Bool) throws(HypervisorError) -> String {
        // Xen's ring is 16 KiB by default and at most a few MiB (conring_size).
        var capacity = 64 * 1024
        while true {
            var bytes = [UInt8](repeating: 0, count: capacity)
            var len = UInt32(capacity)
            let rc = bytes.withUnsafeMutableBufferPointer { buf in
                buf.withMemoryRebound(to: CChar.self) { cxen_read_console(handle, $0.baseAddress, &len, clear ? 1 : 0) }
            }
            try check(rc, "read console ring")
            if Int(len) < capacity || capacity >= 16 * 1024 * 1024 {
                return String(decoding: bytes[..<Int(len)], as: UTF8.self)
            }
            capacity *= 4
        }
    }

    // MARK: domains

    public func createDomain(_ spec: DomainCreateSpec) throws(HypervisorError) -> UInt32 {
        var c = cxen_create()
        withUnsafeMutableBytes(of: &c.uuid) { dst in dst.copyBytes(from: spec.uuid.bytes) }
        switch spec.type {
        case .pv: c.type = Int32(CXEN_DOMAIN_PV.rawValue)
        case .pvh:
            // The bridge can make a PVH domain, but not build one yet (that needs
            // the HVM memory map, ACPI tables and HVM parameters): refuse before
            // anything exists rather than create and destroy.
            throw HypervisorError("create domain", errno: EOPNOTSUPP,
                                  "PVH guests are not supported on real Xen yet; use type = \"pv\"")
        case .hvm:
            throw HypervisorError("create domain", errno: EOPNOTSUPP,
                                  "HVM guests need a device model; swxl builds PV guests on Xen")
        }
        c.max_vcpus = spec.maxVCPUs
        c.max_memkb = spec.maxMemoryKiB
        c.max_grant_frames = -1
        c.max_maptrack_frames = -1
        var domid: UInt32 = 0
        try check(cxen_domain_create(handle, &c, &domid), "create domain")
        return domid
    }

    public func setMaxMemory(domid: UInt32, kib: UInt64) throws(HypervisorError) {
        try check(cxen_domain_set_max_memory(handle, domid, kib), "set max memory")
    }

    public func setMaxVCPUs(domid: UInt32, count: UInt32) throws(HypervisorError) {
        try check(cxen_domain_set_max_vcpus(handle, domid, count), "set max vcpus")
    }

    public func build(domid: UInt32, spec: BuildSpec) throws(HypervisorError) -> BuildResult {
        guard let info = try domainInfo(domid: domid) else {
            throw HypervisorError("build domain", errno: ESRCH, "no domain \(domid)")
        }
        let kernelPath = try XenKernelCache.loadablePath(for: spec.kernelPath, directory: kernelCache)
        let ramdiskPath = try spec.ramdiskPath.flatMap { path throws(HypervisorError) in
            path.isEmpty ? nil : try XenKernelCache.loadableRamdiskPath(for: path, directory: kernelCache)
        }
        var built = cxen_pv_built()
        let rc = kernelPath.withCString { kernel in
            withOptionalCString(ramdiskPath) { ramdisk in
                spec.commandLine.withCString { cmdline in
                    var b = cxen_pv_build(kernel: kernel, ramdisk: ramdisk, cmdline: cmdline, features: nil,
                                          target_memkb: spec.memoryKiB, max_vcpus: info.maxVCPUs,
                                          store_domid: spec.storeDomid, console_domid: spec.consoleDomid)
                    return cxen_build_pv(handle, domid, &b, &built)
                }
            }
        }
        try check(rc, "build domain")
        return BuildResult(storePort: built.store_port, storeMFN: built.store_mfn,
                           consolePort: built.console_port, consoleMFN: built.console_mfn)
    }

    /// Dom0's kernel backends and Xen's hotplug scripts.
    public let deviceBackends: any DeviceBackends = XenDeviceBackends()

    public func nativeProtocol(domid: UInt32) -> String? {
        var buf = [CChar](repeating: 0, count: 32)
        guard cxen_native_protocol(handle, domid, &buf, buf.count) == 0 else { return nil }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func pause(domid: UInt32) throws(HypervisorError) {
        try check(cxen_domain_pause(handle, domid), "pause")
    }

    public func unpause(domid: UInt32) throws(HypervisorError) {
        try check(cxen_domain_unpause(handle, domid), "unpause")
    }

    public func shutdown(domid: UInt32, reason: ShutdownReason) throws(HypervisorError) {
        try check(cxen_domain_shutdown(handle, domid, Int32(reason.rawValue)), "shutdown")
    }

    public func destroy(domid: UInt32) throws(HypervisorError) {
        try check(cxen_domain_destroy(handle, domid), "destroy")
    }

    public func pvControlAvailable(domid: UInt32) throws(HypervisorError) -> Bool {
        var d = cxen_dominfo()
        guard cxen_domain_list(handle, domid, &d, 1) == 1, d.domid == domid else {
            throw HypervisorError("domain info", errno: ESRCH, "no domain \(domid)")
        }
        guard d.flags & UInt32(CXEN_DOMINFO_HVM) != 0 else { return true }
        var available: Int32 = 0
        try check(cxen_domain_hvm_pv_drivers(handle, domid, &available), "pv control")
        return available != 0
    }

    public func topology() throws(HypervisorError) -> HostTopology {
        let maxCPUs: UInt32 = 4096, maxNodes: UInt32 = 64, maxDevices: UInt32 = 4096
        var cpuWords = [UInt32](repeating: 0, count: Int(maxCPUs) * 3)
        let nCPUs = cpuWords.withUnsafeMutableBufferPointer { cxen_cpu_topology(handle, $0.baseAddress, maxCPUs) }
        try check(nCPUs, "cpu topology")
        var mem = [UInt64](repeating: 0, count: Int(maxNodes) * 2)
        var dists = [UInt32](repeating: 0, count: Int(maxNodes * maxNodes))
        let nNodes = mem.withUnsafeMutableBufferPointer { m in
            dists.withUnsafeMutableBufferPointer { d in cxen_numa_info(handle, m.baseAddress, d.baseAddress, maxNodes) }
        }
        try check(nNodes, "numa info")
        var pciWords = [UInt32](repeating: 0, count: Int(maxDevices) * 4)
        let nDevices = pciWords.withUnsafeMutableBufferPointer { cxen_pci_topology(handle, $0.baseAddress, maxDevices) }
        try check(nDevices, "pci topology")
        let invalid = UInt32.max
        let cpus: [HostTopology.CPU?] = (0..<min(Int(nCPUs), Int(maxCPUs))).map { i in
            cpuWords[3 * i] == invalid ? nil : HostTopology.CPU(core: cpuWords[3 * i], socket: cpuWords[3 * i + 1], node: cpuWords[3 * i + 2])
        }
        let count = min(Int(nNodes), Int(maxNodes))
        let nodes: [HostTopology.Node?] = (0..<count).map { i in
            // XEN_INVALID_MEM_SZ is a 32-bit ~0 in a 64-bit field.
            mem[2 * i] == UInt64(invalid) ? nil : HostTopology.Node(size: mem[2 * i], free: mem[2 * i + 1],
                                                                 distances: (0..<count).map { dists[i * Int(maxNodes) + $0] })
        }
        let devices = (0..<Int(nDevices)).map { i in
            HostTopology.PCIDevice(segment: pciWords[4 * i], bus: pciWords[4 * i + 1], devfn: pciWords[4 * i + 2], node: pciWords[4 * i + 3])
        }
        return HostTopology(cpus: cpus, nodes: nodes, pciDevices: devices)
    }

    public func nodeAffinity(domid: UInt32) throws(HypervisorError) -> [UInt32] {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let rc = withUnsafeMutablePointer(to: &words) {
            $0.withMemoryRebound(to: UInt64.self, capacity: 4) { cxen_domain_node_affinity(handle, domid, $0) }
        }
        try check(rc, "node affinity")
        return Self.cpuSet(words).cpus
    }

    public func sendACPITrigger(domid: UInt32, power: Bool) throws(HypervisorError) {
        try check(cxen_domain_send_trigger(handle, domid, Int32(power ? CXEN_TRIGGER_POWER : CXEN_TRIGGER_RESET)), "send trigger")
    }

    public func domainInfo(domid: UInt32) throws(HypervisorError) -> DomainInfo? {
        var d = cxen_dominfo()
        let n = cxen_domain_list(handle, domid, &d, 1)
        try check(n < 0 ? n : 0, "domain info")
        guard n == 1, d.domid == domid else { return nil }
        return Self.info(d)
    }

    public func listDomains() throws(HypervisorError) -> [DomainInfo] {
        let batch: UInt32 = 256
        var buffer = [cxen_dominfo](repeating: cxen_dominfo(), count: Int(batch))
        var result: [DomainInfo] = []
        var next: UInt32 = 0
        while true {
            let n = buffer.withUnsafeMutableBufferPointer { cxen_domain_list(handle, next, $0.baseAddress, batch) }
            try check(n < 0 ? n : 0, "list domains")
            result += buffer[..<Int(n)].map(Self.info)
            guard n == Int32(batch), let last = result.last else { return result }
            next = last.domid + 1
        }
    }

    public func vcpuInfo(domid: UInt32) throws(HypervisorError) -> [VCPUInfo] {
        guard let info = try domainInfo(domid: domid) else {
            throw HypervisorError("vcpu info", errno: ESRCH, "no domain \(domid)")
        }
        var result: [VCPUInfo] = []
        for vcpu in 0..<info.maxVCPUs {
            var v = cxen_vcpuinfo()
            try check(cxen_vcpu_info(handle, domid, vcpu, &v), "vcpu info")
            result.append(VCPUInfo(vcpu: vcpu, cpu: v.online != 0 ? v.cpu : nil, online: v.online != 0,
                                   running: v.running != 0, blocked: v.blocked != 0, cpuTimeNs: v.cpu_time_ns,
                                   hardAffinity: Self.cpuSet(v.affinity), softAffinity: Self.cpuSet(v.soft_affinity)))
        }
        return result
    }

    private static func info(_ d: cxen_dominfo) -> DomainInfo {
        var d = d
        let uuid = withUnsafeBytes(of: &d.uuid) { DomainUUID(bytes: [UInt8]($0))! }
        let flag = { (bit: UInt32) in d.flags & bit != 0 }
        let shutdown = flag(UInt32(CXEN_DOMINFO_SHUTDOWN))
        let reason = shutdown ? ShutdownReason(rawValue: d.shutdown_reason) : nil
        var info = DomainInfo(
            domid: d.domid, uuid: uuid,
            running: flag(UInt32(CXEN_DOMINFO_RUNNING)),
            blocked: flag(UInt32(CXEN_DOMINFO_BLOCKED)),
            paused: flag(UInt32(CXEN_DOMINFO_PAUSED)),
            shutdown: shutdown && reason != .crash,
            dying: flag(UInt32(CXEN_DOMINFO_DYING)),
            crashed: shutdown && reason == .crash,
            shutdownReason: reason,
            currentMemoryKiB: d.tot_pages * 4, maxMemoryKiB: d.max_pages * 4,
            onlineVCPUs: d.nr_online_vcpus, maxVCPUs: d.max_vcpu_id + 1, cpuTimeNs: d.cpu_time_ns, cpupool: d.cpupool)
        info.ssidref = d.ssidref
        return info
    }

    // MARK: affinity and schedulers

    /// The bridge's four 64-bit words of a cpumap as a set.
    private static func cpuSet(_ words: (UInt64, UInt64, UInt64, UInt64)) -> CPUSet {
        let list = [words.0, words.1, words.2, words.3]
        return CPUSet((0..<UInt32(256)).filter { list[Int($0 / 64)] & (1 << UInt64($0 % 64)) != 0 })
    }

    private static func words(_ set: CPUSet) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: Int(CXEN_CPUMAP_WORDS))
        for cpu in set.cpus where cpu < 256 { out[Int(cpu / 64)] |= 1 << UInt64(cpu % 64) }
        return out
    }

    /// libxl's word for the scheduler in its messages ("Credit", "Credit2").
    private static func poolWord(_ s: Scheduler) -> String { s == .credit ? "Credit" : "Credit2" }

    private static func schedulerID(_ s: Scheduler) -> Int32 {
        switch s {
        case .credit: Int32(CXEN_SCHED_CREDIT.rawValue)
        case .credit2: Int32(CXEN_SCHED_CREDIT2.rawValue)
        case .arinc653: Int32(CXEN_SCHED_ARINC653.rawValue)
        case .rtds: Int32(CXEN_SCHED_RTDS.rawValue)
        case .null: Int32(CXEN_SCHED_NULL.rawValue)
        }
    }

    public func setVCPUAffinity(domid: UInt32, vcpu: UInt32, hard: CPUSet?, soft: CPUSet?, force: Bool) throws(HypervisorError) {
        let h = hard.map(Self.words), s = soft.map(Self.words)
        let rc = withOptionalWords(h) { hp in withOptionalWords(s) { sp in cxen_vcpu_set_affinity(handle, domid, vcpu, hp, sp, force ? 1 : 0) } }
        try checkErrno(rc, "Setting vcpu affinity")
    }

    public func cpuPools() throws(HypervisorError) -> [CPUPoolInfo] {
        var buffer = [cxen_cpupool](repeating: cxen_cpupool(), count: 64)
        let n = buffer.withUnsafeMutableBufferPointer { cxen_cpupool_list(handle, $0.baseAddress, 64) }
        try check(n < 0 ? n : 0, "cpupool info")
        return buffer[..<Int(n)].map { p in
            let scheduler = Scheduler.allCases.first { Self.schedulerID($0) == Int32(p.sched_id) }
            return CPUPoolInfo(id: p.id, scheduler: scheduler, cpus: Self.cpuSet(p.cpus), domainCount: p.n_dom)
        }
    }

    public func creditParams(domid: UInt32, scheduler: Scheduler) throws(HypervisorError) -> CreditParams {
        var weight: UInt32 = 0, cap: UInt32 = 0
        try checkErrno(cxen_sched_domain_get(handle, domid, Self.schedulerID(scheduler), &weight, &cap),
                       "Getting domain sched \(scheduler.rawValue)")
        return CreditParams(weight: Int(weight), cap: Int(cap))
    }

    public func setCreditParams(domid: UInt32, scheduler: Scheduler, _ params: CreditParams) throws(HypervisorError) {
        let op = "Setting domain sched \(scheduler.rawValue)"
        guard let weight = UInt32(exactly: params.weight), let cap = UInt32(exactly: params.cap) else {
            throw HypervisorError(op, errno: EINVAL, errnoText(EINVAL))
        }
        try checkErrno(cxen_sched_domain_set(handle, domid, Self.schedulerID(scheduler), weight, cap), op)
    }

    public func poolSchedParams(pool: UInt32, scheduler: Scheduler) throws(HypervisorError) -> PoolSchedParams {
        var t: UInt32 = 0, r: UInt32 = 0, m: UInt32 = 0
        try checkErrno(cxen_sched_pool_get(handle, pool, Self.schedulerID(scheduler), &t, &r, &m),
                       "getting \(Self.poolWord(scheduler)) scheduler parameters")
        return PoolSchedParams(tsliceMs: Int(t), ratelimitUs: Int(r), migrationDelayUs: Int(m))
    }

    public func setPoolSchedParams(pool: UInt32, scheduler: Scheduler, _ params: PoolSchedParams) throws(HypervisorError) {
        guard let t = UInt32(exactly: params.tsliceMs), let r = UInt32(exactly: params.ratelimitUs),
              let m = UInt32(exactly: params.migrationDelayUs) else {
            throw HypervisorError("Setting \(Self.poolWord(scheduler)) scheduler parameters", errno: EINVAL, errnoText(EINVAL))
        }
        try checkErrno(cxen_sched_pool_set(handle, pool, Self.schedulerID(scheduler), t, r, m),
                       "Setting \(Self.poolWord(scheduler)) scheduler parameters")
    }

    // MARK: diagnostics

    public func sendDebugKeys(_ keys: String) throws(HypervisorError) {
        try checkErrno(keys.withCString { cxen_send_debug_keys(handle, $0) }, "sending debug keys")
    }

    /// libxenguest writes the core (xc_domain_dumpcore); libxl's words on failure.
    public func dumpCore(domid: UInt32, path: String) throws(HypervisorError) {
        let rc = path.withCString { cxen_domain_dumpcore(handle, domid, $0) }
        guard rc < 0 else { return }
        let detail = String(cString: cxen_last_error(handle))
        throw HypervisorError("Core dumping domain to \(path)", errno: -rc, detail.isEmpty ? errnoText(-rc) : detail)
    }

    /// The size of one vCPU's context in a core's `.xen_prstatus`
    /// (`vcpu_guest_context_any_t`), for cores written without Xen.
    public static var coreVCPUContextSize: Int { Int(cxen_core_vcpu_context_size()) }

    // MARK: errors

    /// As ``check(_:_:)``, with the errno's words only: the operation is
    /// already named as libxl names it ("Setting vcpu affinity: Invalid argument").
    private func checkErrno(_ rc: Int32, _ operation: String) throws(HypervisorError) {
        guard rc < 0 else { return }
        throw HypervisorError(operation, errno: -rc, errnoText(-rc))
    }

    func check(_ rc: Int32, _ operation: String) throws(HypervisorError) {
        guard rc < 0 else { return }
        let e = -rc
        let detail = String(cString: cxen_last_error(handle))
        throw HypervisorError(operation, errno: e, detail.isEmpty ? errnoText(e) : detail)
    }
}

private let xenLogger = Logger(label: "swxl.xen")

/// Receives every message Xen's libraries log, through our xentoollog logger.
/// Errors are logged at debug level only: the failing call throws a
/// `HypervisorError` carrying the same message, and the user should read it
/// once. Warnings (Xen going on despite something) are logged as warnings.
private func xenLogMessage(_ level: Int32, _ context: UnsafePointer<CChar>?, _ message: UnsafePointer<CChar>?) {
    let text = message.map { String(cString: $0) } ?? ""
    let ctx = context.map { String(cString: $0) } ?? ""
    let line: Logger.Message = ctx.isEmpty ? "\(text)" : "\(ctx): \(text)"
    switch UInt32(level) {
    case CXEN_LOG_DEBUG.rawValue, CXEN_LOG_VERBOSE.rawValue: xenLogger.trace(line)
    case CXEN_LOG_INFO.rawValue: xenLogger.debug(line)
    case CXEN_LOG_NOTICE.rawValue: xenLogger.notice(line)
    case CXEN_LOG_WARNING.rawValue: xenLogger.warning(line)
    default: xenLogger.debug("error: \(line)")
    }
}

private func errnoText(_ e: Int32) -> String {
    String(cString: strerror(e))
}

/// A NUL-terminated C char array (imported as a tuple) as a String.
private func cString<T>(_ tuple: inout T) -> String {
    withUnsafeBytes(of: &tuple) { raw in
        let bytes = raw.prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }
}

private func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let s, !s.isEmpty else { return body(nil) }
    return s.withCString { body($0) }
}

private func withOptionalWords<R>(_ words: [UInt64]?, _ body: (UnsafePointer<UInt64>?) -> R) -> R {
    guard let words else { return body(nil) }
    return words.withUnsafeBufferPointer { body($0.baseAddress) }
}
