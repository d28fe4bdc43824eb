import DomainConfig
#if canImport(Glibc)
import Glibc
#endif
import XenStoreProtocol

/// vCPU affinity and the credit schedulers, as libxl applies them
/// (tools/libs/light/libxl_sched.c, libxl_dom.c): at create from the
/// config's `cpus`, `cpus_soft`, `cpu_weight` and `cap`, and for
/// `vcpu-pin`, `vcpu-list`, `sched-credit` and `sched-credit2`.
extension Toolstack {
    /// The host's CPUs and nodes, to turn xl CPU lists into cpumaps.
    public func cpuTopology() throws(ToolstackError) -> CPUTopology {
        let phys: PhysInfo
        do { phys = try hypervisor.physInfo() } catch { throw .hypervisor(error) }
        return CPUTopology(physInfo: phys)
    }

    /// Refuses NUMA nodes in a CPU list on a host whose nodes' CPUs swxl does not know.
    public func checkNodes(_ text: String, _ topology: CPUTopology) throws(ToolstackError) {
        if CPUTopology.namesNodes(text), !topology.knowsNodes {
            throw .notSupported("`\(text)`: NUMA nodes in CPU lists are resolved only on hosts of one node for now")
        }
    }

    /// The config's hard and soft affinity, set vCPU by vCPU as libxl's
    /// build does (both at once for each vCPU).
    func applyAffinity(domid: UInt32, config: DomainConfiguration) throws(ToolstackError) {
        guard config.cpus != nil || config.cpus_soft != nil else { return }
        let topology = try cpuTopology()
        for affinity in [config.cpus, config.cpus_soft].compactMap({ $0 }) { try checkNodes(affinity.specification, topology) }
        let maxVCPUs = UInt32(clamping: config.VCPUs_max)
        let hard = config.cpus.map { topology.vcpuCPUSets($0, maxVCPUs: maxVCPUs) } ?? []
        let soft = config.cpus_soft.map { topology.vcpuCPUSets($0, maxVCPUs: maxVCPUs) } ?? []
        for vcpu in 0..<max(hard.count, soft.count) {
            do {
                try hypervisor.setVCPUAffinity(domid: domid, vcpu: UInt32(vcpu), hard: vcpu < hard.count ? hard[vcpu] : nil,
                                               soft: vcpu < soft.count ? soft[vcpu] : nil, force: false)
            } catch {
                throw .invalid("setting affinity failed on vcpu `\(vcpu)': \(error.message)")
            }
        }
    }

    /// The config's `cpu_weight` and `cap`, under the scheduler of the
    /// domain's pool, with libxl's checks.
    func applySchedParams(domid: UInt32, config: DomainConfiguration) throws(ToolstackError) {
        let weight = config.schedWeight, cap = config.schedCap
        guard weight != nil || cap != nil else { return }
        let scheduler = try scheduler(ofDomain: domid)
        guard let scheduler, scheduler == .credit || scheduler == .credit2 else {
            throw .notSupported("`cpu_weight` and `cap` need the credit or credit2 scheduler; this domain's pool runs \(scheduler?.rawValue ?? "an unknown scheduler")")
        }
        try setCreditParams(domid: domid, scheduler: scheduler, weight: weight, cap: cap)
    }

    /// The scheduler of the pool the domain runs in.
    public func scheduler(ofDomain domid: UInt32) throws(ToolstackError) -> Scheduler? {
        let pool = try info(domid).info.cpupool
        return try cpuPools().first { $0.id == pool }?.scheduler
    }

    public func cpuPools() throws(ToolstackError) -> [CPUPoolInfo] {
        do { return try hypervisor.cpuPools() } catch { throw .hypervisor(error) }
    }

    /// A pool's name: `/local/pool/<id>/name`, else `Pool-0` for pool 0
    /// (libxl_cpupoolid_to_name); nil when it has none.
    public func poolName(_ id: UInt32) -> String? {
        if let name = (try? store.read("/local/pool/\(id)/name")) ?? nil { return name }
        return id == 0 ? "Pool-0" : nil
    }

    /// The pool a `-p` argument names: its id in decimal, or its name
    /// (libxl_cpupool_qualifier_to_cpupoolid); nil when no pool has it.
    public func pool(named qualifier: String) throws(ToolstackError) -> UInt32? {
        let pools = try cpuPools()
        if !qualifier.isEmpty, qualifier.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            return UInt32(qualifier).flatMap { id in pools.contains { $0.id == id } ? id : nil }
        }
        return pools.first { poolName($0.id) == qualifier }?.id
    }

    /// Sets a vCPU's affinity, or every vCPU's (`vcpu` nil), as
    /// `libxl_set_vcpuaffinity` (`_all`, `_force`) does.
    public func setVCPUAffinity(domid: UInt32, vcpu: UInt32?, hard: CPUSet?, soft: CPUSet?, force: Bool) throws(ToolstackError) {
        guard hard != nil || soft != nil || force else { throw .invalid("no affinity to set") }
        let vcpus: [UInt32]
        if let vcpu { vcpus = [vcpu] } else {
            do { vcpus = try hypervisor.vcpuInfo(domid: domid).map(\.vcpu) } catch { throw .hypervisor(error) }
        }
        for v in vcpus {
            do { try hypervisor.setVCPUAffinity(domid: domid, vcpu: v, hard: hard, soft: soft, force: force) } catch {
                throw .hypervisor(error)
            }
        }
    }

    /// A domain's weight and cap under `scheduler`; refused with xl's words
    /// when its pool runs another scheduler.
    public func creditParams(domid: UInt32, scheduler: Scheduler) throws(ToolstackError) -> CreditParams {
        let running = try self.scheduler(ofDomain: domid)
        guard running == scheduler else { throw .wrongScheduler(running: running?.rawValue ?? "unknown", asked: scheduler.rawValue) }
        do { return try hypervisor.creditParams(domid: domid, scheduler: scheduler) } catch { throw .hypervisor(error) }
    }

    /// Sets a domain's weight and/or cap (nil: kept), with libxl's checks:
    /// a weight of 1 to 65535, a cap of 0 to 100 per vCPU.
    public func setCreditParams(domid: UInt32, scheduler: Scheduler, weight: Int?, cap: Int?) throws(ToolstackError) {
        let maxVCPUs = try info(domid).info.maxVCPUs
        var params: CreditParams
        do { params = try hypervisor.creditParams(domid: domid, scheduler: scheduler) } catch { throw .hypervisor(error) }
        if let weight {
            guard (1...65535).contains(weight) else {
                throw .invalid("Cpu weight out of range, valid values are within range from 1 to 65535")
            }
            params.weight = weight
        }
        if let cap {
            let most = Int(maxVCPUs) * 100
            guard (0...most).contains(cap) else {
                throw .invalid("Cpu cap out of range, valid range is from 0 to \(most) for specified number of vcpus")
            }
            params.cap = cap
        }
        do { try hypervisor.setCreditParams(domid: domid, scheduler: scheduler, params) } catch { throw .hypervisor(error) }
    }

    public func poolSchedParams(pool: UInt32, scheduler: Scheduler) throws(ToolstackError) -> PoolSchedParams {
        do { return try hypervisor.poolSchedParams(pool: pool, scheduler: scheduler) } catch { throw .hypervisor(error) }
    }

    /// Sets a pool's parameters with libxl's checks (the credit
    /// scheduler's time slice, rate limit and migration delay; credit2's
    /// rate limit).
    public func setPoolSchedParams(pool: UInt32, scheduler: Scheduler, _ params: PoolSchedParams) throws(ToolstackError) {
        let limit = PoolSchedParams.ratelimitRange
        if scheduler == .credit, !PoolSchedParams.tsliceRange.contains(params.tsliceMs) {
            throw .invalid("Time slice out of range, valid range is from \(PoolSchedParams.tsliceRange.lowerBound) to \(PoolSchedParams.tsliceRange.upperBound)")
        }
        if params.ratelimitUs != 0, !limit.contains(params.ratelimitUs) {
            throw .invalid("Ratelimit out of range, valid range is from \(limit.lowerBound) to \(limit.upperBound)")
        }
        if scheduler == .credit {
            if params.ratelimitUs > params.tsliceMs * 1000 { throw .invalid("Ratelimit cannot be greater than timeslice") }
            if !(0...PoolSchedParams.migrationDelayMaxUs).contains(params.migrationDelayUs) {
                throw .invalid("vcpu migration delay should be >= 0 and <= \(PoolSchedParams.migrationDelayMaxUs)us")
            }
        }
        do { try hypervisor.setPoolSchedParams(pool: pool, scheduler: scheduler, params) } catch { throw .hypervisor(error) }
    }
}
