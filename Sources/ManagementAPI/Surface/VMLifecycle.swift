#if canImport(Glibc)
import Glibc
#endif
import DomainConfig
import SwxlSystem
import Toolstack

/// The VM lifecycle over the toolstack, as the CLI's commands do it:
/// `VM.start` is `swxl start` (a managed domain), `clean_shutdown` is
/// `swxl shutdown -w`, `hard_shutdown` is `swxl destroy` (a managed domain
/// stays defined, halted), `destroy` is `swxl delete`, and so on. Each
/// refuses a VM in the wrong power state with VM_BAD_POWER_STATE before
/// doing anything; the toolstack's own operations are all or nothing.
extension XenAPISurface {
    /// How long a clean shutdown or reboot is waited for (XAPI's default
    /// for clean operations is 1200 s; xl's `shutdown -w` waits for ever).
    static let cleanTimeoutSeconds = 1200.0

    /// Runs `body` holding the toolstack's lock.
    func locked<R>(_ body: () throws(XenAPIError) -> R) throws(XenAPIError) -> R {
        try toolstackLock.withLock { () throws(XenAPIError) in try body() }
    }

    /// The VM of the call's first parameter, which must be in one of
    /// `states` (XAPI's names); Domain-0 is refused. Lock held.
    func vm(_ call: Call, in states: [String]) throws(XenAPIError) -> VMView {
        let ref = try call.args.string(0, "vm")
        let view = try vmView(ref)
        if view.isControlDomain { throw .notAllowed("Domain-0 (the control domain) cannot be \(call.args.method)") }
        guard states.contains(view.powerState) else {
            throw .badPowerState(ref, expected: states[0], actual: view.powerState)
        }
        return view
    }

    func toolstackCall<R>(_ body: () throws(ToolstackError) -> R) throws(XenAPIError) -> R {
        do { return try body() } catch { throw .toolstack(error) }
    }

    /// Refuses a config with keys this host cannot apply, as create does.
    func checkKeys(_ config: DomainConfiguration) throws(XenAPIError) {
        let problems = ConfigKeyStatus.problems(config, on: host.kind)
        if !problems.refused.isEmpty { throw .notAllowed(problems.refused.joined(separator: "; ")) }
    }

    /// Starts the managed VM `view` (halted). Lock held.
    func startManaged(_ view: VMView, paused: Bool) throws(XenAPIError) {
        guard let config = view.config, view.managed else { throw .notAllowed("only a defined (managed) VM can be started") }
        try checkKeys(config)
        _ = try toolstackCall { () throws(ToolstackError) in try toolstack.start(named: config.name_label, paused: paused) }
        host.ensureWatcher()
    }

    func registerVMLifecycle() {
        register("VM.start", ["vm", "start_paused", "force"], alsoTaking: [2], changes: true) { [self] call throws(XenAPIError) in
            let view = try vm(call, in: ["Halted"])
            try startManaged(view, paused: try call.args.bool(1, "start_paused"))
            return .str("")
        }
        register("VM.pause", ["vm"], changes: true) { [self] call throws(XenAPIError) in
            let view = try vm(call, in: ["Running"])
            try toolstackCall { () throws(ToolstackError) in try toolstack.pause(domid: view.domid!) }
            return .str("")
        }
        register("VM.unpause", ["vm"], changes: true) { [self] call throws(XenAPIError) in
            let view = try vm(call, in: ["Paused"])
            try toolstackCall { () throws(ToolstackError) in try toolstack.unpause(domid: view.domid!) }
            return .str("")
        }
        register("VM.hard_shutdown", ["vm"], changes: true) { [self] call throws(XenAPIError) in
            let view = try vm(call, in: ["Running", "Paused", "Suspended"])
            guard let domid = view.domid else {
                discardSuspendImage(view)  // Suspended by VM.suspend: Halted without its image
                return .str("")
            }
            try toolstackCall { () throws(ToolstackError) in try toolstack.destroy(domid: domid) }
            return .str("")
        }
        register("VM.hard_reboot", ["vm"], changes: true) { [self] call throws(XenAPIError) in
            let view = try vm(call, in: ["Running", "Paused"])
            let domid = view.domid!
            if view.managed {
                try toolstackCall { () throws(ToolstackError) in try toolstack.destroy(domid: domid) }
                try startManaged(try vmView(call.args.string(0, "vm")), paused: false)
            } else {
                guard let config = toolstack.record(domid) else {
                    throw .notAllowed("VM \(view.name) was not created by swxl: there is no config to start it again from")
                }
                try toolstackCall { () throws(ToolstackError) in
                    try toolstack.destroy(domid: domid)
                    _ = try toolstack.create(config)
                }
                host.ensureWatcher()
            }
            return .str("")
        }
        register("VM.clean_shutdown", ["vm"], locking: .none, changes: true) { [self] call throws(XenAPIError) in
            try clean(call, reason: "poweroff")
        }
        register("VM.clean_reboot", ["vm"], locking: .none, changes: true) { [self] call throws(XenAPIError) in
            try clean(call, reason: "reboot")
        }
        // XAPI's `shutdown`: clean if the guest can, else hard.
        register("VM.shutdown", ["vm"], locking: .none, changes: true) { [self] call throws(XenAPIError) in
            try clean(call, reason: "poweroff")
        }
        register("VM.destroy", ["self"], changes: true) { [self] call throws(XenAPIError) in
            let view = try vm(call, in: ["Halted"])
            guard view.managed else { throw .notAllowed("VM \(view.name) is not defined") }
            _ = try toolstackCall { () throws(ToolstackError) in try toolstack.undefine(named: view.name) }
            try? extras.update(view.uuid) { $0 = VMExtras.Entry() }
            return .str("")
        }
        registerMemory()
        registerCreate()
        registerSuspend()
    }

    /// A clean shutdown or reboot: the guest is asked (`control/shutdown`)
    /// and the call returns once it has done it, its on_* action carried
    /// out by the host's watcher (a reboot: the VM runs again, as a new domain).
    /// An Async call's task may be cancelled while it waits for the
    /// toolstack (nothing done) and while it waits for the guest (the
    /// guest has been asked and may still do it; the call stops waiting).
    private func clean(_ call: Call, reason: String) throws(XenAPIError) -> XenAPIValue {
        let (ref, domid) = try exclusive(call) { () throws(XenAPIError) in
            let view = try vm(call, in: ["Running"])
            host.ensureWatcher()
            try toolstackCall { () throws(ToolstackError) in try toolstack.requestShutdown(domid: view.domid!, reason: reason) }
            return (view.ref, view.domid!)
        }
        events.poke()
        if let task = call.task { tasks.leaveUncancellable(task) }
        let deadline = SystemClock.monotonicNanoseconds() + UInt64(Self.cleanTimeoutSeconds * 1e9)
        while SystemClock.monotonicNanoseconds() < deadline {
            if let task = call.task, tasks.isCancelling(task) { throw .taskCancelled(task) }
            let done: Bool = try locked { () throws(XenAPIError) in
                guard let info = (try? toolstack.hypervisor.domainInfo(domid: domid)) ?? nil else {
                    // Gone: halted, or (a reboot) running again as another domain.
                    // (A restart creates the domain paused and unpauses it last.)
                    if reason == "reboot" { return (try? vmView(ref))?.powerState == "Running" }
                    return true
                }
                // Shut down and left so: nobody follows it (another
                // toolstack's), or its action is to preserve it.
                guard info.shutdown else { return false }
                guard let config = toolstack.record(domid) else { return true }
                return config.action(for: info.shutdownReason ?? .poweroff).effective == .preserve
            }
            if done { return .str("") }
            usleep(10_000)
        }
        throw .internalError("the guest did not \(reason == "reboot" ? "reboot" : "shut down") within \(Int(Self.cleanTimeoutSeconds)) s")
    }

    // MARK: memory

    /// Bytes as whole MiB (the toolstack's unit); anything else is refused.
    static func mib(_ bytes: Int64, _ what: String) throws(XenAPIError) -> UInt64 {
        guard bytes > 0, bytes % (1 << 20) == 0 else {
            throw .memoryConstraint("\(what) must be a positive whole number of MiB (\(bytes) bytes)")
        }
        return UInt64(bytes >> 20)
    }

    private func registerMemory() {
        // swxl, like xl, has one balloon target and no daemon moving it
        // within a range (XAPI's squeezed): the VM gets the range's upper
        // end; its lower end is kept (VMExtras) and shown as dynamic_min.
        register("VM.set_memory_dynamic_range", ["self", "min", "max"], changes: true) { [self] call throws(XenAPIError) in
            let minimum = try call.args.int(1, "min"), maximum = try call.args.int(2, "max")
            let view = try vm(call, in: ["Running", "Paused", "Halted"])
            let mib = try Self.mib(maximum, "dynamic_max")
            guard minimum >= 0, minimum <= maximum else {
                throw .memoryConstraint("dynamic_min (\(minimum) bytes) must be between 0 (static_min) and dynamic_max (\(maximum) bytes)")
            }
            let old = extras.entry(view.uuid)
            try extras.update(view.uuid) { $0.dynamicMin = minimum == maximum ? nil : UInt64(minimum) }
            do throws(XenAPIError) {
                if let domid = view.domid {
                    try toolstackCall { () throws(ToolstackError) in try toolstack.setMemoryTarget(domid: domid, mib: mib) }
                } else {
                    try redefine(view) { $0.memory_dynamic_max = UInt64(maximum) }
                }
            } catch {
                try? extras.update(view.uuid) { $0 = old }
                throw error
            }
            return .str("")
        }
        for name in ["VM.set_memory_target_live", "VM.set_memory_dynamic_max_live"] {
            register(name, ["self", "target"], changes: true) { [self] call throws(XenAPIError) in
                let target = try call.args.int(1, "target")
                let view = try vm(call, in: ["Running", "Paused"])
                let mib = try Self.mib(target, "target")
                try toolstackCall { () throws(ToolstackError) in try toolstack.setMemoryTarget(domid: view.domid!, mib: mib) }
                return .str("")
            }
        }
    }

    /// Changes a halted managed VM's definition: forgotten and defined
    /// again, the old one put back if the new one is refused. Lock held.
    func redefine(_ view: VMView, _ change: (inout DomainConfiguration) -> Void) throws(XenAPIError) {
        guard view.managed, var config = view.config else { throw .notAllowed("VM \(view.name) is not defined") }
        let old = config
        change(&config)
        if config.memory_dynamic_max > config.memory_static_max {
            throw .memoryConstraint("dynamic_max must be at most static_max (\(config.memory_static_max) bytes)")
        }
        _ = try toolstackCall { () throws(ToolstackError) in try toolstack.undefine(named: old.name_label) }
        do {
            _ = try toolstack.define(config)
        } catch {
            _ = try? toolstack.define(old)
            throw .toolstack(error)
        }
    }
}

// MARK: creating VMs

extension XenAPISurface {
    /// XAPI's action names back to xl's.
    static func action(_ name: String) -> DomainAction? {
        switch name {
        case "destroy": .destroy
        case "restart": .restart
        case "rename_restart", "rename-restart": .renameRestart
        case "preserve": .preserve
        case "coredump_and_destroy", "coredump-destroy": .coredumpDestroy
        case "coredump_and_restart", "coredump-restart": .coredumpRestart
        case "soft_reboot", "soft-reset": .softReset
        default: nil
        }
    }

    /// A VM defined from a XenAPI VM record, as xend's VM.create made one.
    /// Taken: name_label, the memory sizes, VCPUs, the actions, the PV_*
    /// boot fields, domain_type (or an HVM_boot_policy) and platform, and
    /// (kept apart, ``VMExtras``) other_config and memory_dynamic_min; a
    /// field of the wrong type is refused.
    static func configuration(fromRecord record: [String: XenAPIValue]) throws(XenAPIError)
        -> (config: DomainConfiguration, extras: VMExtras.Entry) {
        func string(_ key: String) throws(XenAPIError) -> String? {
            guard let value = record[key] else { return nil }
            guard case .string(let s) = value else { throw .fieldType(key) }
            return s
        }
        func int(_ key: String) throws(XenAPIError) -> Int64? {
            switch record[key] {
            case nil: return nil
            case .int(let i)?: return i
            case .string(let s)?: if let i = Int64(s) { return i }
            default: break
            }
            throw .fieldType(key)
        }
        guard let name = try string("name_label"), !name.isEmpty else { throw XenAPIError("FIELD_TYPE_ERROR", ["name_label"]) }
        var config = DomainConfiguration(name_label: name, uuid: .random())
        if let max = try int("memory_static_max") { config.memory_static_max = UInt64(clamping: max) }
        config.memory_dynamic_max = try int("memory_dynamic_max").map { UInt64(clamping: $0) } ?? config.memory_static_max
        if try int("memory_static_max") == nil { config.memory_static_max = config.memory_dynamic_max }
        if let v = try int("VCPUs_max") { config.VCPUs_max = Int(clamping: v) }
        config.VCPUs_at_startup = try int("VCPUs_at_startup").map { Int(clamping: $0) } ?? config.VCPUs_max
        for (key, path) in [("actions_after_shutdown", \DomainConfiguration.actions_after_shutdown),
                            ("actions_after_reboot", \.actions_after_reboot), ("actions_after_crash", \.actions_after_crash)] {
            if let name = try string(key) {
                guard let action = action(name) else { throw .fieldType(key) }
                config[keyPath: path] = action
            }
        }
        func nonEmpty(_ key: String) throws(XenAPIError) -> String? { try string(key).flatMap { $0.isEmpty ? nil : $0 } }
        config.PV_kernel = try nonEmpty("PV_kernel")
        config.PV_ramdisk = try nonEmpty("PV_ramdisk")
        config.PV_args = try nonEmpty("PV_args")
        config.PV_bootloader = try nonEmpty("PV_bootloader")
        if let type = try nonEmpty("domain_type") {
            guard let t = DomainType(rawValue: type) else { throw .fieldType("domain_type") }
            config.type = t
        } else if try nonEmpty("HVM_boot_policy") != nil {
            config.type = .hvm
        }
        var extras = VMExtras.Entry()
        if let other = record["other_config"] {
            guard case .struct(let map) = other else { throw .fieldType("other_config") }
            for (key, value) in map {
                guard case .string(let s) = value else { throw .fieldType("other_config") }
                extras.otherConfig[key] = s
            }
        }
        if let min = try int("memory_dynamic_min") {
            guard min >= 0, UInt64(min) <= config.memory_dynamic_max else {
                throw .memoryConstraint("memory_dynamic_min (\(min) bytes) must be between 0 (static_min) and memory_dynamic_max (\(config.memory_dynamic_max) bytes)")
            }
            if UInt64(min) < config.memory_dynamic_max { extras.dynamicMin = UInt64(min) }
        }
        if case .struct(let platform)? = record["platform"] {
            for (key, value) in platform {
                guard case .string(let s) = value else { throw .fieldType("platform") }
                config.platform[key] = s
            }
        } else if record["platform"] != nil {
            throw .fieldType("platform")
        }
        return (config, extras)
    }

    /// Paths a client names must be absolute: the server's working
    /// directory means nothing to it.
    static func checkAbsolutePaths(_ config: DomainConfiguration) throws(XenAPIError) {
        let paths = [config.PV_kernel, config.PV_ramdisk].compactMap { $0 } + config.disks.compactMap(\.target)
        for path in paths where !path.hasPrefix("/") {
            throw .notAllowed("\(path): paths must be absolute")
        }
    }

    /// Defines `config` and, if asked, starts it; a start that fails
    /// forgets the definition again. Lock held. Gives the VM's reference.
    func defineAndStart(_ config: DomainConfiguration, start: Bool, paused: Bool) throws(XenAPIError) -> String {
        try Self.checkAbsolutePaths(config)
        try checkKeys(config)
        let defined = try toolstackCall { () throws(ToolstackError) in try toolstack.define(config) }
        if start {
            do {
                _ = try toolstack.start(named: defined.name_label, paused: paused)
            } catch {
                _ = try? toolstack.undefine(named: defined.name_label)
                throw .toolstack(error)
            }
            host.ensureWatcher()
        }
        return ObjectIDs.ref("VM", defined.uuid.description)
    }

    func registerCreate() {
        register("VM.create", ["args"], changes: true) { [self] call throws(XenAPIError) in
            let (config, extra) = try Self.configuration(fromRecord: try call.args.map(0, "args"))
            let ref = try defineAndStart(config, start: false, paused: false)
            do throws(XenAPIError) {
                if !extra.isEmpty { try extras.update(config.uuid.description) { $0 = extra } }
            } catch {
                _ = try? toolstack.undefine(named: config.name_label)
                throw error
            }
            return .str(ref)
        }
        // swxl's extension through XAPI's generic plugin call:
        // host.call_plugin(host, "swxl", "create", {config: xl text, start: "true", paused: "true"}).
        register("host.call_plugin", ["host", "plugin", "fn", "args"], changes: true) { [self] call throws(XenAPIError) in
            try checkHost(call)
            let plugin = try call.args.string(1, "plugin"), fn = try call.args.string(2, "fn")
            let args = try call.args.stringMap(3, "args")
            guard plugin == "swxl" else { throw XenAPIError("XENAPI_MISSING_PLUGIN", [plugin]) }
            guard fn == "create" else { throw XenAPIError("XENAPI_PLUGIN_FAILURE", [fn, "", "swxl: unknown function \(fn) (swxl has: create)"]) }
            let known: Set<String> = ["config", "start", "paused"]
            if let unknown = args.keys.sorted().first(where: { !known.contains($0) }) {
                throw XenAPIError("XENAPI_PLUGIN_FAILURE", [fn, "", "swxl create: unknown argument \(unknown) (known: config, start, paused)"])
            }
            guard let text = args["config"] else {
                throw XenAPIError("XENAPI_PLUGIN_FAILURE", [fn, "", "swxl create: no config (the xl config text) given"])
            }
            func flag(_ key: String) throws(XenAPIError) -> Bool {
                switch args[key] {
                case nil, "false"?, "False"?, "0"?: return false
                case "true"?, "True"?, "1"?: return true
                case let other?: throw XenAPIError("XENAPI_PLUGIN_FAILURE", [fn, "", "swxl create: \(key) must be true or false, not \(other)"])
                }
            }
            let start = try flag("start"), paused = try flag("paused")
            let result = DomainConfiguration.parse(text: text, fileName: "config", format: .auto,
                                                   options: ParseOptions(fileExists: { FileIO.exists($0) }))
            // Strict where `swxl create` warns: a client sees no warnings,
            // so what would be ignored is refused.
            let ignored = result.configuration.map { ConfigKeyStatus.problems($0, on: host.kind).ignored } ?? []
            guard let config = result.configuration, result.diagnostics.isEmpty, ignored.isEmpty else {
                let lines = result.diagnostics.map(\.description) + ignored.map { "config: warning: \($0)" }
                throw XenAPIError("XENAPI_PLUGIN_FAILURE", [fn, "", lines.joined(separator: "\n")])
            }
            return .str(try defineAndStart(config, start: start, paused: paused))
        }
    }
}
