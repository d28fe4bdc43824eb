// The domain model as libxl's `libxl_domain_config`, the JSON xl 4.17
// prints for `create -n` and `list -l` (libxl_domain_config_gen_json, made
// by tools/libs/light/gentypes.py from libxl_types.idl). Scripts read that
// text, so the field names, their order, the value encodings and what is
// left out are libxl's:
// - members come in the IDL's order;
// - a member equal to its "unset" value is left out: an integer, bool or
//   domid that is 0, a string that is NULL, a defbool that is `<default>`,
//   a MemKB that is LIBXL_MEMKB_DEFAULT, an enum or integer equal to its
//   `init_val`, an empty bitmap, list or array;
// - nested structs (`sched_params`, `type.pv`, `arch_arm`, `vnc`, ...) are
//   always there, if only as an empty map;
// - enums are their lowercase names (`pv`, `coredump_restart`), defbools
//   the strings "True"/"False", bitmaps the list of the bits set, MemKB
//   and integers numbers;
// - a keyed union's member is named after its key (`"type.pv": {...}`).
// Two stages of the same config: as xl's parse_config_data leaves it
// (`create -n`), and as libxl holds it for a running domain once its
// defaults are filled in (`list -l`; see LibxlCreatedConfig in Toolstack).

/// One libxl struct being written: members in the IDL's order, the unset ones left out.
public struct LibxlStruct {
    public private(set) var members: [(String, JSONValue)] = []

    public init() {}

    public var json: JSONValue { .object(members) }

    /// A string (`string` in the IDL): left out when nil.
    public mutating func string(_ key: String, _ value: String?) {
        if let value { members.append((key, .string(value))) }
    }
    /// An integer: left out when it equals `unset` (0, or the field's init_val).
    public mutating func integer<I: BinaryInteger>(_ key: String, _ value: I?, unset: I = 0) {
        if let value, value != unset { members.append((key, .number("\(value)"))) }
    }
    /// A MemKB: left out when nil (LIBXL_MEMKB_DEFAULT).
    public mutating func memKB(_ key: String, _ value: UInt64?) {
        if let value { members.append((key, .number("\(value)"))) }
    }
    /// A bool: left out when false.
    public mutating func bool(_ key: String, _ value: Bool) {
        if value { members.append((key, .bool(true))) }
    }
    /// A defbool: "True" or "False", left out when nil (`<default>`).
    public mutating func defbool(_ key: String, _ value: Bool?) {
        if let value { members.append((key, .string(value ? "True" : "False"))) }
    }
    /// An enum, by its libxl name: left out when nil (its unset value).
    public mutating func enumeration(_ key: String, _ value: String?) {
        if let value { members.append((key, .string(value))) }
    }
    /// A bitmap: the bits set, in order; left out when none is.
    public mutating func bitmap(_ key: String, _ bits: [Int]) {
        if !bits.isEmpty { members.append((key, Self.bitmap(bits))) }
    }
    /// A string list: left out when empty.
    public mutating func stringList(_ key: String, _ items: [String]) {
        if !items.isEmpty { members.append((key, .array(items.map { .string($0) }))) }
    }
    /// An array of structs or other values: left out when empty.
    public mutating func array(_ key: String, _ items: [JSONValue]) {
        if !items.isEmpty { members.append((key, .array(items))) }
    }
    /// A nested struct or a keyed union's member: always there.
    public mutating func nested(_ key: String, _ value: LibxlStruct) {
        members.append((key, value.json))
    }

    public static func bitmap(_ bits: [Int]) -> JSONValue { .array(bits.map { .number("\($0)") }) }
}

/// xl's spelling of an enum value as libxl's name for it: `coredump-restart` is `coredump_restart`.
func libxlName(_ xlName: String) -> String {
    String(xlName.map { $0 == "-" ? "_" : $0 })
}

/// What `create -n` and `list -l` need from the host that the config does
/// not say: the CPUs each vCPU's hard and soft affinity (`cpus`,
/// `cpus_soft`) stand for on this host, as xl's parse_vcpu_affinity makes
/// them (the toolstack's CPUTopology resolves them; none when unset).
public struct LibxlHostFacts: Sendable, Hashable {
    public var hardAffinity: [[Int]]
    public var softAffinity: [[Int]]

    public init(hardAffinity: [[Int]] = [], softAffinity: [[Int]] = []) {
        self.hardAffinity = hardAffinity
        self.softAffinity = softAffinity
    }
}

/// What libxl reads back from the hypervisor and xenstore for a running
/// domain (libxl_retrieve_domain_configuration in libxl_domain.c): these
/// replace what the config said.
public struct LibxlRunningFacts: Sendable, Hashable {
    /// The domain's name now (`xl rename` changes it).
    public var name: String
    /// The hypervisor's uuid; nil when it is all zeros (domain 0), which libxl leaves out.
    public var uuid: DomainUUID?
    /// The vCPUs online (`cpu/N/availability` in xenstore).
    public var onlineVCPUs: [Int]
    /// `memory/target` and `memory/static-max`, KiB.
    public var targetKiB: UInt64
    public var staticMaxKiB: UInt64
    /// The domain's scheduler and its parameters as the hypervisor holds them
    /// (libxl_domain_sched_params_get): nil weight/cap for a scheduler without them.
    public var scheduler: String
    public var weight: Int?
    public var cap: Int?

    public init(name: String, uuid: DomainUUID?, onlineVCPUs: [Int], targetKiB: UInt64, staticMaxKiB: UInt64,
                scheduler: String, weight: Int?, cap: Int?) {
        self.name = name
        self.uuid = uuid
        self.onlineVCPUs = onlineVCPUs
        self.targetKiB = targetKiB
        self.staticMaxKiB = staticMaxKiB
        self.scheduler = scheduler
        self.weight = weight
        self.cap = cap
    }

    /// The scheduler's parameters as `sched_params` (their `sched` first).
    var schedParams: LibxlStruct {
        var s = LibxlStruct()
        s.enumeration("sched", scheduler)
        s.integer("weight", weight, unset: -1)
        s.integer("cap", cap, unset: -1)
        return s
    }

    /// `list -l`'s entry for domain 0: the stub config xen-init-dom0 stored
    /// (only its type), with what libxl reads back.
    public var domain0Config: LibxlStruct {
        var c = LibxlStruct()
        c.enumeration("type", "pv")
        c.string("name", name)
        c.string("uuid", uuid?.description)
        var b = LibxlStruct()
        b.bitmap("avail_vcpus", onlineVCPUs)
        b.memKB("max_memkb", staticMaxKiB)
        b.memKB("target_memkb", targetKiB)
        b.nested("sched_params", schedParams)
        b.nested("type.pv", LibxlStruct())
        b.nested("arch_arm", LibxlStruct())
        b.nested("arch_x86", LibxlStruct())
        var d = LibxlStruct()
        d.nested("c_info", c)
        d.nested("b_info", b)
        return d
    }
}

/// `list -l`'s text: each domain's libxl_domain_config with its domid, as
/// xl's list_domains_details prints them (puts adds a newline to yajl's).
public func libxlDomainListText(_ domains: [(domid: UInt32, config: LibxlStruct)]) -> String {
    JSONValue.array(domains.map { .object([("domid", .number("\($0.domid)")), ("config", $0.config.json)]) })
        .yajlBeautified() + "\n"
}

extension DomainConfiguration {
    /// `create -n`'s text: this config as xl's parse_config_data fills
    /// `libxl_domain_config` (nothing libxl would default is filled in), in
    /// yajl's beautified layout.
    public func libxlParsedJSONText(host: LibxlHostFacts, fileKeys: Set<String>? = nil,
                                    xl: XLGlobalSettings = XLGlobalSettings()) -> String {
        libxlParsedConfig(host: host, fileKeys: fileKeys, xl: xl).json.yajlBeautified()
    }

    /// This config as xl's parse_config_data fills `libxl_domain_config`.
    /// `fileKeys`: the keys the xl.cfg file (with its overrides) set
    /// (``ParseResult/keys``), for what xl leaves unset when a key is
    /// absent and the model fills in (`vcpus`, `maxvcpus`); nil counts every key as set.
    /// `xl`: xl.conf's settings xl puts in the config.
    public func libxlParsedConfig(host: LibxlHostFacts, fileKeys: Set<String>? = nil,
                                  xl: XLGlobalSettings = XLGlobalSettings()) -> LibxlStruct {
        libxlConfig(host: host, running: nil, fileKeys: fileKeys, xl: xl)
    }

    /// This config as `list -l` shows the domain created from it: what libxl
    /// stored at create (xl's parsed config, its domid policy and the few
    /// defaults libxl keeps) updated with what it reads back from the running domain.
    public func libxlRunningConfig(host: LibxlHostFacts, running: LibxlRunningFacts,
                                   xl: XLGlobalSettings = XLGlobalSettings()) -> LibxlStruct {
        libxlConfig(host: host, running: running, xl: xl)
    }

    func libxlConfig(host: LibxlHostFacts, running: LibxlRunningFacts?, fileKeys: Set<String>? = nil,
                     xl: XLGlobalSettings) -> LibxlStruct {
        var d = LibxlStruct()
        d.nested("c_info", libxlCreateInfo(running: running, xl: xl))
        d.nested("b_info", libxlBuildInfo(host: host, running: running, fileKeys: fileKeys, xl: xl))
        // What libxl's device setdefaults add to the config it keeps: a
        // disk's colo_restore_enable (false), a nic's type (vif_ioemu for
        // an HVM guest's unless it says, vif for the others).
        d.array("disks", disks.map { $0.libxlParsed(created: running != nil).json })
        d.array("nics", vifs.enumerated().map {
            $1.libxlParsed(devid: Int($1.devid(index: $0)), defaultType: running == nil ? nil : type == .hvm ? "vif_ioemu" : "vif").json
        })
        d.array("pcidevs", pcis.map { $0.libxlParsed.json })
        // Every vfb brings its vkb (xl_parse.c), with the same devid.
        d.array("vfbs", vfbs.enumerated().map { $1.libxlParsed(devid: $0).json })
        d.array("vkbs", (vfbs.indices.map { Self.libxlVKB(devid: $0) }
                         + vkbs.enumerated().map { Self.libxlVKB(devid: vfbs.count + $0, $1) }).map(\.json))
        d.array("channels", channels.enumerated().map { $1.libxlParsed(devid: $0).json })
        d.enumeration("on_poweroff", Self.libxlAction(actions_after_shutdown, unset: .destroy))
        d.enumeration("on_reboot", Self.libxlAction(actions_after_reboot, unset: .destroy))
        d.enumeration("on_watchdog", Self.libxlAction(actions_after_watchdog, unset: .destroy))
        d.enumeration("on_crash", Self.libxlAction(actions_after_crash, unset: .destroy))
        d.enumeration("on_soft_reset", Self.libxlAction(actions_after_soft_reset, unset: .destroy))
        return d
    }

    /// An on_* action by libxl's name (`coredump_restart`); nil when it is `unset` (the IDL's init_val, destroy).
    static func libxlAction(_ a: DomainAction, unset: DomainAction) -> String? {
        a == unset ? nil : libxlName(a.rawValue)
    }

    /// A platform key read as xlu_cfg_get_defbool reads it (a number, 0 or not), or nil when absent.
    func platformFlag(_ key: String) -> Bool? {
        guard let v = platform[key] else { return nil }
        if let n = parseCInteger(v) { return n != 0 }
        return parseFlag(v)
    }

    /// A platform key read as a number, or nil when absent.
    func platformNumber(_ key: String) -> Int? { platform[key].flatMap(parseCInteger) }

    /// `c_info` (libxl_domain_create_info) as xl_parse.c fills it.
    func libxlCreateInfo(running: LibxlRunningFacts? = nil, xl: XLGlobalSettings = XLGlobalSettings()) -> LibxlStruct {
        var c = LibxlStruct()
        c.enumeration("type", type.rawValue)
        c.defbool("hap", platformFlag("hap"))
        c.defbool("oos", platformFlag("oos"))
        c.string("ssid_label", platform["init_seclabel"] ?? platform["seclabel"])
        c.string("name", running?.name ?? name_label)
        if let running {
            // xl's domid policy (xl.conf's domid_policy, unset): INVALID_DOMID, stored as asked.
            c.integer("domid", UInt32.max)
            c.string("uuid", running.uuid?.description)
        } else {
            c.string("uuid", uuid.description)
        }
        c.string("pool_name", platform["pool"])
        // xl.conf's run_hotplug_scripts, 1 unless it says otherwise.
        c.defbool("run_hotplug_scripts", xl.runHotplugScripts != 0)
        c.defbool("driver_domain", platformFlag("driver_domain"))
        c.enumeration("passthrough", platform["passthrough"].flatMap { $0 == "default" ? nil : $0 })
        return c
    }

    /// `b_info` (libxl_domain_build_info) as xl_parse.c fills it.
    func libxlBuildInfo(host: LibxlHostFacts, running: LibxlRunningFacts? = nil, fileKeys: Set<String>? = nil,
                        xl: XLGlobalSettings = XLGlobalSettings()) -> LibxlStruct {
        var b = LibxlStruct()
        // xl sets max_vcpus from `vcpus` or `maxvcpus`, avail_vcpus from
        // `vcpus` only; unset, libxl fills in 1 vCPU at create.
        let given = { (key: String) in running != nil || fileKeys?.contains(key) ?? true }
        if given("vcpus") || given("maxvcpus") { b.integer("max_vcpus", VCPUs_max) }
        if given("vcpus") { b.bitmap("avail_vcpus", running?.onlineVCPUs ?? Array(0..<VCPUs_at_startup)) }
        b.array("vcpu_hard_affinity", host.hardAffinity.map(LibxlStruct.bitmap))
        b.array("vcpu_soft_affinity", host.softAffinity.map(LibxlStruct.bitmap))
        var listAffinity = false
        if case .perVCPU = cpus { listAffinity = true }
        if case .perVCPU = cpus_soft { listAffinity = true }
        b.defbool("numa_placement", listAffinity ? false : nil)
        b.enumeration("tsc_mode", platform["tsc_mode"].flatMap { $0 == "default" ? nil : $0 })
        b.memKB("max_memkb", running?.staticMaxKiB ?? memory_static_max >> 10)
        // libxl's target is xenstore's plus its fudge, the video memory (none for PV and PVH).
        let videoKiB = platformNumber("videoram").map { UInt64($0) << 10 }
        b.memKB("target_memkb", running.map { $0.targetKiB + (type == .hvm ? videoKiB ?? 0 : 0) } ?? memory_dynamic_max >> 10)
        // libxl stores the video memory it settled on: none but an HVM guest's.
        b.memKB("video_memkb", running != nil && type != .hvm ? 0 : videoKiB)
        b.memKB("shadow_memkb", platformNumber("shadow_memory").map { UInt64($0) << 10 })
        b.integer("rtc_timeoffset", platformNumber("rtc_timeoffset"))
        b.defbool("localtime", platformFlag("localtime"))
        b.defbool("disable_migrate", platformFlag("nomigrate"))
        // xl.conf's (xl_parse.c takes no such key from the domain's config).
        b.string("blkdev_start", xl.blkdevStart)
        // LIBXL_MAX_GRANT_DEFAULT unless set (here or in xl.conf).
        b.integer("max_grant_frames", platformNumber("max_grant_frames") ?? xl.maxGrantFrames, unset: -1)
        b.integer("max_maptrack_frames", platformNumber("max_maptrack_frames") ?? xl.maxMaptrackFrames, unset: -1)
        b.integer("max_grant_version", platformNumber("max_grant_version") ?? xl.maxGrantVersion, unset: -1)
        b.enumeration("device_model_version", platform["device_model_version"].map(libxlName))
        b.defbool("device_model_stubdomain", platformFlag("device_model_stubdomain_override"))
        b.memKB("stubdomain_memkb", platformNumber("stubdomain_memory").map { UInt64($0) << 10 })
        b.string("stubdomain_kernel", platform["stubdomain_kernel"])
        b.string("stubdomain_cmdline", platform["stubdomain_cmdline"])
        b.string("stubdomain_ramdisk", platform["stubdomain_ramdisk"])
        b.string("device_model", platform["device_model_override"])
        b.string("device_model_user", platform["device_model_user"])
        b.stringList("extra", platformLists["device_model_args"] ?? [])
        b.stringList("extra_pv", platformLists["device_model_args_pv"] ?? [])
        b.stringList("extra_hvm", platformLists["device_model_args_hvm"] ?? [])
        if let running {
            b.nested("sched_params", running.schedParams)
        } else {
            var sched = LibxlStruct()
            sched.integer("weight", schedWeight, unset: -1)
            sched.integer("cap", schedCap, unset: -1)
            b.nested("sched_params", sched)
        }
        // xl.conf's claim_mode, 1 unless it says otherwise.
        b.defbool("claim_mode", xl.claimMode != 0)
        b.integer("event_channels", platformNumber("max_event_channels"))
        b.string("kernel", PV_kernel)
        b.string("cmdline", PV_args)
        b.string("ramdisk", PV_ramdisk)
        b.string("device_tree", platform["device_tree"])
        b.defbool("acpi", platformFlag("acpi"))
        b.string("bootloader", PV_bootloader)
        b.stringList("bootloader_args", PV_bootloader_args)
        b.enumeration("timer_mode", platform["timer_mode"])
        b.defbool("nested_hvm", platformFlag("nestedhvm"))
        b.defbool("apic", platformFlag("apic"))
        b.defbool("dm_restrict", platformFlag("dm_restrict"))
        b.enumeration("tee", platform["tee"].flatMap { $0 == "none" ? nil : $0 })
        switch type {
        case .pv: b.nested("type.pv", libxlPVInfo())
        case .pvh: b.nested("type.pvh", libxlPVHInfo())
        case .hvm: b.nested("type.hvm", libxlHVMInfo())
        }
        var arm = LibxlStruct()
        arm.enumeration("gic_version", platform["gic_version"].flatMap { $0 == "default" ? nil : $0 })
        arm.enumeration("vuart", platform["vuart"])
        b.nested("arch_arm", arm)
        var x86 = LibxlStruct()
        // libxl's x86 default, kept in what it stored.
        x86.defbool("msr_relaxed", running == nil ? nil : false)
        b.nested("arch_x86", x86)
        b.enumeration("altp2m", platform["altp2m"].flatMap { $0 == "disabled" ? nil : $0 })
        b.integer("vmtrace_buf_kb", platformNumber("vmtrace_buf_kb"))
        b.defbool("vpmu", platformFlag("vpmu"))
        return b
    }

    /// `type.pv`: only `e820_host` comes from the config (xl keeps the rest in the common fields).
    func libxlPVInfo() -> LibxlStruct {
        var pv = LibxlStruct()
        pv.defbool("e820_host", platformFlag("e820_host") ?? (pcis.isEmpty ? nil : true))
        return pv
    }

    func libxlPVHInfo() -> LibxlStruct {
        var pvh = LibxlStruct()
        pvh.defbool("pvshim", platformFlag("pvshim"))
        pvh.string("pvshim_path", platform["pvshim_path"])
        pvh.string("pvshim_cmdline", platform["pvshim_cmdline"])
        pvh.string("pvshim_extra", platform["pvshim_extra"])
        return pvh
    }

    /// `type.hvm`, from the HVM keys xl_parse.c reads.
    func libxlHVMInfo() -> LibxlStruct {
        var h = LibxlStruct()
        h.string("firmware", platform["firmware"])
        h.enumeration("bios", platform["bios"])
        h.defbool("pae", platformFlag("pae"))
        h.defbool("acpi_s3", platformFlag("acpi_s3"))
        h.defbool("acpi_s4", platformFlag("acpi_s4"))
        h.defbool("acpi_laptop_slate", platformFlag("acpi_laptop_slate"))
        h.defbool("nx", platformFlag("nx"))
        h.defbool("hpet", platformFlag("hpet"))
        h.defbool("vpt_align", platformFlag("vpt_align"))
        h.memKB("mmio_hole_memkb", platformNumber("mmio_hole").map { UInt64($0) << 10 })
        h.defbool("altp2m", platformFlag("altp2mhvm"))
        h.string("smbios_firmware", platform["smbios_firmware"])
        h.string("acpi_firmware", platform["acpi_firmware"])
        h.enumeration("hdtype", platform["hdtype"].flatMap { $0 == "ide" ? nil : $0 })
        h.defbool("nographic", platformFlag("nographic"))
        var vga = LibxlStruct()
        if let v = platform["vga"] {
            vga.enumeration("kind", v == "stdvga" ? "std" : v)
        } else if let std = platformFlag("stdvga") {
            vga.enumeration("kind", std ? "std" : "cirrus")
        }
        h.nested("vga", vga)
        var vnc = LibxlStruct()
        vnc.defbool("enable", platformFlag("vnc"))
        vnc.string("listen", platform["vnclisten"])
        vnc.string("passwd", platform["vncpasswd"])
        vnc.integer("display", platformNumber("vncdisplay"))
        vnc.defbool("findunused", platformFlag("vncunused"))
        h.nested("vnc", vnc)
        h.string("keymap", platform["keymap"])
        var sdl = LibxlStruct()
        sdl.defbool("enable", platformFlag("sdl"))
        sdl.defbool("opengl", platformFlag("opengl"))
        sdl.string("display", platform["display"])
        sdl.string("xauthority", platform["xauthority"])
        h.nested("sdl", sdl)
        var spice = LibxlStruct()
        spice.defbool("enable", platformFlag("spice"))
        spice.integer("port", platformNumber("spiceport"))
        spice.integer("tls_port", platformNumber("spicetls_port"))
        spice.string("host", platform["spicehost"])
        spice.defbool("disable_ticketing", platformFlag("spicedisable_ticketing"))
        spice.string("passwd", platform["spicepasswd"])
        spice.defbool("agent_mouse", platformFlag("spiceagent_mouse"))
        spice.defbool("vdagent", platformFlag("spicevdagent"))
        spice.defbool("clipboard_sharing", platformFlag("spice_clipboard_sharing"))
        spice.integer("usbredirection", platformNumber("spiceusbredirection"))
        spice.string("image_compression", platform["spice_image_compression"])
        spice.string("streaming_video", platform["spice_streaming_video"])
        h.nested("spice", spice)
        h.defbool("gfx_passthru", platformFlag("gfx_passthru"))
        // `serial` as a string is u.hvm.serial; as a list, serial_list.
        h.string("serial", serials.count == 1 ? serials[0] : nil)
        h.string("boot", platform["boot"])
        h.defbool("usb", platformFlag("usb"))
        h.integer("usbversion", platformNumber("usbversion"))
        h.string("usbdevice", platform["usbdevice"])
        h.defbool("vkb_device", platformFlag("vkb_device"))
        h.string("soundhw", platform["soundhw"])
        h.defbool("xen_platform_pci", platformFlag("xen_platform_pci"))
        h.stringList("usbdevice_list", platformLists["usbdevice"] ?? [])
        h.enumeration("vendor_device", platform["vendor_device"].flatMap { $0 == "none" ? nil : $0 })
        h.stringList("serial_list", serials.count > 1 ? serials : [])
        h.nested("rdm", LibxlStruct())
        h.memKB("rdm_mem_boundary_memkb", platformNumber("rdm_mem_boundary").map { UInt64($0) << 10 })
        return h
    }

    /// A keyboard as xl's parse_vkb_config fills libxl_device_vkb: a
    /// vfb's own keyboard has nothing but its devid; a `vkb` spec's
    /// options are read as xl reads them (strtoul, base 0; the features
    /// are true when not 0, and multi-touch is on when any of its sizes is set).
    static func libxlVKB(devid: Int, _ keyboard: KeyboardDevice = KeyboardDevice()) -> LibxlStruct {
        let o = keyboard.options
        func number(_ key: String) -> UInt32 { o[key].map { UInt32(truncatingIfNeeded: xlStrtoul($0)) } ?? 0 }
        func flag(_ key: String) -> Bool { o[key].map { xlStrtoul($0) != 0 } ?? false }
        let touch = (number("multi-touch-width"), number("multi-touch-height"), number("multi-touch-num-contacts"))
        var k = LibxlStruct()
        k.string("backend_domname", keyboard.backend)
        k.integer("devid", devid, unset: -1)
        k.enumeration("backend_type", keyboard.backendType)
        k.string("unique_id", o["unique-id"])
        k.bool("feature_disable_keyboard", flag("feature-disable-keyboard"))
        k.bool("feature_disable_pointer", flag("feature-disable-pointer"))
        k.bool("feature_abs_pointer", flag("feature-abs-pointer"))
        k.bool("feature_raw_pointer", flag("feature-raw-pointer"))
        k.bool("feature_multi_touch", flag("feature-multi-touch") || touch != (0, 0, 0))
        k.integer("width", number("width"))
        k.integer("height", number("height"))
        k.integer("multi_touch_width", touch.0)
        k.integer("multi_touch_height", touch.1)
        k.integer("multi_touch_num_contacts", touch.2)
        return k
    }
}

extension DiskDevice {
    /// libxl_device_disk as xlu_disk_parse fills it; `created`: as libxl
    /// keeps it for a domain it made (colo_restore_enable set to false).
    func libxlParsed(created: Bool) -> LibxlStruct {
        var d = LibxlStruct()
        d.string("backend_domname", backendDomain)
        d.string("pdev_path", target)
        d.string("vdev", vdev)
        d.enumeration("backend", backendType?.rawValue)
        d.enumeration("format", target == nil && deviceType == .cdrom ? "empty" : format.rawValue)
        d.string("script", script)
        d.integer("removable", deviceType == .cdrom ? 1 : 0)
        d.integer("readwrite", deviceType == .cdrom || access == .readOnly ? 0 : 1)
        d.integer("is_cdrom", deviceType == .cdrom ? 1 : 0)
        d.bool("direct_io_safe", directIOSafe)
        d.defbool("discard_enable", discardEnable)
        d.defbool("colo_restore_enable", created ? false : nil)
        return d
    }
}

extension NetworkInterface {
    /// libxl_device_nic as xl's parse_nic_config fills it (devid: its index
    /// unless `devid=` says); `defaultType`: the nictype libxl gives one with none.
    func libxlParsed(devid: Int, defaultType: String? = nil) -> LibxlStruct {
        var n = LibxlStruct()
        n.string("backend_domname", backend)
        n.integer("devid", devid, unset: -1)
        n.integer("mtu", mtu)
        n.string("model", model)
        n.string("mac", mac?.description)
        n.string("ip", ip)
        n.string("bridge", bridge)
        n.string("ifname", vifname)
        n.string("script", script)
        n.enumeration("nictype", type.map { $0 == "ioemu" ? "vif_ioemu" : $0 } ?? defaultType)
        if let limit = rateLimit {
            n.integer("rate_bytes_per_interval", limit.bytesPerInterval)
            n.integer("rate_interval_usecs", limit.intervalMicroseconds)
        }
        n.string("gatewaydev", gatewaydev)
        return n
    }
}

extension FramebufferDevice {
    /// libxl_device_vfb as xl's vfb parsing fills it (devid: its index).
    func libxlParsed(devid: Int) -> LibxlStruct {
        var f = LibxlStruct()
        f.string("backend_domname", backend)
        f.integer("devid", devid, unset: -1)
        var v = LibxlStruct()
        v.defbool("enable", vnc)
        v.string("listen", vnclisten)
        v.string("passwd", vncpasswd)
        v.integer("display", vncdisplay)
        v.defbool("findunused", vncunused)
        f.nested("vnc", v)
        var s = LibxlStruct()
        s.defbool("enable", sdl)
        s.defbool("opengl", opengl)
        s.string("display", display)
        s.string("xauthority", xauthority)
        f.nested("sdl", s)
        f.string("keymap", keymap)
        return f
    }
}

extension ChannelDevice {
    /// libxl_device_channel as xl's channel parsing fills it (devid: its index).
    func libxlParsed(devid: Int) -> LibxlStruct {
        var c = LibxlStruct()
        c.string("backend_domname", backend)
        c.integer("devid", devid, unset: -1)
        c.string("name", name)
        var u = LibxlStruct()
        u.string("path", path)
        c.nested("connection." + connection, u)
        return c
    }
}

extension PCIDevice {
    /// libxl_device_pci as xlu_pci_parse_spec_string fills it.
    var libxlParsed: LibxlStruct {
        var p = LibxlStruct()
        p.integer("func", function)
        p.integer("dev", device)
        p.integer("bus", bus)
        p.integer("domain", domain)
        p.integer("vdevfn", vslot.map { $0 << 3 })
        p.bool("msitranslate", msitranslate ?? false)
        p.bool("power_mgmt", powerManagement ?? false)
        p.bool("permissive", permissive ?? false)
        p.bool("seize", seize ?? false)
        p.enumeration("rdm_policy", rdmPolicy)
        return p
    }
}

/// C's `strtoul(text, NULL, 0)`, as xl reads a number: leading spaces, a
/// sign, `0x` for hex or `0` for octal, digits up to the first that is not
/// one (none: 0); a minus negates modulo 2^64; too big saturates.
func xlStrtoul(_ text: String) -> UInt64 {
    var s = Substring(text).drop { $0 == " " || ("\t"..."\r").contains($0) }
    var negative = false
    if let c = s.first, c == "+" || c == "-" {
        negative = c == "-"
        s = s.dropFirst()
    }
    var radix: UInt64 = 10
    if s.hasPrefix("0x") || s.hasPrefix("0X"), let d = s.dropFirst(2).first, d.hexDigitValue != nil {
        radix = 16
        s = s.dropFirst(2)
    } else if s.hasPrefix("0") {
        radix = 8
    }
    var value: UInt64 = 0
    for c in s {
        guard let d = c.hexDigitValue, UInt64(d) < radix else { break }
        let (m, o1) = value.multipliedReportingOverflow(by: radix)
        let (a, o2) = m.addingReportingOverflow(UInt64(d))
        if o1 || o2 { return .max }
        value = a
    }
    return negative ? 0 &- value : value
}
