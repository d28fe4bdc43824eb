// The model written back as an xl.cfg file. Reading the text again gives the
// same model (SXP console devices aside: xl.cfg has no key for them, xl
// always gives a guest its console; and an xm file's unknown keys that are
// no xl.cfg keys, written as comments).

extension DomainConfiguration {
    /// This configuration as xl.cfg text.
    public func xlText() -> String {
        var out = ""
        func line(_ key: String, _ value: String) { out += "\(key) = \(value)\n" }
        func list(_ key: String, _ items: [String]) {
            guard !items.isEmpty else { return }
            if items.count == 1 {
                line(key, "[ \(xlQuote(items[0])) ]")
            } else {
                out += "\(key) = [\n" + items.map { "    \(xlQuote($0)),\n" }.joined() + "]\n"
            }
        }

        line("name", xlQuote(name_label))
        line("uuid", xlQuote(uuid.description))
        line("type", xlQuote(type.rawValue))
        // maxmem and maxvcpus default to memory and vcpus: written only when they differ.
        line("memory", String(memoryMiB))
        if maxmemMiB != memoryMiB { line("maxmem", String(maxmemMiB)) }
        line("vcpus", String(VCPUs_at_startup))
        if VCPUs_max != VCPUs_at_startup { line("maxvcpus", String(VCPUs_max)) }
        if let cpus { writeAffinity("cpus", cpus, line: line) }
        if let cpus_soft { writeAffinity("cpus_soft", cpus_soft, line: line) }
        line("on_poweroff", xlQuote(actions_after_shutdown.rawValue))
        line("on_reboot", xlQuote(actions_after_reboot.rawValue))
        line("on_crash", xlQuote(actions_after_crash.rawValue))
        line("on_watchdog", xlQuote(actions_after_watchdog.rawValue))
        line("on_soft_reset", xlQuote(actions_after_soft_reset.rawValue))
        if let PV_kernel { line("kernel", xlQuote(PV_kernel)) }
        if let PV_ramdisk { line("ramdisk", xlQuote(PV_ramdisk)) }
        if let PV_args { line("cmdline", xlQuote(PV_args)) }
        if let PV_bootloader { line("bootloader", xlQuote(PV_bootloader)) }
        if !PV_bootloader_args.isEmpty {
            line("bootloader_args", "[ " + PV_bootloader_args.map(xlQuote).joined(separator: ", ") + " ]")
        }
        list("disk", disks.map(\.specification))
        // An empty vif spec is a vif with every default: `vif = [ '' ]`.
        if !vifs.isEmpty { out += "vif = [ " + vifs.map { xlQuote($0.specification) }.joined(separator: ", ") + " ]\n" }
        list("vfb", vfbs.map(\.specification))
        if !vkbs.isEmpty { out += "vkb = [ " + vkbs.map { xlQuote($0.specification) }.joined(separator: ", ") + " ]\n" }
        list("channel", channels.map(\.specification))
        list("pci", pcis.map(\.specification))
        if !serials.isEmpty { line("serial", "[ " + serials.map(xlQuote).joined(separator: ", ") + " ]") }
        for key in platform.keys.sorted() { line(key, xlScalar(platform[key]!)) }
        for key in platformLists.keys.sorted() {
            line(key, "[ " + platformLists[key]!.map(xlQuote).joined(separator: ", ") + " ]")
        }
        for key in unknown.keys.sorted() {
            if Self.isValidKey(key[...]) {
                line(key, xlValue(unknown[key]!))
            } else {
                // An xm file's Python name xl.cfg cannot spell (`_cpus`,
                // `Memory`): shown, commented out, since xl would refuse the line.
                out += "# \(key) = \(xlValue(unknown[key]!))  (not an xl.cfg key)\n"
            }
        }
        return out
    }

    private func writeAffinity(_ key: String, _ a: CPUAffinity, line: (String, String) -> Void) {
        if case .perVCPU(let items) = a {
            line(key, "[ " + items.map { xlQuote($0.specification) }.joined(separator: ", ") + " ]")
        } else {
            line(key, xlQuote(a.specification))
        }
    }
}

/// A value as xl.cfg text: double-quoted, with escapes for what needs them.
func xlQuote(_ s: String) -> String {
    escapedQuoted(s) { "\\x" + hex($0, 2) }
}

/// A scalar written bare when it reads back as the same number text, quoted otherwise.
func xlScalar(_ s: String) -> String {
    let b = Array(s.utf8)
    if let first = b.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9"),
       b.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) || $0 == UInt8(ascii: "x") }) {
        return s
    }
    return xlQuote(s)
}

func xlValue(_ v: ConfigValue) -> String {
    switch v {
    case .string(let s, _): return xlScalar(s)
    case .list(let items, _): return "[ " + items.map(xlValue).joined(separator: ", ") + " ]"
    }
}

// MARK: - Device specs, canonical form

extension DiskDevice {
    /// The canonical xl-disk-configuration spec: named parameters, `target=` last.
    public var specification: String {
        var parts = ["format=\(format.rawValue)", "vdev=\(vdev)", "access=\(access.rawValue)"]
        if deviceType == .cdrom { parts.append("devtype=cdrom") }
        if let backendType { parts.append("backendtype=\(backendType.rawValue)") }
        if let backendDomain { parts.append("backend=\(backendDomain)") }
        if let script { parts.append("script=\(script)") }
        if directIOSafe { parts.append("direct-io-safe") }
        if let discardEnable { parts.append(discardEnable ? "discard" : "no-discard") }
        for key in options.keys.sorted() {
            let v = options[key]!
            parts.append(DiskDevice.flagOptions.contains(key) ? key : "\(key)=\(v)")
        }
        // `target=` takes the rest of the spec less one trailing comma, so a
        // target that ends in a comma gets one more.
        if let target { parts.append("target=\(target)" + (target.hasSuffix(",") ? "," : "")) }
        return parts.joined(separator: ",")
    }
}

extension NetworkInterface {
    /// The canonical vif spec (`''` for a vif with every default).
    public var specification: String { Self.description.xlSpec(self).joined(separator: ",") }
}

extension FramebufferDevice {
    public var specification: String { Self.description.xlSpec(self).joined(separator: ",") }
}

extension KeyboardDevice {
    public var specification: String { Self.description.xlSpec(self).joined(separator: ",") }
}

extension ChannelDevice {
    public var specification: String { Self.description.xlSpec(self).joined(separator: ",") }
}

extension PCIDevice {
    /// `BDF[@VSLOT]` and the options.
    public var specification: String {
        ([bdf + (vslot.map { "@" + hex($0, 2) } ?? "")] + Self.description.xlSpec(self)).joined(separator: ",")
    }
}
