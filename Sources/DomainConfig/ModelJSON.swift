// The model as canonical JSON (schema in docs/config.md) and back.
// Keys come in a fixed order; absent optional fields are left out;
// dictionaries are sorted by key. Memory is in bytes.

extension DomainConfiguration {
    /// Canonical JSON text (ends with a newline).
    public func jsonText() -> String {
        jsonValue.serialized() + "\n"
    }

    var jsonValue: JSONValue {
        var m: [(String, JSONValue)] = []
        func put(_ k: String, _ v: JSONValue) { m.append((k, v)) }
        func put(_ k: String, _ v: String?) { if let v { m.append((k, .string(v))) } }
        put("name_label", .string(name_label))
        put("uuid", .string(uuid.description))
        put("type", .string(type.rawValue))
        put("VCPUs_max", .number(String(VCPUs_max)))
        put("VCPUs_at_startup", .number(String(VCPUs_at_startup)))
        if let cpus { put("cpus", cpus.jsonValue) }
        if let cpus_soft { put("cpus_soft", cpus_soft.jsonValue) }
        put("memory_static_max", .number(String(memory_static_max)))
        put("memory_dynamic_max", .number(String(memory_dynamic_max)))
        put("actions_after_shutdown", .string(actions_after_shutdown.rawValue))
        put("actions_after_reboot", .string(actions_after_reboot.rawValue))
        put("actions_after_crash", .string(actions_after_crash.rawValue))
        put("actions_after_watchdog", .string(actions_after_watchdog.rawValue))
        put("actions_after_soft_reset", .string(actions_after_soft_reset.rawValue))
        put("PV_kernel", PV_kernel)
        put("PV_ramdisk", PV_ramdisk)
        put("PV_args", PV_args)
        put("PV_bootloader", PV_bootloader)
        if !PV_bootloader_args.isEmpty { put("PV_bootloader_args", .array(PV_bootloader_args.map(JSONValue.string))) }
        if !platform.isEmpty { put("platform", sortedObject(platform.mapValues(JSONValue.string))) }
        if !platformLists.isEmpty {
            put("platform_lists", sortedObject(platformLists.mapValues { .array($0.map(JSONValue.string)) }))
        }
        var devices: [(String, JSONValue)] = []
        func dev(_ k: String, _ items: [JSONValue]) { if !items.isEmpty { devices.append((k, .array(items))) } }
        dev("disk", disks.map(\.jsonValue))
        dev("vif", vifs.map(\.jsonValue))
        dev("vfb", vfbs.map(\.jsonValue))
        dev("vkb", vkbs.map(\.jsonValue))
        dev("channel", channels.map(\.jsonValue))
        dev("console", consoles.map(\.jsonValue))
        dev("serial", serials.map(JSONValue.string))
        dev("pci", pcis.map(\.jsonValue))
        put("devices", .object(devices))
        if !unknown.isEmpty { put("unknown", sortedObject(unknown.mapValues(\.jsonValue))) }
        return .object(m)
    }
}

private func sortedObject(_ d: [String: JSONValue]) -> JSONValue {
    .object(d.keys.sorted().map { ($0, d[$0]!) })
}

private struct ObjectBuilder {
    var members: [(String, JSONValue)] = []
    mutating func put(_ k: String, _ v: String?) { if let v { members.append((k, .string(v))) } }
    mutating func put(_ k: String, _ v: Int?) { if let v { members.append((k, .number(String(v)))) } }
    mutating func put(_ k: String, _ v: Bool?) { if let v { members.append((k, .bool(v))) } }
    mutating func put(_ k: String, options: [String: String]) {
        if !options.isEmpty { members.append((k, sortedObject(options.mapValues(JSONValue.string)))) }
    }
    var value: JSONValue { .object(members) }
}

extension ConfigValue {
    var jsonValue: JSONValue {
        switch self {
        case .string(let s, _): return .string(s)
        case .list(let items, _): return .array(items.map(\.jsonValue))
        }
    }
}

extension CPUAffinity {
    var jsonValue: JSONValue {
        if case .perVCPU(let items) = self { return .array(items.map { .string($0.specification) }) }
        return .string(specification)
    }
}

extension DiskDevice {
    var jsonValue: JSONValue {
        var o = ObjectBuilder()
        o.put("target", target)
        o.put("format", format.rawValue)
        o.put("vdev", vdev)
        o.put("access", access.rawValue)
        o.put("device_type", deviceType.rawValue)
        o.put("backend_type", backendType?.rawValue)
        o.put("backend", backendDomain)
        o.put("script", script)
        o.put("direct_io_safe", directIOSafe ? true : nil)
        o.put("discard", discardEnable)
        o.put("options", options: options)
        return o.value
    }
}

extension NetworkInterface {
    var jsonValue: JSONValue {
        var o = ObjectBuilder()
        o.put("mac", mac?.description)
        o.put("bridge", bridge)
        o.put("ip", ip)
        o.put("script", script)
        o.put("model", model)
        o.put("type", type)
        o.put("vifname", vifname)
        o.put("rate", rate)
        o.put("mtu", mtu)
        o.put("backend", backend)
        o.put("gatewaydev", gatewaydev)
        o.put("options", options: options)
        return o.value
    }
}

extension FramebufferDevice {
    var jsonValue: JSONValue {
        var o = ObjectBuilder()
        o.put("vnc", vnc)
        o.put("sdl", sdl)
        o.put("vnclisten", vnclisten)
        o.put("vncdisplay", vncdisplay)
        o.put("vncunused", vncunused)
        o.put("vncpasswd", vncpasswd)
        o.put("opengl", opengl)
        o.put("display", display)
        o.put("xauthority", xauthority)
        o.put("keymap", keymap)
        o.put("backend", backend)
        return o.value
    }
}

extension KeyboardDevice {
    var jsonValue: JSONValue {
        var o = ObjectBuilder()
        o.put("backend", backend)
        o.put("backend_type", backendType)
        o.put("options", options: options)
        return o.value
    }
}

extension ChannelDevice {
    var jsonValue: JSONValue {
        var o = ObjectBuilder()
        o.put("name", name)
        o.put("connection", connection)
        o.put("path", path)
        o.put("backend", backend)
        return o.value
    }
}

extension ConsoleDevice {
    var jsonValue: JSONValue {
        var o = ObjectBuilder()
        o.put("protocol", protocolName)
        o.put("location", location)
        o.put("backend", backend)
        return o.value
    }
}

extension PCIDevice {
    var jsonValue: JSONValue {
        var o = ObjectBuilder()
        o.put("bdf", bdf)
        o.put("vslot", vslot)
        o.put("permissive", permissive)
        o.put("msitranslate", msitranslate)
        o.put("seize", seize)
        o.put("power_mgmt", powerManagement)
        o.put("rdm_policy", rdmPolicy)
        return o.value
    }
}

// MARK: - Reading

/// Reads canonical JSON; every wrong field is reported (at the JSON's position when known).
func readJSONConfig(text: String, fileName: String, options: ParseOptions) -> ParseResult {
    var log = DiagnosticLog(file: fileName)
    let top: JSONValue
    let locations: [String: SourceLocation]
    switch JSONValue.parse(text) {
    case .success(let (v, l)): (top, locations) = (v, l)
    case .failure(let e):
        log.error(e.location, "bad JSON: \(e.message)")
        return ParseResult(configuration: nil, diagnostics: log.items, format: .json)
    }
    var r = JSONModelReader(log: log, locations: locations)
    let config = r.domain(top, options: options)
    return ParseResult(configuration: r.log.hasErrors ? nil : config,
                       diagnostics: DomainConfiguration.sortDiagnostics(r.log.items), format: .json)
}

private struct JSONModelReader {
    var log: DiagnosticLog
    /// Where each JSON value starts, by path.
    let locations: [String: SourceLocation]

    /// Reports at the value's place (or its nearest enclosing value's).
    mutating func fail(_ path: String, _ message: String) {
        var p = Substring(path)
        var at = locations[String(p)]
        while at == nil, let cut = p.lastIndex(where: { $0 == "." || $0 == "[" }) {
            p = p[..<cut]
            at = locations[String(p)]
        }
        log.error(at ?? locations[""] ?? SourceLocation(line: 1, column: 1), path.isEmpty ? message : "\(path): \(message)")
    }

    func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

    mutating func object(_ v: JSONValue?, _ path: String, known: [String]) -> [(String, JSONValue)]? {
        guard let v else { return nil }
        guard case .object(let members) = v else { fail(path, "must be an object"); return nil }
        for (k, _) in members where !known.contains(k) { fail(join(path, k), "unknown field") }
        return members
    }

    mutating func string(_ o: JSONValue, _ key: String, _ path: String) -> String? {
        guard let v = o[key] else { return nil }
        guard case .string(let s) = v else { fail(join(path, key), "must be a string"); return nil }
        return s
    }

    mutating func int(_ o: JSONValue, _ key: String, _ path: String) -> Int? {
        guard let v = o[key] else { return nil }
        guard case .number(let n) = v, let i = Int(n) else { fail(join(path, key), "must be an integer"); return nil }
        return i
    }

    mutating func uint64(_ o: JSONValue, _ key: String, _ path: String) -> UInt64? {
        guard let v = o[key] else { return nil }
        guard case .number(let n) = v, let i = UInt64(n) else { fail(join(path, key), "must be a non-negative integer"); return nil }
        return i
    }

    mutating func bool(_ o: JSONValue, _ key: String, _ path: String) -> Bool? {
        guard let v = o[key] else { return nil }
        guard case .bool(let b) = v else { fail(join(path, key), "must be true or false"); return nil }
        return b
    }

    mutating func strings(_ v: JSONValue?, _ path: String) -> [String] {
        guard let v else { return [] }
        guard case .array(let items) = v else { fail(path, "must be an array of strings"); return [] }
        return items.compactMap {
            if case .string(let s) = $0 { return s }
            fail(path, "must be an array of strings")
            return nil
        }
    }

    mutating func stringMap(_ v: JSONValue?, _ path: String) -> [String: String] {
        guard let v else { return [:] }
        guard case .object(let members) = v else { fail(path, "must be an object of strings"); return [:] }
        var out: [String: String] = [:]
        for (k, x) in members {
            if case .string(let s) = x { out[k] = s } else { fail(join(path, k), "must be a string") }
        }
        return out
    }

    mutating func enumValue<E: RawRepresentable>(_ o: JSONValue, _ key: String, _ path: String, _: E.Type) -> E? where E.RawValue == String {
        guard let s = string(o, key, path) else { return nil }
        guard let e = E(rawValue: s) else { fail(join(path, key), "unknown value \"\(s)\""); return nil }
        return e
    }

    mutating func affinity(_ v: JSONValue?, _ path: String) -> CPUAffinity? {
        guard let v else { return nil }
        func one(_ s: String) -> CPUAffinity? {
            switch CPUAffinity.parse(s) {
            case .success(let a): return a
            case .failure(let e): fail(path, e.description); return nil
            }
        }
        switch v {
        case .string(let s): return one(s)
        case .array(let items):
            return .perVCPU(items.compactMap {
                if case .string(let s) = $0 { return one(s) }
                fail(path, "must be strings")
                return nil
            })
        default:
            fail(path, "must be a CPU list string or an array of them")
            return nil
        }
    }

    mutating func configValue(_ v: JSONValue, _ path: String) -> ConfigValue? {
        let zero = SourceLocation(line: 0, column: 0)
        switch v {
        case .string(let s): return .string(s, zero)
        case .array(let items): return .list(items.compactMap { configValue($0, path) }, zero)
        default: fail(path, "must be a string or an array"); return nil
        }
    }

    mutating func domain(_ top: JSONValue, options: ParseOptions) -> DomainConfiguration? {
        let fields = ["name_label", "uuid", "type", "VCPUs_max", "VCPUs_at_startup", "cpus", "cpus_soft",
                      "memory_static_max", "memory_dynamic_max", "actions_after_shutdown", "actions_after_reboot",
                      "actions_after_crash", "actions_after_watchdog", "actions_after_soft_reset", "PV_kernel",
                      "PV_ramdisk", "PV_args", "PV_bootloader", "PV_bootloader_args", "platform", "platform_lists",
                      "devices", "unknown"]
        guard object(top, "", known: fields) != nil else { return nil }
        guard let name = string(top, "name_label", "") else { fail("", "name_label is missing"); return nil }
        if let problem = nameProblem(name) { fail("name_label", problem) }
        var uuid: DomainUUID?
        if let u = string(top, "uuid", "") {
            uuid = DomainUUID(u)
            if uuid == nil { fail("uuid", "bad uuid \"\(u)\"") }
        }
        var c = DomainConfiguration(name_label: name, uuid: uuid ?? options.makeUUID())
        c.type = enumValue(top, "type", "", DomainType.self) ?? .pv
        c.VCPUs_max = int(top, "VCPUs_max", "") ?? 1
        c.VCPUs_at_startup = int(top, "VCPUs_at_startup", "") ?? c.VCPUs_max
        if c.VCPUs_at_startup < 1 || c.VCPUs_max < 1 || c.VCPUs_max > 4096 {
            fail("VCPUs_max", "vCPU counts must be from 1 to 4096")
        }
        if c.VCPUs_at_startup > c.VCPUs_max { fail("VCPUs_at_startup", "is above VCPUs_max") }
        c.cpus = affinity(top["cpus"], "cpus")
        c.cpus_soft = affinity(top["cpus_soft"], "cpus_soft")
        c.memory_dynamic_max = uint64(top, "memory_dynamic_max", "") ?? c.memory_dynamic_max
        c.memory_static_max = uint64(top, "memory_static_max", "") ?? c.memory_dynamic_max
        if c.memory_dynamic_max == 0 { fail("memory_dynamic_max", "must be above 0") }
        if c.memory_static_max < c.memory_dynamic_max { fail("memory_static_max", "is below memory_dynamic_max") }
        c.actions_after_shutdown = enumValue(top, "actions_after_shutdown", "", DomainAction.self) ?? .destroy
        c.actions_after_reboot = enumValue(top, "actions_after_reboot", "", DomainAction.self) ?? .restart
        c.actions_after_crash = enumValue(top, "actions_after_crash", "", DomainAction.self) ?? .destroy
        c.actions_after_watchdog = enumValue(top, "actions_after_watchdog", "", DomainAction.self) ?? .destroy
        c.actions_after_soft_reset = enumValue(top, "actions_after_soft_reset", "", DomainAction.self) ?? .softReset
        c.PV_kernel = string(top, "PV_kernel", "")
        c.PV_ramdisk = string(top, "PV_ramdisk", "")
        c.PV_args = string(top, "PV_args", "")
        c.PV_bootloader = string(top, "PV_bootloader", "")
        c.PV_bootloader_args = strings(top["PV_bootloader_args"], "PV_bootloader_args")
        c.platform = stringMap(top["platform"], "platform")
        if let lists = top["platform_lists"] {
            if case .object(let members) = lists {
                for (k, v) in members { c.platformLists[k] = strings(v, "platform_lists.\(k)") }
            } else {
                fail("platform_lists", "must be an object")
            }
        }
        if let unknown = top["unknown"] {
            if case .object(let members) = unknown {
                for (k, v) in members { c.unknown[k] = configValue(v, "unknown.\(k)") }
            } else {
                fail("unknown", "must be an object")
            }
        }
        if let devices = object(top["devices"], "devices",
                                known: ["disk", "vif", "vfb", "vkb", "channel", "console", "serial", "pci"]) {
            for (kind, list) in devices {
                guard case .array(let items) = list else { fail("devices.\(kind)", "must be an array"); continue }
                for (i, item) in items.enumerated() {
                    device(kind, item, "devices.\(kind)[\(i)]", into: &c)
                }
            }
        }
        return c
    }

    mutating func device(_ kind: String, _ v: JSONValue, _ path: String, into c: inout DomainConfiguration) {
        switch kind {
        case "serial":
            if case .string(let s) = v { c.serials.append(s) } else { fail(path, "must be a string") }
        case "disk":
            guard object(v, path, known: ["target", "format", "vdev", "access", "device_type", "backend_type", "backend",
                                          "script", "direct_io_safe", "discard", "options"]) != nil else { return }
            guard let vdev = string(v, "vdev", path) else { fail(path, "vdev is missing"); return }
            var d = DiskDevice(target: string(v, "target", path), vdev: vdev)
            d.format = enumValue(v, "format", path, DiskDevice.Format.self) ?? .raw
            d.access = enumValue(v, "access", path, DiskDevice.Access.self) ?? .readWrite
            d.deviceType = enumValue(v, "device_type", path, DiskDevice.DeviceType.self) ?? .disk
            d.backendType = enumValue(v, "backend_type", path, DiskDevice.BackendType.self)
            d.backendDomain = string(v, "backend", path)
            d.script = string(v, "script", path)
            d.directIOSafe = bool(v, "direct_io_safe", path) ?? false
            d.discardEnable = bool(v, "discard", path)
            d.options = stringMap(v["options"], join(path, "options"))
            if d.target == nil, d.deviceType != .cdrom { fail(path, "a disk needs a target (only a cdrom drive may be empty)") }
            c.disks.append(d)
        case "vif":
            guard object(v, path, known: ["mac", "bridge", "ip", "script", "model", "type", "vifname", "rate", "mtu",
                                          "backend", "gatewaydev", "options"]) != nil else { return }
            var n = NetworkInterface()
            if let m = string(v, "mac", path) {
                n.mac = MACAddress(m)
                if n.mac == nil || n.mac!.isMulticast { fail(path, "bad MAC address \"\(m)\"") }
            }
            n.bridge = string(v, "bridge", path)
            n.ip = string(v, "ip", path)
            n.script = string(v, "script", path)
            n.model = string(v, "model", path)
            n.type = string(v, "type", path)
            n.vifname = string(v, "vifname", path)
            n.rate = string(v, "rate", path)
            n.mtu = int(v, "mtu", path)
            n.backend = string(v, "backend", path)
            n.gatewaydev = string(v, "gatewaydev", path)
            n.options = stringMap(v["options"], join(path, "options"))
            c.vifs.append(n)
        case "vfb":
            guard object(v, path, known: ["vnc", "sdl", "vnclisten", "vncdisplay", "vncunused", "vncpasswd", "opengl",
                                          "display", "xauthority", "keymap", "backend"]) != nil else { return }
            var f = FramebufferDevice()
            f.vnc = bool(v, "vnc", path) ?? false
            f.sdl = bool(v, "sdl", path) ?? false
            f.vnclisten = string(v, "vnclisten", path)
            f.vncdisplay = int(v, "vncdisplay", path)
            f.vncunused = bool(v, "vncunused", path)
            f.vncpasswd = string(v, "vncpasswd", path)
            f.opengl = bool(v, "opengl", path)
            f.display = string(v, "display", path)
            f.xauthority = string(v, "xauthority", path)
            f.keymap = string(v, "keymap", path)
            f.backend = string(v, "backend", path)
            c.vfbs.append(f)
        case "vkb":
            guard object(v, path, known: ["backend", "backend_type", "options"]) != nil else { return }
            var k = KeyboardDevice()
            k.backend = string(v, "backend", path)
            k.backendType = string(v, "backend_type", path)
            k.options = stringMap(v["options"], join(path, "options"))
            c.vkbs.append(k)
        case "channel":
            guard object(v, path, known: ["name", "connection", "path", "backend"]) != nil else { return }
            guard let name = string(v, "name", path), let conn = string(v, "connection", path) else {
                fail(path, "a channel needs name and connection")
                return
            }
            c.channels.append(ChannelDevice(name: name, connection: conn, path: string(v, "path", path),
                                            backend: string(v, "backend", path)))
        case "console":
            guard object(v, path, known: ["protocol", "location", "backend"]) != nil else { return }
            var con = ConsoleDevice()
            con.protocolName = string(v, "protocol", path) ?? "vt100"
            con.location = string(v, "location", path)
            con.backend = string(v, "backend", path)
            c.consoles.append(con)
        case "pci":
            guard object(v, path, known: ["bdf", "vslot", "permissive", "msitranslate", "seize", "power_mgmt",
                                          "rdm_policy"]) != nil else { return }
            guard let bdf = string(v, "bdf", path), case .success(var p) = PCIDevice.parse(bdf) else {
                fail(path, "a pci device needs a valid \"bdf\" (dddd:bb:dd.f)")
                return
            }
            p.vslot = int(v, "vslot", path)
            p.permissive = bool(v, "permissive", path)
            p.msitranslate = bool(v, "msitranslate", path)
            p.seize = bool(v, "seize", path)
            p.powerManagement = bool(v, "power_mgmt", path)
            p.rdmPolicy = string(v, "rdm_policy", path)
            c.pcis.append(p)
        default:
            break
        }
    }
}
