import DomainConfig
import Foundation
@testable import ManagementAPI
import Testing
import Toolstack

@Suite(.serialized) struct SurfaceVMTests {
    /// The record XAPI's client would see for a running PV domain made from
    /// `config`, written out here field by field.
    static func expectedRecord(_ rig: SurfaceRig, _ config: DomainConfiguration, domid: UInt32, power: String,
                               target: UInt64, vbds: [String], vifs: [String], consoles: [String],
                               allowed: [String]) -> [String: XenAPIValue] {
        let uuid = config.uuid.description
        var r: [String: XenAPIValue] = [:]
        for f in ["current_operations", "HVM_boot_params", "VCPUs_params", "other_config", "last_boot_CPU_flags",
                  "xenstore_data", "blobs", "blocked_operations", "snapshot_info", "bios_strings", "NVRAM"] { r[f] = .struct([:]) }
        for f in ["VUSBs", "crash_dumps", "VTPMs", "snapshots", "tags", "children", "VGPUs", "attached_PCIs",
                  "pending_guidances"] { r[f] = .array([]) }
        for f in ["suspend_VDI", "scheduled_to_be_resident_on", "affinity", "snapshot_of", "parent", "protection_policy",
                  "snapshot_schedule", "appliance", "suspend_SR"] { r[f] = .string("OpaqueRef:NULL") }
        for f in ["name_description", "PV_bootloader", "PV_ramdisk", "PV_args", "PV_bootloader_args", "PV_legacy_args",
                  "HVM_boot_policy", "PCI_bus", "domarch", "last_booted_record", "recommendations", "ha_restart_priority",
                  "transportable_snapshot_id", "snapshot_metadata", "generation_id", "reference_label"] { r[f] = .string("") }
        for f in ["is_a_template", "is_default_template", "is_control_domain", "ha_always_run", "is_a_snapshot",
                  "is_snapshot_from_vmpp", "is_vmss_snapshot", "has_vendor_device", "requires_reboot"] { r[f] = .bool(false) }
        for f in ["memory_overhead", "start_delay", "shutdown_delay", "order", "version", "hardware_platform_version",
                  "memory_static_min"] { r[f] = .string("0") }
        r["uuid"] = .string(uuid)
        r["name_label"] = .string(config.name_label)
        r["power_state"] = .string(power)
        r["user_version"] = .string("1")
        r["allowed_operations"] = .array(allowed.map { .string($0) })
        r["resident_on"] = .string(rig.surface.hostRef)
        r["memory_target"] = .string("\(target)")
        r["memory_dynamic_max"] = .string("\(target)")
        r["memory_dynamic_min"] = .string("\(target)")
        r["memory_static_max"] = .string("\(config.memory_static_max)")
        r["VCPUs_max"] = .string("\(config.VCPUs_max)")
        r["VCPUs_at_startup"] = .string("\(config.VCPUs_at_startup)")
        r["actions_after_shutdown"] = .string("destroy")
        r["actions_after_reboot"] = .string("restart")
        r["actions_after_crash"] = .string("destroy")
        r["VBDs"] = .array(vbds.map { .string($0) })
        r["VIFs"] = .array(vifs.map { .string($0) })
        r["consoles"] = .array(consoles.map { .string($0) })
        r["PV_kernel"] = .string(tinyKernel)
        r["HVM_shadow_multiplier"] = .double(1)
        r["platform"] = .struct(config.platform.mapValues { .string($0) })
        r["domid"] = .string("\(domid)")
        r["metrics"] = .string(ObjectIDs.ref("VM_metrics", ObjectIDs.derivedUUID("VM_metrics/" + uuid)))
        r["guest_metrics"] = .string(ObjectIDs.ref("VM_guest_metrics", ObjectIDs.derivedUUID("VM_guest_metrics/" + uuid)))
        r["snapshot_time"] = .dateTime("19700101T00:00:00Z")
        r["domain_type"] = .string("pv")
        return r
    }

    @Test func aRunningDomainsWholeRecordAndItsGetters() throws {
        let rig = try SurfaceRig()
        defer { rig.close() }
        var nic = NetworkInterface()
        nic.bridge = "br1"
        let config = rig.config("web", disks: [DiskDevice(target: try rig.image("web"), vdev: "xvda")], vifs: [nic])
        let domid = try rig.host.toolstack.create(config)
        let resolved = rig.host.toolstack.record(domid)!

        let refs = try rig.ok("VM.get_by_name_label", [.string("web")]).strings
        #expect(refs.count == 1)
        let vm = refs[0]
        #expect(try rig.ok("VM.get_by_uuid", [.string(config.uuid.description)]) == .string(vm))
        let record = try rig.ok("VM.get_record", [.string(vm)]).structValue
        let vbds = try rig.ok("VBD.get_all").strings, vifs = try rig.ok("VIF.get_all").strings
        let consoles = try rig.ok("console.get_all").strings
        #expect(vbds.count == 1 && vifs.count == 1 && consoles.count == 1)
        let expected = Self.expectedRecord(rig, resolved, domid: domid, power: "Running", target: 64 << 20,
            vbds: vbds, vifs: vifs, consoles: consoles,
            allowed: ["clean_shutdown", "clean_reboot", "hard_shutdown", "hard_reboot", "pause",
                      "changing_dynamic_range", "changing_memory_live"])
        #expect(record == expected)
        #expect(Set(record.keys) == Set(XenAPISurface.vmFields))
        // Every field has its getter, and it says what the record says.
        for field in XenAPISurface.vmFields where field != "allowed_operations" {
            #expect(try rig.ok("VM.get_" + field, [.string(vm)]) == record[field], "VM.get_\(field)")
        }
        // The reference is the VM's for good: the same from a fresh surface.
        let other = XenAPISurface(host: rig.host, watchStore: false)
        let login = other.callSynchronously("session.login_with_password", [.string("u"), .string("p")], context: SurfaceRig.unixContext)
        guard case .success(let session) = login else { Issue.record("login"); return }
        #expect(other.callSynchronously("VM.get_by_name_label", [session, .string("web")], context: SurfaceRig.unixContext)
                == .success(.array([.string(vm)])))
    }

    @Test func domain0IsListedAsTheControlDomainAndHaltedManagedDomainsFollow() throws {
        let rig = try SurfaceRig()
        defer { rig.close() }
        let defined = try rig.host.toolstack.define(rig.config("later", memoryMiB: 96))
        let running = try rig.host.toolstack.create(rig.config("now"))
        let all = try rig.ok("VM.get_all_records").structValue
        let byName = Dictionary(uniqueKeysWithValues: all.values.map { ($0.structValue["name_label"]!.stringValue, $0.structValue) })
        #expect(Set(byName.keys) == ["Domain-0", "now", "later"])
        #expect(try rig.ok("VM.get_all").strings.sorted() == all.keys.sorted())

        let dom0 = byName["Domain-0"]!
        #expect(dom0["is_control_domain"] == .bool(true))
        #expect(dom0["domid"] == .string("0"))
        #expect(dom0["power_state"] == .string("Running"))
        #expect(dom0["allowed_operations"] == .array([]))
        #expect(dom0["guest_metrics"] == .string("OpaqueRef:NULL"))

        #expect(byName["now"]!["domid"] == .string("\(running)"))
        #expect(byName["now"]!["is_control_domain"] == .bool(false))

        let later = byName["later"]!
        #expect(later["power_state"] == .string("Halted"))
        #expect(later["domid"] == .string("-1"))
        #expect(later["resident_on"] == .string("OpaqueRef:NULL"))
        #expect(later["uuid"] == .string(defined.uuid.description))
        #expect(later["memory_target"] == .string("\(96 << 20)"))
        #expect(later["allowed_operations"] == .array([.string("start"), .string("destroy"), .string("changing_dynamic_range")]))
        #expect(later["consoles"] == .array([]))
        #expect(later["guest_metrics"] == .string("OpaqueRef:NULL"))

        // The host lists the running ones as resident.
        let resident = try rig.ok("host.get_resident_VMs", [.string(rig.surface.hostRef)]).strings
        #expect(Set(resident) == Set(all.filter { $0.value.structValue["power_state"] != .string("Halted") }.keys))
    }

    @Test func otherConfigIsKeptForTheVMAndGoesWithIt() throws {
        let rig = try SurfaceRig()
        defer { rig.close() }
        let vm = try rig.ok("VM.create", [.struct([
            "name_label": .string("oc"), "PV_kernel": .string(tinyKernel), "memory_static_max": .string("\(64 << 20)"),
            "memory_dynamic_max": .string("\(64 << 20)"), "memory_dynamic_min": .string("\(32 << 20)"),
            "other_config": .struct(["owner": .string("ops"), "ticket": .string("42")]),
        ])]).stringValue
        func other() throws -> XenAPIValue { try rig.ok("VM.get_other_config", [.string(vm)]) }
        #expect(try other() == .struct(["owner": .string("ops"), "ticket": .string("42")]))
        #expect(try rig.ok("VM.get_memory_dynamic_min", [.string(vm)]) == .string("\(32 << 20)"))
        try rig.ok("VM.add_to_other_config", [.string(vm), .string("role"), .string("web")])
        #expect(rig.fails("VM.add_to_other_config", [.string(vm), .string("role"), .string("db")])
                == ["MAP_DUPLICATE_KEY", "VM", "other_config", vm, "role"])
        try rig.ok("VM.remove_from_other_config", [.string(vm), .string("ticket")])
        try rig.ok("VM.remove_from_other_config", [.string(vm), .string("absent")])
        let expected: XenAPIValue = .struct(["owner": .string("ops"), "role": .string("web")])
        #expect(try other() == expected)
        #expect(try rig.ok("VM.get_record", [.string(vm)]).structValue["other_config"] == expected)
        #expect(try rig.ok("VM.get_all_records").structValue[vm]?.structValue["other_config"] == expected)

        // Kept across a restart of the server, and when the VM runs.
        let again = XenAPISurface(host: rig.host, productVersion: "9.9.9", watchStore: false)
        defer { again.stop() }
        let login = again.callSynchronously("session.login_with_password", [.string("root"), .string("")], context: SurfaceRig.unixContext)
        guard case .success(let session) = login else { Issue.record("login: \(login)"); return }
        #expect(again.callSynchronously("VM.get_other_config", [session, .string(vm)], context: SurfaceRig.unixContext) == .success(expected))
        try rig.ok("VM.start", [.string(vm), .bool(false), .bool(false)])
        #expect(try other() == expected)
        try rig.ok("VM.set_other_config", [.string(vm), .struct(["only": .string("this")])])
        #expect(try other() == .struct(["only": .string("this")]))
        #expect(rig.fails("VM.set_other_config", [.string(vm), .struct(["n": .int(1)])]).first == "FIELD_TYPE_ERROR")

        // Forgotten with the VM: a VM defined again under the same name starts empty.
        try rig.ok("VM.hard_shutdown", [.string(vm)])
        try rig.ok("VM.destroy", [.string(vm)])
        let file = try String(contentsOfFile: rig.dir + "/xapi/vm-extras.json", encoding: .utf8)
        #expect(file == "{}\n")
        #expect(rig.fails("VM.get_other_config", [.string(vm)]) == ["HANDLE_INVALID", "VM", vm])
    }
}
