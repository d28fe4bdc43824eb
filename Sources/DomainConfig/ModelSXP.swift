// The model as xend's S-expressions and back: what `xm create -n` and
// `xm list -l` printed, read into the model and written from it. The
// S-expression type and its parser are in SXP.swift.

extension DomainConfiguration {
    /// This configuration as an xend `(vm ...)` S-expression.
    public var sxp: SExpr {
        var vm: [SExpr] = [.word("vm"), .pair("name", name_label), .pair("uuid", uuid.description)]
        vm.append(.pair("memory", String(memoryMiB)))
        vm.append(.pair("maxmem", String(maxmemMiB)))
        vm.append(.pair("vcpus", String(VCPUs_max)))
        // xend's vcpu_avail: a bit mask of the vCPUs online at start.
        if VCPUs_at_startup != VCPUs_max {
            vm.append(.pair("vcpu_avail", VCPUMask.lowest(VCPUs_at_startup)))
        }
        if let cpus { vm.append(.group([.word("cpus")] + affinityAtoms(cpus))) }
        if let cpus_soft { vm.append(.group([.word("cpus_soft")] + affinityAtoms(cpus_soft))) }
        vm.append(.pair("on_poweroff", actions_after_shutdown.rawValue))
        vm.append(.pair("on_reboot", actions_after_reboot.rawValue))
        vm.append(.pair("on_crash", actions_after_crash.rawValue))
        vm.append(.pair("on_watchdog", actions_after_watchdog.rawValue))
        vm.append(.pair("on_soft_reset", actions_after_soft_reset.rawValue))
        if let PV_bootloader { vm.append(.pair("bootloader", PV_bootloader)) }
        if !PV_bootloader_args.isEmpty { vm.append(.group([.word("bootloader_args")] + PV_bootloader_args.map(SExpr.word))) }

        var image: [SExpr] = [.word(type == .pv ? "linux" : type.rawValue)]
        if let PV_kernel { image.append(.pair("kernel", PV_kernel)) }
        if let PV_ramdisk { image.append(.pair("ramdisk", PV_ramdisk)) }
        if let PV_args { image.append(.pair("args", PV_args)) }
        // xend's form for one serial port, a list for several.
        if serials.count == 1 { image.append(.pair("serial", serials[0])) }
        if serials.count > 1 { image.append(.group([.word("serial"), .group(serials.map(SExpr.word))])) }
        for k in platform.keys.sorted() { image.append(.pair(k, platform[k]!)) }
        for k in platformLists.keys.sorted() { image.append(.group([.word(k), .group(platformLists[k]!.map(SExpr.word))])) }
        vm.append(.group([.word("image"), .group(image)]))

        for d in disks { vm.append(.group([.word("device"), d.sxp])) }
        for v in vifs { vm.append(.group([.word("device"), NetworkInterface.description.sxp("vif", v)])) }
        for f in vfbs { vm.append(.group([.word("device"), FramebufferDevice.description.sxp("vfb", f)])) }
        for k in vkbs { vm.append(.group([.word("device"), KeyboardDevice.description.sxp("vkbd", k)])) }
        for c in channels { vm.append(.group([.word("device"), ChannelDevice.description.sxp("channel", c)])) }
        for c in consoles { vm.append(.group([.word("device"), ConsoleDevice.description.sxp("console", c)])) }
        for p in pcis { vm.append(.group([.word("device"), p.sxp])) }
        if !unknown.isEmpty {
            vm.append(.group([.word("xl_unknown")] + unknown.keys.sorted().map { .group([.word($0), unknown[$0]!.sxp]) }))
        }
        return .group(vm)
    }

    /// SXP text (ends with a newline).
    public func sxpText() -> String { sxp.text() + "\n" }

    private func affinityAtoms(_ x: CPUAffinity) -> [SExpr] {
        if case .perVCPU(let items) = x { return [.group(items.map { .word($0.specification) })] }
        return [.word(x.specification)]
    }
}

extension ConfigValue {
    var sxp: SExpr {
        switch self {
        case .string(let s, _): return .word(s)
        case .list(let items, _): return .group(items.map(\.sxp))
        }
    }
}

extension DeviceDescription {
    /// `(key value)` for each field SXP names, then `(option key value)` by key.
    func sxpFields(_ device: Device) -> [SExpr] {
        var items = fields.compactMap { field in field.names.sxp.flatMap { key in field.text(device).map { SExpr.pair(key, $0) } } }
        if let options {
            let o = device[keyPath: options]
            items += o.keys.sorted().map { SExpr.group([.word("option"), .word($0), .word(o[$0]!)]) }
        }
        return items
    }

    /// `(head (key value) ...)`.
    func sxp(_ head: String, _ device: Device) -> SExpr { .group([.word(head)] + sxpFields(device)) }
}

extension DiskDevice {
    /// `(vbd (uname phy:/dev/...) (dev xvda) (mode w) ...)`; uname's prefix says phy/file/tap:FORMAT as xend wrote it.
    var sxp: SExpr {
        var items: [SExpr] = [.word("vbd")]
        if let target {
            let prefix: String
            switch format {
            case .raw: prefix = target.hasPrefix("/dev/") ? "phy:" : "file:"
            default: prefix = "tap:\(format.rawValue):"
            }
            items.append(.pair("uname", prefix + target))
        } else if format != .empty {
            items.append(.pair("format", format.rawValue))
        }
        items.append(.pair("dev", deviceType == .cdrom ? vdev + ":cdrom" : vdev))
        items.append(.pair("mode", access == .readWrite ? "w" : "r"))
        return .group(items + Self.description.sxpFields(self))
    }
}

extension PCIDevice {
    /// xend's form: `(pci (dev (domain 0x0000) (bus 0x03) (slot 0x00) (func 0x0) ...))`.
    var sxp: SExpr {
        var dev: [SExpr] = [.word("dev"), .pair("domain", "0x" + hex(domain, 4)), .pair("bus", "0x" + hex(bus, 2)),
                            .pair("slot", "0x" + hex(device, 2)), .pair("func", allFunctions ? "*" : "0x" + String(function, radix: 16))]
        if let vslot { dev.append(.pair("vslot", "0x" + hex(vslot, 2))) }
        return .group([.word("pci"), .group(dev + Self.description.sxpFields(self))])
    }
}

/// xend's `vcpu_avail`: a bit mask (a Python long, any size) of the vCPUs
/// online at start, written in decimal.
enum VCPUMask {
    /// The mask of vCPUs 0 to n-1, 2^n - 1, in decimal.
    static func lowest(_ n: Int) -> String {
        var digits: [UInt8] = [0]  // least significant first
        for _ in 0..<n {
            var carry: UInt8 = 1  // x = 2x + 1
            for i in digits.indices {
                let d = digits[i] * 2 + carry
                (digits[i], carry) = (d % 10, d / 10)
            }
            if carry > 0 { digits.append(carry) }
        }
        return String(digits.reversed().map { Character(Unicode.Scalar(UInt8(ascii: "0") + $0)) })
    }

    /// How many bits a mask has set: a C integer (`0x3`, `7`) or a decimal of any size; nil if not a mask.
    static func count(_ text: String) -> Int? {
        if let n = parseCInteger(text) { return n >= 0 ? n.nonzeroBitCount : nil }
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        var digits = text.utf8.map { $0 - UInt8(ascii: "0") }  // most significant first
        var bits = 0
        while digits.contains(where: { $0 != 0 }) {
            var remainder: UInt8 = 0  // digits /= 2
            for i in digits.indices {
                let d = remainder * 10 + digits[i]
                (digits[i], remainder) = (d / 2, d % 2)
            }
            bits += Int(remainder)
        }
        return bits
    }
}

// MARK: - Reading

/// Fields of `xm list -l` output that are runtime state, not configuration: read and ignored.
private let xendRuntimeFields: Set<String> = [
    "domid", "cpu_time", "online_vcpus", "start_time", "state", "status", "store_mfn", "console_mfn",
    "up_time", "cpu_weight", "cpu_cap", "shadow_memory", "on_xend_start", "on_xend_stop", "features",
    "localtime", "description", "notes", "security_label", "store_port", "console_port", "maxmem_kb",
    "vcpus_params", "other_config", "pool_name", "s3_integrity", "superpages", "bootloader_args_old",
    "cpu", "ssidref", "pci", "target", "auto_power_on", "memory_sharing", "machine_address_size",
    "suppress_spurious_page_faults", "change_home_server", "is_control_domain", "vcpus_number",
]

func readSXPConfig(text: String, fileName: String, options: ParseOptions) -> ParseResult {
    let (exprs, diagnostics) = SXPParser.parse(text: text, file: fileName)
    var r = SXPModelReader(log: DiagnosticLog(file: fileName), options: options)
    r.log.items = diagnostics
    guard !r.log.hasErrors else { return ParseResult(configuration: nil, diagnostics: r.log.items, format: .sxp) }
    guard exprs.count == 1, let vm = exprs.first, vm.head == "vm" || vm.head == "domain" else {
        r.log.error(exprs.first?.location ?? SourceLocation(line: 1, column: 1),
                    "an SXP config is one `(vm ...)` expression")
        return ParseResult(configuration: nil, diagnostics: r.log.items, format: .sxp)
    }
    let config = r.domain(vm)
    return ParseResult(configuration: r.log.hasErrors ? nil : config,
                       diagnostics: DomainConfiguration.sortDiagnostics(r.log.items), format: .sxp)
}

/// xend wrote `(backend 0)` for a device served by dom0, the default: none.
private func dom0AsNone(_ backend: String) -> String? { backend == "0" ? nil : backend }

private struct SXPModelReader {
    var log: DiagnosticLog
    let options: ParseOptions

    func resolve(_ path: String) -> String {
        guard let base = options.baseDirectory, !path.hasPrefix("/"), !path.isEmpty else { return path }
        return base.hasSuffix("/") ? base + path : base + "/" + path
    }

    mutating func scalar(_ e: SExpr, _ what: String) -> String? {
        guard let v = e.value else {
            log.error(e.location, "`(\(what) ...)` must hold one value")
            return nil
        }
        return v
    }

    mutating func integer(_ e: SExpr, _ what: String, min: Int, max: Int = 1 << 40) -> Int? {
        guard let s = scalar(e, what) else { return nil }
        guard let v = parseCInteger(s), v >= min, v <= max else {
            log.error(e.location, "`\(what)` must be an integer from \(min) to \(max), not \"\(s)\"")
            return nil
        }
        return v
    }

    mutating func action(_ vm: SExpr, _ key: String, _ fallback: DomainAction) -> DomainAction {
        guard let e = vm.child(key), let s = scalar(e, key) else { return fallback }
        guard let act = DomainAction(rawValue: s) else {
            log.error(e.location, "`\(key)` must be one of \(DomainAction.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(s)\"")
            return fallback
        }
        return act
    }

    mutating func affinity(_ e: SExpr, _ key: String) -> CPUAffinity? {
        let items = Array((e.items ?? []).dropFirst())
        func one(_ s: String) -> CPUAffinity? {
            switch CPUAffinity.parse(s) {
            case .success(let x): return x
            case .failure(let err): log.error(e.location, "`\(key)`: \(err)"); return nil
            }
        }
        if items.count == 1, let s = items[0].atom { return one(s) }
        if items.count == 1, let list = items[0].items { return .perVCPU(list.compactMap { $0.atom.flatMap(one) }) }
        log.error(e.location, "`\(key)` must hold a CPU list like '0-3'")
        return nil
    }

    mutating func domain(_ vm: SExpr) -> DomainConfiguration? {
        let at = vm.location
        var name: String?
        if let e = vm.child("name") {
            name = scalar(e, "name")
            if let n = name, let problem = nameProblem(n) { log.error(e.location, problem) }
        } else {
            log.error(at, "missing `(name ...)`")
        }
        var uuid: DomainUUID?
        if let e = vm.child("uuid"), let s = scalar(e, "uuid") {
            uuid = DomainUUID(s)
            if uuid == nil { log.error(e.location, "bad uuid \"\(s)\"") }
        }
        var c = DomainConfiguration(name_label: name ?? "", uuid: uuid ?? options.makeUUID())

        let memory = vm.child("memory").flatMap { integer($0, "memory", min: 1) }
        let maxmem = vm.child("maxmem").flatMap { integer($0, "maxmem", min: 1) }
        c.memory_dynamic_max = UInt64(memory ?? maxmem ?? 32) << 20
        c.memory_static_max = UInt64(maxmem ?? memory ?? 32) << 20
        if let m = maxmem, let mem = memory, m < mem {
            log.error(vm.child("maxmem")!.location, "`maxmem` (\(m) MiB) is below `memory` (\(mem) MiB)")
        }
        let vcpus = vm.child("vcpus").flatMap { integer($0, "vcpus", min: 1, max: 4096) }
        c.VCPUs_max = vcpus ?? 1
        c.VCPUs_at_startup = vm.child("vcpu_avail").flatMap { e in
            scalar(e, "vcpu_avail").flatMap { text in
                guard let count = VCPUMask.count(text), count >= 1 else {
                    log.error(e.location, "`vcpu_avail` must be a bit mask of the vCPUs online at start (a positive integer), not \"\(text)\"")
                    return nil
                }
                return count
            }
        } ?? c.VCPUs_max
        if c.VCPUs_at_startup > c.VCPUs_max {
            log.error(vm.child("vcpu_avail")!.location, "`vcpu_avail` marks \(c.VCPUs_at_startup) vCPUs, more than `vcpus` (\(c.VCPUs_max))")
        }
        if let e = vm.child("cpus") { c.cpus = affinity(e, "cpus") }
        if let e = vm.child("cpus_soft") { c.cpus_soft = affinity(e, "cpus_soft") }
        c.actions_after_shutdown = action(vm, "on_poweroff", .destroy)
        c.actions_after_reboot = action(vm, "on_reboot", .restart)
        c.actions_after_crash = action(vm, "on_crash", .destroy)
        c.actions_after_watchdog = action(vm, "on_watchdog", .destroy)
        c.actions_after_soft_reset = action(vm, "on_soft_reset", .softReset)
        // `xm list -l` prints `(bootloader )` for "none".
        if let e = vm.child("bootloader"), (e.items?.count ?? 0) > 1 { c.PV_bootloader = scalar(e, "bootloader") }
        if let e = vm.child("bootloader_args") {
            let args = (e.items ?? []).dropFirst().compactMap(\.atom)
            c.PV_bootloader_args = args.count == 1 ? args[0].split(separator: " ").map(String.init) : args
        }

        var root: String?
        var args: String?
        if let image = vm.child("image") {
            guard let kind = image.items?.dropFirst().first, let kindName = kind.head else {
                log.error(image.location, "`(image ...)` must hold `(linux ...)`, `(hvm ...)` or `(pvh ...)`")
                return nil
            }
            switch kindName {
            case "linux": c.type = .pv
            case "hvm": c.type = .hvm
            case "pvh": c.type = .pvh
            default: log.error(kind.location, "unknown image type `\(kindName)`: expected linux, hvm or pvh")
            }
            for field in (kind.items ?? []).dropFirst() {
                guard let key = field.head, let items = field.items else {
                    log.error(field.location, "expected `(key value)` in the image")
                    continue
                }
                switch key {
                case "kernel": c.PV_kernel = scalar(field, key).map(resolve)
                case "ramdisk": c.PV_ramdisk = scalar(field, key).map(resolve)
                case "args": args = scalar(field, key)
                case "root": root = scalar(field, key)
                case "serial":
                    if items.count == 2, let list = items[1].items { c.serials = list.compactMap(\.atom) }
                    else if let s = scalar(field, key) { c.serials = [s] }
                case "notes":
                    break
                default:
                    if !sxpPlatformKeys.contains(key), DomainConfiguration.knownKeys.contains(key) {
                        // A typed key (`vcpus`, `memory`, ...) inside the image:
                        // xend read those at the top level only.
                        log.warning(field.location, "image field `\(key)` belongs at the top level, not in the image; ignored")
                    } else if !sxpPlatformKeys.contains(key), items.count == 2 {
                        // A field xl.cfg has no key for: kept as an unknown key,
                        // as the xl.cfg reader keeps it (so the two read each
                        // other's output the same), and said so.
                        log.warning(field.location, "unknown image field `\(key)`")
                        c.unknown[key] = configValue(items[1])
                    } else if items.count == 2, let s = items[1].atom {
                        c.platform[key] = s
                    } else if items.count == 2, let list = items[1].items {
                        c.platformLists[key] = list.compactMap(\.atom)
                    } else {
                        log.warning(field.location, "image field `\(key)` has an unexpected shape; ignored")
                    }
                }
            }
            if let problem = c.bootProblem { log.error(image.location, problem) }
        } else if c.PV_bootloader == nil {
            log.error(at, "missing `(image ...)`: a kernel (linux), hvm or pvh image")
        }
        switch (root, args) {
        case (let r?, let x?): c.PV_args = "root=\(r) \(x)"
        case (let r?, nil): c.PV_args = "root=\(r)"
        case (nil, let x?): c.PV_args = x
        default: break
        }
        if let exists = options.fileExists, c.PV_bootloader == nil {
            for (what, path) in [("kernel", c.PV_kernel), ("ramdisk", c.PV_ramdisk)] {
                if let path, !exists(path) {
                    log.error(vm.child("image")?.location ?? at, "\(what) file \"\(path)\" does not exist")
                }
            }
        }

        var duplicates = DeviceDuplicates<Void>()
        for dev in vm.children("device") {
            guard let body = dev.items?.dropFirst().first, let kind = body.head else {
                log.error(dev.location, "`(device ...)` must hold one `(kind ...)`")
                continue
            }
            switch kind {
            case "vbd", "tap", "tap2":
                if let d = disk(body) {
                    if let problem = duplicates.check(d, at: ())?.message { log.error(body.location, problem) }
                    c.disks.append(d)
                }
            case "vif":
                if let v = device(body, NetworkInterface.description, special: ["backend": { $0.backend = dom0AsNone($1); return nil }]) {
                    if let problem = duplicates.check(v, at: ())?.message { log.error(body.location, problem) }
                    c.vifs.append(v)
                }
            case "vfb":
                if let f = device(body, FramebufferDevice.description, special: ["type": { $0.setType($1) }]) { c.vfbs.append(f) }
            case "vkbd", "vkb": if let k = device(body, KeyboardDevice.description) { c.vkbs.append(k) }
            case "channel":
                if let ch = device(body, ChannelDevice.description) {
                    if let problem = duplicates.check(ch, at: ())?.message { log.error(body.location, problem) }
                    c.channels.append(ch)
                }
            case "console": if let con = device(body, ConsoleDevice.description) { c.consoles.append(con) }
            case "pci":
                for d in body.children("dev") { if let p = pci(d) { c.pcis.append(p) } }
            default:
                log.warning(body.location, "device kind `\(kind)` is not supported; ignored")
            }
        }
        if let extra = vm.child("xl_unknown") {
            for item in (extra.items ?? []).dropFirst() {
                if let i = item.items, i.count == 2, let k = i[0].atom { c.unknown[k] = configValue(i[1]) }
            }
        }
        let known: Set<String> = ["name", "uuid", "memory", "maxmem", "vcpus", "vcpu_avail", "cpus", "cpus_soft",
                                  "on_poweroff", "on_reboot", "on_crash", "on_watchdog", "on_soft_reset", "bootloader",
                                  "bootloader_args", "image", "device", "xl_unknown"]
        for field in (vm.items ?? []).dropFirst() {
            guard let key = field.head else {
                log.error(field.location, "expected `(key value)` in `(vm ...)`")
                continue
            }
            if !known.contains(key), !xendRuntimeFields.contains(key) {
                var message = "unknown field `\(key)`"
                if let near = closestMatch(to: key, among: Array(known)) { message += " (did you mean `\(near)`?)" }
                log.warning(field.location, message)
            }
        }
        return c
    }

    func configValue(_ e: SExpr) -> ConfigValue {
        switch e {
        case .atom(let s, _): return .string(s, SExpr.unplaced)
        case .list(let items, _): return .list(items.map(configValue), SExpr.unplaced)
        }
    }

    func pairs(_ body: SExpr) -> [String: String] {
        var out: [String: String] = [:]
        for f in (body.items ?? []).dropFirst() { if let k = f.head, let v = f.value { out[k] = v } }
        return out
    }

    /// Fields xend wrote of a device's runtime state: read and ignored.
    static let xendDeviceFields: Set<String> = ["uuid", "devid", "frontend", "state", "handle", "bootable", "location", "VDI", "driver"]

    /// Reads `(kind (key value) ... (option key value) ...)` with a device's
    /// table; `special` reads the fields SXP spells its own way. Nil when a
    /// value is refused (each refusal is reported at its field).
    mutating func device<D>(_ body: SExpr, _ table: DeviceDescription<D>, start: D? = nil,
                            special: [String: (inout D, String) -> String?] = [:],
                            commasAllowed: Set<String> = []) -> D? {
        var d = start ?? table.blank
        var failed = false
        // xl.cfg spells the device as `key=value,...`: a value cannot hold a
        // comma (but the fields in `commasAllowed`: a disk's target, last).
        func commaProblem(_ key: String, _ value: String) -> String? {
            table.commaProblem(key, value, commaAllowed: commasAllowed.contains(key))
        }
        for field in (body.items ?? []).dropFirst() {
            guard let key = field.head else { continue }
            var problem: String?
            if key == "option" {
                guard let i = field.items, i.count == 3, let k = i[1].atom, let v = i[2].atom else {
                    log.error(field.location, "expected `(option key value)`")
                    failed = true
                    continue
                }
                problem = commaProblem(k, v) ?? table.storeOption(&d, k, v)
            } else if special[key] != nil || table.field(sxp: key) != nil {
                guard let v = field.value else {
                    log.error(field.location, "`(\(key) ...)` must hold one value")
                    failed = true
                    continue
                }
                problem = commaProblem(key, v) ?? special[key].map { $0(&d, v) } ?? table.field(sxp: key)!.store(&d, v)
            } else if !Self.xendDeviceFields.contains(key) {
                log.warning(field.location, "unknown \(table.name) field `\(key)`; ignored")
            }
            if let problem {
                log.error(field.location, problem)
                failed = true
            }
        }
        let problems = table.finish(&d, failed)
        for problem in problems { log.error(body.location, problem) }
        return failed || !problems.isEmpty ? nil : d
    }

    /// A vbd: xend's `uname` (a target with deprecated prefixes), `dev` (with
    /// `:cdrom`) and `mode` here, the rest from the disk table.
    mutating func disk(_ body: SExpr) -> DiskDevice? {
        let f = pairs(body)
        guard var dev = f["dev"] else {
            log.error(body.location, "no vdev specified")
            return nil
        }
        var d = DiskDevice(target: nil, vdev: dev)
        if dev.hasSuffix(":cdrom") { d.deviceType = .cdrom; dev.removeLast(":cdrom".count) }
        if dev.hasSuffix(":disk") { dev.removeLast(":disk".count) }
        d.vdev = dev
        var blockScript: String?
        if var t = f["uname"] {
            // Network block devices name their hotplug script: iscsi:IQN is block-iscsi's IQN.
            for p in ["iscsi:", "nbd:", "enbd:", "drbd:"] where t.hasPrefix(p) {
                blockScript = "block-" + p.dropLast()
                t.removeFirst(p.count)
            }
            // xend's uname prefixes: phy:, file:, tap:aio:, tap:qcow2:, tap2:..., ...
            var changed = true
            while changed {
                changed = false
                for p in ["phy:", "file:", "tap:", "tap2:", "tapdisk:", "aio:", "ioemu:", "raw:", "qcow:", "qcow2:", "vhd:", "qed:"]
                where t.hasPrefix(p) {
                    let word = String(p.dropLast())
                    if let fm = DiskDevice.Format(rawValue: word) { d.format = fm }
                    t.removeFirst(p.count)
                    changed = true
                }
            }
            // A path resolves; a name for a block script (iSCSI IQN, DRBD resource) does not.
            d.target = t.isEmpty ? nil : (blockScript == nil && f["script"] == nil ? resolveDisk(t) : t)
        }
        d.script = blockScript
        let formatField = DiskDevice.description.field(json: "format")!
        return device(body, DiskDevice.description, start: d, special: [
            "backend": { $0.backendDomain = dom0AsNone($1); return nil },
            "uname": { _, _ in nil },
            "dev": { _, _ in nil },
            "format": { formatField.store(&$0, $1) },
            "mode": { disk, mode in
                switch mode {
                case "w", "w!", "rw": disk.access = .readWrite
                case "r", "ro": disk.access = .readOnly
                default: return "unknown value for access `\(mode)`"
                }
                return nil
            },
        ], commasAllowed: ["uname"])
    }

    func resolveDisk(_ t: String) -> String { t.contains(":") ? t : resolve(t) }

    mutating func pci(_ dev: SExpr) -> PCIDevice? {
        let f = pairs(dev)
        func num(_ k: String) -> Int? { f[k].flatMap { parseCInteger($0.hasPrefix("0x") ? $0 : "0x" + $0) } }
        let all = f["func"] == "*"
        guard let bus = num("bus"), let slot = num("slot"), let fn = all ? 0 : num("func"),
              bus <= 0xFF, slot <= 0x1F, fn <= 7, (num("domain") ?? 0) <= 0xFFFF else {
            log.error(dev.location, "a pci dev needs (bus ..) (slot ..) (func ..) within PCI's ranges")
            return nil
        }
        var p = PCIDevice(domain: num("domain") ?? 0, bus: bus, device: slot, function: fn)
        p.allFunctions = all
        let ignore: (inout PCIDevice, String) -> String? = { _, _ in nil }
        return device(dev, PCIDevice.description, start: p, special: [
            "domain": ignore, "bus": ignore, "slot": ignore, "func": ignore,
            "vslot": { p, text in
                guard let v = parseCInteger(text.hasPrefix("0x") ? text : "0x" + text) else {
                    return "bad pci vslot `\(text)`: expected a hex number up to 1f"
                }
                if let problem = PCIDevice.vslotProblem(v) { return problem }
                p.vslot = v
                return nil
            },
        ])
    }
}

/// The image fields kept in `platform`: those xl.cfg keeps there too.
private let sxpPlatformKeys = Set(platformKeys)
