// xl's legacy SXP form of a libxl_domain_config: what `create -n` and
// `list -l` print when xl.conf says `output_format="sxp"` (printf_info_sexp
// in tools/xl/xl_sxp.c). It is read off the same libxl struct as the JSON,
// so the two never disagree; a field left out of the JSON (unset) prints as
// xl prints the unset C value: `<default>` for a defbool, `(null)` for a
// string (glibc's %s of NULL), -1 for LIBXL_MEMKB_DEFAULT and
// LIBXL_MAX_GRANT_DEFAULT, 0 for a number.

extension LibxlStruct {
    /// The SXP text, for domain `domid` (-1 in a dry run) whose hypervisor
    /// uuid is `uuid` (nil when there is no such domain: xl prints `<unknown>`).
    public func xlSXPText(domid: Int, uuid: String?) -> String {
        let config = json
        let c = config["c_info"] ?? .object([])
        let b = config["b_info"] ?? .object([])
        var out = "(domain\n\t(domid \(domid))\n"
        func line(_ depth: Int, _ text: String) { out += String(repeating: "\t", count: depth) + "(" + text + ")\n" }
        let type = c.text("type", default: "pv")
        line(1, "create_info")
        line(1, "hvm \(type == "hvm" ? 1 : 0)")
        line(1, "hap \(c.defbool("hap"))")
        line(1, "oos \(c.defbool("oos"))")
        line(1, "ssidref \(c.text("ssidref", default: "0"))")
        line(1, "name \(c.text("name"))")
        line(1, "uuid \(uuid ?? "<unknown>")")
        if let pool = c["pool_name"]?.stringText { line(1, "cpupool \(pool)") }
        line(1, "xsdata " + (c["xsdata"] == nil ? "(null)" : "contains data"))
        line(1, "platformdata " + (c["platformdata"] == nil ? "(null)" : "contains data"))

        line(1, "build_info")
        line(1, "max_vcpus \(b.text("max_vcpus", default: "0"))")
        line(1, "max_grant_frames \(b.text("max_grant_frames", default: "-1"))")
        line(1, "max_maptrack_frames \(b.text("max_maptrack_frames", default: "-1"))")
        line(1, "tsc_mode \(b.text("tsc_mode", default: "default"))")
        line(1, "max_memkb \(b.text("max_memkb", default: "-1"))")
        line(1, "target_memkb \(b.text("target_memkb", default: "-1"))")
        line(1, "nomigrate \(b.defbool("disable_migrate"))")
        if type == "pv", let loader = b["bootloader"]?.stringText {
            line(1, "bootloader \(loader)")
            if case .array(let args)? = b["bootloader_args"] {
                line(1, "bootloader_args" + args.map { " " + ($0.stringText ?? "") }.joined())
            }
        }
        out += "\t(image\n"
        if type == "hvm" {
            let h = b["type.hvm"] ?? .object([])
            out += "\t\t(hvm\n"
            let vnc = h["vnc"] ?? .object([]), sdl = h["sdl"] ?? .object([]), spice = h["spice"] ?? .object([])
            for (key, value) in [
                ("firmware", h.text("firmware")), ("video_memkb", b.text("video_memkb", default: "-1")),
                ("shadow_memkb", b.text("shadow_memkb", default: "-1")), ("pae", h.defbool("pae")),
                ("apic", b.defbool("apic")), ("acpi", h.defbool("acpi")), ("nx", h.defbool("nx")),
                ("viridian", h.defbool("viridian")), ("hpet", h.defbool("hpet")), ("vpt_align", h.defbool("vpt_align")),
                ("timer_mode", b.text("timer_mode", default: "unknown")), ("nestedhvm", b.defbool("nested_hvm")),
                ("stdvga", h["vga"]?["kind"]?.stringText == "std" ? "True" : "False"),
                ("vnc", vnc.defbool("enable")), ("vnclisten", vnc.text("listen")),
                ("vncdisplay", vnc.text("display", default: "0")), ("vncunused", vnc.defbool("findunused")),
                ("keymap", h.text("keymap")), ("sdl", sdl.defbool("enable")), ("opengl", sdl.defbool("opengl")),
                ("nographic", h.defbool("nographic")), ("spice", spice.defbool("enable")),
                ("spiceport", spice.text("port", default: "0")), ("spicetls_port", spice.text("tls_port", default: "0")),
                ("spicehost", spice.text("host")), ("spicedisable_ticketing", spice.defbool("disable_ticketing")),
                ("spiceagent_mouse", spice.defbool("agent_mouse")),
                ("device_model", b.text("device_model", default: "default")),
                ("gfx_passthru", h.defbool("gfx_passthru")), ("serial", h.text("serial")), ("boot", h.text("boot")),
                ("usb", h.defbool("usb")), ("usbdevice", h.text("usbdevice")), ("vkb_device", h.defbool("vkb_device")),
            ] { line(3, "\(key) \(value)") }
            out += "\t\t)\n"
        } else {
            // xl_sxp.c prints the PV form for PVH guests too; `(linux 0)` is
            // closed on its line and the `)` after the kernel's lines closes nothing: xl's text.
            line(2, "linux 0")
            line(3, "kernel \(b.text("kernel"))")
            line(3, "cmdline \(b.text("cmdline"))")
            line(3, "ramdisk \(b.text("ramdisk"))")
            line(3, "e820_host \((b["type.pv"] ?? .object([])).defbool("e820_host"))")
            out += "\t\t)\n"
        }
        out += "\t)\n"
        for disk in config.items("disks") {
            out += "\t(device\n\t\t(tap\n"
            line(3, "backend_domid \(disk.text("backend_domid", default: "0"))")
            line(3, "frontend_domid \(domid)")
            line(3, "physpath \(disk.text("pdev_path"))")
            line(3, "phystype \(LibxlStruct.diskBackendNumber(disk["backend"]?.stringText))")
            line(3, "virtpath \(disk.text("vdev"))")
            line(3, "unpluggable \(disk.text("removable", default: "0"))")
            line(3, "readwrite \(disk.text("readwrite", default: "0"))")
            line(3, "is_cdrom \(disk.text("is_cdrom", default: "0"))")
            out += "\t\t)\n\t)\n"
        }
        for nic in config.items("nics") {
            out += "\t(device\n\t\t(vif\n"
            if let name = nic["ifname"]?.stringText { line(3, "vifname \(name)") }
            line(3, "backend_domid \(nic.text("backend_domid", default: "0"))")
            line(3, "frontend_domid \(domid)")
            line(3, "devid \(nic.text("devid", default: "-1"))")
            line(3, "mtu \(nic.text("mtu", default: "0"))")
            line(3, "model \(nic.text("model"))")
            line(3, "mac \(nic.text("mac", default: "00:00:00:00:00:00").split(separator: ":").joined())")
            out += "\t\t)\n\t)\n"
        }
        for pci in config.items("pcidevs") {
            func hex(_ key: String, _ width: Int) -> String {
                let s = String(Int(pci.text(key, default: "0")) ?? 0, radix: 16)
                return String(repeating: "0", count: max(0, width - s.count)) + s
            }
            out += "\t(device\n\t\t(pci\n"
            line(3, "pci dev \(hex("domain", 4)):\(hex("bus", 2)):\(hex("dev", 2)).\(hex("func", 1))@\(hex("vdevfn", 2))")
            line(3, "opts msitranslate \(pci["msitranslate"] == nil ? 0 : 1) power_mgmt \(pci["power_mgmt"] == nil ? 0 : 1)")
            out += "\t\t)\n\t)\n"
        }
        for vfb in config.items("vfbs") {
            let vnc = vfb["vnc"] ?? .object([]), sdl = vfb["sdl"] ?? .object([])
            out += "\t(device\n\t\t(vfb\n"
            for (key, value) in [
                ("backend_domid", vfb.text("backend_domid", default: "0")), ("frontend_domid", "\(domid)"),
                ("devid", vfb.text("devid", default: "-1")), ("vnc", vnc.defbool("enable")),
                ("vnclisten", vnc.text("listen")), ("vncdisplay", vnc.text("display", default: "0")),
                ("vncunused", vnc.defbool("findunused")), ("keymap", vfb.text("keymap")),
                ("sdl", sdl.defbool("enable")), ("opengl", sdl.defbool("opengl")),
                ("display", sdl.text("display")), ("xauthority", sdl.text("xauthority")),
            ] { line(3, "\(key) \(value)") }
            out += "\t\t)\n\t)\n"
        }
        return out + ")\n"
    }

    /// libxl_disk_backend's number, which xl_sxp.c prints as `phystype`.
    static func diskBackendNumber(_ name: String?) -> Int {
        ["phy": 1, "tap": 2, "qdisk": 3, "standalone": 4][name ?? ""] ?? 0
    }
}

private extension JSONValue {
    var stringText: String? {
        switch self {
        case .string(let s): return s
        case .number(let n): return n
        default: return nil
        }
    }
    /// A member as xl's printf shows it; `default` for an unset one ("(null)" for a string).
    func text(_ key: String, default value: String = "(null)") -> String { self[key]?.stringText ?? value }
    /// A defbool member: "True", "False" or "<default>".
    func defbool(_ key: String) -> String { self[key]?.stringText ?? "<default>" }
    /// An array member's items (none when unset).
    func items(_ key: String) -> [JSONValue] {
        if case .array(let items)? = self[key] { return items }
        return []
    }
}
