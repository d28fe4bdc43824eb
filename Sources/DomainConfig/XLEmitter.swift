// The model written back as an xl.cfg file. Reading the text again gives the
// same model (SXP console devices aside: xl.cfg has no key for them, xl
// always gives a guest its console).

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
        for key in unknown.keys.sorted() { line(key, xlValue(unknown[key]!)) }
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
    static let flagOptions: Set<String> = ["colo", "no-colo", "trusted", "untrusted"]

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
    public var specification: String {
        var parts: [String] = []
        if let mac { parts.append("mac=\(mac)") }
        if let bridge { parts.append("bridge=\(bridge)") }
        if let ip { parts.append("ip=\(ip)") }
        if let script { parts.append("script=\(script)") }
        if let model { parts.append("model=\(model)") }
        if let type { parts.append("type=\(type)") }
        if let vifname { parts.append("vifname=\(vifname)") }
        if let rate { parts.append("rate=\(rate)") }
        if let mtu { parts.append("mtu=\(mtu)") }
        if let backend { parts.append("backend=\(backend)") }
        if let gatewaydev { parts.append("gatewaydev=\(gatewaydev)") }
        for key in options.keys.sorted() { parts.append("\(key)=\(options[key]!)") }
        return parts.joined(separator: ",")
    }
}

extension FramebufferDevice {
    public var specification: String {
        var parts = ["vnc=\(vnc ? 1 : 0)", "sdl=\(sdl ? 1 : 0)"]
        if let vnclisten { parts.append("vnclisten=\(vnclisten)") }
        if let vncdisplay { parts.append("vncdisplay=\(vncdisplay)") }
        if let vncunused { parts.append("vncunused=\(vncunused ? 1 : 0)") }
        if let vncpasswd { parts.append("vncpasswd=\(vncpasswd)") }
        if let opengl { parts.append("opengl=\(opengl ? 1 : 0)") }
        if let display { parts.append("display=\(display)") }
        if let xauthority { parts.append("xauthority=\(xauthority)") }
        if let keymap { parts.append("keymap=\(keymap)") }
        if let backend { parts.append("backend=\(backend)") }
        return parts.joined(separator: ",")
    }
}

extension KeyboardDevice {
    public var specification: String {
        var parts: [String] = []
        if let backend { parts.append("backend=\(backend)") }
        if let backendType { parts.append("backend-type=\(backendType)") }
        for key in options.keys.sorted() { parts.append("\(key)=\(options[key]!)") }
        return parts.joined(separator: ",")
    }
}

extension ChannelDevice {
    public var specification: String {
        var parts = ["name=\(name)", "connection=\(connection)"]
        if let path { parts.append("path=\(path)") }
        if let backend { parts.append("backend=\(backend)") }
        return parts.joined(separator: ",")
    }
}

extension PCIDevice {
    public var specification: String {
        var s = bdf
        if let vslot { s += "@" + hex(vslot, 2) }
        func flag(_ name: String, _ v: Bool?) { if let v { s += ",\(name)=\(v ? 1 : 0)" } }
        flag("permissive", permissive)
        flag("msitranslate", msitranslate)
        flag("seize", seize)
        flag("power_mgmt", powerManagement)
        if let rdmPolicy { s += ",rdm_policy=\(rdmPolicy)" }
        return s
    }
}
