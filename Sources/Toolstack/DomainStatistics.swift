#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import XenStoreProtocol

/// What xentop shows, gathered as libxenstat gathers it
/// (tools/libs/stat/xenstat.c, xenstat_linux.c, Xen 4.17): the host's
/// memory and CPUs, and for every domain that has a name in xenstore its
/// hypervisor record, vCPUs, network interfaces and block devices.
public struct HostStatistics: Sendable, Equatable {
    public var totalBytes: UInt64
    public var freeBytes: UInt64
    public var cpus: UInt32
    public var cpuHz: UInt64
    /// `4.17.2` ("major.minor" and the extra version).
    public var xenVersion: String
    /// In domid order; a domain with no name in xenstore (being destroyed) is left out.
    public var domains: [DomainStatistics]

    public init(totalBytes: UInt64, freeBytes: UInt64, cpus: UInt32, cpuHz: UInt64, xenVersion: String, domains: [DomainStatistics]) {
        self.totalBytes = totalBytes
        self.freeBytes = freeBytes
        self.cpus = cpus
        self.cpuHz = cpuHz
        self.xenVersion = xenVersion
        self.domains = domains
    }
}

public struct DomainStatistics: Sendable, Equatable {
    public var info: DomainInfo
    public var name: String
    public var vcpus: [VCPUInfo]
    public var networks: [NetworkStatistics]
    public var blockDevices: [BlockDeviceStatistics]

    public init(info: DomainInfo, name: String, vcpus: [VCPUInfo], networks: [NetworkStatistics], blockDevices: [BlockDeviceStatistics]) {
        self.info = info
        self.name = name
        self.vcpus = vcpus
        self.networks = networks
        self.blockDevices = blockDevices
    }

    /// `max_pages` of `UINT_MAX`: no limit (xenstat's `(unsigned long long)-1`).
    public var maxMemoryUnlimited: Bool { info.maxMemoryKiB == UInt64(UInt32.max) * 4 }
}

/// A vif's counters as the backend's interface counts them (so RX is
/// what the guest sent).
public struct NetworkStatistics: Sendable, Equatable {
    public var id: UInt32
    public var rxBytes: UInt64, rxPackets: UInt64, rxErrors: UInt64, rxDrops: UInt64
    public var txBytes: UInt64, txPackets: UInt64, txErrors: UInt64, txDrops: UInt64

    public init(id: UInt32, rxBytes: UInt64 = 0, rxPackets: UInt64 = 0, rxErrors: UInt64 = 0, rxDrops: UInt64 = 0,
                txBytes: UInt64 = 0, txPackets: UInt64 = 0, txErrors: UInt64 = 0, txDrops: UInt64 = 0) {
        self.id = id
        self.rxBytes = rxBytes
        self.rxPackets = rxPackets
        self.rxErrors = rxErrors
        self.rxDrops = rxDrops
        self.txBytes = txBytes
        self.txPackets = txPackets
        self.txErrors = txErrors
        self.txDrops = txDrops
    }
}

/// A block backend's request counters (`statistics/` of blkback's sysfs device).
public struct BlockDeviceStatistics: Sendable, Equatable {
    /// 1 blkback (`vbd-`), 2 blktap (`tap-`), 0 other.
    public var backendType: Int
    /// The device number (the xenstore devid).
    public var device: UInt32
    /// The counters could not be read.
    public var error: Bool
    public var outOfRequests: UInt64, readRequests: UInt64, writeRequests: UInt64
    public var readSectors: UInt64, writeSectors: UInt64

    public init(backendType: Int, device: UInt32, error: Bool = false, outOfRequests: UInt64 = 0, readRequests: UInt64 = 0,
                writeRequests: UInt64 = 0, readSectors: UInt64 = 0, writeSectors: UInt64 = 0) {
        self.backendType = backendType
        self.device = device
        self.error = error
        self.outOfRequests = outOfRequests
        self.readRequests = readRequests
        self.writeRequests = writeRequests
        self.readSectors = readSectors
        self.writeSectors = writeSectors
    }
}

/// Where a host's device counters come from.
public protocol DeviceStatisticsSource {
    /// Every vif's counters, by domid, for the domains in `domids`.
    func networks(domids: Set<UInt32>) -> [UInt32: [NetworkStatistics]]
    /// Every block backend's counters, by domid.
    func blockDevices(domids: Set<UInt32>) -> [UInt32: [BlockDeviceStatistics]]
}

extension Toolstack {
    /// One sample of everything xentop shows.
    public func statistics(devices: any DeviceStatisticsSource) throws(ToolstackError) -> HostStatistics {
        let phys: PhysInfo, version: HypervisorVersion, infos: [DomainInfo]
        do {
            phys = try hypervisor.physInfo()
            version = try hypervisor.version()
            infos = try hypervisor.listDomains()
        } catch { throw .hypervisor(error) }
        let names: [String?]
        do { names = try store.readMany(infos.map { XSPath.domainPath($0.domid) + "/name" }) } catch { throw .store(error) }
        // Domain-0 keeps its name when xenstore has none for it (the embedded host's).
        let named = zip(infos, names).compactMap { info, name in (name ?? (info.domid == 0 ? "Domain-0" : nil)).map { (info, $0) } }
        let ids = Set(named.map(\.0.domid))
        let nets = devices.networks(domids: ids), vbds = devices.blockDevices(domids: ids)
        let domains = named.map { info, name in
            DomainStatistics(info: info, name: name, vcpus: (try? hypervisor.vcpuInfo(domid: info.domid)) ?? [],
                             networks: nets[info.domid] ?? [], blockDevices: vbds[info.domid] ?? [])
        }
        // xenstat's free memory is physinfo's free pages, claims included.
        return HostStatistics(totalBytes: phys.totalKiB * 1024, freeBytes: (phys.freeKiB + phys.outstandingKiB) * 1024,
                              cpus: phys.cpus, cpuHz: UInt64(phys.cpuKHz) * 1000,
                              xenVersion: "\(version.major).\(version.minor)\(version.extra)", domains: domains)
    }
}

/// The embedded host's devices: every vif and vbd backend in xenstore, with
/// no traffic (its backends move no data).
public struct StoreDeviceStatistics: DeviceStatisticsSource {
    let store: any StoreAccess

    public init(store: any StoreAccess) { self.store = store }

    private func devids(_ kind: String, _ domid: UInt32) -> [UInt32] {
        ((try? store.directory("/local/domain/0/backend/\(kind)/\(domid)")) ?? []).compactMap { UInt32($0) }.sorted()
    }

    public func networks(domids: Set<UInt32>) -> [UInt32: [NetworkStatistics]] {
        Dictionary(uniqueKeysWithValues: domids.map { d in (d, devids("vif", d).map { NetworkStatistics(id: $0) }) })
    }

    public func blockDevices(domids: Set<UInt32>) -> [UInt32: [BlockDeviceStatistics]] {
        Dictionary(uniqueKeysWithValues: domids.map { d in (d, devids("vbd", d).map { BlockDeviceStatistics(backendType: 1, device: $0) }) })
    }
}

/// A Linux dom0's devices, read where libxenstat reads them: vifs from
/// `/proc/net/dev` (with xenstat's treatment of bridges), block backends
/// from `/sys/bus/xen-backend/devices/{vbd,tap}-<domid>-<dev>/statistics`.
public struct LinuxDeviceStatistics: DeviceStatisticsSource {
    public var procNetDev: String
    public var sysClassNet: String
    public var xenBackendDevices: String

    public init(procNetDev: String = "/proc/net/dev", sysClassNet: String = "/sys/class/net",
                xenBackendDevices: String = "/sys/bus/xen-backend/devices") {
        self.procNetDev = procNetDev
        self.sysClassNet = sysClassNet
        self.xenBackendDevices = xenBackendDevices
    }

    /// The header xenstat insists on.
    static let procNetDevHeader = "Inter-|   Receive                                                |  Transmit\n"
        + " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"

    /// The last network interface (in directory order) that is a bridge and
    /// whose name does not contain "vir" (xenstat's `getBridge`); "" if none.
    func bridgeName() -> String {
        var result = ""
        for name in Self.directoryOrder(sysClassNet) where !name.hasPrefix(".") && !name.contains("vir") {
            if access(sysClassNet + "/" + name + "/bridge", F_OK) == 0 { result = String(name.utf8.prefix(15))! }
        }
        return result
    }

    /// A directory's entries in readdir order (as C's readdir gives them).
    static func directoryOrder(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// A `/proc/net/dev` line: the interface and its 16 counters.
    static func parseLine(_ line: Substring) -> (String, [UInt64])? {
        guard let colon = line.firstIndex(of: ":") else { return nil }
        let iface = line[..<colon].drop { !($0.isASCII && ($0.isLetter || $0.isNumber)) }
        let numbers = line[line.index(after: colon)...].split(separator: " ").map { UInt64($0) ?? 0 }
        guard numbers.count >= 16 else { return nil }
        return (String(iface), numbers)
    }

    /// The domid and vif number of an interface: its backend's nodename, else `vif<domid>.<n>`.
    func vifIdentity(_ iface: String) -> (UInt32, UInt32)? {
        if let text = FileIO.read(sysClassNet + "/" + iface + "/device/nodename"), text.hasPrefix("backend/vif/") {
            let parts = text.dropFirst("backend/vif/".count).split(separator: "/")
            if parts.count >= 2, let d = UInt32(parts[0]), let n = UInt32(parts[1].prefix { $0.isNumber }) { return (d, n) }
        }
        guard iface.hasPrefix("vif") else { return nil }
        let parts = iface.dropFirst(3).split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let d = UInt32(parts[0]), let n = UInt32(parts[1].prefix { $0.isNumber }), !parts[1].isEmpty,
              parts[1].first!.isNumber else { return nil }
        return (d, n)
    }

    public func networks(domids: Set<UInt32>) -> [UInt32: [NetworkStatistics]] {
        guard let text = FileIO.read(procNetDev), text.hasPrefix(Self.procNetDevHeader) else { return [:] }
        let bridge = bridgeName(), notBridge = "p" + bridge
        var out: [UInt32: [NetworkStatistics]] = [:]
        for line in text.dropFirst(Self.procNetDevHeader.count).split(separator: "\n") {
            guard let (iface, n) = Self.parseLine(line) else { continue }
            let stats = { (id: UInt32) in
                NetworkStatistics(id: id, rxBytes: n[0], rxPackets: n[1], rxErrors: n[2], rxDrops: n[3],
                                  txBytes: n[8], txPackets: n[9], txErrors: n[10], txDrops: n[11])
            }
            // xenstat: an interface whose name holds the bridge's (and not
            // "p" + it) only feeds Domain-0's idle vif 0, and is never a guest's.
            if (bridge.isEmpty || iface.contains(bridge)) && !iface.contains(notBridge) && domids.contains(0) {
                if let i = out[0]?.firstIndex(where: { $0.id == 0 && $0.txBytes == 0 && $0.rxBytes == 0 }) {
                    out[0]![i] = stats(0)
                }
                continue
            }
            guard let (domid, id) = vifIdentity(iface), domids.contains(domid) else { continue }
            out[domid, default: []].append(stats(id))
        }
        return out
    }

    public func blockDevices(domids: Set<UInt32>) -> [UInt32: [BlockDeviceStatistics]] {
        var out: [UInt32: [BlockDeviceStatistics]] = [:]
        for name in Self.directoryOrder(xenBackendDevices) {
            let parts = name.split(separator: "-")
            guard parts.count == 3, parts[0] == "vbd" || parts[0] == "tap", let domid = UInt32(parts[1]),
                  let dev = UInt32(parts[2]), domids.contains(domid) else { continue }
            func counter(_ what: String) -> UInt64? {
                FileIO.read(xenBackendDevices + "/" + name + "/statistics/" + what).flatMap {
                    UInt64($0.prefix { $0.isNumber })
                }
            }
            let values = ["oo_req", "rd_req", "wr_req", "rd_sect", "wr_sect"].map(counter)
            var vbd = BlockDeviceStatistics(backendType: parts[0] == "vbd" ? 1 : 2, device: dev)
            if values.allSatisfy({ $0 != nil }) {
                vbd.outOfRequests = values[0]!; vbd.readRequests = values[1]!; vbd.writeRequests = values[2]!
                vbd.readSectors = values[3]!; vbd.writeSectors = values[4]!
            } else {
                vbd.error = true
            }
            out[domid, default: []].append(vbd)
        }
        return out
    }
}
