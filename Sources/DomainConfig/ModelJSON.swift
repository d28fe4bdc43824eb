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
        dev("disk", disks.map(DiskDevice.description.jsonValue))
        dev("vif", vifs.map(NetworkInterface.description.jsonValue))
        dev("vfb", vfbs.map(FramebufferDevice.description.jsonValue))
        dev("vkb", vkbs.map(KeyboardDevice.description.jsonValue))
        dev("channel", channels.map(ChannelDevice.description.jsonValue))
        dev("console", consoles.map(ConsoleDevice.description.jsonValue))
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

extension DeviceDescription {
    /// Each field JSON names, typed by its kind, then the options as an object.
    func jsonValue(_ device: Device) -> JSONValue {
        var members: [(String, JSONValue)] = fields.compactMap { field in
            guard let key = field.names.json, let text = field.text(device) else { return nil }
            switch field.kind {
            case .text: return (key, .string(text))
            case .integer: return (key, .number(text))
            case .flag: return (key, .bool(text == "1"))
            }
        }
        if let options, !device[keyPath: options].isEmpty {
            members.append(("options", sortedObject(device[keyPath: options].mapValues(JSONValue.string))))
        }
        return .object(members)
    }
}

extension PCIDevice {
    /// `bdf` and `vslot`, then the table's options.
    var jsonValue: JSONValue {
        guard case .object(let members) = Self.description.jsonValue(self) else { return .null }
        return .object([("bdf", .string(bdf))] + (vslot.map { [("vslot", JSONValue.number(String($0)))] } ?? []) + members)
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
        for (key, bytes) in [("memory_dynamic_max", c.memory_dynamic_max), ("memory_static_max", c.memory_static_max)]
        where top[key] != nil {
            if let problem = DomainConfiguration.memoryProblem(bytes) { fail(key, problem) }
        }
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
        if let problem = c.bootProblem { fail("", problem) }
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
            var duplicates = DeviceDuplicates<Void>()
            for (kind, list) in devices {
                guard case .array(let items) = list else { fail("devices.\(kind)", "must be an array"); continue }
                for (i, item) in items.enumerated() {
                    device(kind, item, "devices.\(kind)[\(i)]", into: &c, duplicates: &duplicates)
                }
            }
        }
        return c
    }

    /// Reads one device object with its table: every refused value is
    /// reported at its member; nil when any was.
    mutating func device<D>(_ v: JSONValue, _ path: String, _ table: DeviceDescription<D>, start: D? = nil,
                            extra: [String] = [], commasAllowed: Set<String> = []) -> D? {
        let known = table.fields.compactMap(\.names.json) + (table.options != nil ? ["options"] : []) + extra
        guard object(v, path, known: known) != nil else { return nil }
        var d = start ?? table.blank
        var failed = false
        func refuse(_ at: String, _ message: String) {
            fail(at, message)
            failed = true
        }
        for field in table.fields {
            guard let key = field.names.json, let value = v[key] else { continue }
            let text: String
            switch (field.kind, value) {
            case (.text, .string(let s)): text = s
            case (.integer, .number(let n)): text = n
            case (.flag, .bool(let b)): text = b ? "1" : "0"
            case (.text, _): refuse(join(path, key), "must be a string"); continue
            case (.integer, _): refuse(join(path, key), "must be an integer"); continue
            case (.flag, _): refuse(join(path, key), "must be true or false"); continue
            }
            let problem = table.commaProblem(key, text, commaAllowed: commasAllowed.contains(key)) ?? field.store(&d, text)
            if let problem { refuse(join(path, key), problem) }
        }
        if table.options != nil {
            let optionsPath = join(path, "options")
            for (key, value) in stringMap(v["options"], optionsPath).sorted(by: { $0.key < $1.key }) {
                if let problem = table.commaProblem(key, value) ?? table.storeOption(&d, key, value) {
                    refuse(join(optionsPath, key), problem)
                }
            }
        }
        let problems = table.finish(&d, failed)
        for problem in problems { fail(path, problem) }
        return failed || !problems.isEmpty ? nil : d
    }

    mutating func device(_ kind: String, _ v: JSONValue, _ path: String, into c: inout DomainConfiguration,
                         duplicates: inout DeviceDuplicates<Void>) {
        switch kind {
        case "serial":
            if case .string(let s) = v { c.serials.append(s) } else { fail(path, "must be a string") }
        case "disk":
            if let d = device(v, path, DiskDevice.description, commasAllowed: ["target"]) {
                if let problem = duplicates.check(d, at: ())?.message { fail(path, problem) }
                c.disks.append(d)
            }
        case "vif":
            if let n = device(v, path, NetworkInterface.description) {
                if let problem = duplicates.check(n, at: ())?.message { fail(path, problem) }
                c.vifs.append(n)
            }
        case "vfb": if let f = device(v, path, FramebufferDevice.description) { c.vfbs.append(f) }
        case "vkb": if let k = device(v, path, KeyboardDevice.description) { c.vkbs.append(k) }
        case "channel":
            if let ch = device(v, path, ChannelDevice.description) {
                if let problem = duplicates.check(ch, at: ())?.message { fail(path, problem) }
                c.channels.append(ch)
            }
        case "console": if let con = device(v, path, ConsoleDevice.description) { c.consoles.append(con) }
        case "pci":
            guard case .object = v else { fail(path, "must be an object"); return }
            guard let bdf = string(v, "bdf", path), case .success(var p) = PCIDevice.parse(bdf), p.vslot == nil else {
                fail(path, "a pci device needs a valid \"bdf\" (dddd:bb:dd.f)")
                return
            }
            var slotRefused = false
            if let slot = int(v, "vslot", path) {
                if let problem = PCIDevice.vslotProblem(slot) {
                    fail(join(path, "vslot"), problem)
                    slotRefused = true
                } else {
                    p.vslot = slot
                }
            }
            if let p = device(v, path, PCIDevice.description, start: p, extra: ["bdf", "vslot"]), !slotRefused { c.pcis.append(p) }
        default:
            break
        }
    }
}

extension DiskDevice {
    /// One disk as the model's JSON holds it (what `block-attach -N` prints).
    public var jsonValue: JSONValue { Self.description.jsonValue(self) }
}

extension NetworkInterface {
    /// One vif as the model's JSON holds it (what `network-attach -N` prints).
    public var jsonValue: JSONValue { Self.description.jsonValue(self) }
}
