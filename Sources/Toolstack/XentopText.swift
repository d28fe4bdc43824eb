#if canImport(Glibc)
import Glibc
#endif

/// xentop's lines (tools/xentop/xentop.c, Xen 4.17), byte for byte: the
/// summary, the table's header and a row per domain with its vCPU,
/// network and block device lines. Monitoring plugins parse the batch
/// output (`xentop -b`), so widths, truncation and number formats are
/// xentop's own.
public struct XentopText {
    /// xentop's fields, in column order.
    public enum Field: Int, CaseIterable, Sendable {
        case name, state, cpu, cpuPercent, mem, memPercent, maxmem, maxmemPercent, vcpus, nets, netTx, netRx,
             vbds, vbdOO, vbdRead, vbdWrite, vbdReadSectors, vbdWriteSectors, ssid

        public var header: String {
            ["NAME", "STATE", "CPU(sec)", "CPU(%)", "MEM(k)", "MEM(%)", "MAXMEM(k)", "MAXMEM(%)", "VCPUS", "NETS",
             "NETTX(k)", "NETRX(k)", "VBDS", "VBD_OO", "VBD_RD", "VBD_WR", "VBD_RSECT", "VBD_WSECT", "SSID"][rawValue]
        }

        var defaultWidth: Int { [10, 6, 10, 6, 10, 6, 10, 9, 5, 4, 8, 8, 4, 8, 8, 8, 10, 10, 4][rawValue] }
    }

    public var showVCPUs = false
    public var showNetworks = false
    public var showBlockDevices = false
    public var repeatHeader = false
    public var fullName = false
    /// The column the rows are sorted by (xentop starts with the name).
    public var sortField: Field = .name

    public init() {}

    /// printf with C's formatting (`%6.1f` rounds as C does).
    public static func c(_ format: String, _ args: any CVarArg...) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        let n = withVaList(args) { vsnprintf(&buffer, buffer.count, format, $0) }
        if n >= buffer.count {
            buffer = [CChar](repeating: 0, count: Int(n) + 1)
            _ = withVaList(args) { vsnprintf(&buffer, buffer.count, format, $0) }
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `%*s`: right-aligned in `width` bytes.
    public static func right(_ s: String, _ width: Int) -> String {
        let n = s.utf8.count
        return n >= width ? s : String(repeating: " ", count: width - n) + s
    }

    /// `%10.10s`: at most 10 bytes, right-aligned in 10.
    static func truncated(_ s: String, _ width: Int) -> String {
        right(String(decoding: s.utf8.prefix(width), as: UTF8.self), width)
    }

    /// A sample and the one before it (for CPU(%)), with the time between them.
    public struct Sample {
        public var stats: HostStatistics
        /// Wall time of the sample, in microseconds.
        public var timeUs: UInt64
        public init(stats: HostStatistics, timeUs: UInt64) {
            self.stats = stats
            self.timeUs = timeUs
        }
    }

    /// The summary above the table (interactive mode only, as xentop):
    /// time, domain states, memory and CPUs.
    public func summary(_ sample: Sample, clock: String) -> String {
        let s = sample.stats
        var run = 0, block = 0, pause = 0, crash = 0, dying = 0, shutdown = 0
        for d in s.domains {
            let i = d.info
            if i.running { run += 1 } else if i.blocked { block += 1 } else if i.paused { pause += 1 }
            else if i.shutdown { shutdown += 1 } else if i.crashed { crash += 1 } else if i.dying { dying += 1 }
        }
        let used = s.totalBytes - min(s.totalBytes, s.freeBytes)
        return "xentop - \(clock)   Xen \(s.xenVersion)\n"
            + "\(s.domains.count) domains: \(run) running, \(block) blocked, \(pause) paused, \(crash) crashed, \(dying) dying, \(shutdown) shutdown \n"
            + "Mem: \(s.totalBytes / 1024)k total, \(used / 1024)k used, \(s.freeBytes / 1024)k free    "
            + "CPUs: \(s.cpus) @ \(s.cpuHz / 1_000_000)MHz\n"
    }

    /// The table: the header, then each domain's row (and its vCPU,
    /// network and block device lines when shown), sorted as xentop sorts.
    /// `first` skips rows (the interactive screen's scrolling).
    public func table(_ sample: Sample, previous: Sample?, first: Int = 0) -> [String] {
        var domains = sample.stats.domains
        let compare = comparator(sample, previous)
        // xentop sorts with qsort; equal rows stay in domid order here.
        domains = domains.enumerated().sorted { a, b in
            let c = compare(a.element, b.element)
            return c != 0 ? c < 0 : a.offset < b.offset
        }.map(\.element)
        let start = domains.isEmpty ? 0 : min(first, domains.count - 1)
        var widths = Field.allCases.map(\.defaultWidth)
        for d in domains[start...] { adjustWidths(&widths, d) }
        var lines: [String] = []
        for (i, d) in domains[start...].enumerated() {
            if i == 0 || repeatHeader { lines.append(header(widths)) }
            lines.append(row(d, widths, sample, previous))
            if showVCPUs { lines.append(vcpuLine(d)) }
            if showNetworks { lines += d.networks.enumerated().map { networkLine($0.offset, $0.element) } }
            if showBlockDevices { lines += d.blockDevices.map(vbdLine) }
        }
        return lines
    }

    func header(_ widths: [Int]) -> String {
        Field.allCases.map { Self.right($0.header, widths[$0.rawValue]) }.joined(separator: " ") + "\n"
    }

    static func netBytes(_ d: DomainStatistics, rx: Bool) -> UInt64 {
        d.networks.reduce(0) { $0 + (rx ? $1.rxBytes : $1.txBytes) }
    }

    /// xentop's `tot_vbd_reqs`: the sum over the devices that could be read;
    /// nil ("-") when every device failed (a domain with none shows 0).
    static func vbdTotal(_ d: DomainStatistics, _ value: KeyPath<BlockDeviceStatistics, UInt64>) -> UInt64? {
        let good = d.blockDevices.filter { !$0.error }
        if !d.blockDevices.isEmpty && good.isEmpty { return nil }
        return good.reduce(0) { $0 + $1[keyPath: value] }
    }

    static func digits(_ n: UInt64) -> Int { String(n).count }

    func adjustWidths(_ widths: inout [Int], _ d: DomainStatistics) {
        func widen(_ f: Field, _ n: Int) { widths[f.rawValue] = max(widths[f.rawValue], n) }
        if fullName { widen(.name, d.name.utf8.count) }
        widen(.netTx, Self.digits(Self.netBytes(d, rx: false) / 1024 + 1))
        widen(.netRx, Self.digits(Self.netBytes(d, rx: true) / 1024 + 1))
        widen(.vbdRead, Self.digits((Self.vbdTotal(d, \.readRequests) ?? 0) + 1))
        widen(.vbdWrite, Self.digits((Self.vbdTotal(d, \.writeRequests) ?? 0) + 1))
        widen(.vbdReadSectors, Self.digits((Self.vbdTotal(d, \.readSectors) ?? 0) + 1))
        widen(.vbdWriteSectors, Self.digits((Self.vbdTotal(d, \.writeSectors) ?? 0) + 1))
    }

    /// The state letters in xentop's order: dying, shutdown, blocked, crashed, paused, running.
    public static func state(_ i: DomainInfo) -> String {
        [(i.dying, "d"), (i.shutdown, "s"), (i.blocked, "b"), (i.crashed, "c"), (i.paused, "p"), (i.running, "r")]
            .map { $0.0 ? $0.1 : "-" }.joined()
    }

    public static func cpuPercent(_ d: DomainStatistics, _ sample: Sample, _ previous: Sample?) -> Double {
        guard let previous, let old = previous.stats.domains.first(where: { $0.info.domid == d.info.domid }) else { return 0 }
        let elapsed = Double(Int64(sample.timeUs) - Int64(previous.timeUs))
        return (Double(Int64(bitPattern: d.info.cpuTimeNs &- old.info.cpuTimeNs)) / 10.0) / elapsed
    }

    func row(_ d: DomainStatistics, _ widths: [Int], _ sample: Sample, _ previous: Sample?) -> String {
        let total = Double(sample.stats.totalBytes)
        let curBytes = d.info.currentMemoryKiB * 1024
        var cells: [String] = []
        for f in Field.allCases {
            let w = Int32(widths[f.rawValue])
            switch f {
            case .name: cells.append(fullName ? Self.right(d.name, Int(w)) : Self.truncated(d.name, 10))
            case .state: cells.append(Self.state(d.info))
            case .cpu: cells.append(Self.c("%10llu", d.info.cpuTimeNs / 1_000_000_000))
            case .cpuPercent: cells.append(Self.c("%6.1f", Self.cpuPercent(d, sample, previous)))
            case .mem: cells.append(Self.c("%10llu", curBytes / 1024))
            case .memPercent: cells.append(Self.c("%6.1f", Double(curBytes) / total * 100))
            case .maxmem: cells.append(d.maxMemoryUnlimited ? Self.right("no limit", 10) : Self.c("%10llu", d.info.maxMemoryKiB))
            case .maxmemPercent:
                cells.append(d.maxMemoryUnlimited ? Self.right("n/a", 9) : Self.c("%9.1f", Double(d.info.maxMemoryKiB * 1024) / total * 100))
            case .vcpus: cells.append(Self.c("%5u", d.info.maxVCPUs))
            case .nets: cells.append(Self.c("%4u", UInt32(d.networks.count)))
            case .netTx: cells.append(Self.c("%*llu", w, Self.netBytes(d, rx: false) / 1024))
            case .netRx: cells.append(Self.c("%*llu", w, Self.netBytes(d, rx: true) / 1024))
            case .vbds: cells.append(Self.c("%4u", UInt32(d.blockDevices.count)))
            case .vbdOO: cells.append(Self.vbdTotal(d, \.outOfRequests).map { Self.c("%8llu", $0) } ?? Self.c("%8c", Int32(45)))
            case .vbdRead, .vbdWrite, .vbdReadSectors, .vbdWriteSectors:
                let path: KeyPath<BlockDeviceStatistics, UInt64> =
                    f == .vbdRead ? \.readRequests : f == .vbdWrite ? \.writeRequests : f == .vbdReadSectors ? \.readSectors : \.writeSectors
                cells.append(Self.vbdTotal(d, path).map { Self.c("%*llu", w, $0) } ?? Self.c("%*c", w, Int32(45)))
            case .ssid: cells.append(Self.c("%4u", d.info.ssidref))
            }
        }
        return cells.joined(separator: " ") + "\n"
    }

    func vcpuLine(_ d: DomainStatistics) -> String {
        var text = "VCPUs(sec): "
        for (i, v) in d.vcpus.enumerated() where v.online {
            if i != 0 && i % 5 == 0 { text += "\n        " }
            text += Self.c(" %2u: %10llus", UInt32(i), v.cpuTimeNs / 1_000_000_000)
        }
        return text + "\n"
    }

    func networkLine(_ index: Int, _ n: NetworkStatistics) -> String {
        Self.c("Net%d RX: %8llubytes %8llupkts %8lluerr %8lludrop  ", Int32(index), n.rxBytes, n.rxPackets, n.rxErrors, n.rxDrops)
            + Self.c("TX: %8llubytes %8llupkts %8lluerr %8lludrop\n", n.txBytes, n.txPackets, n.txErrors, n.txDrops)
    }

    func vbdLine(_ v: BlockDeviceStatistics) -> String {
        let type = ["Unidentified", "BlkBack", "BlkTap"][max(0, min(v.backendType, 2))]
        // <linux/kdev_t.h>'s MAJOR and MINOR of the device number, as xentop shows them.
        let details = Self.c("[%2x:%2x] ", v.device >> 8, v.device & 0xff)
        if v.error {
            return "VBD \(type) " + Self.c("%4d", Int32(bitPattern: v.device)) + " \(details) "
                + Self.c("OO: %8c   RD: %8c   WR: %8c   RSECT: %10c   WSECT: %10c\n", Int32(45), Int32(45), Int32(45), Int32(45), Int32(45))
        }
        return "VBD \(type) " + Self.c("%4d", Int32(bitPattern: v.device)) + " \(details) "
            + Self.c("OO: %8llu   RD: %8llu   WR: %8llu   RSECT: %10llu   WSECT: %10llu\n",
                     v.outOfRequests, v.readRequests, v.writeRequests, v.readSectors, v.writeSectors)
    }

    /// xentop's comparison for the sort field (-1, 0, 1); most fields sort
    /// the larger first, the name and state as xentop orders them.
    func comparator(_ sample: Sample, _ previous: Sample?) -> (DomainStatistics, DomainStatistics) -> Int {
        func cmp<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : a > b ? 1 : 0 }
        switch sortField {
        case .name:
            return { a, b in
                let x = Array(a.name.lowercased().utf8), y = Array(b.name.lowercased().utf8)
                return x.lexicographicallyPrecedes(y) ? -1 : x == y ? 0 : 1
            }
        case .state:
            return { a, b in
                let order: [(DomainInfo) -> Bool] = [{ $0.dying }, { $0.shutdown }, { $0.blocked }, { $0.crashed }, { $0.paused }, { $0.running }]
                for get in order {
                    if get(a.info) && !get(b.info) { return -1 }
                    if get(b.info) && !get(a.info) { return 1 }
                }
                return 0
            }
        case .cpu: return { -cmp($0.info.cpuTimeNs, $1.info.cpuTimeNs) }
        case .cpuPercent: return { -cmp(Self.cpuPercent($0, sample, previous), Self.cpuPercent($1, sample, previous)) }
        case .mem, .memPercent: return { -cmp($0.info.currentMemoryKiB, $1.info.currentMemoryKiB) }
        case .maxmem, .maxmemPercent: return { -cmp($0.info.maxMemoryKiB, $1.info.maxMemoryKiB) }
        case .vcpus: return { -cmp($0.info.maxVCPUs, $1.info.maxVCPUs) }
        case .nets: return { -cmp($0.networks.count, $1.networks.count) }
        case .netTx: return { -cmp(Self.netBytes($0, rx: false), Self.netBytes($1, rx: false)) }
        case .netRx: return { -cmp(Self.netBytes($0, rx: true), Self.netBytes($1, rx: true)) }
        case .vbds: return { -cmp($0.blockDevices.count, $1.blockDevices.count) }
        case .vbdOO: return { -cmp(Self.vbdTotal($0, \.outOfRequests) ?? 0, Self.vbdTotal($1, \.outOfRequests) ?? 0) }
        case .vbdRead: return { -cmp(Self.vbdTotal($0, \.readRequests) ?? 0, Self.vbdTotal($1, \.readRequests) ?? 0) }
        case .vbdWrite: return { -cmp(Self.vbdTotal($0, \.writeRequests) ?? 0, Self.vbdTotal($1, \.writeRequests) ?? 0) }
        case .vbdReadSectors: return { -cmp(Self.vbdTotal($0, \.readSectors) ?? 0, Self.vbdTotal($1, \.readSectors) ?? 0) }
        case .vbdWriteSectors: return { -cmp(Self.vbdTotal($0, \.writeSectors) ?? 0, Self.vbdTotal($1, \.writeSectors) ?? 0) }
        case .ssid: return { cmp($0.info.ssidref, $1.info.ssidref) }
        }
    }
}
