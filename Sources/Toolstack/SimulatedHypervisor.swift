#if canImport(Glibc)
import Glibc
#endif

/// The embedded host's hypervisor: a domain table in `<state>/hypervisor`
/// that outlives processes.
///
/// - `host`: the host (pCPUs, memory, Domain-0's memory), the next domid
///   and the memory given to domains;
/// - `domains/<domid>`: one small file per domain;
/// - `console`: the hypervisor's console ring (`xl dmesg`);
/// - `lock`: every change happens under an exclusive `flock` on it, so
///   concurrent `swxl create`s never get the same domid.
///
/// Domids grow from 1 as Xen's do and are not reused until they wrap at
/// `DOMID_FIRST_RESERVED`. A running domain's cpu time grows at 1% of
/// wall-clock time per online vcpu (an idle guest, shown `-b----`).
public final class SimulatedHypervisor: Hypervisor {
    /// The host a fresh state dir starts with.
    public struct HostSpec: Sendable, Equatable {
        public var cpus: UInt32
        public var memoryKiB: UInt64
        public var dom0MemoryKiB: UInt64
        public init(cpus: UInt32 = 4, memoryKiB: UInt64 = 16 << 20, dom0MemoryKiB: UInt64 = 1 << 20) {
            self.cpus = cpus
            self.memoryKiB = memoryKiB
            self.dom0MemoryKiB = dom0MemoryKiB
        }

        /// `SWXL_SIM_CPUS` and `SWXL_SIM_MEMORY` (MiB) over the defaults.
        public init(environment env: [String: String]) {
            self.init()
            if let v = env["SWXL_SIM_CPUS"].flatMap({ UInt32($0) }), v > 0 { cpus = v }
            if let v = env["SWXL_SIM_MEMORY"].flatMap({ UInt64($0) }), v > 0 { memoryKiB = v << 10 }
            dom0MemoryKiB = min(dom0MemoryKiB, memoryKiB / 4)
        }
    }

    /// Xen's first reserved domid: domids wrap below it.
    public static let firstReservedDomid: UInt32 = 0x7FF0

    public let dir: String
    private let hostSpec: HostSpec

    public init(dir: String, host: HostSpec = HostSpec()) {
        self.dir = dir
        self.hostSpec = host
    }

    // MARK: records

    struct Host {
        var cpus: UInt32
        var memoryKiB: UInt64
        var dom0MemoryKiB: UInt64
        var nextDomid: UInt32
        var usedKiB: UInt64
        var bootNs: UInt64

        var text: String {
            "cpus=\(cpus)\nmemory_kib=\(memoryKiB)\ndom0_kib=\(dom0MemoryKiB)\nnext_domid=\(nextDomid)\nused_kib=\(usedKiB)\nboot_ns=\(bootNs)\n"
        }
    }

    struct Record {
        var domid: UInt32
        var uuid: [UInt8]
        var type: GuestType
        var maxVCPUs: UInt32
        var onlineVCPUs: UInt32
        var maxMemoryKiB: UInt64
        var currentMemoryKiB: UInt64
        /// "paused", "running", "shutdown", "crashed".
        var state: String
        var reason: ShutdownReason?
        var cpuNs: UInt64
        /// When it last started running (wall ns), 0 when not running.
        var sinceNs: UInt64
        var built: Bool
        var kernel: String

        var text: String {
            "domid=\(domid)\nuuid=\(DomainHandle.format(uuid))\ntype=\(type.rawValue)\nmax_vcpus=\(maxVCPUs)\nonline_vcpus=\(onlineVCPUs)\n"
                + "max_kib=\(maxMemoryKiB)\ncur_kib=\(currentMemoryKiB)\nstate=\(state)\nreason=\(reason.map { String($0.rawValue) } ?? "")\n"
                + "cpu_ns=\(cpuNs)\nsince_ns=\(sinceNs)\nbuilt=\(built ? 1 : 0)\nkernel=\(kernel)\n"
        }

        init(domid: UInt32, uuid: [UInt8], type: GuestType, maxVCPUs: UInt32, maxMemoryKiB: UInt64) {
            self.domid = domid
            self.uuid = uuid
            self.type = type
            self.maxVCPUs = maxVCPUs
            self.onlineVCPUs = maxVCPUs
            self.maxMemoryKiB = maxMemoryKiB
            self.currentMemoryKiB = 0
            self.state = "paused"
            self.reason = nil
            self.cpuNs = 0
            self.sinceNs = 0
            self.built = false
            self.kernel = ""
        }

        /// Parses a record (`key=value` lines) straight from its bytes:
        /// `list` reads a thousand of them.
        init?(bytes: [UInt8]) {
            var domid: UInt32?, uuid: [UInt8]?, type: GuestType?
            var fields: [UInt64?] = Array(repeating: nil, count: 8)
            var state = "paused", kernel = "", built = false, reasonSet = false
            var i = 0
            let n = bytes.count
            while i < n {
                var eq = i
                while eq < n && bytes[eq] != UInt8(ascii: "=") && bytes[eq] != 10 { eq += 1 }
                var end = eq
                while end < n && bytes[end] != 10 { end += 1 }
                guard eq < n, bytes[eq] == UInt8(ascii: "=") else { i = end + 1; continue }
                let key = bytes[i..<eq], value = bytes[(eq + 1)..<end]
                func number() -> UInt64? {
                    guard !value.isEmpty, value.count <= 19 else { return nil }
                    var v: UInt64 = 0
                    for c in value {
                        guard c >= 48 && c <= 57 else { return nil }
                        v = v * 10 + UInt64(c - 48)
                    }
                    return v
                }
                func text() -> String { String(decoding: value, as: UTF8.self) }
                switch key.count {
                case 4 where key.elementsEqual("uuid".utf8): uuid = DomainHandle.parse(text())
                case 4 where key.elementsEqual("type".utf8): type = GuestType(rawValue: text())
                case 5 where key.elementsEqual("domid".utf8): domid = number().flatMap { UInt32(exactly: $0) }
                case 5 where key.elementsEqual("state".utf8): state = text()
                case 5 where key.elementsEqual("built".utf8): built = value.elementsEqual("1".utf8)
                case 6 where key.elementsEqual("kernel".utf8): kernel = text()
                case 6 where key.elementsEqual("reason".utf8): fields[0] = number(); reasonSet = true
                case 6 where key.elementsEqual("cpu_ns".utf8): fields[1] = number()
                case 7 where key.elementsEqual("max_kib".utf8): fields[2] = number()
                case 7 where key.elementsEqual("cur_kib".utf8): fields[3] = number()
                case 8 where key.elementsEqual("since_ns".utf8): fields[4] = number()
                case 9 where key.elementsEqual("max_vcpus".utf8): fields[5] = number()
                case 12 where key.elementsEqual("online_vcpus".utf8): fields[6] = number()
                default: break
                }
                i = end + 1
            }
            guard let domid, let uuid, let type else { return nil }
            let maxVCPUs = fields[5].flatMap { UInt32(exactly: $0) } ?? 1
            self.init(domid: domid, uuid: uuid, type: type, maxVCPUs: maxVCPUs, maxMemoryKiB: fields[2] ?? 0)
            onlineVCPUs = fields[6].flatMap { UInt32(exactly: $0) } ?? maxVCPUs
            currentMemoryKiB = fields[3] ?? 0
            self.state = state
            reason = reasonSet ? fields[0].flatMap { UInt32(exactly: $0) }.flatMap { ShutdownReason(rawValue: $0) } : nil
            cpuNs = fields[1] ?? 0
            sinceNs = fields[4] ?? 0
            self.built = built
            self.kernel = kernel
        }

        func cpuTime(now: UInt64) -> UInt64 {
            guard state == "running", sinceNs > 0, now > sinceNs else { return cpuNs }
            return cpuNs + (now - sinceNs) / 100 * UInt64(max(onlineVCPUs, 1))
        }

        /// Stops the cpu clock (pause, shutdown).
        mutating func stopClock(now: UInt64) {
            cpuNs = cpuTime(now: now)
            sinceNs = 0
        }
    }

    private var domainsDir: String { dir + "/domains" }
    private var hostPath: String { dir + "/host" }
    private func domainPath(_ domid: UInt32) -> String { domainsDir + "/\(domid)" }
    public var consolePath: String { dir + "/console" }

    /// Runs `body` under the lock with the host record, writing it back if changed.
    private func locked<T>(_ operation: String, _ body: (inout Host) throws(HypervisorError) -> T) throws(HypervisorError) -> T {
        let lock: FileLock
        do {
            try FileIO.makeDirectories(domainsDir)
            lock = try FileLock(path: dir + "/lock")
        } catch {
            throw HypervisorError(operation, errno: error.errno, error.description)
        }
        defer { lock.unlock() }
        var host = loadHost()
        let before = host.text
        let result = try body(&host)
        if host.text != before {
            do { try FileIO.overwrite(hostPath, host.text) } catch {
                throw HypervisorError(operation, errno: error.errno, error.description)
            }
        }
        return result
    }

    private func loadHost() -> Host {
        if let text = FileIO.read(hostPath) {
            let kv = parseKeyValues(text)
            if let cpus = kv["cpus"].flatMap({ UInt32($0) }), let mem = kv["memory_kib"].flatMap({ UInt64($0) }) {
                return Host(cpus: cpus, memoryKiB: mem, dom0MemoryKiB: kv["dom0_kib"].flatMap { UInt64($0) } ?? 0,
                            nextDomid: kv["next_domid"].flatMap { UInt32($0) } ?? 1,
                            usedKiB: kv["used_kib"].flatMap { UInt64($0) } ?? 0,
                            bootNs: kv["boot_ns"].flatMap { UInt64($0) } ?? nowNanoseconds())
            }
        }
        let host = Host(cpus: hostSpec.cpus, memoryKiB: hostSpec.memoryKiB, dom0MemoryKiB: hostSpec.dom0MemoryKiB,
                        nextDomid: 1, usedKiB: 0, bootNs: nowNanoseconds())
        let (major, minor, extra) = Self.versionNumbers
        FileIO.append(consolePath, """
            (XEN) Xen version \(major).\(minor)\(extra) (swxl embedded host)
            (XEN) Simulated host: \(host.cpus) CPUs, \(host.memoryKiB >> 10) MB RAM
            (XEN) Dom0 has \(host.dom0MemoryKiB >> 10) MB

            """)
        return host
    }

    /// A domain's record. Records are rewritten in place under the lock and
    /// read without it: a read that races a rewrite is read again.
    private func load(_ domid: UInt32) -> Record? {
        for _ in 0..<3 {
            guard let bytes = FileIO.readBytes(domainPath(domid)) else { return nil }
            if let record = Record(bytes: bytes) { return record }
        }
        return nil
    }

    private func store(_ record: Record, _ operation: String) throws(HypervisorError) {
        do { try FileIO.overwrite(domainPath(record.domid), record.text) } catch {
            throw HypervisorError(operation, errno: error.errno, error.description)
        }
    }

    private func modify(_ domid: UInt32, _ operation: String,
                        _ body: (inout Record, inout Host) throws(HypervisorError) -> Void) throws(HypervisorError) {
        try locked(operation) { (host: inout Host) throws(HypervisorError) in
            guard var record = load(domid) else { throw Self.noSuchDomain(operation, domid) }
            let before = record.text
            try body(&record, &host)
            if record.text != before { try store(record, operation) }
        }
    }

    static func noSuchDomain(_ operation: String, _ domid: UInt32) -> HypervisorError {
        HypervisorError(operation, errno: ESRCH, "domain \(domid) does not exist: No such process")
    }

    static let versionNumbers = (4, 17, "-sim")

    // MARK: Hypervisor

    public func version() throws(HypervisorError) -> HypervisorVersion {
        let (major, minor, extra) = Self.versionNumbers
        return HypervisorVersion(major: major, minor: minor, extra: extra,
                                 capabilities: "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64",
                                 changeset: "swxl embedded host")
    }

    public func physInfo() throws(HypervisorError) -> PhysInfo {
        let host = try locked("physinfo") { (h: inout Host) in h }
        let free = host.memoryKiB - min(host.memoryKiB, host.dom0MemoryKiB + host.usedKiB)
        return PhysInfo(cpus: host.cpus, threadsPerCore: 1, coresPerSocket: host.cpus, nodes: 1,
                        cpuKHz: 2_400_000, totalKiB: host.memoryKiB, freeKiB: free)
    }

    public func createDomain(_ spec: DomainCreateSpec) throws(HypervisorError) -> UInt32 {
        let op = "create domain"
        guard spec.uuid.count == 16 else { throw HypervisorError(op, errno: EINVAL, "a domain handle is 16 bytes") }
        guard spec.maxVCPUs >= 1 else { throw HypervisorError(op, errno: EINVAL, "max_vcpus must be at least 1: Invalid argument") }
        return try locked(op) { (host: inout Host) throws(HypervisorError) -> UInt32 in
            let free = host.memoryKiB - min(host.memoryKiB, host.dom0MemoryKiB + host.usedKiB)
            if spec.maxMemoryKiB > free {
                throw HypervisorError(op, errno: ENOMEM,
                    "xc_dom_boot_mem_init: can't allocate low memory for domain: Out of memory (needs \(spec.maxMemoryKiB) kB, \(free) kB free)")
            }
            guard let domid = nextFreeDomid(&host) else {
                throw HypervisorError(op, errno: ENOSPC, "no free domain id: No space left on device")
            }
            let record = Record(domid: domid, uuid: spec.uuid, type: spec.type, maxVCPUs: spec.maxVCPUs,
                                maxMemoryKiB: spec.maxMemoryKiB)
            try store(record, op)
            host.usedKiB += spec.maxMemoryKiB
            return domid
        }
    }

    private func nextFreeDomid(_ host: inout Host) -> UInt32? {
        var candidate = host.nextDomid
        for _ in 0..<Int(Self.firstReservedDomid) {
            if candidate == 0 || candidate >= Self.firstReservedDomid { candidate = 1 }
            if !FileIO.exists(domainPath(candidate)) {
                host.nextDomid = candidate + 1
                return candidate
            }
            candidate += 1
        }
        return nil
    }

    public func setMaxMemory(domid: UInt32, kib: UInt64) throws(HypervisorError) {
        try modify(domid, "set max memory") { (r: inout Record, host: inout Host) throws(HypervisorError) in
            if kib > r.maxMemoryKiB {
                let free = host.memoryKiB - min(host.memoryKiB, host.dom0MemoryKiB + host.usedKiB)
                if kib - r.maxMemoryKiB > free {
                    throw HypervisorError("set max memory", errno: ENOMEM, "not enough free memory: Out of memory")
                }
            }
            host.usedKiB = host.usedKiB - r.maxMemoryKiB + kib
            r.maxMemoryKiB = kib
            r.currentMemoryKiB = min(r.currentMemoryKiB, kib)
        }
    }

    public func setMaxVCPUs(domid: UInt32, count: UInt32) throws(HypervisorError) {
        try modify(domid, "set max vcpus") { (r: inout Record, _: inout Host) throws(HypervisorError) in
            guard count >= 1 else { throw HypervisorError("set max vcpus", errno: EINVAL, "Invalid argument") }
            r.maxVCPUs = count
            r.onlineVCPUs = min(r.onlineVCPUs, count)
        }
    }

    public func build(domid: UInt32, spec: BuildSpec) throws(HypervisorError) -> BuildResult {
        let op = "build domain"
        var result = BuildResult(storePort: 1, storeMFN: 0, consolePort: 2, consoleMFN: 0)
        try modify(domid, op) { (r: inout Record, _: inout Host) throws(HypervisorError) in
            do { try KernelImage.check(path: spec.kernelPath, type: r.type) } catch {
                throw HypervisorError(op, errno: EINVAL, "\(error)")
            }
            if let ramdisk = spec.ramdiskPath, !ramdisk.isEmpty, !FileIO.exists(ramdisk) {
                throw HypervisorError(op, errno: ENOENT, "ramdisk \(ramdisk): No such file or directory")
            }
            guard spec.memoryKiB <= r.maxMemoryKiB else {
                throw HypervisorError(op, errno: ENOMEM, "memory \(spec.memoryKiB) kB is more than maxmem \(r.maxMemoryKiB) kB: Out of memory")
            }
            r.currentMemoryKiB = spec.memoryKiB
            r.built = true
            r.kernel = spec.kernelPath
            // Page frames in the simulated host: distinct per domain, as real MFNs are.
            let base = 0x10_0000 + UInt64(domid) * 0x1_0000
            result.storeMFN = base + 0xff_fe
            result.consoleMFN = base + 0xff_ff
        }
        return result
    }

    public func pause(domid: UInt32) throws(HypervisorError) {
        try modify(domid, "pause") { (r: inout Record, _: inout Host) throws(HypervisorError) in
            guard r.state == "running" || r.state == "paused" else {
                throw HypervisorError("pause", errno: EINVAL, "domain \(domid) is not running: Invalid argument")
            }
            r.stopClock(now: nowNanoseconds())
            r.state = "paused"
        }
    }

    public func unpause(domid: UInt32) throws(HypervisorError) {
        try modify(domid, "unpause") { (r: inout Record, _: inout Host) throws(HypervisorError) in
            guard r.built else { throw HypervisorError("unpause", errno: EINVAL, "domain \(domid) has not been built: Invalid argument") }
            guard r.state == "paused" || r.state == "running" else {
                throw HypervisorError("unpause", errno: EINVAL, "domain \(domid) has shut down: Invalid argument")
            }
            if r.state == "paused" {
                r.state = "running"
                r.sinceNs = nowNanoseconds()
            }
        }
    }

    public func shutdown(domid: UInt32, reason: ShutdownReason) throws(HypervisorError) {
        try modify(domid, "shutdown") { (r: inout Record, _: inout Host) throws(HypervisorError) in
            guard r.state != "shutdown" && r.state != "crashed" else { return }
            r.stopClock(now: nowNanoseconds())
            r.state = reason == .crash ? "crashed" : "shutdown"
            r.reason = reason
        }
        FileIO.append(consolePath, "(XEN) Domain \(domid) shutdown: \(reason.name)\n")
    }

    public func destroy(domid: UInt32) throws(HypervisorError) {
        try locked("destroy") { (host: inout Host) throws(HypervisorError) in
            guard let record = load(domid) else { throw Self.noSuchDomain("destroy", domid) }
            guard unlink(domainPath(domid)) == 0 else {
                throw HypervisorError("destroy", errno: errno, "cannot remove domain \(domid)")
            }
            host.usedKiB -= min(host.usedKiB, record.maxMemoryKiB)
        }
    }

    public func domainInfo(domid: UInt32) throws(HypervisorError) -> DomainInfo? {
        if domid == 0 { return try dom0Info() }
        return load(domid).map { info($0, now: nowNanoseconds()) }
    }

    public func listDomains() throws(HypervisorError) -> [DomainInfo] {
        let now = nowNanoseconds()
        var out = [try dom0Info()]
        let ids = FileIO.list(domainsDir).compactMap { UInt32($0) }.sorted()
        out.reserveCapacity(ids.count + 1)
        for id in ids { if let r = load(id) { out.append(info(r, now: now)) } }
        return out
    }

    /// The domids of the domains other than Domain-0 (one directory read).
    public func domainIDs() -> [UInt32] {
        FileIO.list(domainsDir).compactMap { UInt32($0) }
    }

    public func vcpuInfo(domid: UInt32) throws(HypervisorError) -> [VCPUInfo] {
        guard let d = try domainInfo(domid: domid) else { throw Self.noSuchDomain("vcpu info", domid) }
        let cpus = try physInfo().cpus
        let running = !(d.paused || d.shutdown || d.crashed)
        return (0..<d.maxVCPUs).map { v in
            let online = v < d.onlineVCPUs
            return VCPUInfo(vcpu: v, cpu: online ? v % max(cpus, 1) : nil, online: online,
                            running: online && domid == 0 && v == 0, blocked: online && running && !(domid == 0 && v == 0),
                            cpuTimeNs: online ? d.cpuTimeNs / UInt64(max(d.onlineVCPUs, 1)) : 0, affinity: [])
        }
    }

    public func readConsoleRing(clear: Bool) throws(HypervisorError) -> String {
        _ = try physInfo()  // makes sure the host (and its boot banner) exists
        let text = FileIO.read(consolePath) ?? ""
        if clear { _ = try? FileIO.writeAtomically(consolePath, "") }
        return text
    }

    // MARK: simulated-guest hooks (not part of the Hypervisor protocol)

    /// The guest's balloon driver reached `kib`.
    public func setCurrentMemory(domid: UInt32, kib: UInt64) throws(HypervisorError) {
        try modify(domid, "set memory") { (r: inout Record, _: inout Host) throws(HypervisorError) in
            r.currentMemoryKiB = min(kib, r.maxMemoryKiB)
        }
    }

    /// The guest brought vcpus on or off line.
    public func setOnlineVCPUs(domid: UInt32, count: UInt32) throws(HypervisorError) {
        try modify(domid, "set vcpus") { (r: inout Record, _: inout Host) throws(HypervisorError) in
            let now = nowNanoseconds()
            r.stopClock(now: now)
            if r.state == "running" { r.sinceNs = now }
            r.onlineVCPUs = max(1, min(count, r.maxVCPUs))
        }
    }

    /// Writes a line to the hypervisor's console ring.
    public func log(_ line: String) { FileIO.append(consolePath, "(XEN) " + line + "\n") }

    private func dom0Info() throws(HypervisorError) -> DomainInfo {
        let host = try locked("domain info") { (h: inout Host) in h }
        let now = nowNanoseconds()
        let cpu = now > host.bootNs ? (now - host.bootNs) / 50 : 0
        return DomainInfo(domid: 0, uuid: [UInt8](repeating: 0, count: 16), running: true,
                          currentMemoryKiB: host.dom0MemoryKiB, maxMemoryKiB: host.dom0MemoryKiB,
                          onlineVCPUs: host.cpus, maxVCPUs: host.cpus, cpuTimeNs: cpu)
    }

    private func info(_ r: Record, now: UInt64) -> DomainInfo {
        DomainInfo(domid: r.domid, uuid: r.uuid, running: false, blocked: r.state == "running",
                   paused: r.state == "paused", shutdown: r.state == "shutdown" || r.state == "crashed",
                   dying: false, crashed: r.state == "crashed", shutdownReason: r.reason,
                   currentMemoryKiB: r.currentMemoryKiB, maxMemoryKiB: r.maxMemoryKiB,
                   onlineVCPUs: r.onlineVCPUs, maxVCPUs: r.maxVCPUs, cpuTimeNs: r.cpuTime(now: now))
    }
}

/// `key=value` lines into a dictionary (the value may contain `=`).
func parseKeyValues(_ text: String) -> [String: String] {
    var out: [String: String] = [:]
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
        guard let eq = line.firstIndex(of: "=") else { continue }
        out[String(line[..<eq])] = String(line[line.index(after: eq)...])
    }
    return out
}

/// Domain handles as Xen prints them: 8-4-4-4-12 lowercase hex.
public enum DomainHandle {
    public static func format(_ bytes: [UInt8]) -> String {
        let hex = Array("0123456789abcdef")
        var s = ""
        s.reserveCapacity(36)
        for (i, b) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { s.append("-") }
            s.append(hex[Int(b >> 4)])
            s.append(hex[Int(b & 0xf)])
        }
        return s
    }

    public static func parse(_ text: String) -> [UInt8]? {
        let digits = text.utf8.filter { $0 != UInt8(ascii: "-") }
        guard digits.count == 32, text.utf8.count == 36 || text.utf8.count == 32 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(16)
        var high: UInt8? = nil
        for c in digits {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return out
    }

    /// A random (version 4) uuid.
    public static func random() -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        bytes[6] = bytes[6] & 0x0f | 0x40
        bytes[8] = bytes[8] & 0x3f | 0x80
        return bytes
    }
}
