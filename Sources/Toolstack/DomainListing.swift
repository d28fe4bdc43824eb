import DomainConfig

/// `swxl list`'s machine-readable forms.
public enum DomainListing {
    /// `swxl list --json`: an array with one line per domain.
    public static func json(_ domains: [DomainSummary]) -> String {
        JSONValue.array(domains.map(\.jsonValue)).serialized(inlineBelow: 1) + "\n"
    }

    /// `swxl list --long`, as xl prints it: for each domain with a record
    /// (given as its JSON text), `{"domid": ..., "config": ...}`, laid out
    /// with xl's four-space indents around the record's own text.
    public static func configsJSON(_ records: [(domid: UInt32, json: String)]) -> String {
        let parts = records.map { record in
            "{\n    \"domid\": \(record.domid),\n    \"config\": \(indent(record.json, by: 4))\n}"
        }
        return "[\n" + parts.map { indent($0, by: 4, first: true) }.joined(separator: ",\n") + (parts.isEmpty ? "" : "\n") + "]\n"
    }

    /// Every line of `text` but the first (unless `first`) moved right by `n` spaces.
    static func indent(_ text: String, by n: Int, first: Bool = false) -> String {
        let pad = String(repeating: " ", count: n)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return lines.enumerated().map { (i, l) in (i == 0 && !first) ? String(l) : pad + l }.joined(separator: "\n")
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
