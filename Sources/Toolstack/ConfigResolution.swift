import DomainConfig

// What the toolstack fills in before it creates a domain: libxl's
// `*_setdefault` step. A config may leave out what `create` needs (a MAC, an
// HVM guest's loader); resolving fills it in once, so the hypervisor, the
// xenstore layout, the record and every restart read the same model.

extension DomainConfiguration {
    /// Where an HVM guest's firmware loader lives when the config names no kernel.
    public static let hvmLoader = "/usr/lib/xen-4.17/boot/hvmloader"

    /// An HVM guest's video memory (xl's `videoram`, MiB) when the config
    /// does not say: libxl's default for its default card (Cirrus).
    public static let defaultVideoRAMMiB = 8

    /// This config with what `create` needs filled in, as libxl's setdefault does:
    /// - a MAC for each vif without one (``MACAddress/randomXen()``);
    /// - an HVM guest without a kernel boots Xen's hvmloader;
    /// - an HVM guest's video memory (`videoram`), 8 MiB unless set;
    /// - relative kernel, ramdisk and disk paths become absolute (against the
    ///   working directory), so a restart from another directory finds them;
    /// - `memory` and `maxmem` in whole MiB, `maxmem` at least `memory`,
    ///   `maxvcpus` at least `vcpus`, at least one vcpu.
    ///
    /// Refuses a config no domain can be created from: a PV or PVH guest
    /// without a kernel (bootloaders are not supported), a name xl would read
    /// as something else, less than 1 MiB of memory. Resolving a resolved
    /// config changes nothing: a domain is created again from its record as it was.
    public func resolved(randomMAC: () -> MACAddress = { MACAddress.randomXen() },
                         currentDirectory: () -> String? = workingDirectory) throws(ToolstackError) -> DomainConfiguration {
        var c = self
        if c.PV_kernel?.isEmpty ?? true {
            guard c.type == .hvm else {
                throw .invalid("no kernel: a \(c.type.rawValue) guest needs `kernel = \"...\"` (bootloaders are not supported)")
            }
            c.PV_kernel = Self.hvmLoader
        }
        if let problem = Self.validateName(c.name_label) { throw .invalid(problem) }
        guard c.memoryMiB > 0 else { throw .invalid("memory must be more than 0 MB") }

        // Memory is given to the hypervisor and xenstore in whole MiB, as xl reads it.
        c.memory_dynamic_max = c.memoryMiB << 20
        c.memory_static_max = max(c.maxmemMiB, c.memoryMiB) << 20
        c.VCPUs_at_startup = max(c.VCPUs_at_startup, 1)
        c.VCPUs_max = max(c.VCPUs_max, c.VCPUs_at_startup)
        if c.type == .hvm, c.platform["videoram"] == nil { c.platform["videoram"] = "\(Self.defaultVideoRAMMiB)" }
        for i in c.vifs.indices where c.vifs[i].mac == nil { c.vifs[i].mac = randomMAC() }

        let cwd = currentDirectory()
        func absolute(_ path: String) -> String {
            guard !path.isEmpty, !path.hasPrefix("/"), let dir = cwd else { return path }
            return (dir.hasSuffix("/") ? dir : dir + "/") + (path.hasPrefix("./") ? String(path.dropFirst(2)) : path)
        }
        c.PV_kernel = c.PV_kernel.map(absolute)
        c.PV_ramdisk = c.PV_ramdisk.map(absolute)
        // A target for a block script (an iSCSI name, a DRBD resource) or with
        // a protocol prefix is not a file: as the config readers, left as written.
        for i in c.disks.indices where c.disks[i].script == nil {
            if let target = c.disks[i].target, !target.contains(":") { c.disks[i].target = absolute(target) }
        }
        return c
    }

    /// Why xl would not take `name` as a domain name (nil: it would): it must
    /// not be empty, all digits (it would read as a domid), or hold `/` or a
    /// control character.
    public static func validateName(_ name: String) -> String? {
        if name.isEmpty { return "the domain name is empty" }
        if name.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            return "domain name \"\(name)\" is all digits and would be read as a domid"
        }
        if name.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "/") }) {
            return "domain name \"\(name)\" contains '/' or a control character"
        }
        return nil
    }

    /// What to do after the domain shut down for `reason`: its `on_poweroff`,
    /// `on_reboot`, `on_crash`, `on_watchdog` or `on_soft_reset` (a suspend
    /// counts as a poweroff).
    public func action(for reason: ShutdownReason) -> DomainAction {
        switch reason {
        case .poweroff, .suspend: actions_after_shutdown
        case .reboot: actions_after_reboot
        case .crash: actions_after_crash
        case .watchdog: actions_after_watchdog
        case .softReset: actions_after_soft_reset
        }
    }
}

extension DomainAction {
    /// What swxl does for it: coredumps are not taken, the rest of the
    /// action happens (a soft reset is a restart).
    public var effective: DomainAction {
        switch self {
        case .coredumpDestroy: .destroy
        case .coredumpRestart: .restart
        case .softReset: .restart
        default: self
        }
    }
}
