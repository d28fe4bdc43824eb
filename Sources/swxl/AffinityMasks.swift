import ArgumentParser
import DomainConfig
import Toolstack

/// xl.conf's global vCPU affinity masks (`vm.cpumask`, and `vm.pv.cpumask`
/// or `vm.hvm.cpumask` by the guest's type, HVM's for PVH too), as xl 4.17
/// applies them (apply_global_affinity_masks in tools/xl/xl_vcpu.c): every
/// vCPU's hard affinity is cut down to them at create and at vcpu-pin,
/// unless `-i` says to ignore them.
enum AffinityMasks {
    /// The masks for a guest of `type` on this host; none when xl.conf sets
    /// none (or sets `all`). A list xl cannot read is said as xl's
    /// parse_cpurange says it and counts as unset.
    static func masks(for type: DomainType, topology: CPUTopology) -> [CPUSet] {
        let xl = XLGlobalConfig.settings
        let texts = [xl.vmCPUMask, type == .pv ? xl.pvCPUMask : xl.hvmCPUMask].compactMap { $0 }
        let all = try? topology.parseCPUList("all").get()
        return texts.compactMap { text in
            switch topology.parseCPUList(text) {
            case .success(let set): return set == all ? nil : set
            case .failure(let e):
                Terminal.err(e.message + "\n")
                return nil
            }
        }
    }

    /// `maps` (one per vCPU) cut down to the masks; xl's refusal, exit 1,
    /// when one is left with no CPU.
    static func apply(_ maps: [CPUSet], masks: [CPUSet]) throws -> [CPUSet] {
        try maps.map { map in
            let cut = masks.reduce(map) { CPUSet(Set($0.cpus).intersection($1.cpus)) }
            if cut.cpus.isEmpty {
                Terminal.err("vcpu hard affinity map is empty\n")
                throw ExitCode.failure
            }
            return cut
        }
    }

    /// The config with its hard affinity (`cpus`) cut down to the masks:
    /// a config without `cpus` gets the masks themselves for every vCPU.
    /// Nil when no mask applies (the config is left as it is).
    static func applied(to config: DomainConfiguration, toolstack: Toolstack) throws -> DomainConfiguration? {
        let topology = try DomainCLI.reporting { try toolstack.cpuTopology() }
        let masks = masks(for: config.type, topology: topology)
        guard !masks.isEmpty else { return nil }
        let vcpus = UInt32(clamping: config.VCPUs_max)
        let maps = topology.vcpuCPUSets(config.cpus ?? .all, maxVCPUs: vcpus)
        let cut = try apply(maps, masks: masks)
        var c = config
        // One list for all when they agree and the config's was one (a
        // string), else one per vCPU, as the config's list was.
        var perVCPU = false
        if case .perVCPU = config.cpus { perVCPU = true }
        if !perVCPU, let first = cut.first, cut.allSatisfy({ $0 == first }) {
            c.cpus = .cpus(first.cpus.map(Int.init))
        } else {
            c.cpus = .perVCPU(cut.map { .cpus($0.cpus.map(Int.init)) })
        }
        return c
    }
}
