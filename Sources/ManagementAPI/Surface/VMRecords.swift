import DomainConfig
import Toolstack

/// VM records, from the one domain model (its field names are XenAPI's, as
/// xend's XendConfig named them) and, for a running domain, the hypervisor
/// and xenstore.
extension XenAPISurface {
    static let vmFields = [
        "uuid", "allowed_operations", "current_operations", "name_label", "name_description", "power_state",
        "user_version", "is_a_template", "is_default_template", "suspend_VDI", "resident_on",
        "scheduled_to_be_resident_on", "affinity", "memory_overhead", "memory_target", "memory_static_max",
        "memory_dynamic_max", "memory_dynamic_min", "memory_static_min", "VCPUs_params", "VCPUs_max",
        "VCPUs_at_startup", "actions_after_shutdown", "actions_after_reboot", "actions_after_crash", "consoles",
        "VIFs", "VBDs", "VUSBs", "crash_dumps", "VTPMs", "PV_bootloader", "PV_kernel", "PV_ramdisk", "PV_args",
        "PV_bootloader_args", "PV_legacy_args", "HVM_boot_policy", "HVM_boot_params", "HVM_shadow_multiplier",
        "platform", "PCI_bus", "other_config", "domid", "domarch", "last_boot_CPU_flags", "is_control_domain",
        "metrics", "guest_metrics", "last_booted_record", "recommendations", "xenstore_data", "ha_always_run",
        "ha_restart_priority", "is_a_snapshot", "snapshot_of", "snapshots", "snapshot_time",
        "transportable_snapshot_id", "blobs", "tags", "blocked_operations", "snapshot_info", "snapshot_metadata",
        "parent", "children", "bios_strings", "protection_policy", "is_snapshot_from_vmpp", "snapshot_schedule",
        "is_vmss_snapshot", "appliance", "start_delay", "shutdown_delay", "order", "VGPUs", "attached_PCIs",
        "suspend_SR", "version", "generation_id", "hardware_platform_version", "has_vendor_device",
        "requires_reboot", "reference_label", "domain_type", "NVRAM", "pending_guidances",
    ]

    /// What the VM's power state allows, in XAPI's operation names.
    static func allowedOperations(_ view: VMView) -> [String] {
        if view.isControlDomain { return [] }
        switch view.powerState {
        case "Halted": return view.managed ? ["start", "destroy", "changing_dynamic_range"] : []
        // Only a defined VM can be suspended (VM.suspend).
        case "Running":
            return ["clean_shutdown", "clean_reboot", "hard_shutdown", "hard_reboot", "pause"]
                + (view.managed ? ["suspend"] : []) + ["changing_dynamic_range", "changing_memory_live"]
        case "Paused":
            return ["unpause", "hard_shutdown", "hard_reboot"] + (view.managed ? ["suspend"] : [])
                + ["changing_dynamic_range", "changing_memory_live"]
        case "Suspended": return view.info == nil ? ["resume", "hard_shutdown"] : ["hard_shutdown"]
        default: return ["hard_shutdown"]
        }
    }

    /// xl's on_* actions in XAPI's words (`rename-restart` → `rename_restart`,
    /// `coredump-destroy` → `coredump_and_destroy`); XAPI's shutdown and
    /// reboot fields know only destroy and restart, and swxl shows the
    /// others there in the crash field's words.
    static func actionName(_ action: DomainAction) -> String {
        switch action {
        case .destroy: "destroy"
        case .restart: "restart"
        case .renameRestart: "rename_restart"
        case .preserve: "preserve"
        case .coredumpDestroy: "coredump_and_destroy"
        case .coredumpRestart: "coredump_and_restart"
        case .softReset: "soft_reboot"
        }
    }

    func vmRecord(_ view: VMView) -> [String: XenAPIValue] {
        let config = view.config
        let running = view.info != nil
        let bytes = { (kib: UInt64?) in kib.map { $0 << 10 } }
        // The balloon target: xenstore's while running, else the definition's.
        let target = bytes(view.targetKiB) ?? config?.memory_dynamic_max ?? ((view.info?.currentMemoryKiB ?? 0) << 10)
        let staticMax = bytes(view.staticMaxKiB) ?? config?.memory_static_max ?? ((view.info?.maxMemoryKiB ?? 0) << 10)
        let type = config?.type ?? .pv
        let devices = deviceViews(view)
        let extra = extras.entry(view.uuid)
        var platform = config?.platform ?? [:]
        for (key, list) in config?.platformLists ?? [:] { platform[key] = list.joined(separator: ",") }
        return [
            "uuid": .str(view.uuid),
            "allowed_operations": .strings(Self.allowedOperations(view)),
            "current_operations": .emptyMap,
            "name_label": .str(view.name),
            "name_description": .str(""),
            "power_state": .str(view.powerState),
            "user_version": .num(1),
            "is_a_template": .bool(false),
            "is_default_template": .bool(false),
            "suspend_VDI": .nullRef,  // the image is a file of swxl's, not a VDI
            "resident_on": running ? .str(hostRef) : .nullRef,
            "scheduled_to_be_resident_on": .nullRef,
            "affinity": .nullRef,
            "memory_overhead": .num(0),
            "memory_target": .num(target),
            "memory_static_max": .num(staticMax),
            // One balloon target, the range's upper end; its lower end as
            // VM.set_memory_dynamic_range kept it (never above the target).
            "memory_dynamic_max": .num(target),
            "memory_dynamic_min": .num(min(extra.dynamicMin ?? target, target)),
            // xend's default: xl has no lower bound.
            "memory_static_min": .num(0),
            "VCPUs_params": .emptyMap,
            "VCPUs_max": .num(config?.VCPUs_max ?? Int(view.info?.maxVCPUs ?? 1)),
            "VCPUs_at_startup": .num(config?.VCPUs_at_startup ?? Int(view.info?.onlineVCPUs ?? 1)),
            "actions_after_shutdown": .str(Self.actionName(config?.actions_after_shutdown ?? .destroy)),
            "actions_after_reboot": .str(Self.actionName(config?.actions_after_reboot ?? .restart)),
            "actions_after_crash": .str(Self.actionName(config?.actions_after_crash ?? .destroy)),
            "consoles": .strings(devices.consoles.map(\.ref)),
            "VIFs": .strings(devices.vifs.map(\.ref)),
            "VBDs": .strings(devices.vbds.map(\.ref)),
            "VUSBs": .emptyList, "crash_dumps": .emptyList, "VTPMs": .emptyList,
            "PV_bootloader": .str(config?.PV_bootloader ?? ""),
            "PV_kernel": .str(config?.PV_kernel ?? ""),
            "PV_ramdisk": .str(config?.PV_ramdisk ?? ""),
            "PV_args": .str(config?.PV_args ?? ""),
            "PV_bootloader_args": .str(config?.PV_bootloader_args.joined(separator: " ") ?? ""),
            "PV_legacy_args": .str(""),
            "HVM_boot_policy": .str(type == .hvm ? "BIOS order" : ""),
            "HVM_boot_params": type == .hvm ? .stringMap(["order": config?.platform["boot"] ?? "cd"]) : .emptyMap,
            "HVM_shadow_multiplier": .double(1),
            "platform": .stringMap(platform),
            "PCI_bus": .str(""),
            "other_config": .stringMap(extra.otherConfig),
            "domid": .num(view.domid.map { Int64($0) } ?? -1),
            "domarch": .str(""),
            "last_boot_CPU_flags": .emptyMap,
            "is_control_domain": .bool(view.isControlDomain),
            "metrics": .str(ObjectIDs.ref("VM_metrics", Self.metricsUUID(view.uuid))),
            "guest_metrics": running && !view.isControlDomain
                ? .str(ObjectIDs.ref("VM_guest_metrics", Self.guestMetricsUUID(view.uuid))) : .nullRef,
            "last_booted_record": .str(""),
            "recommendations": .str(""),
            "xenstore_data": .emptyMap,
            "ha_always_run": .bool(false),
            "ha_restart_priority": .str(""),
            "is_a_snapshot": .bool(false),
            "snapshot_of": .nullRef,
            "snapshots": .emptyList,
            "snapshot_time": .epoch,
            "transportable_snapshot_id": .str(""),
            "blobs": .emptyMap,
            "tags": .emptyList,
            "blocked_operations": .emptyMap,
            "snapshot_info": .emptyMap,
            "snapshot_metadata": .str(""),
            "parent": .nullRef,
            "children": .emptyList,
            "bios_strings": .emptyMap,
            "protection_policy": .nullRef,
            "is_snapshot_from_vmpp": .bool(false),
            "snapshot_schedule": .nullRef,
            "is_vmss_snapshot": .bool(false),
            "appliance": .nullRef,
            "start_delay": .num(0), "shutdown_delay": .num(0), "order": .num(0),
            "VGPUs": .emptyList, "attached_PCIs": .emptyList,
            "suspend_SR": .nullRef,
            "version": .num(0),
            "generation_id": .str(""),
            "hardware_platform_version": .num(0),
            "has_vendor_device": .bool(false),
            "requires_reboot": .bool(false),
            "reference_label": .str(""),
            "domain_type": .str(type.rawValue),
            "NVRAM": .emptyMap,
            "pending_guidances": .emptyList,
        ]
    }

    static func metricsUUID(_ vm: String) -> String { ObjectIDs.derivedUUID("VM_metrics/" + vm) }
    static func guestMetricsUUID(_ vm: String) -> String { ObjectIDs.derivedUUID("VM_guest_metrics/" + vm) }

    func registerVM() {
        registerClass(ClassSpec(name: "VM", fields: Self.vmFields, all: { [self] () throws(XenAPIError) in
            try vmViews(memoryOnly: true).map { ($0.ref, vmRecord($0)) }
        }, one: { [self] ref throws(XenAPIError) in
            var uuid = vmRefs.withLock { $0[ref] }
            if uuid == nil { uuid = try vmViews().first { $0.ref == ref }?.uuid }
            guard let uuid, let view = try vmView(uuid: uuid) else { return nil }
            return vmRecord(view)
        }))
        // Without every record.
        register("VM.get_by_uuid", ["uuid"]) { [self] call throws(XenAPIError) in
            let uuid = try call.args.string(0, "uuid")
            guard let view = try vmView(uuid: uuid) else { throw .uuidInvalid("VM", uuid) }
            return .str(view.ref)
        }
        register("VM.get_by_name_label", ["label"]) { [self] call throws(XenAPIError) in
            let label = try call.args.string(0, "label")
            return .strings(try vmViews().filter { $0.name == label }.map(\.ref))
        }
        register("VM.get_all", []) { [self] _ throws(XenAPIError) in .strings(try vmViews().map(\.ref)) }
        registerOtherConfig()
    }

    /// other_config's setters, as XAPI's for a map field (any VM, Domain-0 too).
    private func registerOtherConfig() {
        register("VM.set_other_config", ["self", "value"], changes: true) { [self] call throws(XenAPIError) in
            let view = try vmView(try call.args.string(0, "self"))
            let value = try call.args.stringMap(1, "value")
            try extras.update(view.uuid) { $0.otherConfig = value }
            return .str("")
        }
        register("VM.add_to_other_config", ["self", "key", "value"], changes: true) { [self] call throws(XenAPIError) in
            let ref = try call.args.string(0, "self")
            let view = try vmView(ref)
            let key = try call.args.string(1, "key"), value = try call.args.string(2, "value")
            try extras.update(view.uuid) { (entry) throws(XenAPIError) in
                guard entry.otherConfig[key] == nil else { throw XenAPIError("MAP_DUPLICATE_KEY", ["VM", "other_config", ref, key]) }
                entry.otherConfig[key] = value
            }
            return .str("")
        }
        // (A key that is not there is no error, as in XAPI.)
        register("VM.remove_from_other_config", ["self", "key"], changes: true) { [self] call throws(XenAPIError) in
            let view = try vmView(try call.args.string(0, "self"))
            let key = try call.args.string(1, "key")
            try extras.update(view.uuid) { $0.otherConfig[key] = nil }
            return .str("")
        }
    }
}
