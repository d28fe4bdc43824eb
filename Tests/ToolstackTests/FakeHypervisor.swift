import DomainConfig
import Glibc
@testable import Toolstack
import SaveFormat

/// A hypervisor in memory, for the toolstack's tests: domids that grow
/// and are not reused, memory that runs out as Xen's does, kernels checked
/// as a builder checks them. No processes, no files.
final class FakeHypervisor: Hypervisor {
    struct Host {
        var cpus: UInt32 = 4
        var memoryKiB: UInt64 = 16 << 20
        var dom0MemoryKiB: UInt64 = 1 << 20
    }

    private(set) var host = Host()
    private var domains: [UInt32: DomainInfo] = [:]
    private var built: Set<UInt32> = []
    private var nextDomid: UInt32 = 1
    private var usedKiB: UInt64 = 0

    private var freeKiB: UInt64 { host.memoryKiB - min(host.memoryKiB, host.dom0MemoryKiB + usedKiB) }

    /// The domids other than Domain-0's.
    func domainIDs() -> [UInt32] { domains.keys.sorted() }

    private func noSuchDomain(_ operation: String, _ domid: UInt32) -> HypervisorError {
        HypervisorError(operation, errno: ESRCH, "domain \(domid) does not exist: No such process")
    }

    private func modify(_ domid: UInt32, _ operation: String,
                        _ body: (inout DomainInfo) throws(HypervisorError) -> Void) throws(HypervisorError) {
        guard var info = domains[domid] else { throw noSuchDomain(operation, domid) }
        try body(&info)
        domains[domid] = info
    }

    func version() throws(HypervisorError) -> HypervisorVersion {
        HypervisorVersion(major: 4, minor: 17, extra: "-fake", capabilities: "xen-3.0-x86_64", changeset: "fake")
    }

    func physInfo() throws(HypervisorError) -> PhysInfo {
        PhysInfo(cpus: host.cpus, threadsPerCore: 1, coresPerSocket: host.cpus, nodes: 1, cpuKHz: 1_000_000,
                 totalKiB: host.memoryKiB, freeKiB: freeKiB)
    }

    func createDomain(_ spec: DomainCreateSpec) throws(HypervisorError) -> UInt32 {
        guard spec.maxMemoryKiB <= freeKiB else {
            throw HypervisorError("create domain", errno: ENOMEM, "out of memory (needs \(spec.maxMemoryKiB) kB, \(freeKiB) kB free)")
        }
        let domid = nextDomid
        nextDomid += 1
        usedKiB += spec.maxMemoryKiB
        domains[domid] = DomainInfo(domid: domid, uuid: spec.uuid, paused: true, currentMemoryKiB: 0,
                                    maxMemoryKiB: spec.maxMemoryKiB, onlineVCPUs: spec.maxVCPUs,
                                    maxVCPUs: spec.maxVCPUs, cpuTimeNs: 0)
        return domid
    }

    func setMaxMemory(domid: UInt32, kib: UInt64) throws(HypervisorError) {
        let free = freeKiB
        var grown: UInt64 = 0
        try modify(domid, "set max memory") { (d: inout DomainInfo) throws(HypervisorError) in
            if kib > d.maxMemoryKiB, kib - d.maxMemoryKiB > free {
                throw HypervisorError("set max memory", errno: ENOMEM, "not enough free memory: Out of memory")
            }
            grown = kib &- d.maxMemoryKiB
            d.maxMemoryKiB = kib
            d.currentMemoryKiB = min(d.currentMemoryKiB, kib)
        }
        usedKiB &+= grown
    }

    func setMaxVCPUs(domid: UInt32, count: UInt32) throws(HypervisorError) {
        try modify(domid, "set max vcpus") { (d: inout DomainInfo) throws(HypervisorError) in
            d.maxVCPUs = count
            d.onlineVCPUs = min(d.onlineVCPUs, count)
        }
    }

    /// The device backends: a log of what they were asked, and failures on demand.
    let devices = FakeDeviceBackends()
    var deviceBackends: any DeviceBackends { devices }
    func nativeProtocol(domid: UInt32) -> String? { domains[domid] == nil ? nil : "x86_64-abi" }

    func build(domid: UInt32, spec: BuildSpec) throws(HypervisorError) -> BuildResult {
        try modify(domid, "build domain") { (d: inout DomainInfo) throws(HypervisorError) in
            do { try KernelImage.check(path: spec.kernelPath, type: .pv) } catch {
                throw HypervisorError("build domain", errno: EINVAL, "\(error)")
            }
            guard spec.memoryKiB <= d.maxMemoryKiB else {
                throw HypervisorError("build domain", errno: ENOMEM, "more memory than maxmem: Out of memory")
            }
            d.currentMemoryKiB = spec.memoryKiB
            if let online = spec.onlineVCPUs { d.onlineVCPUs = max(1, min(online, d.maxVCPUs)) }
        }
        built.insert(domid)
        return BuildResult(storePort: 1, storeMFN: UInt64(domid) << 16, consolePort: 2, consoleMFN: UInt64(domid) << 16 + 1)
    }

    func pause(domid: UInt32) throws(HypervisorError) {
        try modify(domid, "pause") { (d: inout DomainInfo) throws(HypervisorError) in
            d.paused = true
            d.blocked = false
        }
    }

    func unpause(domid: UInt32) throws(HypervisorError) {
        guard built.contains(domid) else { throw HypervisorError("unpause", errno: EINVAL, "domain \(domid) has not been built") }
        try modify(domid, "unpause") { (d: inout DomainInfo) throws(HypervisorError) in
            d.paused = false
            d.blocked = true
        }
    }

    func shutdown(domid: UInt32, reason: ShutdownReason) throws(HypervisorError) {
        try modify(domid, "shutdown") { (d: inout DomainInfo) throws(HypervisorError) in
            d.shutdown = true
            d.crashed = reason == .crash
            d.shutdownReason = reason
            d.paused = false
            d.blocked = false
        }
    }

    func destroy(domid: UInt32) throws(HypervisorError) {
        guard let d = domains.removeValue(forKey: domid) else { throw noSuchDomain("destroy", domid) }
        built.remove(domid)
        usedKiB -= min(usedKiB, d.maxMemoryKiB)
    }

    func domainInfo(domid: UInt32) throws(HypervisorError) -> DomainInfo? {
        if domid == 0 {
            return DomainInfo(domid: 0, uuid: DomainUUID(bytes: [UInt8](repeating: 0, count: 16))!, running: true,
                              currentMemoryKiB: host.dom0MemoryKiB, maxMemoryKiB: host.dom0MemoryKiB,
                              onlineVCPUs: host.cpus, maxVCPUs: host.cpus, cpuTimeNs: 0)
        }
        return domains[domid]
    }

    func listDomains() throws(HypervisorError) -> [DomainInfo] {
        [try domainInfo(domid: 0)!] + domainIDs().compactMap { domains[$0] }
    }

    func vcpuInfo(domid: UInt32) throws(HypervisorError) -> [VCPUInfo] {
        guard let d = try domainInfo(domid: domid) else { throw noSuchDomain("vcpu info", domid) }
        return (0..<d.maxVCPUs).map {
            VCPUInfo(vcpu: $0, cpu: $0 < d.onlineVCPUs ? $0 : nil, online: $0 < d.onlineVCPUs, running: false,
                     blocked: false, cpuTimeNs: 0,
                     hardAffinity: affinity[domid]?[$0]?.hard ?? CPUSet.all(host.cpus),
                     softAffinity: affinity[domid]?[$0]?.soft ?? CPUSet.all(host.cpus))
        }
    }

    func readConsoleRing(clear: Bool) throws(HypervisorError) -> String { "" }

    // Scheduling: one credit2 pool; affinity and weights kept as set.

    /// Each domain's vCPUs' affinity as last set, by vCPU.
    private(set) var affinity: [UInt32: [UInt32: (hard: CPUSet, soft: CPUSet)]] = [:]
    /// Each domain's credit parameters as last set.
    private(set) var credit: [UInt32: CreditParams] = [:]
    var scheduler: Scheduler = .credit2

    func setVCPUAffinity(domid: UInt32, vcpu: UInt32, hard: CPUSet?, soft: CPUSet?, force: Bool) throws(HypervisorError) {
        guard let d = try domainInfo(domid: domid) else { throw noSuchDomain("Setting vcpu affinity", domid) }
        let all = CPUSet.all(host.cpus)
        guard vcpu < d.maxVCPUs, !(hard?.below(host.cpus).isEmpty ?? false) else {
            throw HypervisorError("Setting vcpu affinity", errno: EINVAL, "Invalid argument")
        }
        let current = affinity[domid]?[vcpu] ?? (all, all)
        affinity[domid, default: [:]][vcpu] = (hard?.below(host.cpus) ?? current.hard, soft?.below(host.cpus) ?? current.soft)
    }

    func cpuPools() throws(HypervisorError) -> [CPUPoolInfo] {
        [CPUPoolInfo(id: 0, scheduler: scheduler, cpus: CPUSet.all(host.cpus))]
    }

    func creditParams(domid: UInt32, scheduler: Scheduler) throws(HypervisorError) -> CreditParams {
        guard scheduler == self.scheduler else { throw HypervisorError("sched", errno: EINVAL, "Invalid argument") }
        return credit[domid] ?? .initial
    }

    func setCreditParams(domid: UInt32, scheduler: Scheduler, _ params: CreditParams) throws(HypervisorError) {
        guard scheduler == self.scheduler else { throw HypervisorError("sched", errno: EINVAL, "Invalid argument") }
        credit[domid] = params
    }

    func poolSchedParams(pool: UInt32, scheduler: Scheduler) throws(HypervisorError) -> PoolSchedParams { .initial }
    func setPoolSchedParams(pool: UInt32, scheduler: Scheduler, _ params: PoolSchedParams) throws(HypervisorError) {}

    var imageFormat: ImageFormat = .simulated
    func canSaveLive(domid: UInt32) throws(HypervisorError) -> Bool { false }
    func saveImage(domid: UInt32, to fd: Int32, live: Bool, debug: Bool,
                   suspend: () -> Bool, progress: (UInt64, UInt64) -> Void) throws(HypervisorError) {
        throw HypervisorError("save domain", errno: ENOSYS, "the fake hypervisor does not save")
    }
    func resumeAfterSave(domid: UInt32) throws(HypervisorError) {
        throw HypervisorError("resume domain", errno: ENOSYS, "the fake hypervisor does not save")
    }
    /// What ``restoreImage`` returns, reading nothing (nil: it fails).
    var restoreResult: BuildResult?
    /// Whether the last ``restoreImage`` was given a progress reporter.
    var restoreGotProgress: Bool?
    func restoreImage(domid: UInt32, from fd: Int32, spec: RestoreSpec,
                      progress: ((UInt64, UInt64) -> Void)?) throws(HypervisorError) -> BuildResult {
        restoreGotProgress = progress != nil
        guard let restoreResult else {
            throw HypervisorError("restore domain", errno: ENOSYS, "the fake hypervisor does not restore")
        }
        built.insert(domid)
        return restoreResult
    }
}

/// Device backends that log each call (`check disk 0`, `kernel added disk 0`,
/// `hotplug add disk 0`, ...) and play the kernel's states in the store,
/// unless told to leave a backend where it is (`silentKernel`).
final class FakeDeviceBackends: DeviceBackends {
    private(set) var log: [String] = []
    /// What ``check(_:)`` throws (nil: nothing).
    var checkFailure: HypervisorError?
    /// The hotplug step (add or remove) fails for the device with this label (`vif 0`).
    var failingScript: (label: String, error: HypervisorError)?
    /// Devices whose backend the kernel never moves (it never reaches InitWait or Closed).
    var silentKernel: Set<String> = []

    func check(_ entry: DeviceEntry) throws(HypervisorError) {
        log.append("check \(entry.handle.label)")
        if let checkFailure { throw checkFailure }
    }

    func kernelStep(_ handle: DeviceHandle, _ event: KernelEvent, store: any StoreAccess) {
        log.append("kernel \(event) \(handle.label)")
        guard !silentKernel.contains(handle.label) else { return }
        try? store.write(handle.backendPath + "/state", event == .added ? "2" : "6")
    }

    func hotplug(_ handles: [DeviceHandle], _ action: HotplugAction, store: any StoreAccess) -> [HypervisorError?] {
        handles.map { h in
            log.append("hotplug \(action) \(h.label)")
            return failingScript?.label == h.label ? failingScript?.error : nil
        }
    }
}
