/// A CPU pool's scheduler, as Xen names them (`xl info`'s `xen_scheduler`).
public enum Scheduler: String, Sendable, CaseIterable {
    case credit, credit2, rtds, arinc653, null
}

/// A domain's parameters under the credit or credit2 scheduler
/// (`xen_domctl_sched_credit`/`_credit2`).
public struct CreditParams: Sendable, Equatable {
    /// Its share of the CPUs against other domains' weights (1-65535).
    public var weight: Int
    /// The most CPU it may use, in percent of one CPU; 0: no cap.
    public var cap: Int

    public init(weight: Int, cap: Int) {
        self.weight = weight
        self.cap = cap
    }

    /// What a new domain has: weight 256, no cap (both schedulers).
    public static let initial = CreditParams(weight: 256, cap: 0)
}

/// A CPU pool's credit scheduler parameters (`xen_sysctl_credit_schedule`);
/// credit2 has the rate limit only.
public struct PoolSchedParams: Sendable, Equatable {
    public var tsliceMs: Int
    public var ratelimitUs: Int
    public var migrationDelayUs: Int

    public init(tsliceMs: Int, ratelimitUs: Int, migrationDelayUs: Int) {
        self.tsliceMs = tsliceMs
        self.ratelimitUs = ratelimitUs
        self.migrationDelayUs = migrationDelayUs
    }

    /// Xen's defaults: a 30 ms time slice, a 1000 µs rate limit, no migration delay.
    public static let initial = PoolSchedParams(tsliceMs: 30, ratelimitUs: 1000, migrationDelayUs: 0)

    /// Xen's bounds (public/sysctl.h).
    public static let tsliceRange = 1...1000
    public static let ratelimitRange = 100...500_000
    public static let migrationDelayMaxUs = 100_000
}

/// A CPU pool (`xc_cpupool_getinfo`).
public struct CPUPoolInfo: Sendable, Equatable {
    public var id: UInt32
    public var scheduler: Scheduler?
    public var cpus: CPUSet
    /// How many domains it holds, as the hypervisor counts them (nil:
    /// the hypervisor does not say; count the domains whose pool it is).
    public var domainCount: UInt32?

    public init(id: UInt32, scheduler: Scheduler?, cpus: CPUSet, domainCount: UInt32? = nil) {
        self.domainCount = domainCount
        self.id = id
        self.scheduler = scheduler
        self.cpus = cpus
    }
}
