import DomainConfig

/// `swxl list`'s machine-readable forms.
public enum DomainListing {
    /// `swxl list --json`: an array with one line per domain.
    public static func json(_ domains: [DomainSummary]) -> String {
        JSONValue.array(domains.map(\.jsonValue)).serialized(inlineBelow: 1) + "\n"
    }
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
