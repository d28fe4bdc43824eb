// xl's global config file, /etc/xen/xl.conf, as xl 4.17's
// parse_global_config (tools/xl/xl.c) reads it: the xl.cfg grammar
// (libxlutil's lexer and parser), a handful of settings, every other key
// ignored. Reading only: what each setting does is applied where xl applies
// it (create, network-attach, vcpu-pin, the libxl JSON).

/// The settings xl takes from xl.conf, with xl's defaults.
public struct XLGlobalSettings: Sendable, Hashable {
    public enum Autoballoon: String, Sendable, Hashable { case on, off, auto }
    public enum DomidPolicy: String, Sendable, Hashable { case xen, random }

    /// `autoballoon`: "on"/"1", "off"/"0" or "auto" (xl's default: on
    /// unless Xen's command line sets dom0_mem).
    public var autoballoon: Autoballoon = .auto
    /// `run_hotplug_scripts` (xl's default 1), libxl's c_info field.
    public var runHotplugScripts: Int = 1
    /// `lockfile`: the lock xl holds around a create that may balloon (XL_LOCK_FILE).
    public var lockfile: String = "/var/lock/xl"
    /// `vif.default.script` (or the deprecated `vifscript`), `.bridge` (or
    /// `defaultbridge`), `.gatewaydev`, `.backend`: what a vif without its own gets.
    public var vifScript: String?
    public var vifBridge: String?
    public var vifGatewaydev: String?
    public var vifBackend: String?
    /// `output_format`: "json" (default) or "sxp".
    public var outputSXP = false
    /// `blkdev_start`: the first vdev a bootloader's local attach may take.
    public var blkdevStart: String?
    /// `claim_mode` (xl's default 1).
    public var claimMode: Int = 1
    /// `max_grant_frames`, `max_maptrack_frames`, `max_grant_version`: the
    /// defaults for a domain whose config has none (-1: libxl's default).
    public var maxGrantFrames: Int = -1
    public var maxMaptrackFrames: Int = -1
    public var maxGrantVersion: Int = -1
    /// `vm.cpumask`, `vm.pv.cpumask`, `vm.hvm.cpumask`: CPU lists every
    /// vCPU's hard affinity is limited to (nil: any CPU).
    public var vmCPUMask: String?
    public var pvCPUMask: String?
    public var hvmCPUMask: String?
    /// `domid_policy`: "xen" (the hypervisor picks) or "random".
    public var domidPolicy: DomidPolicy = .xen

    public init() {}

    /// Whether xl.conf sets any vCPU affinity mask.
    public var hasAffinityMasks: Bool { vmCPUMask != nil || pvCPUMask != nil || hvmCPUMask != nil }

    /// What reading a file gave: the settings, what xl prints on stderr
    /// while reading it (its warnings and messages, in order), and whether
    /// xl exits 1 there (the file does not parse, or a grant setting is not
    /// a number in range).
    public struct Reading: Sendable {
        public var settings: XLGlobalSettings
        public var messages: [String]
        public var fails: Bool

        public init(settings: XLGlobalSettings, messages: [String], fails: Bool) {
            (self.settings, self.messages, self.fails) = (settings, messages, fails)
        }
    }

    /// Reads xl.conf's text as xl does; `fileName` names it in messages.
    public static func read(text: String, fileName: String) -> Reading {
        var s = XLGlobalSettings()
        var messages: [String] = []
        let (raw, diagnostics) = DomainConfiguration.parseRaw(text: text, fileName: fileName)
        let errors = diagnostics.filter { $0.severity == .error }
        guard errors.isEmpty else {
            // xl: the parser's messages, then "Failed to parse config file: Invalid argument", exit 1.
            return Reading(settings: s, messages: errors.map { $0.description + "\n" }
                           + ["Failed to parse config file: Invalid argument\n"], fails: true)
        }
        /// xlu_cfg_get_string: a list is warned about and counts as unset.
        func string(_ key: String, warn: Bool = true) -> String? {
            guard let setting = raw[key] else { return nil }
            switch setting.value {
            case .string(let v, _): return v
            case .list:
                if warn {
                    messages.append("\(fileName):\(setting.location.line): warning: parameter `\(key)' is a list but should be a single value\n")
                }
                return nil
            }
        }
        /// xlu_cfg_get_bounded_long: nil when absent; .failure when present but refused (warned unless `quiet`).
        func number(_ key: String, in range: ClosedRange<Int> = Int.min...Int.max, quiet: Bool = false) -> Result<Int, Refused>? {
            guard let setting = raw[key] else { return nil }
            guard let text = string(key, warn: !quiet) else { return .failure(Refused()) }
            let line = setting.location.line
            guard let n = parseCInteger(text) else {
                if !quiet { messages.append("\(fileName):\(line): warning: parameter `\(key)' is not a valid number\n") }
                return .failure(Refused())
            }
            if n < range.lowerBound {
                if !quiet { messages.append("\(fileName):\(line): warning: value `\(n)' is smaller than minimum bound '\(range.lowerBound)'\n") }
                return .failure(Refused())
            }
            if n > range.upperBound {
                if !quiet { messages.append("\(fileName):\(line): warning: value `\(n)' is greater than maximum bound '\(range.upperBound)'\n") }
                return .failure(Refused())
            }
            return .success(n)
        }

        if let v = string("autoballoon") {
            switch v {
            case "on", "1": s.autoballoon = .on
            case "off", "0": s.autoballoon = .off
            case "auto": s.autoballoon = .auto
            default: messages.append("invalid autoballoon option")  // xl prints it without a newline
            }
        }
        if case .success(let n)? = number("run_hotplug_scripts") { s.runHotplugScripts = n }
        if let v = string("lockfile") { s.lockfile = v }
        if let v = string("vifscript") {
            messages.append("the global config option vifscript is deprecated, please switch to vif.default.script\n")
            s.vifScript = v
        }
        if let v = string("vif.default.script") { s.vifScript = v }
        if let v = string("defaultbridge") {
            messages.append("the global config option defaultbridge is deprecated, please switch to vif.default.bridge\n")
            s.vifBridge = v
        }
        if let v = string("vif.default.bridge") { s.vifBridge = v }
        if let v = string("vif.default.gatewaydev") { s.vifGatewaydev = v }
        if let v = string("vif.default.backend") { s.vifBackend = v }
        if let v = string("output_format") {
            switch v {
            case "json": s.outputSXP = false
            case "sxp": s.outputSXP = true
            default: messages.append("invalid default output format \"\(v)\"\n")
            }
        }
        if let v = string("blkdev_start") { s.blkdevStart = v }
        if case .success(let n)? = number("claim_mode") { s.claimMode = n }
        // Read without a word, and any refusal ends xl (exit 1).
        var fails = false
        for (key, path) in [("max_grant_frames", \XLGlobalSettings.maxGrantFrames),
                            ("max_maptrack_frames", \.maxMaptrackFrames), ("max_grant_version", \.maxGrantVersion)] {
            switch number(key, in: 0...Int(Int32.max), quiet: true) {
            case .success(let n)?: s[keyPath: path] = n
            case .failure?: fails = true
            case nil: break
            }
            if fails { break }
        }
        if !fails {
            s.vmCPUMask = string("vm.cpumask")
            s.hvmCPUMask = string("vm.hvm.cpumask")
            s.pvCPUMask = string("vm.pv.cpumask")
            if let v = string("domid_policy") {
                switch v {
                case "xen": s.domidPolicy = .xen
                case "random": s.domidPolicy = .random
                default: messages.append("invalid domid_policy option")  // no newline, as xl
                }
            }
        }
        return Reading(settings: s, messages: messages, fails: fails)
    }

    struct Refused: Error {}

    /// A vif as xl's set_default_nic_values leaves it before its spec is
    /// read: xl.conf's script, bridge, gateway device and backend, which
    /// the spec's own keys then override.
    public func applyingVIFDefaults(to config: DomainConfiguration) -> DomainConfiguration {
        var c = config
        c.vifs = c.vifs.map(applyingDefaults)
        return c
    }

    /// The config with xl.conf's grant limits where it sets none, as xl's
    /// parse_config_data gives them to b_info (their fate at create is the
    /// domain keys' own).
    public func applyingGrantDefaults(to config: DomainConfiguration) -> DomainConfiguration {
        var c = config
        for (key, value) in [("max_grant_frames", maxGrantFrames), ("max_maptrack_frames", maxMaptrackFrames),
                             ("max_grant_version", maxGrantVersion)] where value >= 0 && c.platform[key] == nil {
            c.platform[key] = "\(value)"
        }
        return c
    }

    /// One vif with xl.conf's defaults where its spec says nothing (`network-attach` too).
    public func applyingDefaults(to vif: NetworkInterface) -> NetworkInterface {
        var v = vif
        if v.script == nil { v.script = vifScript }
        if v.bridge == nil { v.bridge = vifBridge }
        if v.gatewaydev == nil { v.gatewaydev = vifGatewaydev }
        if v.backend == nil { v.backend = vifBackend }
        return v
    }
}
