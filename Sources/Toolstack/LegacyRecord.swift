import DomainConfig

/// A domain's record as swxl kept it before the record was the resolved
/// config's JSON: the toolstack's own plan as `key=value` lines (values with
/// `\\`, `\n` and `\r` escaped), usually with the config's JSON in a
/// `config_json=` line. ``ToolstackState`` turns each such record into the
/// model once, when it opens a database (or older files) holding them.
enum LegacyRecord {
    /// The resolved config a `key=value` record describes; nil if the text is not one.
    ///
    /// The config JSON, when there is one, gives everything the plan left out
    /// (device options, platform keys). The plan's own lines win over it: they
    /// are what the domain was built from (a rename changed only them), and
    /// they hold what create chose (a vif's random MAC, an HVM guest's loader).
    static func configuration(from text: String) -> DomainConfiguration? {
        var kv: [String: String] = [:]
        for (key, value) in parseKeyValues(text) { kv[key] = unescape(value) }
        guard let name = kv["name"], let uuid = kv["uuid"].flatMap({ DomainUUID($0) }),
              let type = kv["type"].flatMap({ DomainType(rawValue: $0) }), let kernel = kv["kernel"] else { return nil }
        func number(_ key: String) -> Int? { kv[key].flatMap { Int($0) } }
        func action(_ key: String, _ fallback: DomainAction) -> DomainAction {
            kv[key].flatMap { DomainAction(rawValue: $0) } ?? fallback
        }

        let fromJSON = kv["config_json"].flatMap {
            DomainConfiguration.parse(text: $0, fileName: "config_json", format: .json).configuration
        }
        var c = fromJSON ?? DomainConfiguration(name_label: name, uuid: uuid)
        c.name_label = name
        c.uuid = uuid
        c.type = type
        let memoryMiB = UInt64(max(number("memory") ?? 128, 0))
        c.memory_dynamic_max = memoryMiB << 20
        c.memory_static_max = max(UInt64(max(number("maxmem") ?? 0, 0)), memoryMiB) << 20
        c.VCPUs_at_startup = max(number("vcpus") ?? 1, 1)
        c.VCPUs_max = max(number("maxvcpus") ?? 0, c.VCPUs_at_startup)
        c.PV_kernel = kernel
        c.PV_ramdisk = kv["ramdisk"]
        if let cmdline = kv["cmdline"], !cmdline.isEmpty { c.PV_args = cmdline }
        c.actions_after_shutdown = action("on_poweroff", .destroy)
        c.actions_after_reboot = action("on_reboot", .restart)
        c.actions_after_crash = action("on_crash", .destroy)
        // The plan's video memory was in KiB, xl's `videoram` is in MiB.
        if type == .hvm, let kib = number("videoram") { c.platform["videoram"] = "\(kib >> 10)" }
        c.platform[DomainConfiguration.simGuestScriptKey] = kv[DomainConfiguration.simGuestScriptKey]

        let disks = indexed("disk", kv).map(disk)
        let vifs = indexed("vif", kv).map(vif)
        if fromJSON == nil || c.disks.count != disks.count { c.disks = disks }
        if fromJSON == nil || c.vifs.count != vifs.count {
            c.vifs = vifs
        } else {
            for i in c.vifs.indices where c.vifs[i].mac == nil { c.vifs[i].mac = vifs[i].mac }
        }
        if fromJSON == nil {
            c.vkbs = Array(repeating: KeyboardDevice(), count: max(number("vkbs") ?? 0, 0))
            c.vfbs = Array(repeating: FramebufferDevice(), count: max(number("vfbs") ?? 0, 0))
        }
        return c
    }

    /// The `<prefix>.<n>.*` lines of each device, in order, without their prefix.
    private static func indexed(_ prefix: String, _ kv: [String: String]) -> [[String: String]] {
        var devices: [[String: String]] = []
        while true {
            let p = "\(prefix).\(devices.count)."
            let fields = kv.filter { $0.key.hasPrefix(p) }
            guard !fields.isEmpty else { return devices }
            devices.append(Dictionary(uniqueKeysWithValues: fields.map { (String($0.key.dropFirst(p.count)), $0.value) }))
        }
    }

    /// A plan's disk. Its backend kind and type were derived from the format
    /// unless the config named a backend type: the type is named here only
    /// when deriving would not give the same kind and type back.
    private static func disk(_ d: [String: String]) -> DiskDevice {
        var disk = DiskDevice(target: d["target"].flatMap { $0.isEmpty ? nil : $0 }, vdev: d["vdev"] ?? "")
        disk.format = d["format"].flatMap { DiskDevice.Format(rawValue: $0) } ?? .raw
        disk.access = d["mode"] == "r" ? .readOnly : .readWrite
        disk.deviceType = d["device_type"].flatMap { DiskDevice.DeviceType(rawValue: $0) } ?? .disk
        disk.script = d["script"]
        disk.backendDomain = d["backend_domid"].flatMap { $0 == "0" ? nil : $0 }
        let kind = d["backend_kind"] ?? "vbd", type = d["backend_type"] ?? "phy"
        if disk.backendKind != kind || disk.backendTypeName != type {
            disk.backendType = switch type {
            case "tap": .tap
            case "qdisk": .qdisk
            default: .phy
            }
        }
        return disk
    }

    private static func vif(_ v: [String: String]) -> NetworkInterface {
        var vif = NetworkInterface()
        vif.mac = v["mac"].flatMap { MACAddress($0) }
        vif.bridge = v["bridge"]
        vif.ip = v["ip"]
        vif.script = v["script"].flatMap { $0 == "vif-bridge" ? nil : $0 }
        vif.type = v["type"].flatMap { $0 == "vif" ? nil : $0 }
        vif.backend = v["backend_domid"].flatMap { $0 == "0" ? nil : $0 }
        return vif
    }

    /// Undoes the plan's escapes: `\\`, `\n`, `\r` (any other escaped character stands for itself).
    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out = ""
        var escaped = false
        for c in s {
            if escaped {
                out.append(c == "n" ? "\n" : c == "r" ? "\r" : c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        return out
    }
}
