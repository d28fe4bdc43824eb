import DomainConfig
import Foundation
@testable import ManagementAPI
import Testing
import Toolstack

@Suite(.serialized) struct SurfaceLifecycleTests {
    static func xlText(_ name: String, script: String = "echo booted", extra: String = "") -> String {
        "name = \"\(name)\"\nkernel = \"\(tinyKernel)\"\nmemory = 64\nsim_guest_script = \"\(script)\"\n\(extra)"
    }

    func field(_ rig: SurfaceRig, _ vm: String, _ name: String) throws -> XenAPIValue {
        try rig.ok("VM.get_" + name, [.string(vm)])
    }

    @Test func aVMFromXlTextThroughTheWholeLifecycle() throws {
        let rig = try SurfaceRig()
        defer { rig.close() }
        let host = rig.surface.hostRef
        let text = Self.xlText("api1", script: "xenstore-write data/ip-address 10.0.0.5 attr/eth0/ip 10.0.0.5; echo booted; sleep 1000")
        let vm = try rig.ok("host.call_plugin", [.string(host), .string("swxl"), .string("create"),
                                                   .struct(["config": .string(text), "start": .string("true")])]).stringValue
        #expect(try field(rig, vm, "power_state") == .string("Running"))
        #expect(try field(rig, vm, "name_label") == .string("api1"))
        let domid = try field(rig, vm, "domid").stringValue
        #expect(domid != "-1")

        // What the guest wrote shows up in its guest metrics.
        let gm = try field(rig, vm, "guest_metrics").stringValue
        #expect(rig.waitUntil { ((try? rig.ok("VM_guest_metrics.get_other", [.string(gm)]))?.structValue["data/ip-address"]) == .string("10.0.0.5") })
        #expect(try rig.ok("VM_guest_metrics.get_networks", [.string(gm)]) == .struct(["0/ip": .string("10.0.0.5")]))

        try rig.ok("VM.pause", [.string(vm)])
        #expect(try field(rig, vm, "power_state") == .string("Paused"))
        #expect(rig.fails("VM.pause", [.string(vm)]) == ["VM_BAD_POWER_STATE", vm, "running", "paused"])
        try rig.ok("VM.unpause", [.string(vm)])
        #expect(try field(rig, vm, "power_state") == .string("Running"))

        // Memory: whole MiB, one target.
        try rig.ok("VM.set_memory_target_live", [.string(vm), .string("\(32 << 20)")])
        #expect(try field(rig, vm, "memory_target") == .string("\(32 << 20)"))
        #expect(rig.fails("VM.set_memory_target_live", [.string(vm), .string("1000")]).first == "MEMORY_CONSTRAINT_VIOLATION")
        // A range: the VM gets its upper end, its lower end is kept.
        try rig.ok("VM.set_memory_dynamic_range", [.string(vm), .string("\(16 << 20)"), .string("\(44 << 20)")])
        #expect(try field(rig, vm, "memory_target") == .string("\(44 << 20)"))
        #expect(try field(rig, vm, "memory_dynamic_min") == .string("\(16 << 20)"))
        #expect(try field(rig, vm, "memory_dynamic_max") == .string("\(44 << 20)"))
        #expect(rig.fails("VM.set_memory_dynamic_range", [.string(vm), .string("\(50 << 20)"), .string("\(48 << 20)")])
                == ["MEMORY_CONSTRAINT_VIOLATION", "dynamic_min (\(50 << 20) bytes) must be between 0 (static_min) and dynamic_max (\(48 << 20) bytes)"])
        #expect(rig.fails("VM.set_memory_dynamic_range", [.string(vm), .string("\(16 << 20)"), .string("\(128 << 20)")]).first
                == "OPERATION_NOT_ALLOWED")
        // Refused: nothing changed, the kept lower end neither.
        #expect(try field(rig, vm, "memory_dynamic_min") == .string("\(16 << 20)"))
        #expect(try field(rig, vm, "memory_target") == .string("\(44 << 20)"))
        try rig.ok("VM.set_memory_dynamic_max_live", [.string(vm), .int(48 << 20)])
        #expect(try field(rig, vm, "memory_dynamic_max") == .string("\(48 << 20)"))
        try rig.ok("VM.set_memory_dynamic_range", [.string(vm), .string("\(40 << 20)"), .string("\(40 << 20)")])
        #expect(try field(rig, vm, "memory_target") == .string("\(40 << 20)"))
        #expect(try field(rig, vm, "memory_dynamic_min") == .string("\(40 << 20)"))
        #expect(rig.fails("VM.set_memory_target_live", [.string(vm), .string("\(128 << 20)")]).first == "OPERATION_NOT_ALLOWED")
        #expect(try field(rig, vm, "memory_target") == .string("\(40 << 20)"))

        // Reboots give a new domain of the same VM.
        try rig.ok("VM.hard_reboot", [.string(vm)])
        let rebooted = try field(rig, vm, "domid").stringValue
        #expect(rebooted != domid && rebooted != "-1")
        #expect(try field(rig, vm, "power_state") == .string("Running"))
        try rig.ok("VM.clean_reboot", [.string(vm)])
        let again = try field(rig, vm, "domid").stringValue
        #expect(again != rebooted && again != "-1")

        // A clean shutdown halts it, defined; start runs it again.
        try rig.ok("VM.clean_shutdown", [.string(vm)])
        #expect(try field(rig, vm, "power_state") == .string("Halted"))
        #expect(try field(rig, vm, "domid") == .string("-1"))
        #expect(rig.fails("VM.clean_shutdown", [.string(vm)]) == ["VM_BAD_POWER_STATE", vm, "running", "halted"])
        try rig.ok("VM.start", [.string(vm), .bool(false), .bool(false)])
        #expect(try field(rig, vm, "power_state") == .string("Running"))
        #expect(rig.fails("VM.start", [.string(vm), .bool(false)]) == ["VM_BAD_POWER_STATE", vm, "halted", "running"])
        #expect(rig.fails("VM.destroy", [.string(vm)]) == ["VM_BAD_POWER_STATE", vm, "halted", "running"])
        try rig.ok("VM.hard_shutdown", [.string(vm)])
        #expect(try field(rig, vm, "power_state") == .string("Halted"))

        // Started paused with the two-flag form, then forgotten.
        try rig.ok("VM.start", [.string(vm), .string("true"), .string("false")])
        #expect(try field(rig, vm, "power_state") == .string("Paused"))
        try rig.ok("VM.hard_shutdown", [.string(vm)])
        try rig.ok("VM.destroy", [.string(vm)])
        #expect(rig.fails("VM.get_record", [.string(vm)]) == ["HANDLE_INVALID", "VM", vm])
        #expect(rig.host.toolstack.managedDomains().isEmpty)
    }

    @Test func aBadConfigOrAFailedStartLeavesNothingDefined() throws {
        let rig = try SurfaceRig()
        defer { rig.close() }
        let host = rig.surface.hostRef
        func create(_ args: [String: String]) -> [String] {
            rig.fails("host.call_plugin", [.string(host), .string("swxl"), .string("create"), .struct(args.mapValues { .string($0) })])
        }
        let bad = create(["config": "name = \"x\"\nkernel = \"\(tinyKernel)\"\nmemory = lots\n"])
        #expect(bad == ["XENAPI_PLUGIN_FAILURE", "create", "",
                        "config:3:10: error: unexpected name `lots`: expected a value (a string, a number or a [list])"])
        #expect(create(["config": Self.xlText("y"), "begin": "now"]).first == "XENAPI_PLUGIN_FAILURE")
        #expect(create(["config": Self.xlText("y"), "start": "maybe"]).first == "XENAPI_PLUGIN_FAILURE")
        #expect(create(["config": "name = \"r\"\nkernel = \"tiny-pv\"\n"]).first == "XENAPI_PLUGIN_FAILURE")
        #expect(rig.fails("host.call_plugin", [.string(host), .string("other"), .string("create"), .struct([:])])
                == ["XENAPI_MISSING_PLUGIN", "other"])
        // Defined, then the start fails (its disk is missing): the definition goes too.
        let missing = create(["config": Self.xlText("z", extra: "disk = ['\(rig.dir)/none.img,raw,xvda,rw']"), "start": "true"])
        #expect(missing.first == "INTERNAL_ERROR")
        #expect(rig.host.toolstack.managedDomains().isEmpty)
        #expect(try rig.ok("VM.get_all").strings.count == 1)
    }

    @Test func aVMFromAXenAPIRecordAndAsyncCallsWithTasks() throws {
        let rig = try SurfaceRig()
        defer { rig.close() }
        let vm = try rig.ok("VM.create", [.struct([
            "name_label": .string("rec"), "memory_static_max": .string("\(96 << 20)"), "memory_dynamic_max": .string("\(64 << 20)"),
            "VCPUs_max": .string("2"), "VCPUs_at_startup": .string("1"), "PV_kernel": .string(tinyKernel),
            "PV_args": .string("console=hvc0"), "actions_after_crash": .string("preserve"), "name_description": .string(""),
        ])]).stringValue
        let record = try rig.ok("VM.get_record", [.string(vm)]).structValue
        #expect(record["power_state"] == .string("Halted"))
        #expect(record["memory_static_max"] == .string("\(96 << 20)"))
        #expect(record["memory_target"] == .string("\(64 << 20)"))
        #expect(record["VCPUs_max"] == .string("2"))
        #expect(record["VCPUs_at_startup"] == .string("1"))
        #expect(record["PV_args"] == .string("console=hvc0"))
        #expect(record["actions_after_crash"] == .string("preserve"))
        #expect(rig.fails("VM.create", [.struct(["name_label": .string("bad"), "VCPUs_max": .bool(true)])]) == ["FIELD_TYPE_ERROR", "VCPUs_max"])
        #expect(rig.fails("VM.create", [.struct(["name_label": .string("bad"), "other_config": .struct(["k": .int(1)])])])
                == ["FIELD_TYPE_ERROR", "other_config"])
        #expect(try rig.ok("VM.get_by_name_label", [.string("bad")]) == .array([]))

        // Halted: its memory can be changed in its definition.
        try rig.ok("VM.set_memory_dynamic_range", [.string(vm), .string("\(80 << 20)"), .string("\(80 << 20)")])
        #expect(try field(rig, vm, "memory_target") == .string("\(80 << 20)"))
        #expect(rig.fails("VM.set_memory_dynamic_range", [.string(vm), .string("\(128 << 20)"), .string("\(128 << 20)")]).first
                == "MEMORY_CONSTRAINT_VIOLATION")
        #expect(try field(rig, vm, "memory_target") == .string("\(80 << 20)"))

        let task = try rig.ok("Async.VM.start", [.string(vm), .bool(false), .bool(false)]).stringValue
        #expect(task.hasPrefix("OpaqueRef:"))
        #expect(rig.waitUntil { (try? rig.ok("task.get_status", [.string(task)])) == .string("success") })
        let t = try rig.ok("task.get_record", [.string(task)]).structValue
        #expect(Set(t.keys) == Set(XenAPISurface.taskFields))
        #expect(t["name_label"] == .string("Async.VM.start"))
        #expect(t["error_info"] == .array([]))
        #expect(try rig.ok("task.get_result", [.string(task)]) == .string(""))
        #expect(try field(rig, vm, "power_state") == .string("Running"))

        // A failing async call: the task says why.
        let failing = try rig.ok("Async.VM.start", [.string(vm), .bool(false), .bool(false)]).stringValue
        #expect(rig.waitUntil { (try? rig.ok("task.get_status", [.string(failing)])) == .string("failure") })
        #expect(try rig.ok("task.get_error_info", [.string(failing)]).strings == ["VM_BAD_POWER_STATE", vm, "halted", "running"])
        #expect(rig.fails("task.cancel", [.string(failing)]) == ["OPERATION_NOT_ALLOWED", "task \(failing) has finished (failure)"])
        try rig.ok("task.destroy", [.string(failing)])
        #expect(rig.fails("task.get_record", [.string(failing)]) == ["HANDLE_INVALID", "task", failing])

        // Async with a reference for result: XAPI's <value> text.
        let created = try rig.ok("Async.VM.create", [.struct(["name_label": .string("rec2"), "PV_kernel": .string(tinyKernel),
                                                             "memory_static_max": .string("\(32 << 20)")])]).stringValue
        #expect(rig.waitUntil { (try? rig.ok("task.get_status", [.string(created)])) == .string("success") })
        let result = try rig.ok("task.get_result", [.string(created)]).stringValue
        #expect(result.hasPrefix("<value>OpaqueRef:") && result.hasSuffix("</value>"))
        let ref = String(result.dropFirst(7).dropLast(8))
        #expect(try field(rig, ref, "name_label") == .string("rec2"))
    }
}

@Suite(.serialized) struct SurfaceTaskCancelTests {
    func status(_ rig: SurfaceRig, _ task: String) -> XenAPIValue? { try? rig.ok("task.get_status", [.string(task)]) }

    @Test func anAsyncCallWaitingForTheToolstackIsCancelledAndDoesNothing() throws {
        let rig = try SurfaceRig()
        defer { rig.close() }
        let vm = try rig.ok("VM.create", [.struct(["name_label": .string("queued"), "PV_kernel": .string(tinyKernel),
                                                   "memory_static_max": .string("\(32 << 20)")])]).stringValue
        var task = ""
        // While another call holds the toolstack, the start waits: cancellable.
        try rig.surface.toolstackLock.withLock {
            task = try rig.ok("Async.VM.start", [.string(vm), .bool(false), .bool(false)]).stringValue
            #expect(try rig.ok("task.get_allowed_operations", [.string(task)]).strings == ["cancel"])
            #expect(try rig.ok("task.cancel", [.string(task)]) == .string(""))
            #expect(rig.waitUntil { status(rig, task) == .string("cancelled") })
        }
        let record = try rig.ok("task.get_record", [.string(task)]).structValue
        #expect(record["error_info"] == .array([.string("TASK_CANCELLED"), .string(task)]))
        #expect(record["allowed_operations"] == .array([]))
        #expect(record["progress"] == .double(1))
        // Nothing was done.
        #expect(try rig.ok("VM.get_power_state", [.string(vm)]) == .string("Halted"))
        #expect(rig.fails("task.cancel", [.string(task)]) == ["OPERATION_NOT_ALLOWED", "task \(task) has finished (cancelled)"])
        #expect(rig.fails("task.cancel", [.string("OpaqueRef:none")]) == ["HANDLE_INVALID", "task", "OpaqueRef:none"])

        // Not cancelled: the same call runs to the end.
        let started = try rig.ok("Async.VM.start", [.string(vm), .bool(false), .bool(false)]).stringValue
        #expect(rig.waitUntil { status(rig, started) == .string("success") })
        #expect(try rig.ok("VM.get_power_state", [.string(vm)]) == .string("Running"))
    }

    @Test func aCleanShutdownWaitingForItsGuestIsCancelledAndTheVMRunsOn() throws {
        let rig = try SurfaceRig()
        defer { rig.close() }
        let text = SurfaceLifecycleTests.xlText("deaf", script: "echo up; sleep 1000")
        let vm = try rig.ok("host.call_plugin", [.string(rig.surface.hostRef), .string("swxl"), .string("create"),
                                                   .struct(["config": .string(text), "start": .string("true")])]).stringValue
        // The simulated guests stopped: the request is not answered.
        func guestsPID() -> Int32? {
            (try? String(contentsOfFile: rig.dir + "/toolstack/sim-guests.lock", encoding: .utf8))
                .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        #expect(rig.waitUntil { guestsPID() != nil })
        let guests = try #require(guestsPID())
        #expect(kill(guests, SIGSTOP) == 0)
        defer { kill(guests, SIGCONT) }
        let task = try rig.ok("Async.VM.clean_shutdown", [.string(vm)]).stringValue
        // Asked, then waiting for the guest: cancellable again.
        let domid = try rig.ok("VM.get_domid", [.string(vm)]).stringValue
        #expect(rig.waitUntil {
            rig.surface.toolstackLock.withLock { (try? rig.host.toolstack.store.read("/local/domain/\(domid)/control/shutdown")) == "poweroff" }
                && (try? rig.ok("task.get_allowed_operations", [.string(task)]).strings) == ["cancel"]
        })
        #expect(try rig.ok("task.cancel", [.string(task)]) == .string(""))
        #expect(rig.waitUntil { status(rig, task) == .string("cancelled") })
        #expect(try rig.ok("task.get_error_info", [.string(task)]).strings == ["TASK_CANCELLED", task])
        #expect(try rig.ok("VM.get_power_state", [.string(vm)]) == .string("Running"))
    }
}

@Suite(.serialized) struct SurfaceSuspendTests {
    @Test func aDefinedVMSuspendsAndResumesAndAnotherIsRefused() throws {
        let rig = try SurfaceRig()
        defer { rig.close() }
        let host = rig.surface.hostRef
        let text = SurfaceLifecycleTests.xlText("sleepy", script: "echo up; sleep 1000")
        let vm = try rig.ok("host.call_plugin", [.string(host), .string("swxl"), .string("create"),
                                                   .struct(["config": .string(text), "start": .string("true")])]).stringValue
        #expect(try rig.ok("VM.get_allowed_operations", [.string(vm)]).strings.contains("suspend"))
        try rig.ok("VM.suspend", [.string(vm)])
        let suspended = try rig.ok("VM.get_record", [.string(vm)]).structValue
        #expect(suspended["power_state"] == .string("Suspended"))
        #expect(suspended["domid"] == .string("-1"))
        #expect(suspended["allowed_operations"] == .array([.string("resume"), .string("hard_shutdown")]))
        #expect(try rig.host.toolstack.list().count == 1)
        #expect(rig.fails("VM.start", [.string(vm), .bool(false)]) == ["VM_BAD_POWER_STATE", vm, "halted", "suspended"])
        #expect(rig.fails("VM.destroy", [.string(vm)]) == ["VM_BAD_POWER_STATE", vm, "halted", "suspended"])

        try rig.ok("VM.resume", [.string(vm), .bool(false), .bool(false)])
        #expect(try rig.ok("VM.get_power_state", [.string(vm)]) == .string("Running"))
        #expect(rig.fails("VM.resume", [.string(vm), .bool(false)]) == ["VM_BAD_POWER_STATE", vm, "suspended", "running"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: rig.dir + "/xapi/suspended") == [])

        // Suspended, then shut down hard: Halted, its image gone.
        try rig.ok("VM.suspend", [.string(vm)])
        try rig.ok("VM.hard_shutdown", [.string(vm)])
        #expect(try rig.ok("VM.get_power_state", [.string(vm)]) == .string("Halted"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: rig.dir + "/xapi/suspended") == [])

        // A domain that is not defined cannot be: nothing would be left.
        let domid = try rig.host.toolstack.create(rig.config("plain"))
        let plain = try rig.ok("VM.get_by_name_label", [.string("plain")]).strings[0]
        #expect(rig.fails("VM.suspend", [.string(plain)]).first == "OPERATION_NOT_ALLOWED")
        #expect(try rig.host.toolstack.info(domid).info.paused == false)
    }
}
