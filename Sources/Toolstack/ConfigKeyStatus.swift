import DomainConfig

/// What create does with each xl.cfg key it knows, on each host: no key is
/// dropped in silence. A key is applied (it changes the domain as xl's
/// would), refused (create fails and says so: dropping it would leave a
/// domain other than the one asked for, e.g. without its PCI device or
/// its security label), or warned about (create goes on, and says the key
/// is not applied). Keys swxl does not know are warned about by the config
/// reader. docs/config.md has the table; a test keeps the two equal.
public enum ConfigKeyStatus: String, Sendable, CaseIterable {
    case applied, refused, warned

    /// The keys swxl applies on both hosts.
    public static let appliedKeys: Set<String> = [
        "name", "type", "builder", "uuid", "vcpus", "maxvcpus", "cpus", "cpus_soft", "cpu_weight", "cap",
        "memory", "maxmem", "on_poweroff", "on_reboot", "on_crash", "on_watchdog", "on_soft_reset",
        "kernel", "ramdisk", "cmdline", "root", "extra", "disk", "vif", "vfb", "vkb",
        // swxl's own: the simulated guest's program (meaningless on real Xen, where the kernel runs).
        DomainConfiguration.simGuestScriptKey,
    ]

    /// The keys create refuses, on both hosts, with why.
    public static let refusedKeys: [String: String] = [
        "pci": "PCI passthrough is not supported",
        "pci_permissive": "PCI passthrough is not supported", "pci_msitranslate": "PCI passthrough is not supported",
        "pci_seize": "PCI passthrough is not supported", "pci_power_mgmt": "PCI passthrough is not supported",
        "gfx_passthru": "PCI passthrough is not supported", "rdm": "PCI passthrough is not supported",
        "rdm_mem_boundary": "PCI passthrough is not supported", "passthrough": "device passthrough is not supported",
        "dtdev": "device-tree passthrough is not supported", "ioports": "I/O port passthrough is not supported",
        "iomem": "I/O memory passthrough is not supported", "irqs": "IRQ passthrough is not supported",
        "usbctrl": "USB devices are not supported", "usbdev": "USB devices are not supported",
        "vtpm": "vTPM devices are not supported", "p9": "9pfs devices are not supported",
        "pvcalls": "PV calls devices are not supported", "vdispl": "virtual displays are not supported",
        "vsnd": "virtual sound devices are not supported", "channel": "channels are not supported",
        "seclabel": "XSM security labels are not supported", "init_seclabel": "XSM security labels are not supported",
        "bootloader": "bootloaders are not supported (name the kernel with `kernel`)",
        "bootloader_args": "bootloaders are not supported (name the kernel with `kernel`)",
        "pool": "CPU pools other than Pool-0 are not supported",
        "vnuma": "virtual NUMA is not supported",
    ]

    /// A key's treatment on `host`; nil for a key swxl does not know
    /// (the config reader warns about those).
    public static func of(_ key: String, on host: HostKind) -> ConfigKeyStatus? {
        if appliedKeys.contains(key) { return .applied }
        if refusedKeys[key] != nil { return .refused }
        return DomainConfiguration.knownKeys.contains(key) ? .warned : nil
    }

    /// The keys a config sets, as the file named them.
    static func keysSet(in config: DomainConfiguration) -> [String] {
        var keys = Array(config.platform.keys) + Array(config.platformLists.keys)
        if !config.pcis.isEmpty { keys.append("pci") }
        if !config.channels.isEmpty { keys.append("channel") }
        if !config.serials.isEmpty { keys.append("serial") }
        if config.PV_bootloader != nil { keys.append("bootloader") }
        return Array(Set(keys)).sorted()
    }

    /// What create says about a config's keys on `host`: the refused keys
    /// (create fails) and the ignored ones (create warns), each with a
    /// sentence. `pool = "Pool-0"` is the pool every domain runs in: applied.
    public static func problems(_ config: DomainConfiguration, on host: HostKind) -> (refused: [String], ignored: [String]) {
        var refused: [String] = [], ignored: [String] = []
        for key in keysSet(in: config) {
            switch of(key, on: host) {
            case .refused?:
                if key == "pool", config.platform["pool"] == "Pool-0" { continue }
                refused.append("`\(key)`: \(refusedKeys[key]!) by swxl on this host")
            case .warned?:
                ignored.append("`\(key)` is not applied by swxl yet: ignored")
            case .applied?, nil:
                continue
            }
        }
        return (refused, ignored)
    }
}
