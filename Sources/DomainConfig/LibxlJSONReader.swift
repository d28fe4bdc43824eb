// libxl's JSON of a domain config read back into the model: what `xl save`
// and `xl migrate` put in a stream (libxl_retrieve_domain_configuration's
// libxl_domain_config, the `config` of `list -l`), and what swxl writes
// there from the model (LibxlJSON.swift). The subset a PV, PVH or HVM
// guest of xl's making uses: c_info's type, name and uuid; b_info's vCPUs,
// their hard and soft affinity, memory, kernel, command line, ramdisk,
// bootloader, scheduler weight and cap, grant and event-channel limits;
// disks, nics, framebuffers and keyboards, channels, PCI devices, on_*
// actions. (Whether the host can then honour each of them is create's
// question, ConfigKeyStatus's, as for a config file.)
//
// Nothing is dropped in silence: a member libxl fills in by itself with its
// default is passed over; any other member this reader does not carry into
// the model is a warning naming it; a value of the wrong kind is an error.

/// The result of reading libxl JSON: a config, or errors; warnings either way.
public struct LibxlJSONReading: Sendable {
    public var configuration: DomainConfiguration?
    public var warnings: [String]
    public var errors: [String]
}

extension DomainConfiguration {
    /// Reads a libxl_domain_config's JSON (NUL-free text).
    public static func fromLibxlJSON(_ text: String) -> LibxlJSONReading {
        var reader = LibxlJSONModelReader()
        let config = reader.read(text)
        return LibxlJSONReading(configuration: reader.errors.isEmpty ? config : nil,
                                warnings: reader.warnings, errors: reader.errors)
    }
}

private struct LibxlJSONModelReader {
    var warnings: [String] = []
    var errors: [String] = []

    /// Members libxl fills in with its defaults, or that say nothing this
    /// model keeps apart from what it derives itself.
    static let libxlDefaults: Set<String> = [
        "c_info.domid", "c_info.run_hotplug_scripts", "c_info.hap", "c_info.oos", "c_info.driver_domain",
        "c_info.xend_suspend_evtchn_compat", "c_info.passthrough",
        "b_info.video_memkb", "b_info.shadow_memkb", "b_info.claim_mode", "b_info.sched_params.sched",
        "b_info.sched_params.slice", "b_info.sched_params.latency", "b_info.sched_params.extratime",
        "b_info.sched_params.budget", "b_info.sched_params.period",
        "b_info.arch_arm", "b_info.arch_x86", "b_info.type.pv.slack_memkb", "b_info.tsc_mode",
        "b_info.device_model_version", "b_info.numa_placement", "b_info.exec_ssidref", "b_info.localtime",
        "b_info.max_grant_version", "b_info.nested_hvm", "b_info.altp2m", "b_info.vpmu", "b_info.apic", "b_info.acpi",
        "b_info.dm_restrict", "b_info.device_model_stubdomain", "b_info.stubdomain_memkb", "b_info.iomem",
        "disks.colo_restore_enable", "disks.colo_enable", "disks.removable", "disks.backend_domid", "disks.direct_io_safe",
        "nics.backend_domid", "nics.nictype", "nics.rate_interval_usecs", "nics.coloft_forwarddev",
    ]

    mutating func warn(_ path: String) {
        if Self.libxlDefaults.contains(path) { return }
        let generic = path.split(separator: ".").prefix(2).joined(separator: ".")
        if Self.libxlDefaults.contains(generic) { return }
        warnings.append("libxl config: \(path) is not carried over by swxl (ignored)")
    }

    func members(_ v: JSONValue?) -> [(String, JSONValue)]? {
        if case .object(let m)? = v { return m }
        return nil
    }

    mutating func object(_ v: JSONValue?, _ path: String) -> [(String, JSONValue)] {
        guard let v else { return [] }
        guard case .object(let m) = v else {
            errors.append("libxl config: \(path) is not an object")
            return []
        }
        return m
    }

    mutating func string(_ v: JSONValue, _ path: String) -> String? {
        if case .string(let s) = v { return s }
        if case .null = v { return nil }
        errors.append("libxl config: \(path) is not a string")
        return nil
    }

    mutating func integer(_ v: JSONValue, _ path: String) -> Int64? {
        if case .number(let n) = v, let i = Int64(n) { return i }
        errors.append("libxl config: \(path) is not an integer")
        return nil
    }

    mutating func defbool(_ v: JSONValue, _ path: String) -> Bool? {
        switch v {
        case .string("True"): return true
        case .string("False"): return false
        case .string("<default>"), .null: return nil
        case .bool(let b): return b
        default:
            errors.append("libxl config: \(path) is not a defbool (\"True\", \"False\")")
            return nil
        }
    }

    mutating func action(_ v: JSONValue, _ path: String) -> DomainAction? {
        guard let s = string(v, path) else { return nil }
        guard let a = DomainAction(rawValue: String(s.map { $0 == "_" ? "-" : $0 })) else {
            errors.append("libxl config: \(path) \"\(s)\" is not an action")
            return nil
        }
        return a
    }

    mutating func read(_ text: String) -> DomainConfiguration? {
        let root: JSONValue
        switch JSONValue.parse(text) {
        case .success(let parsed): root = parsed.0
        case .failure(let error):
            errors.append("libxl config: not JSON: \(error)")
            return nil
        }
        guard let top = members(root) else {
            errors.append("libxl config: not a JSON object")
            return nil
        }
        let cInfo = object(top.first { $0.0 == "c_info" }?.1, "c_info")
        var name: String?
        var uuid: DomainUUID?
        var type: DomainType = .hvm  // libxl's type is required; see below
        var sawType = false
        for (key, value) in cInfo {
            switch key {
            case "type":
                if let s = string(value, "c_info.type") {
                    guard let t = DomainType(rawValue: s) else { errors.append("libxl config: c_info.type \"\(s)\" is not pv, pvh or hvm"); continue }
                    type = t
                    sawType = true
                }
            case "name": name = string(value, "c_info.name")
            case "uuid":
                if let s = string(value, "c_info.uuid") {
                    uuid = DomainUUID(s)
                    if uuid == nil { errors.append("libxl config: c_info.uuid \"\(s)\" is not a UUID") }
                }
            default: warn("c_info." + key)
            }
        }
        if !sawType { errors.append("libxl config: c_info.type is missing") }
        guard let name, !name.isEmpty else {
            errors.append("libxl config: c_info.name is missing")
            return nil
        }
        guard let uuid else {
            errors.append("libxl config: c_info.uuid is missing")
            return nil
        }
        var c = DomainConfiguration(name_label: name, uuid: uuid)
        c.type = type
        // libxl's on_* default (init_val) is destroy; xl's config sets the others.
        c.actions_after_shutdown = .destroy
        c.actions_after_reboot = .destroy
        c.actions_after_crash = .destroy
        c.actions_after_watchdog = .destroy
        c.actions_after_soft_reset = .destroy
        readBuildInfo(object(top.first { $0.0 == "b_info" }?.1, "b_info"), &c)
        var vkbs: [JSONValue] = []
        for (key, value) in top {
            switch key {
            case "c_info", "b_info": break
            case "disks": c.disks = array(value, "disks").enumerated().compactMap { disk($1, "disks[\($0)]") }
            case "nics":
                for (i, v) in array(value, "nics").enumerated() {
                    guard let (devid, nic) = nic(v, "nics[\(i)]") else { continue }
                    // The model's nics are numbered by position, as xl numbers them.
                    if devid != c.vifs.count {
                        errors.append("libxl config: nics[\(i)] has devid \(devid); swxl keeps devids 0, 1, ... in order")
                    }
                    c.vifs.append(nic)
                }
            case "vfbs":
                for (i, v) in array(value, key).enumerated() {
                    guard let (devid, vfb) = vfb(v, "vfbs[\(i)]") else { continue }
                    if devid != c.vfbs.count {
                        errors.append("libxl config: vfbs[\(i)] has devid \(devid); swxl keeps devids 0, 1, ... in order")
                    }
                    c.vfbs.append(vfb)
                }
            case "vkbs": vkbs = array(value, key)
            case "channels":
                for (i, v) in array(value, key).enumerated() {
                    guard let (devid, channel) = channel(v, "channels[\(i)]") else { continue }
                    if devid != c.channels.count {
                        errors.append("libxl config: channels[\(i)] has devid \(devid); swxl keeps devids 0, 1, ... in order")
                    }
                    c.channels.append(channel)
                }
            case "pcidevs": c.pcis = array(value, key).enumerated().compactMap { pci($1, "pcidevs[\($0)]") }
            case "on_poweroff": if let a = action(value, key) { c.actions_after_shutdown = a }
            case "on_reboot": if let a = action(value, key) { c.actions_after_reboot = a }
            case "on_crash": if let a = action(value, key) { c.actions_after_crash = a }
            case "on_watchdog": if let a = action(value, key) { c.actions_after_watchdog = a }
            case "on_soft_reset": if let a = action(value, key) { c.actions_after_soft_reset = a }
            default:
                if case .array(let items) = value, items.isEmpty { continue }
                warn(key)
            }
        }
        // Every vfb brings its own vkb with its devid (xl_parse.c); the
        // keyboards after those are the config's own `vkb`s.
        for (i, v) in vkbs.enumerated() {
            guard let (devid, vkb) = vkb(v, "vkbs[\(i)]") else { continue }
            if devid < c.vfbs.count && devid == i {
                if vkb != KeyboardDevice() { errors.append("libxl config: vkbs[\(i)] is vfbs[\(devid)]'s keyboard, but not as xl makes it") }
                continue
            }
            if devid != c.vfbs.count + c.vkbs.count {
                errors.append("libxl config: vkbs[\(i)] has devid \(devid); swxl keeps devids 0, 1, ... in order, a vfb's keyboard first")
            }
            c.vkbs.append(vkb)
        }
        return c
    }

    mutating func array(_ v: JSONValue, _ path: String) -> [JSONValue] {
        if case .array(let items) = v { return items }
        errors.append("libxl config: \(path) is not an array")
        return []
    }

    mutating func readBuildInfo(_ b: [(String, JSONValue)], _ c: inout DomainConfiguration) {
        var maxKiB: UInt64?, targetKiB: UInt64?
        var avail: Int?
        var hard: [[Int]]?, soft: [[Int]]?
        for (key, value) in b {
            let path = "b_info." + key
            switch key {
            case "max_vcpus": if let n = integer(value, path) { c.VCPUs_max = Int(n) }
            case "avail_vcpus": avail = array(value, path).count
            case "max_memkb": if let n = integer(value, path), n >= 0 { maxKiB = UInt64(n) }
            case "target_memkb": if let n = integer(value, path), n >= 0 { targetKiB = UInt64(n) }
            case "kernel": c.PV_kernel = string(value, path)
            case "cmdline": c.PV_args = string(value, path)
            case "ramdisk": c.PV_ramdisk = string(value, path)
            case "bootloader": c.PV_bootloader = string(value, path)
            case "bootloader_args": c.PV_bootloader_args = array(value, path).compactMap { string($0, path) }
            case "max_grant_frames": if let n = integer(value, path) { c.platform["max_grant_frames"] = "\(n)" }
            case "max_maptrack_frames": if let n = integer(value, path) { c.platform["max_maptrack_frames"] = "\(n)" }
            case "event_channels": if let n = integer(value, path) { c.platform["max_event_channels"] = "\(n)" }
            case "vcpu_hard_affinity": hard = affinity(value, path)
            case "vcpu_soft_affinity": soft = affinity(value, path)
            case "sched_params":
                for (k, v) in object(value, path) {
                    switch k {
                    case "weight": if let n = integer(v, path + ".weight"), n != -1 { c.platform["cpu_weight"] = "\(n)" }
                    case "cap": if let n = integer(v, path + ".cap"), n != -1, n != 0 { c.platform["cap"] = "\(n)" }
                    default: warn(path + "." + k)
                    }
                }
            case "type.pv", "type.pvh", "type.hvm":
                let expected = "type." + c.type.rawValue
                if key != expected { errors.append("libxl config: b_info has \(key) for a \(c.type.rawValue) guest") }
                for (k, v) in object(value, path) {
                    if k == "e820_host", let flag = defbool(v, path + ".e820_host") { c.platform["e820_host"] = flag ? "1" : "0"; continue }
                    if k == "bootloader" { c.PV_bootloader = string(v, path + ".bootloader"); continue }
                    warn(path + "." + k)
                }
            default:
                warn(path)
            }
        }
        if let maxKiB {
            guard maxKiB % 1024 == 0 else { errors.append("libxl config: b_info.max_memkb \(maxKiB) is not whole MiB"); return }
            c.memory_static_max = maxKiB << 10
        }
        if let targetKiB {
            guard targetKiB % 1024 == 0 else { errors.append("libxl config: b_info.target_memkb \(targetKiB) is not whole MiB"); return }
            c.memory_dynamic_max = targetKiB << 10
        }
        if maxKiB == nil { c.memory_static_max = c.memory_dynamic_max }
        if targetKiB == nil { c.memory_dynamic_max = c.memory_static_max }
        // Without avail_vcpus libxl brings vCPU 0 online alone (libxl_create.c's setdefault).
        c.VCPUs_at_startup = avail.map { max(1, min($0, c.VCPUs_max)) } ?? 1
        c.cpus = hard.map { Self.affinity($0, vcpus: c.VCPUs_max) }
        c.cpus_soft = soft.map { Self.affinity($0, vcpus: c.VCPUs_max) }
    }

    /// A vCPU affinity list: one bitmap (the CPUs set, in order) per vCPU.
    mutating func affinity(_ v: JSONValue, _ path: String) -> [[Int]]? {
        var maps: [[Int]] = []
        for (i, item) in array(v, path).enumerated() {
            var cpus: [Int] = []
            for bit in array(item, "\(path)[\(i)]") {
                guard let n = integer(bit, "\(path)[\(i)]"), n >= 0, n < 1 << 16 else { return nil }
                cpus.append(Int(n))
            }
            guard !cpus.isEmpty else {
                errors.append("libxl config: \(path)[\(i)] selects no CPU")
                return nil
            }
            maps.append(Array(Set(cpus)).sorted())
        }
        return maps.isEmpty ? nil : maps
    }

    /// The model's affinity for libxl's per-vCPU maps: one CPU list when
    /// every vCPU has the same (as xl writes `cpus = "0-1"`: that map for
    /// each of max_vcpus), else one entry per vCPU listed (xl's list form;
    /// the vCPUs after the list's end are not pinned).
    static func affinity(_ maps: [[Int]], vcpus: Int) -> CPUAffinity {
        if maps.count == vcpus, let first = maps.first, maps.allSatisfy({ $0 == first }) { return .cpus(first) }
        return .perVCPU(maps.map { .cpus($0) })
    }

    mutating func vfb(_ v: JSONValue, _ path: String) -> (Int, FramebufferDevice)? {
        var f = FramebufferDevice()
        var devid = 0
        let errorsBefore = errors.count
        for (key, value) in object(v, path) {
            let p = path + "." + key
            switch key {
            case "devid": devid = integer(value, p).map { Int($0) } ?? 0
            case "backend_domname": f.backend = string(value, p)
            case "keymap": f.keymap = string(value, p)
            case "vnc":
                for (k, x) in object(value, p) {
                    let q = p + "." + k
                    switch k {
                    case "enable": f.vnc = defbool(x, q)
                    case "listen": f.vnclisten = string(x, q)
                    case "passwd": f.vncpasswd = string(x, q)
                    case "display": f.vncdisplay = integer(x, q).map { Int($0) }
                    case "findunused": f.vncunused = defbool(x, q)
                    default: warn("vfbs.vnc." + k)
                    }
                }
            case "sdl":
                for (k, x) in object(value, p) {
                    let q = p + "." + k
                    switch k {
                    case "enable": f.sdl = defbool(x, q)
                    case "opengl": f.opengl = defbool(x, q)
                    case "display": f.display = string(x, q)
                    case "xauthority": f.xauthority = string(x, q)
                    default: warn("vfbs.sdl." + k)
                    }
                }
            default: warn("vfbs." + key)
            }
        }
        return errors.count == errorsBefore ? (devid, f) : nil
    }

    mutating func vkb(_ v: JSONValue, _ path: String) -> (Int, KeyboardDevice)? {
        var k = KeyboardDevice()
        var devid = 0
        let errorsBefore = errors.count
        for (key, value) in object(v, path) {
            let p = path + "." + key
            switch key {
            case "devid": devid = integer(value, p).map { Int($0) } ?? 0
            case "backend_domname": k.backend = string(value, p)
            case "backend_type": k.backendType = string(value, p)
            case "unique_id": if let u = string(value, p) { k.options["unique-id"] = u }
            case "feature_disable_keyboard", "feature_disable_pointer", "feature_abs_pointer", "feature_raw_pointer",
                 "feature_multi_touch":
                guard case .bool(let b) = value else {
                    errors.append("libxl config: \(p) is not a bool")
                    continue
                }
                if b { k.options[String(key.map { $0 == "_" ? "-" : $0 })] = "1" }
            case "width", "height", "multi_touch_width", "multi_touch_height", "multi_touch_num_contacts":
                guard let n = integer(value, p) else { continue }
                guard (0...Int64(UInt32.max)).contains(n) else {
                    errors.append("libxl config: \(p) is not a 32-bit unsigned integer")
                    continue
                }
                if n != 0 { k.options[String(key.map { $0 == "_" ? "-" : $0 })] = "\(n)" }
            default: warn("vkbs." + key)
            }
        }
        // xl turns multi-touch on when one of its sizes is given: implied, not said.
        if ["multi-touch-width", "multi-touch-height", "multi-touch-num-contacts"].contains(where: { k.options[$0] != nil }) {
            k.options["feature-multi-touch"] = nil
        }
        return errors.count == errorsBefore ? (devid, k) : nil
    }

    mutating func channel(_ v: JSONValue, _ path: String) -> (Int, ChannelDevice)? {
        var devid = 0
        var name: String?, backend: String?, connection: String?, socketPath: String?
        for (key, value) in object(v, path) {
            let p = path + "." + key
            switch key {
            case "devid": devid = integer(value, p).map { Int($0) } ?? 0
            case "name": name = string(value, p)
            case "backend_domname": backend = string(value, p)
            case "connection.pty", "connection.socket":
                guard connection == nil else { errors.append("libxl config: \(path) has two connections"); continue }
                connection = String(key.dropFirst("connection.".count))
                for (k, x) in object(value, p) {
                    if key == "connection.socket" && k == "path" { socketPath = string(x, p + ".path") } else { warn("channels." + key + "." + k) }
                }
            default: warn("channels." + key)
            }
        }
        guard let name, !name.isEmpty else {
            errors.append("libxl config: \(path) has no name")
            return nil
        }
        guard let connection else {
            errors.append("libxl config: \(path) has no connection (pty or socket)")
            return nil
        }
        return (devid, ChannelDevice(name: name, connection: connection, path: socketPath, backend: backend))
    }

    mutating func pci(_ v: JSONValue, _ path: String) -> PCIDevice? {
        var fields: [String: Int] = [:]
        var p = PCIDevice(bus: 0, device: 0, function: 0)
        // libxl's bools are false unless set; the model's nil is that default.
        func flag(_ x: JSONValue, _ q: String) -> Bool? {
            if case .bool(let b) = x { return b ? true : nil }
            errors.append("libxl config: \(q) is not a bool")
            return nil
        }
        for (key, value) in object(v, path) {
            let q = path + "." + key
            switch key {
            case "domain", "bus", "dev", "func", "vdevfn":
                if let n = integer(value, q) { fields[key] = Int(n) }
            case "msitranslate": p.msitranslate = flag(value, q)
            case "power_mgmt": p.powerManagement = flag(value, q)
            case "permissive": p.permissive = flag(value, q)
            case "seize": p.seize = flag(value, q)
            case "rdm_policy": p.rdmPolicy = string(value, q)
            default: warn("pcidevs." + key)
            }
        }
        p.domain = fields["domain"] ?? 0
        p.bus = fields["bus"] ?? 0
        p.device = fields["dev"] ?? 0
        p.function = fields["func"] ?? 0
        p.vslot = fields["vdevfn"].map { $0 >> 3 }
        return p
    }

    mutating func disk(_ v: JSONValue, _ path: String) -> DiskDevice? {
        let m = object(v, path)
        var d = DiskDevice(target: nil, vdev: "")
        var readwrite = false
        var cdrom = false
        for (key, value) in m {
            let p = path + "." + key
            switch key {
            case "pdev_path": d.target = string(value, p)
            case "vdev": d.vdev = string(value, p) ?? ""
            case "backend":
                if let s = string(value, p) {
                    if s == "unknown" { continue }
                    guard let t = DiskDevice.BackendType(rawValue: s) else { errors.append("libxl config: \(p) \"\(s)\" is not a disk backend"); continue }
                    d.backendType = t
                }
            case "format":
                if let s = string(value, p) {
                    if s == "empty" { continue }
                    guard let f = DiskDevice.Format(rawValue: s) else { errors.append("libxl config: \(p) \"\(s)\" is not a disk format"); continue }
                    d.format = f
                }
            case "script": d.script = string(value, p)
            case "readwrite": readwrite = (integer(value, p) ?? 0) != 0
            case "is_cdrom": cdrom = (integer(value, p) ?? 0) != 0
            case "backend_domname": d.backendDomain = string(value, p)
            case "discard_enable": d.discardEnable = defbool(value, p)
            default: warn("disks." + key)
            }
        }
        guard !d.vdev.isEmpty else {
            errors.append("libxl config: \(path) has no vdev")
            return nil
        }
        d.deviceType = cdrom ? .cdrom : .disk
        d.access = readwrite ? .readWrite : .readOnly
        return d
    }

    mutating func nic(_ v: JSONValue, _ path: String) -> (Int, NetworkInterface)? {
        let m = object(v, path)
        var n = NetworkInterface()
        var devid: Int?
        for (key, value) in m {
            let p = path + "." + key
            switch key {
            case "devid": devid = integer(value, p).map { Int($0) }
            case "mac":
                if let s = string(value, p) {
                    guard let mac = MACAddress(s) else { errors.append("libxl config: \(p) \"\(s)\" is not a MAC address"); continue }
                    n.mac = mac
                }
            case "bridge": n.bridge = string(value, p)
            case "ip": n.ip = string(value, p)
            case "script": n.script = string(value, p)
            case "model": n.model = string(value, p)
            case "ifname": n.vifname = string(value, p)
            case "mtu": n.mtu = integer(value, p).map { Int($0) }
            case "gatewaydev": n.gatewaydev = string(value, p)
            case "backend_domname": n.backend = string(value, p)
            case "nictype":
                // "vif" is libxl's default for a PV guest; "vif_ioemu" xl's `type=ioemu`.
                if let s = string(value, p), s == "vif_ioemu" { n.type = "ioemu" }
            case "rate_bytes_per_interval":
                if let bytes = integer(value, p) {
                    let usecs = m.first { $0.0 == "rate_interval_usecs" }.flatMap { integer($0.1, path + ".rate_interval_usecs") } ?? 50_000
                    // xl's rate= with its interval, as libxl stored it.
                    n.rate = usecs > 0 ? "\(bytes * 1_000_000 / usecs)B/s@\(usecs)us" : nil
                    if let r = n.rate, NetworkInterface.parseRate(r) == nil { n.rate = nil; warn(p) }
                }
            default: warn("nics." + key)
            }
        }
        return (devid ?? 0, n)
    }
}
