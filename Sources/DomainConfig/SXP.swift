// xend's S-expressions, as `xm create -n` and `xm list -l` printed them:
//   (vm (name g) (memory 256) (image (linux (kernel /boot/vmlinuz) ...))
//       (device (vbd (uname phy:/dev/vg/g) (dev xvda) (mode w))) ...)

/// One S-expression: an atom or a list, with where it starts in the text.
public indirect enum SExpr: Sendable, Hashable {
    case atom(String, SourceLocation)
    case list([SExpr], SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .atom(_, let l), .list(_, let l): return l
        }
    }

    var atom: String? {
        if case .atom(let a, _) = self { return a }
        return nil
    }

    var items: [SExpr]? {
        if case .list(let i, _) = self { return i }
        return nil
    }

    /// `(name ...)`: the head atom of a list.
    var head: String? { items?.first?.atom }

    /// For `(key value)`: the value atom.
    var value: String? {
        guard let i = items, i.count == 2 else { return nil }
        return i[1].atom
    }

    /// The `(key ...)` children of a list.
    func children(_ key: String) -> [SExpr] {
        (items ?? []).dropFirst().filter { $0.head == key }
    }

    func child(_ key: String) -> SExpr? { children(key).last }

    // MARK: text

    /// On one line.
    public var flatText: String {
        switch self {
        case .atom(let a, _): return sxpQuote(a)
        case .list(let items, _): return "(" + items.map(\.flatText).joined(separator: " ") + ")"
        }
    }

    /// Indented text: a list that fits in 80 columns on one line, else its
    /// sub-lists one per line below it.
    public func text(indent: Int = 0) -> String {
        switch self {
        case .atom(let a, _): return sxpQuote(a)
        case .list(let items, _):
            let flat = flatText
            if items.allSatisfy({ $0.atom != nil }) || items.count <= 1 || indent * 4 + flat.count <= 80 {
                return flat
            }
            var out = "("
            var first = true
            for item in items {
                if first {
                    out += item.text(indent: indent + 1)
                    first = false
                } else if item.atom != nil {
                    out += " " + item.text()
                } else {
                    out += "\n" + String(repeating: "    ", count: indent + 1) + item.text(indent: indent + 1)
                }
            }
            return out + ")"
        }
    }
}

/// Atoms of letters, digits and `_ - . / : @ + ,` stay bare; others are single-quoted.
func sxpQuote(_ s: String) -> String {
    let bare = !s.isEmpty && s.unicodeScalars.allSatisfy { c in
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || "_-./:@+,".unicodeScalars.contains(c)
    }
    return bare ? s : escapedQuoted(s, quote: "'") { "\\x" + hex($0, 2) }
}

struct SXPParser {
    let bytes: [UInt8]
    var pos = 0
    var line = 1
    var lineStart = 0
    var log: DiagnosticLog

    init(text: String, file: String) {
        bytes = Array(text.utf8)
        log = DiagnosticLog(file: file)
    }

    var location: SourceLocation { SourceLocation(line: line, column: pos - lineStart + 1) }

    /// Every top-level expression in the text.
    static func parse(text: String, file: String) -> ([SExpr], [Diagnostic]) {
        var p = SXPParser(text: text, file: file)
        var out: [SExpr] = []
        while true {
            p.skipSpace()
            guard p.pos < p.bytes.count else { break }
            if p.bytes[p.pos] == UInt8(ascii: ")") {
                p.log.error(p.location, "unbalanced `)`")
                p.pos += 1
                continue
            }
            guard let e = p.expr(depth: 0) else { break }
            out.append(e)
        }
        return (out, p.log.items)
    }

    mutating func skipSpace() {
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\n") {
                pos += 1
                line += 1
                lineStart = pos
            } else if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") {
                pos += 1
            } else if c == UInt8(ascii: "#") || c == UInt8(ascii: ";") {
                while pos < bytes.count, bytes[pos] != UInt8(ascii: "\n") { pos += 1 }
            } else {
                return
            }
        }
    }

    mutating func expr(depth: Int) -> SExpr? {
        let start = location
        guard depth < 100 else {
            log.error(start, "nested too deeply")
            return nil
        }
        let c = bytes[pos]
        if c == UInt8(ascii: "(") {
            pos += 1
            var items: [SExpr] = []
            while true {
                skipSpace()
                guard pos < bytes.count else {
                    log.error(start, "unbalanced `(`: the list is not closed")
                    return nil
                }
                if bytes[pos] == UInt8(ascii: ")") {
                    pos += 1
                    return .list(items, start)
                }
                guard let e = expr(depth: depth + 1) else { return nil }
                items.append(e)
            }
        }
        if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
            return quoted(start)
        }
        let begin = pos
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r")
                || b == UInt8(ascii: "(") || b == UInt8(ascii: ")") || b == UInt8(ascii: "'") || b == UInt8(ascii: "\"") {
                break
            }
            pos += 1
        }
        return .atom(String(decoding: bytes[begin..<pos], as: UTF8.self), start)
    }

    mutating func quoted(_ start: SourceLocation) -> SExpr? {
        let quote = bytes[pos]
        pos += 1
        var out: [UInt8] = []
        while true {
            guard pos < bytes.count else {
                log.error(start, "unterminated string")
                return nil
            }
            let c = bytes[pos]
            pos += 1
            if c == quote { break }
            if c == UInt8(ascii: "\n") {
                line += 1
                lineStart = pos
            }
            guard c == UInt8(ascii: "\\"), pos < bytes.count else {
                out.append(c)
                continue
            }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "x"):
                if pos + 1 < bytes.count, let h = hexDigitValue(bytes[pos]), let l = hexDigitValue(bytes[pos + 1]), h << 4 | l != 0 {
                    out.append(h << 4 | l)
                    pos += 2
                } else {
                    log.error(start, "`\\x` must be followed by two hex digits (not 00)")
                }
            default: out.append(e)
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else {
            log.error(start, "the string is not valid UTF-8")
            return .atom("", start)
        }
        return .atom(s, start)
    }
}

// MARK: - The model as SXP

private let zeroLocation = SourceLocation(line: 0, column: 0)
private func a(_ s: String) -> SExpr { .atom(s, zeroLocation) }
private func l(_ items: [SExpr]) -> SExpr { .list(items, zeroLocation) }
private func kv(_ k: String, _ v: String) -> SExpr { l([a(k), a(v)]) }

extension DomainConfiguration {
    /// This configuration as an xend `(vm ...)` S-expression.
    public var sxp: SExpr {
        var vm: [SExpr] = [a("vm"), kv("name", name_label), kv("uuid", uuid.description)]
        vm.append(kv("memory", String(memoryMiB)))
        vm.append(kv("maxmem", String(maxmemMiB)))
        vm.append(kv("vcpus", String(VCPUs_max)))
        // xend's vcpu_avail: a bit mask of the vCPUs online at start.
        if VCPUs_at_startup != VCPUs_max, VCPUs_at_startup < 63 {
            vm.append(kv("vcpu_avail", String((1 << VCPUs_at_startup) - 1)))
        }
        if let cpus { vm.append(l([a("cpus")] + affinityAtoms(cpus))) }
        if let cpus_soft { vm.append(l([a("cpus_soft")] + affinityAtoms(cpus_soft))) }
        vm.append(kv("on_poweroff", actions_after_shutdown.rawValue))
        vm.append(kv("on_reboot", actions_after_reboot.rawValue))
        vm.append(kv("on_crash", actions_after_crash.rawValue))
        vm.append(kv("on_watchdog", actions_after_watchdog.rawValue))
        vm.append(kv("on_soft_reset", actions_after_soft_reset.rawValue))
        if let PV_bootloader { vm.append(kv("bootloader", PV_bootloader)) }
        if !PV_bootloader_args.isEmpty { vm.append(l([a("bootloader_args")] + PV_bootloader_args.map(a))) }

        var image: [SExpr] = [a(type == .pv ? "linux" : type.rawValue)]
        if let PV_kernel { image.append(kv("kernel", PV_kernel)) }
        if let PV_ramdisk { image.append(kv("ramdisk", PV_ramdisk)) }
        if let PV_args { image.append(kv("args", PV_args)) }
        // xend's form for one serial port, a list for several.
        if serials.count == 1 { image.append(kv("serial", serials[0])) }
        if serials.count > 1 { image.append(l([a("serial"), l(serials.map(a))])) }
        for k in platform.keys.sorted() { image.append(kv(k, platform[k]!)) }
        for k in platformLists.keys.sorted() { image.append(l([a(k), l(platformLists[k]!.map(a))])) }
        vm.append(l([a("image"), l(image)]))

        for d in disks { vm.append(l([a("device"), d.sxp])) }
        for v in vifs { vm.append(l([a("device"), v.sxp])) }
        for f in vfbs { vm.append(l([a("device"), f.sxp])) }
        for k in vkbs { vm.append(l([a("device"), k.sxp])) }
        for c in channels { vm.append(l([a("device"), c.sxp])) }
        for c in consoles { vm.append(l([a("device"), c.sxp])) }
        for p in pcis { vm.append(l([a("device"), p.sxp])) }
        if !unknown.isEmpty {
            vm.append(l([a("xl_unknown")] + unknown.keys.sorted().map { l([a($0), unknown[$0]!.sxp]) }))
        }
        return l(vm)
    }

    /// SXP text (ends with a newline).
    public func sxpText() -> String { sxp.text() + "\n" }

    private func affinityAtoms(_ x: CPUAffinity) -> [SExpr] {
        if case .perVCPU(let items) = x { return [l(items.map { a($0.specification) })] }
        return [a(x.specification)]
    }
}

extension ConfigValue {
    var sxp: SExpr {
        switch self {
        case .string(let s, _): return a(s)
        case .list(let items, _): return l(items.map(\.sxp))
        }
    }
}

extension DiskDevice {
    /// `(vbd (uname phy:/dev/...) (dev xvda) (mode w) ...)`; uname's prefix says phy/file/tap:FORMAT as xend wrote it.
    var sxp: SExpr {
        var items: [SExpr] = [a("vbd")]
        if let target {
            let prefix: String
            switch format {
            case .raw: prefix = target.hasPrefix("/dev/") ? "phy:" : "file:"
            default: prefix = "tap:\(format.rawValue):"
            }
            items.append(kv("uname", prefix + target))
        } else if format != .empty {
            items.append(kv("format", format.rawValue))
        }
        items.append(kv("dev", deviceType == .cdrom ? vdev + ":cdrom" : vdev))
        items.append(kv("mode", access == .readWrite ? "w" : "r"))
        if let backendType { items.append(kv("backendtype", backendType.rawValue)) }
        if let backendDomain { items.append(kv("backend", backendDomain)) }
        if let script { items.append(kv("script", script)) }
        if directIOSafe { items.append(kv("direct_io_safe", "1")) }
        if let discardEnable { items.append(kv("discard", discardEnable ? "1" : "0")) }
        for k in options.keys.sorted() { items.append(l([a("option"), a(k), a(options[k]!)])) }
        return l(items)
    }
}

extension NetworkInterface {
    var sxp: SExpr {
        var items: [SExpr] = [a("vif")]
        func put(_ k: String, _ v: String?) { if let v { items.append(kv(k, v)) } }
        put("mac", mac?.description)
        put("bridge", bridge)
        put("ip", ip)
        put("script", script)
        put("model", model)
        put("type", type)
        put("vifname", vifname)
        put("rate", rate)
        put("mtu", mtu.map(String.init))
        put("backend", backend)
        put("gatewaydev", gatewaydev)
        for k in options.keys.sorted() { items.append(l([a("option"), a(k), a(options[k]!)])) }
        return l(items)
    }
}

extension FramebufferDevice {
    var sxp: SExpr {
        var items: [SExpr] = [a("vfb"), kv("vnc", vnc ? "1" : "0"), kv("sdl", sdl ? "1" : "0")]
        func put(_ k: String, _ v: String?) { if let v { items.append(kv(k, v)) } }
        put("vnclisten", vnclisten)
        put("vncdisplay", vncdisplay.map(String.init))
        put("vncunused", vncunused.map { $0 ? "1" : "0" })
        put("vncpasswd", vncpasswd)
        put("opengl", opengl.map { $0 ? "1" : "0" })
        put("display", display)
        put("xauthority", xauthority)
        put("keymap", keymap)
        put("backend", backend)
        return l(items)
    }
}

extension KeyboardDevice {
    var sxp: SExpr {
        var items: [SExpr] = [a("vkbd")]
        if let backend { items.append(kv("backend", backend)) }
        if let backendType { items.append(kv("backend-type", backendType)) }
        for k in options.keys.sorted() { items.append(l([a("option"), a(k), a(options[k]!)])) }
        return l(items)
    }
}

extension ChannelDevice {
    var sxp: SExpr {
        var items: [SExpr] = [a("channel"), kv("name", name), kv("connection", connection)]
        if let path { items.append(kv("path", path)) }
        if let backend { items.append(kv("backend", backend)) }
        return l(items)
    }
}

extension ConsoleDevice {
    var sxp: SExpr {
        var items: [SExpr] = [a("console"), kv("protocol", protocolName)]
        if let location { items.append(kv("location", location)) }
        if let backend { items.append(kv("backend", backend)) }
        return l(items)
    }
}

extension PCIDevice {
    /// xend's form: `(pci (dev (domain 0x0000) (bus 0x03) (slot 0x00) (func 0x0) ...))`.
    var sxp: SExpr {
        var dev: [SExpr] = [a("dev"), kv("domain", "0x" + hex(domain, 4)), kv("bus", "0x" + hex(bus, 2)),
                            kv("slot", "0x" + hex(device, 2)), kv("func", allFunctions ? "*" : "0x" + String(function, radix: 16))]
        if let vslot { dev.append(kv("vslot", "0x" + hex(vslot, 2))) }
        func flag(_ k: String, _ v: Bool?) { if let v { dev.append(kv(k, v ? "1" : "0")) } }
        flag("permissive", permissive)
        flag("msitranslate", msitranslate)
        flag("seize", seize)
        flag("power_mgmt", powerManagement)
        if let rdmPolicy { dev.append(kv("rdm_policy", rdmPolicy)) }
        return l([a("pci"), l(dev)])
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
        c.VCPUs_at_startup = vm.child("vcpu_avail").flatMap { integer($0, "vcpu_avail", min: 1, max: Int.max) }
            .map { $0.nonzeroBitCount } ?? c.VCPUs_max
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
                    if items.count == 2, let s = items[1].atom {
                        c.platform[key] = s
                    } else if items.count == 2, let list = items[1].items {
                        c.platformLists[key] = list.compactMap(\.atom)
                    } else {
                        log.warning(field.location, "image field `\(key)` has an unexpected shape; ignored")
                    }
                }
            }
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

        var vdevs = Set<String>()
        for dev in vm.children("device") {
            guard let body = dev.items?.dropFirst().first, let kind = body.head else {
                log.error(dev.location, "`(device ...)` must hold one `(kind ...)`")
                continue
            }
            switch kind {
            case "vbd", "tap", "tap2":
                if let d = disk(body) {
                    if !vdevs.insert(d.vdev).inserted { log.error(body.location, "duplicate vdev `\(d.vdev)`") }
                    c.disks.append(d)
                }
            case "vif": if let v = vif(body) { c.vifs.append(v) }
            case "vfb": if let f = vfb(body) { c.vfbs.append(f) }
            case "vkbd", "vkb":
                var k = KeyboardDevice()
                for f in (body.items ?? []).dropFirst() {
                    switch f.head {
                    case "backend": k.backend = f.value
                    case "backend-type": k.backendType = f.value
                    case "option": if let i = f.items, i.count == 3, let key = i[1].atom, let v = i[2].atom { k.options[key] = v }
                    default: break
                    }
                }
                c.vkbs.append(k)
            case "channel":
                let fields = pairs(body)
                if let n = fields["name"], let conn = fields["connection"] {
                    c.channels.append(ChannelDevice(name: n, connection: conn, path: fields["path"], backend: fields["backend"]))
                } else {
                    log.error(body.location, "a channel needs (name ...) and (connection ...)")
                }
            case "console":
                let fields = pairs(body)
                var con = ConsoleDevice()
                con.protocolName = fields["protocol"] ?? "vt100"
                con.location = fields["location"]
                con.backend = fields["backend"]
                c.consoles.append(con)
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
        case .atom(let s, _): return .string(s, zeroLocation)
        case .list(let items, _): return .list(items.map(configValue), zeroLocation)
        }
    }

    func pairs(_ body: SExpr) -> [String: String] {
        var out: [String: String] = [:]
        for f in (body.items ?? []).dropFirst() { if let k = f.head, let v = f.value { out[k] = v } }
        return out
    }

    mutating func disk(_ body: SExpr) -> DiskDevice? {
        let f = pairs(body)
        guard var dev = f["dev"] else {
            log.error(body.location, "a vbd needs `(dev ...)`")
            return nil
        }
        var cdrom = false
        if dev.hasSuffix(":cdrom") { cdrom = true; dev.removeLast(":cdrom".count) }
        if dev.hasSuffix(":disk") { dev.removeLast(":disk".count) }
        var format = DiskDevice.Format.raw
        var target: String? = f["uname"]
        var blockScript: String?
        if var t = target {
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
                    if let fm = DiskDevice.Format(rawValue: word) { format = fm }
                    t.removeFirst(p.count)
                    changed = true
                }
            }
            // A path resolves; a name for a block script (iSCSI IQN, DRBD resource) does not.
            target = t.isEmpty ? nil : (blockScript == nil && f["script"] == nil ? resolveDisk(t) : t)
        }
        if let fm = f["format"] {
            guard let x = DiskDevice.Format(rawValue: fm) else {
                log.error(body.location, "unknown disk format `\(fm)`")
                return nil
            }
            format = x
        }
        if cdrom, target == nil { format = .empty }
        if target == nil, !cdrom {
            log.error(body.location, "a vbd needs `(uname ...)` (only a cdrom drive may be empty)")
            return nil
        }
        var d = DiskDevice(target: target, vdev: dev)
        d.format = format
        d.deviceType = cdrom ? .cdrom : .disk
        switch f["mode"] ?? "w" {
        case "w", "w!", "rw": d.access = cdrom ? .readOnly : .readWrite
        case "r", "ro": d.access = .readOnly
        case let m:
            log.error(body.location, "vbd mode must be w or r, not `\(m)`")
            return nil
        }
        if let b = f["backendtype"] {
            d.backendType = DiskDevice.BackendType(rawValue: b)
            if d.backendType == nil { log.error(body.location, "unknown backendtype `\(b)`") }
        }
        d.backendDomain = f["backend"].flatMap { $0 == "0" ? nil : $0 }
        d.script = f["script"] ?? blockScript
        d.directIOSafe = f["direct_io_safe"] == "1"
        d.discardEnable = f["discard"].map { $0 == "1" }
        for o in body.children("option") {
            if let i = o.items, i.count == 3, let k = i[1].atom, let v = i[2].atom { d.options[k] = v }
        }
        if d.deviceNumber == nil { log.error(body.location, "bad vdev `\(d.vdev)`") }
        return d
    }

    func resolveDisk(_ t: String) -> String { t.contains(":") ? t : resolve(t) }

    mutating func vif(_ body: SExpr) -> NetworkInterface? {
        var n = NetworkInterface()
        for field in (body.items ?? []).dropFirst() {
            guard let key = field.head else { continue }
            if key == "option" {
                if let i = field.items, i.count == 3, let k = i[1].atom, let v = i[2].atom { n.options[k] = v }
                continue
            }
            guard let v = field.value else { continue }
            switch key {
            case "mac":
                n.mac = MACAddress(v)
                if n.mac == nil || n.mac!.isMulticast { log.error(field.location, "bad MAC address `\(v)`") }
            case "bridge": n.bridge = v
            case "ip": n.ip = v
            case "script": n.script = v
            case "model": n.model = v
            case "type": n.type = v
            case "vifname": n.vifname = v
            case "rate": n.rate = v
            case "mtu": n.mtu = parseCInteger(v)
            case "backend": n.backend = v == "0" ? nil : v
            case "gatewaydev": n.gatewaydev = v
            case "uuid", "devid", "frontend", "state", "handle": break
            default: log.warning(field.location, "unknown vif field `\(key)`; ignored")
            }
        }
        return n
    }

    mutating func vfb(_ body: SExpr) -> FramebufferDevice? {
        var f = FramebufferDevice()
        for field in (body.items ?? []).dropFirst() {
            guard let key = field.head, let v = field.value else { continue }
            switch key {
            case "vnc": f.vnc = v == "1"
            case "sdl": f.sdl = v == "1"
            case "type": if v == "vnc" { f.vnc = true } else if v == "sdl" { f.sdl = true }
            case "vnclisten": f.vnclisten = v
            case "vncdisplay": f.vncdisplay = parseCInteger(v)
            case "vncunused": f.vncunused = v == "1"
            case "vncpasswd": f.vncpasswd = v
            case "opengl": f.opengl = v == "1"
            case "display": f.display = v
            case "xauthority": f.xauthority = v
            case "keymap": f.keymap = v
            case "backend": f.backend = v
            case "uuid", "location": break
            default: log.warning(field.location, "unknown vfb field `\(key)`; ignored")
            }
        }
        return f
    }

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
        p.vslot = num("vslot")
        p.permissive = f["permissive"].map { $0 == "1" }
        p.msitranslate = f["msitranslate"].map { $0 == "1" }
        p.seize = f["seize"].map { $0 == "1" }
        p.powerManagement = f["power_mgmt"].map { $0 == "1" }
        p.rdmPolicy = f["rdm_policy"]
        return p
    }
}
