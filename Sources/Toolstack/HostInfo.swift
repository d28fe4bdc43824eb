import DomainConfig
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The lines of `xl info`, built from what the hypervisor reports.
public enum HostInfo {
    public struct Field: Equatable, Sendable {
        public enum Value: Equatable, Sendable {
            case text(String)
            case number(UInt64)
            /// Words xl prints each after a space, right after the colon (`virt_caps`).
            case words([String])
        }
        public var key: String
        public var value: Value

        public init(key: String, value: Value) {
            self.key = key
            self.value = value
        }

        /// The line as xl prints it: the key padded to 23, a colon, the value.
        public var line: String {
            let rest: String
            switch value {
            case .text(let text): rest = " " + text
            case .number(let n): rest = " \(n)"
            case .words(let words): rest = words.map { " " + $0 }.joined()
            }
            return key + String(repeating: " ", count: max(0, 23 - key.count)) + ":" + rest
        }
    }

    /// uname(2)'s names for this machine.
    public struct Node: Equatable, Sendable {
        public var host, release, version, machine: String

        public init(host: String, release: String, version: String, machine: String) {
            self.host = host
            self.release = release
            self.version = version
            self.machine = machine
        }

        public static var current: Node {
            var uts = utsname()
            uname(&uts)
            func field<T>(_ v: T) -> String {
                withUnsafeBytes(of: v) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            }
            return Node(host: field(uts.nodename), release: field(uts.release), version: field(uts.version), machine: field(uts.machine))
        }
    }

    /// The fields for this machine and what `hypervisor` reports.
    public static func fields(of hypervisor: any Hypervisor) throws(HypervisorError) -> [Field] {
        let version = try hypervisor.version()
        let phys = try hypervisor.physInfo()
        return fields(node: .current, phys: phys, version: version)
    }

    /// Xen 4.17's order and units: memory in MiB, the CPU clock in MHz with three decimals.
    public static func fields(node: Node, phys: PhysInfo, version: HypervisorVersion) -> [Field] {
        func text(_ key: String, _ value: String) -> Field { Field(key: key, value: .text(value)) }
        func number<N: BinaryInteger>(_ key: String, _ value: N) -> Field { Field(key: key, value: .number(UInt64(value))) }
        func hex(_ n: UInt64, width: Int) -> String {
            let digits = String(n, radix: 16)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let khz = String(phys.cpuKHz % 1000)
        return [
            text("host", node.host), text("release", node.release), text("version", node.version),
            text("machine", node.machine),
            number("nr_cpus", phys.cpus), number("max_cpu_id", phys.maxCPUID), number("nr_nodes", phys.nodes),
            number("cores_per_socket", phys.coresPerSocket), number("threads_per_core", phys.threadsPerCore),
            text("cpu_mhz", "\(phys.cpuKHz / 1000)." + String(repeating: "0", count: 3 - khz.count) + khz),
            text("hw_caps", (0..<8).map { hex(UInt64($0 < phys.hwCaps.count ? phys.hwCaps[$0] : 0), width: 8) }.joined(separator: ":")),
            Field(key: "virt_caps", value: .words(phys.virtCaps)),
            number("total_memory", phys.totalKiB / 1024), number("free_memory", phys.freeKiB / 1024),
            number("sharing_freed_memory", phys.sharingFreedKiB / 1024),
            number("sharing_used_memory", phys.sharingUsedKiB / 1024),
            number("outstanding_claims", phys.outstandingKiB / 1024), number("free_cpus", phys.freeCPUs),
            number("xen_major", version.major), number("xen_minor", version.minor), text("xen_extra", version.extra),
            text("xen_version", "\(version.major).\(version.minor)\(version.extra)"), text("xen_caps", version.capabilities),
            text("xen_scheduler", phys.scheduler), number("xen_pagesize", version.pageSize),
            text("platform_params", "virt_start=0x" + hex(version.virtStart, width: 0)),
            text("xen_changeset", version.changeset), text("xen_commandline", version.commandLine),
            text("cc_compiler", version.compiler), text("cc_compile_by", version.compiledBy),
            text("cc_compile_domain", version.compileDomain), text("cc_compile_date", version.compileDate),
            text("build_id", version.buildID), number("xend_config_format", 4),
        ]
    }

    /// `xl info -n`: every line, with the topology after the physical
    /// information (after `free_cpus`), as xl's print_info puts it.
    public static func text(_ fields: [Field], topology: HostTopology) -> String {
        guard let split = fields.firstIndex(where: { $0.key == "xen_major" }) else { return text(fields, item: nil) }
        return text(Array(fields[..<split]), item: nil) + topology.xlText + text(Array(fields[split...]), item: nil)
    }

    /// Every line; or, as xl does for `xl info ITEM`, the value of each line
    /// that starts with `item` (a line with nothing after its colon prints nothing).
    public static func text(_ fields: [Field], item: String?) -> String {
        var text = ""
        for field in fields {
            let line = field.line
            guard let item else {
                text += line + "\n"
                continue
            }
            guard line.hasPrefix(item), let colon = line.firstIndex(of: ":") else { continue }
            let rest = line[line.index(after: colon)...]
            if rest.first == " " { text += rest.dropFirst() + "\n" }
        }
        return text
    }

    /// One object, keys in xl's order; with `item`, only the keys that start
    /// with it (none: an empty object, over two lines as ever).
    public static func json(_ fields: [Field], item: String?) -> String {
        let members = fields.filter { item == nil || $0.key.hasPrefix(item!) }.map { field -> (String, JSONValue) in
            switch field.value {
            case .text(let text): (field.key, .string(text))
            case .number(let n): (field.key, .number("\(n)"))
            case .words(let words): (field.key, .array(words.map { .string($0) }))
            }
        }
        return members.isEmpty ? "{\n}\n" : JSONValue.object(members).serialized() + "\n"
    }
}
