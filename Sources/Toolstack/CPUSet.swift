import DomainConfig

/// A set of physical CPUs: a cpumap, as Xen keeps a vCPU's hard and soft
/// affinity. Sorted, without duplicates.
public struct CPUSet: Sendable, Hashable, CustomStringConvertible {
    public private(set) var cpus: [UInt32]

    public init<S: Sequence>(_ cpus: S) where S.Element == UInt32 {
        self.cpus = Array(Set(cpus)).sorted()
    }

    /// Every CPU of a host with `count` CPUs (Xen's default affinity).
    public static func all(_ count: UInt32) -> CPUSet { CPUSet(0..<count) }

    public var isEmpty: Bool { cpus.isEmpty }

    /// The CPUs also in `other`.
    public func intersection(_ other: CPUSet) -> CPUSet { CPUSet(Set(cpus).intersection(other.cpus)) }

    /// Only the CPUs below `count` (what Xen keeps of a cpumap: it drops
    /// the bits beyond the host's CPUs).
    public func below(_ count: UInt32) -> CPUSet { CPUSet(cpus.filter { $0 < count }) }

    /// The map as xl prints it (`print_bitmap` of tools/xl/xl_utils.c) over
    /// the host's first `cpuCount` CPUs: `all` when it is one run from CPU
    /// 0 to the last, `none` when empty, else runs (`0-1,3`).
    public func xlText(cpuCount: UInt32) -> String {
        var runs: [(UInt32, UInt32)] = []
        for cpu in cpus where cpu < cpuCount {
            if let last = runs.last, last.1 + 1 == cpu { runs[runs.count - 1].1 = cpu } else { runs.append((cpu, cpu)) }
        }
        if runs.isEmpty { return "none" }
        if runs.count == 1, runs[0].0 == 0, runs[0].1 == cpuCount - 1 { return "all" }
        return runs.map { $0.0 == $0.1 ? "\($0.0)" : "\($0.0)-\($0.1)" }.joined(separator: ",")
    }

    public var description: String {
        cpus.map(String.init).joined(separator: ",")
    }
}

/// What the toolstack knows of the host's CPUs to turn an xl CPU list
/// into a cpumap: how many there are and which belong to each NUMA node.
public struct CPUTopology: Sendable, Equatable {
    /// The host's CPUs (`max_cpu_id + 1`).
    public var cpuCount: UInt32
    /// The CPUs of each node, by node number.
    public var nodeCPUs: [CPUSet]

    public init(cpuCount: UInt32, nodeCPUs: [CPUSet]) {
        self.cpuCount = cpuCount
        self.nodeCPUs = nodeCPUs
    }

    /// The host `physInfo` describes: one node holding every CPU (the
    /// embedded host, and most real hosts swxl runs on), or, with several
    /// nodes, no node's CPUs known (only the hypervisor's topology tells
    /// them, which swxl does not read yet: see ``knowsNodes``).
    public init(physInfo: PhysInfo) {
        let count = physInfo.maxCPUID + 1
        self.init(cpuCount: count, nodeCPUs: physInfo.nodes <= 1 ? [CPUSet.all(count)] : [])
    }

    /// Whether NUMA nodes in CPU lists (`nodes:0`) can be resolved here.
    public var knowsNodes: Bool { !nodeCPUs.isEmpty }

    /// Whether an xl CPU list names NUMA nodes.
    public static func namesNodes(_ text: String) -> Bool { text.contains("node") }

    /// The cpumap of one xl CPU list, as xl's `parse_cpurange`
    /// (tools/xl/xl_parse.c) builds it: items in order, each adding (or,
    /// with `^`, taking out) CPUs or whole nodes; `all` is every CPU. CPUs
    /// beyond the host's stay in the map: the hypervisor drops them (and
    /// refuses a hard affinity left with none).
    public func cpuSet(_ affinity: CPUAffinity) -> CPUSet {
        switch affinity {
        case .all: return CPUSet.all(cpuCount)
        case .cpus(let list): return CPUSet(list.map { UInt32($0) })
        case .nodes(let nodes): return CPUSet(nodes.flatMap { node in node < nodeCPUs.count ? nodeCPUs[node].cpus : [] })
        case .perVCPU(let list): return list.first.map(cpuSet) ?? CPUSet([])
        case .mixed(let text): return (try? parseCPUList(text).get()) ?? CPUSet([])
        }
    }

    /// The bits of a cpumap for this host: libxl sizes it in whole bytes,
    /// and a CPU past its end is dropped as libxl drops it.
    var cpumapBits: UInt32 { (cpuCount + 7) / 8 * 8 }

    /// An xl CPU list as xl's `parse_cpurange` reads it (tools/xl/xl_parse.c),
    /// with its messages: comma-separated items, each a CPU, a range
    /// `A-B`, `all`, or whole nodes (`nodes:` or `node:`), `^` taking
    /// them out; applied in order to an empty map.
    public func parseCPUList(_ text: String) -> Result<CPUSet, CPUListError> {
        var set = Set<UInt32>()
        for token in text.split(separator: ",") {
            var item = Substring(token)
            let exclude = item.hasPrefix("^")
            if exclude { item = item.dropFirst() }
            var nodes = false
            for prefix in ["node:", "nodes:"] where item.hasPrefix(prefix) {
                nodes = true
                item = item.dropFirst(prefix.count)
                break
            }
            var members: [UInt32]
            if item == "all" {
                if exclude { return .failure(CPUListError(message: "Can't combine \"^\" and \"all\".")) }
                members = Array(0..<cpumapBits)
            } else {
                guard let (low, high) = Self.range(item) else {
                    return .failure(CPUListError(message: "Invalid pcpu range: \(item)."))
                }
                if nodes {
                    members = low < UInt64(nodeCPUs.count) ? (low...min(high, UInt64(nodeCPUs.count - 1))).flatMap { nodeCPUs[Int($0)].cpus } : []
                } else {
                    members = low < UInt64(cpumapBits) ? Array(UInt32(low)...UInt32(min(high, UInt64(cpumapBits - 1)))) : []
                }
            }
            if exclude { set.subtract(members) } else { set.formUnion(members) }
        }
        return .success(CPUSet(set))
    }

    /// xl's `parse_range`: `A` or `A-B` in decimal as strtoul reads them
    /// (leading blanks and a sign allowed), B not below A, nothing after.
    static func range(_ text: Substring) -> (UInt64, UInt64)? {
        func number(_ s: Substring) -> (UInt64, Substring)? {
            var rest = s.drop { $0 == " " || $0 == "\t" || $0 == "\n" }
            if rest.first == "+" { rest = rest.dropFirst() }
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let v = UInt64(digits) else { return nil }
            return (v, rest.dropFirst(digits.count))
        }
        guard let (a, afterA) = number(text) else { return nil }
        if afterA.isEmpty { return (a, a) }
        guard afterA.first == "-", let (b, afterB) = number(afterA.dropFirst()), afterB.isEmpty, b >= a else { return nil }
        return (a, b)
    }

    /// One cpumap per vCPU from a config's `cpus` or `cpus_soft`, as xl's
    /// `parse_vcpu_affinity` makes them: a single list applies to all
    /// `maxVCPUs`; a list of lists gives vCPU n the n-th (vCPUs past its
    /// end are left alone, entries past the vCPUs ignored).
    public func vcpuCPUSets(_ affinity: CPUAffinity, maxVCPUs: UInt32) -> [CPUSet] {
        if case .perVCPU(let list) = affinity {
            return list.prefix(Int(maxVCPUs)).map(cpuSet)
        }
        return Array(repeating: cpuSet(affinity), count: Int(maxVCPUs))
    }
}

/// An xl CPU list xl would refuse, with xl's message.
public struct CPUListError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
