// Gives meaning to the keys of an xl.cfg (or xm) file: RawConfig to the
// typed model, checking every value and reporting every problem.

/// The xl.cfg keys this model types.
let typedKeys: [String] = [
    "name", "type", "builder", "uuid", "vcpus", "maxvcpus", "cpus", "cpus_soft", "memory", "maxmem",
    "on_poweroff", "on_reboot", "on_crash", "on_watchdog", "on_soft_reset",
    "kernel", "ramdisk", "cmdline", "root", "extra", "bootloader", "bootloader_args",
    "disk", "vif", "vfb", "vkb", "channel", "pci", "serial",
]

/// xl.cfg(5) keys this model keeps as untyped `platform` strings or lists.
let platformKeys: [String] = [
    "seclabel", "init_seclabel", "pool", "cpu_weight", "cap", "vnuma", "e820_host", "max_grant_frames",
    "max_maptrack_frames", "max_grant_version", "nomigrate", "driver_domain", "device_tree", "passthrough",
    "vtpm", "p9", "pvcalls", "rdm", "usbctrl", "usbdev", "pci_permissive", "pci_msitranslate", "pci_seize",
    "pci_power_mgmt", "gfx_passthru", "rdm_mem_boundary", "dtdev", "ioports", "iomem", "irqs",
    "max_event_channels", "vdispl", "vsnd", "dm_restrict", "device_model_user", "device_model_version",
    "device_model_override", "device_model_stubdomain_override", "device_model_stubdomain_seclabel",
    "device_model_args", "device_model_args_pv", "device_model_args_hvm", "stubdomain_kernel",
    "stubdomain_ramdisk", "stubdomain_memory", "stubdomain_cmdline", "firmware", "bios", "bios_path_override",
    "pae", "acpi", "acpi_s3", "acpi_s4", "acpi_laptop_slate", "apic", "nx", "hpet", "altp2m", "altp2mhvm",
    "nestedhvm", "cpuid", "acpi_firmware", "smbios_firmware", "ms_vm_genid", "tsc_mode", "localtime",
    "rtc_timeoffset", "vpt_align", "timer_mode", "mmio_hole", "hap", "oos", "shadow_memory", "viridian",
    "vga", "videoram", "stdvga", "vnc", "vnclisten", "vncdisplay", "vncunused", "vncpasswd", "keymap", "sdl",
    "opengl", "display", "xauthority", "nographic", "spice", "spiceport", "spicetls_port", "spicehost",
    "spicedisable_ticketing", "spicepasswd", "spiceagent_mouse", "spicevdagent", "spice_clipboard_sharing",
    "spiceusbredirection", "spice_image_compression", "spice_streaming_video", "soundhw", "vkb_device",
    "usb", "usbdevice", "usbversion", "vendor_device", "boot", "xen_platform_pci", "claim_mode", "tee",
    "gic_version", "vuart", "trap_unmapped_accesses", "nr_spis", "vmtrace_buf_kb", "mca_caps", "vpmu",
    "pvshim", "pvshim_path", "pvshim_cmdline", "pvshim_extra", "xendstore_domid", "device_model_stubdomain",
    "max_vcpus_id", "blkdev_start",
    "cpu_cap", "dom0", "ssidref", "bootargs", "device_model", "vncconsole", "vncviewer",
    "on_xend_start", "on_xend_stop", "extid", "vscsi", "hostname", "interface", "netmask", "gateway",
    "ip", "nfs_server", "nfs_root", "dhcp", "irq", "target", "security", "cpu", "blkif", "netif",
    "tpmif", "s3_integrity", "machine_address_size", "suppress_spurious_page_faults", "superpages",
    "memory_sharing", "cpuid_check", "serial_device", "monitor", "monitor_path",
    "xen_extended_power_mgmt", "guest_os_type", "description", "auto_power_on",
    // swxl's own: the program the embedded host runs as a simulated guest.
    DomainConfiguration.simGuestScriptKey,
]

let allKnownKeys: [String] = typedKeys + platformKeys
private let knownKeySet = Set(allKnownKeys)

/// Options for reading a config.
public struct ParseOptions: Sendable {
    /// Relative kernel, ramdisk and disk paths resolve against this directory
    /// (the config file's); nil leaves them as written.
    public var baseDirectory: String?
    /// Checks that a kernel or ramdisk file exists; nil skips the check
    /// (the parser itself does no I/O).
    public var fileExists: (@Sendable (String) -> Bool)?
    /// Makes the uuid of a config that has none.
    public var makeUUID: @Sendable () -> DomainUUID

    public init(baseDirectory: String? = nil,
                fileExists: (@Sendable (String) -> Bool)? = nil,
                makeUUID: @escaping @Sendable () -> DomainUUID = { DomainUUID.random() }) {
        self.baseDirectory = baseDirectory
        self.fileExists = fileExists
        self.makeUUID = makeUUID
    }
}

struct ModelBuilder {
    let raw: RawConfig
    var log: DiagnosticLog
    let options: ParseOptions
    /// Where problems with the file as a whole (a missing key) are reported.
    let fileLocation = SourceLocation(line: 1, column: 1)

    /// The file's text, to place problems inside spec strings; nil if unknown.
    let source: [UInt8]?
    private var lineStarts: [Int]?

    init(raw: RawConfig, file: String, options: ParseOptions, source: String? = nil) {
        self.raw = raw
        self.log = DiagnosticLog(file: file)
        self.options = options
        self.source = source.map { Array($0.utf8) }
    }

    /// The place of byte `offset` of a string value written at `location`, when
    /// the file holds that string verbatim (no escapes) in quotes there.
    mutating func place(_ offset: Int?, in value: String, at location: SourceLocation) -> SourceLocation {
        guard let offset, location.source == nil, let source else { return location }
        if lineStarts == nil {
            var starts = [0]
            for (i, b) in source.enumerated() where b == UInt8(ascii: "\n") { starts.append(i + 1) }
            lineStarts = starts
        }
        guard location.line >= 1, location.line <= lineStarts!.count else { return location }
        let quoteAt = lineStarts![location.line - 1] + location.column - 1
        let text = Array(value.utf8)
        let end = quoteAt + 1 + text.count
        guard end < source.count, source[quoteAt] == UInt8(ascii: "\"") || source[quoteAt] == UInt8(ascii: "'"),
              source[end] == source[quoteAt], Array(source[(quoteAt + 1)..<end]) == text else { return location }
        return SourceLocation(line: location.line, column: location.column + 1 + offset)
    }

    // MARK: typed readers

    mutating func string(_ key: String) -> (String, SourceLocation)? {
        guard let s = raw[key] else { return nil }
        switch s.value {
        case .string(let v, let l): return (v, l)
        case .list(_, let l):
            log.error(l, "`\(key)` must be a single value, not a list")
            return nil
        }
    }

    mutating func integer(_ key: String, min: Int = Int.min, max: Int = Int.max) -> (Int, SourceLocation)? {
        guard let (text, l) = string(key) else { return nil }
        guard let v = parseCInteger(text) else {
            log.error(l, "`\(key)` must be an integer, not \"\(text)\"")
            return nil
        }
        guard v >= min else {
            log.error(l, "`\(key)` must be at least \(min), not \(v)")
            return nil
        }
        guard v <= max else {
            log.error(l, "`\(key)` must be at most \(max), not \(v)")
            return nil
        }
        return (v, l)
    }

    /// A list of strings; a single string is refused with a hint.
    mutating func stringList(_ key: String) -> [(String, SourceLocation)]? {
        guard let s = raw[key] else { return nil }
        switch s.value {
        case .string(_, let l):
            log.error(l, "`\(key)` must be a list: write `\(key) = [ '...' ]`")
            return nil
        case .list(let items, _):
            var out: [(String, SourceLocation)] = []
            for item in items {
                switch item {
                case .string(let v, let l): out.append((v, l))
                case .list(_, let l): log.error(l, "items of `\(key)` must be strings, not lists")
                }
            }
            return out
        }
    }

    mutating func action(_ key: String, default value: DomainAction) -> DomainAction {
        guard let (text, l) = string(key) else { return value }
        if let a = DomainAction(rawValue: text) { return a }
        let names = DomainAction.allCases.map(\.rawValue)
        var message = "`\(key)` must be one of \(names.joined(separator: ", ")), not \"\(text)\""
        if let near = closestMatch(to: text, among: names) { message += " (did you mean \"\(near)\"?)" }
        log.error(l, message)
        return value
    }

    func resolve(_ path: String) -> String {
        guard let base = options.baseDirectory, !path.hasPrefix("/"), !path.isEmpty else { return path }
        return base.hasSuffix("/") ? base + path : base + "/" + path
    }

    // MARK: the model

    mutating func build() -> DomainConfiguration? {
        // Unknown keys first: a typo is often the cause of a later error.
        var unknown: [String: ConfigValue] = [:]
        for setting in raw.settings where !knownKeySet.contains(setting.key) {
            var message = "unknown key `\(setting.key)`"
            if let near = closestMatch(to: setting.key, among: allKnownKeys) { message += " (did you mean `\(near)`?)" }
            log.warning(setting.location, message)
            unknown[setting.key] = setting.value.stripped
        }

        let name = buildName()
        var uuid: DomainUUID?
        if let (text, l) = string("uuid") {
            uuid = DomainUUID(text)
            if uuid == nil { log.error(l, "bad uuid \"\(text)\": expected 8-4-4-4-12 hex digits") }
        }
        var config = DomainConfiguration(name_label: name ?? "", uuid: uuid ?? options.makeUUID())
        config.unknown = unknown
        config.type = buildType()

        // vCPUs.
        let vcpus = integer("vcpus", min: 1, max: 4096)
        let maxvcpus = integer("maxvcpus", min: 1, max: 4096)
        config.VCPUs_at_startup = vcpus?.0 ?? 1
        config.VCPUs_max = maxvcpus?.0 ?? config.VCPUs_at_startup
        if let (v, l) = vcpus, let (m, _) = maxvcpus, v > m {
            log.error(l, "`vcpus` (\(v)) is above `maxvcpus` (\(m))")
        }
        config.cpus = affinity("cpus")
        config.cpus_soft = affinity("cpus_soft")

        // Memory (MiB in xl, bytes in the model).
        let memory = integer("memory", min: 1, max: 1 << 40)
        let maxmem = integer("maxmem", min: 1, max: 1 << 40)
        // As libxl: without `memory` the guest starts with all of `maxmem` (else 32 MiB).
        let memMiB = UInt64(memory?.0 ?? maxmem?.0 ?? 32)
        let maxMiB = UInt64(maxmem?.0 ?? Int(memMiB))
        config.memory_dynamic_max = memMiB << 20
        config.memory_static_max = maxMiB << 20
        if let (m, l) = maxmem, let (mem, _) = memory, m < mem {
            log.error(l, "`maxmem` (\(m) MiB) is below `memory` (\(mem) MiB): maxmem must be at least memory")
        }

        // Actions.
        config.actions_after_shutdown = action("on_poweroff", default: .destroy)
        config.actions_after_reboot = action("on_reboot", default: .restart)
        config.actions_after_crash = action("on_crash", default: .destroy)
        config.actions_after_watchdog = action("on_watchdog", default: .destroy)
        config.actions_after_soft_reset = action("on_soft_reset", default: .softReset)

        buildBoot(&config)
        buildDevices(&config)

        // Everything else xl knows, kept as written.
        for key in platformKeys where raw[key] != nil {
            switch raw[key]!.value {
            case .string(let v, _): config.platform[key] = v
            case .list(let items, let l):
                var strings: [String] = []
                for item in items {
                    if let s = item.stringValue { strings.append(s) } else {
                        log.error(l, "items of `\(key)` must be strings, not lists")
                    }
                }
                config.platformLists[key] = strings
            }
        }
        // As xl's xlu_cfg_get_long: a scheduler value that is no number is warned about and not used.
        for key in DomainConfiguration.schedulerNumberKeys {
            guard let setting = raw[key] else { continue }
            if case .list = setting.value {
                log.warning(setting.location, "`\(key)` is a list but should be a single value; ignored")
                config.platformLists[key] = nil
            } else if let text = config.platform[key], parseCInteger(text) == nil {
                log.warning(setting.location, "`\(key)` is not a valid number (\"\(text)\"); ignored")
                config.platform[key] = nil
            }
        }
        return log.hasErrors ? nil : config
    }

    mutating func buildName() -> String? {
        guard let (name, l) = string("name") else {
            if raw["name"] == nil { log.error(fileLocation, "missing `name`: every domain needs one, e.g. `name = \"guest\"`") }
            return nil
        }
        if let problem = nameProblem(name) { log.error(l, problem) }
        return name
    }

    mutating func buildType() -> DomainType {
        if let (t, l) = string("type") {
            if let type = DomainType(rawValue: t) { return type }
            log.error(l, "`type` must be pv, pvh or hvm, not \"\(t)\"")
            return .pv
        }
        if let (b, l) = string("builder") {
            switch b {
            case "hvm": return .hvm
            case "generic", "linux": return .pv
            default:
                log.error(l, "`builder` must be \"hvm\" or \"generic\", not \"\(b)\" (prefer `type = \"pv\"|\"pvh\"|\"hvm\"`)")
            }
        }
        return .pv
    }

    mutating func affinity(_ key: String) -> CPUAffinity? {
        guard let s = raw[key] else { return nil }
        switch s.value {
        case .string(let text, let l):
            switch CPUAffinity.parse(text) {
            case .success(let a): return a
            case .failure(let e): log.error(l, "`\(key)`: \(e)"); return nil
            }
        case .list(let items, let l):
            var per: [CPUAffinity] = []
            for item in items {
                guard let text = item.stringValue else {
                    log.error(item.location, "items of `\(key)` must be strings")
                    continue
                }
                switch CPUAffinity.parse(text) {
                case .success(let a): per.append(a)
                case .failure(let e): log.error(item.location, "`\(key)`: \(e)")
                }
            }
            if per.isEmpty, items.isEmpty { log.error(l, "`\(key)` is an empty list") }
            return .perVCPU(per)
        }
    }

    mutating func buildBoot(_ config: inout DomainConfiguration) {
        var kernel = string("kernel")
        // xend's HVM guests named the firmware as their kernel; xl loads hvmloader itself
        // (its `kernel` means a direct kernel boot), so an old file's hvmloader is dropped.
        if config.type == .hvm, let (k, l) = kernel, k == "hvmloader" || k.hasSuffix("/hvmloader") {
            log.warning(l, "`kernel = \"\(k)\"` is xend's way to name the HVM firmware; ignored (xl loads hvmloader itself)")
            kernel = nil
        }
        let ramdisk = string("ramdisk")
        config.PV_kernel = kernel.map { resolve($0.0) }
        config.PV_ramdisk = ramdisk.map { resolve($0.0) }
        if let (cmdline, _) = string("cmdline") {
            config.PV_args = cmdline
            for k in ["root", "extra"] where raw[k] != nil {
                log.warning(raw[k]!.location, "`\(k)` is ignored because `cmdline` is set")
            }
        } else {
            let root = string("root")?.0
            let extra = string("extra")?.0
            switch (root, extra) {
            case (let r?, let e?): config.PV_args = "root=\(r) \(e)"
            case (let r?, nil): config.PV_args = "root=\(r)"
            case (nil, let e?): config.PV_args = e
            case (nil, nil): break
            }
        }
        if let (b, _) = string("bootloader") { config.PV_bootloader = b }
        if let s = raw["bootloader_args"] {
            switch s.value {
            case .string(let v, let l):
                log.warning(l, "`bootloader_args` as a string is deprecated: write a list, e.g. [ \"--entry=1\" ]")
                config.PV_bootloader_args = v.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
            case .list: config.PV_bootloader_args = (stringList("bootloader_args") ?? []).map(\.0)
            }
        }

        if raw["kernel"] != nil || config.PV_kernel != nil {
            // A kernel was named (xend's hvmloader, dropped above, too).
        } else if let problem = config.bootProblem {
            log.error(fileLocation, problem)
        }
        // The kernel and ramdisk are files on this host unless a bootloader reads them from the guest's disk.
        if let exists = options.fileExists, config.PV_bootloader == nil {
            for (key, value, path) in [("kernel", kernel, config.PV_kernel), ("ramdisk", ramdisk, config.PV_ramdisk)] {
                if let (written, l) = value, let path, !exists(path) {
                    let shown = written == path ? "\"\(path)\"" : "\"\(written)\" (\(path))"
                    log.error(l, "\(key) file \(shown) does not exist")
                }
            }
        }
    }

    mutating func buildDevices(_ config: inout DomainConfiguration) {
        var duplicates = DeviceDuplicates<SourceLocation>()
        func refuseDuplicate(_ found: (message: String, first: SourceLocation)?, at l: SourceLocation) {
            if let found { log.error(l, "\(found.message) (first used at line \(found.first.line))") }
        }
        for (spec, l) in stringList("disk") ?? [] {
            switch DiskDevice.parse(spec) {
            case .success(var disk):
                // A target that is a path (not an iSCSI name etc. for a block script) resolves.
                if let t = disk.target, disk.script == nil, !t.contains(":") { disk.target = resolve(t) }
                if let problem = DiskDevice.vdevProblem(disk.vdev) { log.error(l, problem) }
                refuseDuplicate(duplicates.check(disk, at: l), at: l)
                config.disks.append(disk)
            case .failure(let e):
                for (m, offset) in zip(e.messages, e.offsets) { log.error(place(offset, in: spec, at: l), m) }
            }
        }
        for (spec, l) in stringList("vif") ?? [] {
            switch NetworkInterface.parse(spec) {
            case .success(let vif):
                refuseDuplicate(duplicates.check(vif, at: l), at: l)
                config.vifs.append(vif)
            case .failure(let e):
                for m in e.messages { log.error(l, m) }
            }
        }
        for (spec, l) in stringList("vfb") ?? [] {
            switch FramebufferDevice.parse(spec) {
            case .success(let d): config.vfbs.append(d)
            case .failure(let e): for m in e.messages { log.error(l, m) }
            }
        }
        for (spec, l) in stringList("vkb") ?? [] {
            switch KeyboardDevice.parse(spec) {
            case .success(let d): config.vkbs.append(d)
            case .failure(let e): for m in e.messages { log.error(l, m) }
            }
        }
        for (spec, l) in stringList("channel") ?? [] {
            switch ChannelDevice.parse(spec) {
            case .success(let d):
                refuseDuplicate(duplicates.check(d, at: l), at: l)
                config.channels.append(d)
            case .failure(let e): for m in e.messages { log.error(l, m) }
            }
        }
        for (spec, l) in stringList("pci") ?? [] {
            switch PCIDevice.parse(spec) {
            case .success(let d): config.pcis.append(d)
            case .failure(let e): for m in e.messages { log.error(l, m) }
            }
        }
        if let s = raw["serial"] {
            switch s.value {
            case .string(let v, _): config.serials = [v]
            case .list: config.serials = (stringList("serial") ?? []).map(\.0)
            }
        }
    }
}

extension DomainConfiguration {
    /// Why xl would refuse to boot this guest (a PV guest without a kernel or
    /// bootloader, a PVH one without those or firmware), or nil. Every reader checks it.
    var bootProblem: String? {
        guard PV_kernel == nil, PV_bootloader == nil else { return nil }
        switch type {
        case .pv: return "a PV guest needs `kernel` (or `bootloader`): e.g. `kernel = \"/boot/vmlinuz\"`"
        case .pvh where platform["firmware"] == nil: return "a PVH guest needs `kernel` (or `bootloader` or `firmware`)"
        default: return nil
        }
    }

    /// Why xl would refuse these memory sizes (in bytes), or nil: xl.cfg
    /// counts whole MiB, from 1 MiB to 2^40 MiB.
    static func memoryProblem(_ bytes: UInt64) -> String? {
        let mib: UInt64 = 1 << 20
        guard bytes % mib == 0, bytes >= mib, bytes <= (1 << 40) * mib else {
            return "must be a whole number of MiB from 1 MiB to 2^40 MiB, not \(bytes) bytes"
        }
        return nil
    }
}

/// Why xend (and xl) would refuse this domain name, or nil if it is fine.
/// The rule is xend's: letters, digits and `_ - . : / +`; not `Domain-0`
/// (dom0's), and not all digits (it would read as a domain id).
func nameProblem(_ name: String) -> String? {
    if name.isEmpty { return "the domain name is empty" }
    if name.utf8.count > 64 { return "the domain name is longer than 64 characters" }
    for c in name.unicodeScalars {
        let ok = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || "_-.:/+".unicodeScalars.contains(c)
        if !ok {
            let shown = c == " " ? "a space" : "`\(c)`"
            return "the domain name \"\(name)\" contains \(shown): only letters, digits and _ - . : / + are allowed"
        }
    }
    if name == "Domain-0" { return "the name \"Domain-0\" belongs to dom0" }
    if name.allSatisfy(\.isNumber) { return "the domain name \"\(name)\" is all digits: it would be taken for a domain id" }
    return nil
}
