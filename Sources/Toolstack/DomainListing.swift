import DomainConfig

/// `swxl list`'s machine-readable forms.
public enum DomainListing {
    /// `swxl list --json`: an array with one line per domain, the running
    /// ones, then the managed domains that are halted.
    public static func json(_ domains: [DomainSummary], halted: [DomainConfiguration] = []) -> String {
        JSONValue.array(domains.map(\.jsonValue) + halted.map(haltedJSON)).serialized(inlineBelow: 1) + "\n"
    }

    /// A halted managed domain as one object of `swxl list --json`: the
    /// running domains' keys, with no domid, the memory and vCPUs it starts
    /// with, and the state `Halted` (XenAPI's power state; xm's letters).
    public static func haltedJSON(_ config: DomainConfiguration) -> JSONValue {
        .object([
            ("name", .string(config.name_label)), ("domid", .null), ("uuid", .string(config.uuid.description)),
            ("memory_kib", .number("\(config.memory_dynamic_max >> 10)")), ("max_memory_kib", .number("\(config.memory_static_max >> 10)")),
            ("vcpus", .number("\(config.VCPUs_at_startup)")), ("max_vcpus", .number("\(config.VCPUs_max)")),
            ("state", .string("Halted")), ("state_letters", .string(haltedStateLetters)),
            ("cpu_time", .number("0.000")), ("shutdown_reason", .null),
        ])
    }

    /// A halted domain's state column: no flag set, as xm's list showed one over the XenAPI.
    public static let haltedStateLetters = "------"
}

extension DomainSummary {
    /// The domain as one object of `swxl list --json`: sizes in KiB, cpu
    /// time in seconds with three decimals, the state as a word and as xl's letters.
    public var jsonValue: JSONValue {
        let i = info
        return .object([
            ("name", .string(name)), ("domid", .number("\(i.domid)")), ("uuid", .string(i.uuid.description)),
            ("memory_kib", .number("\(i.currentMemoryKiB)")), ("max_memory_kib", .number("\(i.maxMemoryKiB)")),
            ("vcpus", .number("\(i.onlineVCPUs)")), ("max_vcpus", .number("\(i.maxVCPUs)")),
            ("state", .string(i.stateName)), ("state_letters", .string(i.stateLetters)),
            ("cpu_time", .number(DecimalText.fixed(Double(i.cpuTimeNs) / 1e9, places: 3))),
            ("shutdown_reason", i.shutdown ? .string(i.shutdownReason?.name ?? "poweroff") : .null),
        ])
    }
}
