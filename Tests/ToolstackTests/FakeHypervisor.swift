import DomainConfig
import Glibc
@testable import Toolstack

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

    /// What ``checkDevices(_:)`` and ``attachDevices(domid:config:)`` throw (nil: nothing).
    var deviceCheckFailure: HypervisorError?
    var deviceAttachFailure: HypervisorError?
    /// The domains whose devices were attached, in order.
    private(set) var attached: [UInt32] = []

    func checkDevices(_ config: DomainConfiguration) throws(HypervisorError) {
        if let deviceCheckFailure { throw deviceCheckFailure }
    }

    func attachDevices(domid: UInt32, config: DomainConfiguration) throws(HypervisorError) {
        guard domains[domid] != nil else { throw noSuchDomain("attach devices", domid) }
        if let deviceAttachFailure { throw deviceAttachFailure }
        attached.append(domid)
    }

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
                     blocked: false, cpuTimeNs: 0, affinity: [])
        }
    }

    func readConsoleRing(clear: Bool) throws(HypervisorError) -> String { "" }
}
