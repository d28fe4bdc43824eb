import Toolstack

/// The one host and its pool of one, and the host's metrics: memory and
/// CPUs as the hypervisor reports them (`xl info`'s figures).
extension XenAPISurface {
    /// The API version swxl speaks: XAPI's datamodel 2.21, a subset of it (docs/api.md).
    static let apiVersion = (major: 2, minor: 21)

    static let hostFields = [
        "uuid", "name_label", "name_description", "memory_overhead", "allowed_operations", "current_operations",
        "API_version_major", "API_version_minor", "API_version_vendor", "API_version_vendor_implementation",
        "enabled", "software_version", "other_config", "capabilities", "cpu_configuration", "sched_policy",
        "supported_bootloaders", "resident_VMs", "logging", "PIFs", "suspend_image_sr", "crash_dump_sr",
        "crashdumps", "patches", "updates", "PBDs", "host_CPUs", "cpu_info", "hostname", "address", "metrics",
        "license_params", "ha_statefiles", "ha_network_peers", "blobs", "tags", "external_auth_type",
        "external_auth_service_name", "external_auth_configuration", "edition", "license_server", "bios_strings",
        "power_on_mode", "power_on_config", "local_cache_sr", "chipset_info", "PCIs", "PGPUs", "PUSBs",
        "ssl_legacy", "guest_VCPUs_params", "display", "virtual_hardware_platform_versions", "control_domain",
        "updates_requiring_reboot", "features", "iscsi_iqn", "multipathing", "uefi_certificates", "certificates",
        "editions", "pending_guidances", "tls_verification_enabled", "https_only",
    ]

    static let poolFields = [
        "uuid", "name_label", "name_description", "master", "default_SR", "suspend_image_SR", "crash_dump_SR",
        "other_config", "ha_enabled", "ha_configuration", "ha_statefiles", "ha_host_failures_to_tolerate",
        "ha_plan_exists_for", "ha_allow_overcommit", "ha_overcommitted", "blobs", "tags", "gui_config",
        "health_check_config", "wlb_url", "wlb_username", "wlb_enabled", "wlb_verify_cert", "redo_log_enabled",
        "redo_log_vdi", "vswitch_controller", "restrictions", "metadata_VDIs", "ha_cluster_stack",
        "allowed_operations", "current_operations", "guest_agent_config", "cpu_info", "policy_no_vendor_device",
        "live_patching_disabled", "igmp_snooping_enabled", "uefi_certificates", "is_psr_pending",
        "tls_verification_enabled", "repositories", "client_certificate_auth_enabled",
        "client_certificate_auth_name", "migration_compression", "coordinator_bias",
    ]

    static let hostMetricsFields = ["uuid", "memory_total", "memory_free", "live", "last_updated", "other_config"]

    var hostMetricsUUID: String { ObjectIDs.derivedUUID("host_metrics/" + hostUUID) }
    var srUUID: String { ObjectIDs.derivedUUID("SR/" + hostUUID) }

    /// The hypervisor's version and host figures. Lock held.
    func hypervisorFacts() throws(XenAPIError) -> (version: HypervisorVersion, phys: PhysInfo) {
        do { return (try toolstack.hypervisor.version(), try toolstack.hypervisor.physInfo()) } catch {
            throw .internalError(error.description)
        }
    }

    func softwareVersion(_ version: HypervisorVersion) -> [String: String] {
        let node = HostInfo.Node.current
        return [
            "product_brand": "swxl", "product_version": productVersion, "platform_name": "swxl",
            "platform_version": productVersion, "xen": "\(version.major).\(version.minor)\(version.extra)",
            "hostname": node.host, "linux": node.release, "xapi": "\(Self.apiVersion.major).\(Self.apiVersion.minor)",
            "host_kind": host.kind == .xen ? "xen" : "embedded",
        ]
    }

    func cpuInfo(_ phys: PhysInfo) -> [String: String] {
        let perSocket = max(phys.threadsPerCore * phys.coresPerSocket, 1)
        return [
            "cpu_count": "\(phys.cpus)", "socket_count": "\(max(phys.cpus / perSocket, 1))",
            "threads_per_core": "\(phys.threadsPerCore)", "cores_per_socket": "\(phys.coresPerSocket)",
            "speed": "\(phys.cpuKHz / 1000).\(String(phys.cpuKHz % 1000 + 1000).dropFirst())",
        ]
    }

    /// Lock held.
    func hostRecord() throws(XenAPIError) -> [String: XenAPIValue] {
        let (version, phys) = try hypervisorFacts()
        let views = try vmViews()
        let node = HostInfo.Node.current
        return [
            "uuid": .str(hostUUID), "name_label": .str(node.host), "name_description": .str(""),
            "memory_overhead": .num(0), "allowed_operations": .emptyList, "current_operations": .emptyMap,
            "API_version_major": .num(Self.apiVersion.major), "API_version_minor": .num(Self.apiVersion.minor),
            "API_version_vendor": .str("swxl"), "API_version_vendor_implementation": .emptyMap,
            "enabled": .bool(true), "software_version": .stringMap(softwareVersion(version)),
            "other_config": .emptyMap,
            "capabilities": .strings(version.capabilities.split(separator: " ").map(String.init)),
            "cpu_configuration": .emptyMap, "sched_policy": .str(phys.scheduler), "supported_bootloaders": .emptyList,
            "resident_VMs": .strings(views.filter { $0.info != nil }.map(\.ref)), "logging": .emptyMap,
            "PIFs": .emptyList, "suspend_image_sr": .nullRef, "crash_dump_sr": .nullRef, "crashdumps": .emptyList,
            "patches": .emptyList, "updates": .emptyList, "PBDs": .emptyList, "host_CPUs": .emptyList,
            "cpu_info": .stringMap(cpuInfo(phys)), "hostname": .str(node.host), "address": .str(""),
            "metrics": .str(ObjectIDs.ref("host_metrics", hostMetricsUUID)), "license_params": .emptyMap,
            "ha_statefiles": .emptyList, "ha_network_peers": .emptyList, "blobs": .emptyMap, "tags": .emptyList,
            "external_auth_type": .str(""), "external_auth_service_name": .str(""),
            "external_auth_configuration": .emptyMap, "edition": .str(""), "license_server": .emptyMap,
            "bios_strings": .emptyMap, "power_on_mode": .str(""), "power_on_config": .emptyMap,
            "local_cache_sr": .nullRef, "chipset_info": .emptyMap, "PCIs": .emptyList, "PGPUs": .emptyList,
            "PUSBs": .emptyList, "ssl_legacy": .bool(false), "guest_VCPUs_params": .emptyMap,
            "display": .str("enabled"), "virtual_hardware_platform_versions": .array([.num(0)]),
            "control_domain": .str(views.first { $0.isControlDomain }?.ref ?? ObjectIDs.null),
            "updates_requiring_reboot": .emptyList, "features": .emptyList, "iscsi_iqn": .str(""),
            "multipathing": .bool(false), "uefi_certificates": .str(""), "certificates": .emptyList,
            "editions": .emptyList, "pending_guidances": .emptyList, "tls_verification_enabled": .bool(false),
            "https_only": .bool(false),
        ]
    }

    func poolRecord() -> [String: XenAPIValue] {
        [
            "uuid": .str(poolUUID), "name_label": .str(""), "name_description": .str(""), "master": .str(hostRef),
            "default_SR": .str(ObjectIDs.ref("SR", srUUID)), "suspend_image_SR": .str(ObjectIDs.ref("SR", srUUID)),
            "crash_dump_SR": .nullRef, "other_config": .emptyMap, "ha_enabled": .bool(false),
            "ha_configuration": .emptyMap, "ha_statefiles": .emptyList, "ha_host_failures_to_tolerate": .num(0),
            "ha_plan_exists_for": .num(0), "ha_allow_overcommit": .bool(false), "ha_overcommitted": .bool(false),
            "blobs": .emptyMap, "tags": .emptyList, "gui_config": .emptyMap, "health_check_config": .emptyMap,
            "wlb_url": .str(""), "wlb_username": .str(""), "wlb_enabled": .bool(false), "wlb_verify_cert": .bool(false),
            "redo_log_enabled": .bool(false), "redo_log_vdi": .nullRef, "vswitch_controller": .str(""),
            "restrictions": .emptyMap, "metadata_VDIs": .emptyList, "ha_cluster_stack": .str(""),
            "allowed_operations": .emptyList, "current_operations": .emptyMap, "guest_agent_config": .emptyMap,
            "cpu_info": .emptyMap, "policy_no_vendor_device": .bool(false), "live_patching_disabled": .bool(false),
            "igmp_snooping_enabled": .bool(false), "uefi_certificates": .str(""), "is_psr_pending": .bool(false),
            "tls_verification_enabled": .bool(false), "repositories": .emptyList,
            "client_certificate_auth_enabled": .bool(false), "client_certificate_auth_name": .str(""),
            "migration_compression": .bool(false), "coordinator_bias": .bool(true),
        ]
    }

    /// Lock held.
    func hostMetricsRecord() throws(XenAPIError) -> [String: XenAPIValue] {
        let phys = try hypervisorFacts().phys
        return [
            "uuid": .str(hostMetricsUUID), "memory_total": .num(phys.totalKiB << 10),
            "memory_free": .num(phys.freeKiB << 10), "live": .bool(true), "last_updated": XenAPIDate.now(),
            "other_config": .emptyMap,
        ]
    }

    func registerHostAndPool() {
        registerClass(ClassSpec(name: "host", fields: Self.hostFields, all: { [self] () throws(XenAPIError) in
            [(hostRef, try hostRecord())]
        }, one: { [self] ref throws(XenAPIError) in ref == hostRef ? try hostRecord() : nil }))
        registerClass(ClassSpec(name: "pool", fields: Self.poolFields, all: { [self] () throws(XenAPIError) in
            [(poolRef, poolRecord())]
        }, one: { [self] ref throws(XenAPIError) in ref == poolRef ? poolRecord() : nil }))
        let metricsRef = ObjectIDs.ref("host_metrics", hostMetricsUUID)
        registerClass(ClassSpec(name: "host_metrics", fields: Self.hostMetricsFields, all: { [self] () throws(XenAPIError) in
            [(metricsRef, try hostMetricsRecord())]
        }, one: { [self] ref throws(XenAPIError) in ref == metricsRef ? try hostMetricsRecord() : nil }))

        // XAPI's own names for the host's software and API version.
        register("host.get_software_version", ["host"]) { [self] call throws(XenAPIError) in
            try checkHost(call)
            return .stringMap(softwareVersion(try hypervisorFacts().version))
        }
        register("host.get_API_version_major", ["host"]) { [self] call throws(XenAPIError) in
            try checkHost(call)
            return .num(Self.apiVersion.major)
        }
        register("host.get_API_version_minor", ["host"]) { [self] call throws(XenAPIError) in
            try checkHost(call)
            return .num(Self.apiVersion.minor)
        }
        register("host.get_servertime", ["host"]) { [self] call throws(XenAPIError) in
            try checkHost(call)
            return XenAPIDate.now()
        }
        register("host.compute_free_memory", ["host"]) { [self] call throws(XenAPIError) in
            try checkHost(call)
            return .num(try hypervisorFacts().phys.freeKiB << 10)
        }
    }

    func checkHost(_ call: Call) throws(XenAPIError) {
        let ref = try call.args.string(0, "host")
        guard ref == hostRef else { throw .handleInvalid("host", ref) }
    }
}
