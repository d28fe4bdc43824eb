import DomainConfig
import XenStoreProtocol

// `list -l` as xl prints it: for each domain, the config libxl stored when
// it was created, updated with what libxl_retrieve_domain_configuration
// reads back from the hypervisor and xenstore (name, uuid, vCPUs online,
// memory, scheduler parameters). The config is the domain's record, the
// one model it was created from.

extension Toolstack {
    /// The domain's scheduler and, under credit or credit2, its weight and
    /// cap (libxl_domain_sched_params_get); the host's default scheduler
    /// and nothing else when the hypervisor does not say.
    func libxlSchedParams(_ domid: UInt32, hostScheduler: String) -> (scheduler: String, weight: Int?, cap: Int?) {
        guard let scheduler = (try? scheduler(ofDomain: domid)) ?? nil else { return (hostScheduler, nil, nil) }
        guard scheduler == .credit || scheduler == .credit2,
              let params = try? creditParams(domid: domid, scheduler: scheduler) else { return (scheduler.rawValue, nil, nil) }
        return (scheduler.rawValue, params.weight, params.cap)
    }

    /// `list -l`'s text for these domains: domain 0's stub config (as
    /// xen-init-dom0 stores it) and every domain swxl has a record of; as xl
    /// skips a domain whose config libxl cannot retrieve, a domain swxl did
    /// not create is left out.
    public func libxlDomainList(_ domains: [DomainSummary], xl: XLGlobalSettings = XLGlobalSettings()) -> String {
        libxlDomainListText(libxlConfigs(domains, xl: xl).map { ($0.domid, $0.config) })
    }

    /// `list -l`'s text when xl.conf says `output_format="sxp"`: xl's SXP
    /// form of each, with the hypervisor's uuid.
    public func libxlDomainListSXP(_ domains: [DomainSummary], xl: XLGlobalSettings = XLGlobalSettings()) -> String {
        libxlConfigs(domains, xl: xl).map { $0.config.xlSXPText(domid: Int($0.domid), uuid: $0.uuid.description) }.joined()
    }

    /// Each domain's libxl_domain_config as libxl retrieves it.
    /// `xl`: xl.conf's settings xl put in each config at create (those of now).
    func libxlConfigs(_ domains: [DomainSummary], xl: XLGlobalSettings) -> [(domid: UInt32, uuid: DomainUUID, config: LibxlStruct)] {
        let physInfo = try? hypervisor.physInfo()
        let scheduler = physInfo?.scheduler ?? "credit2"
        return domains.compactMap { d in
            let facts = runningFacts(d, scheduler: scheduler)
            if d.info.domid == 0 { return (0, d.info.uuid, facts.domain0Config) }
            guard var config = record(d.info.domid) else { return nil }
            // The loader create filled in for an HVM guest is not the config's kernel.
            if config.type == .hvm, config.PV_kernel == DomainConfiguration.hvmLoader { config.PV_kernel = nil }
            return (d.info.domid, d.info.uuid, config.libxlRunningConfig(host: libxlHostFacts(config), running: facts, xl: xl))
        }
    }

    /// The config's vCPU affinity on this host, as xl puts it in libxl's
    /// config (none if the host's topology is unknown).
    public func libxlHostFacts(_ config: DomainConfiguration) -> LibxlHostFacts {
        guard config.cpus != nil || config.cpus_soft != nil, let topology = try? cpuTopology() else { return LibxlHostFacts() }
        func maps(_ a: CPUAffinity?) -> [[Int]] {
            a.map { topology.vcpuCPUSets($0, maxVCPUs: UInt32(clamping: config.VCPUs_max)).map { $0.cpus.map(Int.init) } } ?? []
        }
        return LibxlHostFacts(hardAffinity: maps(config.cpus), softAffinity: maps(config.cpus_soft))
    }

    /// What libxl reads back for a running domain: xenstore's vCPU
    /// availability and memory figures (the hypervisor's when xenstore has none).
    func runningFacts(_ d: DomainSummary, scheduler: String) -> LibxlRunningFacts {
        let dom = XSPath.domainPath(d.info.domid)
        let vcpus = Int(d.info.maxVCPUs)
        let paths = (0..<vcpus).map { dom + "/cpu/\($0)/availability" } + [dom + "/memory/target", dom + "/memory/static-max"]
        let values = (try? store.readMany(paths)) ?? Array(repeating: nil, count: paths.count)
        let online = (0..<vcpus).filter { values[$0] == "online" }
        let sched = libxlSchedParams(d.info.domid, hostScheduler: scheduler)
        return LibxlRunningFacts(
            name: d.name,
            uuid: d.info.uuid.bytes.allSatisfy { $0 == 0 } ? nil : d.info.uuid,
            onlineVCPUs: online,
            targetKiB: values[vcpus].flatMap { UInt64($0) } ?? d.info.currentMemoryKiB,
            staticMaxKiB: values[vcpus + 1].flatMap { UInt64($0) } ?? d.info.maxMemoryKiB,
            scheduler: sched.scheduler, weight: sched.weight, cap: sched.cap)
    }
}
