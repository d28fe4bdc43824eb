import DomainConfig
import Foundation
@testable import ManagementAPI
import Testing
import Toolstack

@Suite(.serialized) struct SurfaceEventTests {
    struct Batch {
        var events: [[String: XenAPIValue]]
        var token: String
        var counts: [String: XenAPIValue]
    }

    func from(_ rig: SurfaceRig, _ classes: [String], _ token: String, timeout: Double = 10) throws -> Batch {
        let r = try rig.ok("event.from", [.array(classes.map { .string($0) }), .string(token), .double(timeout)]).structValue
        return Batch(events: r["events"]!.arrayValue.map(\.structValue), token: r["token"]!.stringValue,
                     counts: r["valid_ref_counts"]!.structValue)
    }

    /// Waits (event.from after event.from) until an event for `ref` with
    /// `operation` comes; gives it and the token after it.
    func waitFor(_ rig: SurfaceRig, _ classes: [String], _ token: String, ref: String, operation: String?,
               where condition: ([String: XenAPIValue]) -> Bool = { _ in true }) throws -> ([String: XenAPIValue]?, String) {
        var token = token
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            let batch = try from(rig, classes, token, timeout: 5)
            token = batch.token
            if let e = batch.events.first(where: { $0["ref"] == .string(ref) && (operation == nil || $0["operation"] == .string(operation!))
                                                   && condition($0["snapshot"]!.structValue) }) {
                return (e, token)
            }
        }
        return (nil, token)
    }

    @Test func createsDestroysAndShutdownsFromElsewhereAreEvents() throws {
        let rig = try SurfaceRig(watchStore: true)
        defer { rig.close() }
        // An empty token: every VM now.
        let now = try from(rig, ["vm"], "")
        let all = try rig.ok("VM.get_all_records").structValue
        #expect(Set(now.events.map { $0["ref"]!.stringValue }) == Set(all.keys))
        #expect(now.events.allSatisfy { $0["operation"] == .string("add") && $0["class"] == .string("vm") })
        #expect(Dictionary(uniqueKeysWithValues: now.events.map { ($0["ref"]!.stringValue, $0["snapshot"]!) }) == all)
        #expect(now.counts == ["vm": .string("\(all.count)")])

        // A domain created by the toolstack directly (as `swxl create` in another process would).
        let config = rig.config("elsewhere", script: "sleep 1; xenstore-write control/shutdown poweroff; sleep 100")
        let other = try rig.elsewhere()
        let domid = try other.toolstack.create(config)
        other.ensureWatcher()
        let ref = ObjectIDs.ref("VM", config.uuid.description)
        // (It may show before its name is written, as `xl list` shows "(null)".)
        let (added, t1) = try waitFor(rig, ["vm"], now.token, ref: ref, operation: "add")
        #expect(added != nil)
        let (named, _) = try waitFor(rig, ["vm"], now.token, ref: ref, operation: nil, where: { $0["name_label"] == .string("elsewhere") })
        #expect(named != nil)
        // The guest powers itself off: the VM goes (it was not defined).
        let (deleted, t2) = try waitFor(rig, ["vm"], t1, ref: ref, operation: "del")
        #expect(deleted != nil)
        #expect((try? other.toolstack.info(domid)) == nil)

        // A pause the surface did not make shows too (the hub looks every half second).
        let second = try other.toolstack.create(rig.config("paused-elsewhere"))
        let otherRef = ObjectIDs.ref("VM", other.toolstack.record(second)!.uuid.description)
        // (Seen running first: created paused, it may have been seen only so.)
        let (_, t3) = try waitFor(rig, ["vm"], t2, ref: otherRef, operation: nil, where: { $0["power_state"] == .string("Running") })
        try other.toolstack.pause(domid: second)
        let (paused, t4) = try waitFor(rig, ["vm/\(otherRef)"], t3, ref: otherRef, operation: "mod", where: { $0["power_state"] == .string("Paused") })
        #expect(paused != nil)
        try other.toolstack.destroy(domid: second)
        let (gone, _) = try waitFor(rig, ["*"], t4, ref: otherRef, operation: "del")
        #expect(gone != nil)
    }

    /// With the looks on a timer off, the hub still hears of what the
    /// toolstack does elsewhere: a create's last step (its unpause), a
    /// pause and an unpause announce the run state, which xenstore would
    /// not otherwise show.
    @Test func theToolstacksRunStateAnnouncementsAreEventsWithoutATimer() throws {
        let off = EventHub.Looks(pollSeconds: 3600, sweepSeconds: 3600, sweepSlice: 100)
        let rig = try SurfaceRig(watchStore: true, eventLooks: off)
        defer { rig.close() }
        let start = try from(rig, ["vm"], "").token
        let other = try rig.elsewhere()
        let config = rig.config("announced")
        let domid = try other.toolstack.create(config)
        let ref = ObjectIDs.ref("VM", config.uuid.description)
        func state(_ s: String) -> ([String: XenAPIValue]) -> Bool { { $0["power_state"] == .string(s) && $0["domid"] == .string("\(domid)") } }
        let (running, t1) = try waitFor(rig, ["vm/\(ref)"], start, ref: ref, operation: nil, where: state("Running"))
        #expect(running != nil)
        try other.toolstack.pause(domid: domid)
        let (paused, t2) = try waitFor(rig, ["vm/\(ref)"], t1, ref: ref, operation: "mod", where: state("Paused"))
        #expect(paused != nil)
        try other.toolstack.unpause(domid: domid)
        let (again, _) = try waitFor(rig, ["vm/\(ref)"], t2, ref: ref, operation: "mod", where: state("Running"))
        #expect(again != nil)
        // (Announced and removed: the domain's directory keeps xl's layout.)
        #expect(try other.toolstack.store.read(Toolstack.runStatePath(domid: domid)) == nil)
        try other.toolstack.destroy(domid: domid)
    }

    @Test func theWatchedPathsNameTheirDomains() {
        #expect(EventHub.domain(of: "/libxl/7/run-state") == 7)
        #expect(EventHub.domain(of: "/local/domain/12/control/shutdown") == 12)
        #expect(EventHub.domain(of: "/local/domain/12/memory/target") == 12)
        #expect(EventHub.domain(of: "/local/domain/12/data/ip") == nil)
        #expect(EventHub.domain(of: "/libxl/7/device/vbd/51712") == nil)
        #expect(EventHub.domain(of: "/libxl/x/run-state") == nil)
        #expect(EventHub.watchedPaths == ["@introduceDomain", "@releaseDomain", "/local/domain", "/libxl"])
    }

    @Test func aVMFilterTasksTokensAndTheOlderRegisterNext() throws {
        let rig = try SurfaceRig(watchStore: true)
        defer { rig.close() }
        let start = try from(rig, ["vm"], "").token
        let a = try rig.ok("VM.create", [.struct(["name_label": .string("a"), "PV_kernel": .string(tinyKernel),
                                                  "memory_static_max": .string("\(32 << 20)")])]).stringValue
        let b = try rig.ok("VM.create", [.struct(["name_label": .string("b"), "PV_kernel": .string(tinyKernel),
                                                  "memory_static_max": .string("\(32 << 20)")])]).stringValue
        // Only b's events for vm/<b>; both for vm; none waited for when nothing comes.
        let onlyB = try from(rig, ["vm/\(b)"], start, timeout: 0)
        #expect(onlyB.events.map { $0["ref"]!.stringValue } == [b])
        let both = try from(rig, ["VM"], start, timeout: 0)
        #expect(both.events.map { $0["ref"]!.stringValue } == [a, b])
        #expect(both.events.map { $0["snapshot"]!.structValue["power_state"]! } == [.string("Halted"), .string("Halted")])
        let quiet = try from(rig, ["vm"], both.token, timeout: 0.2)
        #expect(quiet.events.isEmpty && quiet.token == both.token)

        // Tasks: the async call's task is added, then modified when done.
        let task = try rig.ok("Async.VM.start", [.string(a), .bool(true)]).stringValue
        let (done, afterTask) = try waitFor(rig, ["task"], both.token, ref: task, operation: "mod", where: { $0["status"] == .string("success") })
        #expect(done != nil)
        // The VM's own event for the start is there for vm.
        let started = try from(rig, ["vm/\(a)"], both.token, timeout: 0)
        #expect(started.events.last?["snapshot"]?.structValue["power_state"] == .string("Paused"))
        _ = afterTask

        #expect(rig.fails("event.from", [.array([.string("vm")]), .string("nonsense"), .double(0)])
                == ["EVENT_FROM_TOKEN_PARSE_FAILURE", "nonsense"])

        // event.register / next: what changed since the registration.
        #expect(rig.fails("event.next").first == "SESSION_NOT_REGISTERED")
        try rig.ok("event.register", [.array([.string("vm")])])
        try rig.ok("VM.hard_shutdown", [.string(a)])
        let next = try rig.ok("event.next").arrayValue.map(\.structValue)
        #expect(next.contains { $0["ref"] == .string(a) && $0["snapshot"]?.structValue["power_state"] == .string("Halted") })
        #expect(!next.contains { $0["class"] != .string("vm") })
        try rig.ok("event.unregister", [.array([.string("vm")])])
        #expect(rig.fails("event.next").first == "SESSION_NOT_REGISTERED")
    }
}
