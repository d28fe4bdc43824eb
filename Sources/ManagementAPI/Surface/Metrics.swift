import Toolstack
import XenStoreProtocol

/// VM_metrics (from the hypervisor) and VM_guest_metrics (what the guest
/// wrote in xenstore, mapped as XAPI's guest agent code maps it).
extension XenAPISurface {
    static let vmMetricsFields = [
        "uuid", "memory_actual", "VCPUs_number", "VCPUs_utilisation", "VCPUs_CPU", "VCPUs_params", "VCPUs_flags",
        "state", "start_time", "install_time", "last_updated", "other_config", "hvm", "nested_virt", "nomigrate",
        "current_domain_type",
    ]
    static let guestMetricsFields = [
        "uuid", "os_version", "PV_drivers_version", "PV_drivers_up_to_date", "memory", "disks", "networks", "other",
        "last_updated", "other_config", "live", "can_use_hotplug_vbd", "can_use_hotplug_vif", "PV_drivers_detected",
    ]

    func vmMetricsRecord(_ view: VMView) -> [String: XenAPIValue] {
        let info = view.info
        let type = (view.config?.type ?? .pv).rawValue
        return [
            "uuid": .str(Self.metricsUUID(view.uuid)), "memory_actual": .num((info?.currentMemoryKiB ?? 0) << 10),
            "VCPUs_number": .num(info?.onlineVCPUs ?? 0), "VCPUs_utilisation": .emptyMap, "VCPUs_CPU": .emptyMap,
            "VCPUs_params": .emptyMap, "VCPUs_flags": .emptyMap, "state": .emptyList,
            "start_time": view.startTime.map { .date(unixSeconds: UInt64(max($0, 0))) } ?? .epoch,
            "install_time": .epoch, "last_updated": XenAPIDate.now(), "other_config": .emptyMap,
            "hvm": .bool(type == "hvm"), "nested_virt": .bool(false), "nomigrate": .bool(false),
            "current_domain_type": .str(info == nil ? "unspecified" : type),
        ]
    }

    /// Every node under `path` (relative names, `a/b`), at most `limit`
    /// of them, to a depth of 4. Lock held.
    func storeTree(_ path: String, limit: Int = 512) -> [String: String] {
        var out: [String: String] = [:]
        func walk(_ dir: String, _ prefix: String, _ depth: Int) {
            guard depth < 4, out.count < limit, let children = try? toolstack.store.directory(dir) else { return }
            let values = (try? toolstack.store.readMany(children.map { dir + "/" + $0 })) ?? []
            for (child, value) in zip(children, values) {
                let name = prefix.isEmpty ? child : prefix + "/" + child
                if let value, !value.isEmpty { out[name] = value }
                walk(dir + "/" + child, name, depth + 1)
            }
        }
        walk(path, "", 0)
        return out
    }

    /// XAPI's mapping (xapi_guest_agent.ml): os_version from `data/os_*`,
    /// PV_drivers_version from `attr/PVAddons/*`, memory from
    /// `data/meminfo_*`, networks from `attr/ethN/ip` (`N/ip`), their
    /// `ipv6/M/addr` (`N/ipv6/M`) and the newer `attr/vif/N/ipv4/M`
    /// (`N/ipv4/M`); other from `control/*` and `data/ts`. swxl adds every
    /// other `data/` key to other under its path (`data/ip-address`).
    /// Lock held.
    func guestMetricsRecord(_ view: VMView) -> [String: XenAPIValue]? {
        guard let domid = view.domid, domid != 0 else { return nil }
        let dom = XSPath.domainPath(domid)
        let data = storeTree(dom + "/data"), attr = storeTree(dom + "/attr"), control = storeTree(dom + "/control")
        var os: [String: String] = [:], drivers: [String: String] = [:], memory: [String: String] = [:]
        var networks: [String: String] = [:], other: [String: String] = [:]
        let osKeys = ["os_name": "name", "os_uname": "uname", "os_distro": "distro", "os_majorver": "major",
                      "os_minorver": "minor"]
        for (key, value) in data {
            if let mapped = osKeys[key] { os[mapped] = value }
            else if key == "meminfo_free" { memory["free"] = value }
            else if key == "meminfo_total" { memory["total"] = value }
            else if key == "ts" { other["data-ts"] = value }
            else { other["data/" + key] = value }
        }
        for (key, value) in attr {
            let parts = key.split(separator: "/").map(String.init)
            if parts.count == 2, parts[0] == "PVAddons" {
                let names = ["MajorVersion": "major", "MinorVersion": "minor", "MicroVersion": "micro",
                             "BuildVersion": "build", "Application": "application"]
                if let name = names[parts[1]] { drivers[name] = value }
            } else if parts.count == 2, parts[0] == "os", parts[1] == "spmajor" || parts[1] == "spminor" {
                os[parts[1]] = value
            } else if let eth = parts.first, eth.hasPrefix("eth") || eth.hasPrefix("xenbr") {
                let n = String(eth.dropFirst(eth.hasPrefix("eth") ? 3 : 5))
                if parts.count == 2, parts[1] == "ip" { networks[n + "/ip"] = value }
                if parts.count == 4, parts[1] == "ipv6", parts[3] == "addr" { networks["\(n)/ipv6/\(parts[2])"] = value }
            } else if parts.count == 4, parts[0] == "vif", parts[2] == "ipv4" || parts[2] == "ipv6" {
                networks["\(parts[1])/\(parts[2])/\(parts[3])"] = value
                if parts[2] == "ipv4", parts[3] == "0" { networks["\(parts[1])/ip"] = value }
            }
        }
        for (key, value) in control where !key.contains("/") && key != "shutdown" && key != "sysrq" { other[key] = value }
        if !drivers.isEmpty, drivers["micro"] == nil { drivers["micro"] = "-1" }
        let detected = !drivers.isEmpty || !data.isEmpty
        return [
            "uuid": .str(Self.guestMetricsUUID(view.uuid)), "os_version": .stringMap(os),
            "PV_drivers_version": .stringMap(drivers), "PV_drivers_up_to_date": .bool(detected),
            "memory": .stringMap(memory), "disks": .emptyMap, "networks": .stringMap(networks),
            "other": .stringMap(other), "last_updated": XenAPIDate.now(), "other_config": .emptyMap,
            "live": .bool(true), "can_use_hotplug_vbd": .str("unspecified"), "can_use_hotplug_vif": .str("unspecified"),
            "PV_drivers_detected": .bool(detected),
        ]
    }

    func registerMetrics() {
        let metrics = { [self] () throws(XenAPIError) in
            try vmViews().map { (ObjectIDs.ref("VM_metrics", Self.metricsUUID($0.uuid)), vmMetricsRecord($0)) }
        }
        registerClass(ClassSpec(name: "VM_metrics", fields: Self.vmMetricsFields, all: metrics, one: { ref throws(XenAPIError) in
            try metrics().first { $0.0 == ref }?.1
        }))
        let guests = { [self] () throws(XenAPIError) -> [(ref: String, record: [String: XenAPIValue])] in
            try vmViews().compactMap { view in
                guestMetricsRecord(view).map { (ObjectIDs.ref("VM_guest_metrics", Self.guestMetricsUUID(view.uuid)), $0) }
            }
        }
        registerClass(ClassSpec(name: "VM_guest_metrics", fields: Self.guestMetricsFields, all: guests,
                                one: { [self] ref throws(XenAPIError) in
            // One VM's metrics without reading every guest's tree.
            for view in try vmViews() where ObjectIDs.ref("VM_guest_metrics", Self.guestMetricsUUID(view.uuid)) == ref {
                return guestMetricsRecord(view)
            }
            return nil
        }))
    }
}
