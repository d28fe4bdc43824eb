import Foundation
@testable import ManagementAPI
import Testing
import Toolstack

@Suite(.serialized) struct SurfaceSessionTests {
    @Test func loginTakesTwoToFourArgumentsAndChecksThePassword() throws {
        let rig = try SurfaceRig()
        defer { rig.close() }
        let checked = XenAPICallContext(origin: .tcp(peer: "127.0.0.1:4000")) { $0 == "admin" && $1 == "secret" }
        for params: [XenAPIValue] in [[.string("admin"), .string("secret")],
                                      [.string("admin"), .string("secret"), .string("1.0")],
                                      [.string("admin"), .string("secret"), .string("1.0"), .string("tests")]] {
            guard case .success(.string(let ref)) = rig.call("session.login_with_password", params, context: checked) else {
                Issue.record("login with \(params.count) arguments failed")
                continue
            }
            #expect(ref.hasPrefix("OpaqueRef:"))
            #expect(rig.call("session.get_this_host", [.string(ref), .string(ref)]) == .success(.string(rig.surface.hostRef)))
        }
        #expect(rig.call("session.login_with_password", [.string("admin"), .string("wrong")], context: checked)
                == .failure(["SESSION_AUTHENTICATION_FAILED", "admin", "Authentication failure"]))
        #expect(rig.call("session.login_with_password", [.string("admin")], context: checked)
                == .failure(["MESSAGE_PARAMETER_COUNT_MISMATCH", "session.login_with_password", "4", "1"]))
        #expect(rig.call("session.login_with_password", [.string("admin"), .int(3)], context: checked)
                == .failure(["FIELD_TYPE_ERROR", "pwd"]))
        // A login the transport's throttle did not check says so.
        let throttled = XenAPICallContext(origin: .tcp(peer: "127.0.0.1:4000")) { _, _ in .throttled(retryAfterSeconds: 7) }
        #expect(rig.call("session.login_with_password", [.string("admin"), .string("secret")], context: throttled)
                == .failure(["SESSION_AUTHENTICATION_FAILED", "admin", "Too many failed logins; not checked: try again in 7 s"]))
    }

    @Test func logoutEndsTheSessionAndUnknownSessionsAreRefused() throws {
        let rig = try SurfaceRig()
        defer { rig.close() }
        let session = rig.session
        let record = try rig.ok("session.get_record", [.string(session)]).structValue
        #expect(Set(record.keys) == Set(["uuid", "this_host", "this_user", "last_active", "pool", "other_config",
            "is_local_superuser", "subject", "validation_time", "auth_user_sid", "auth_user_name", "rbac_permissions",
            "tasks", "parent", "originator", "client_certificate"]))
        #expect(record["auth_user_name"] == .string("root"))
        #expect(record["this_host"] == .string(rig.surface.hostRef))
        try rig.ok("session.logout")
        #expect(rig.fails("VM.get_all") == ["SESSION_INVALID", session])
        #expect(rig.call("VM.get_all", [.string("OpaqueRef:nonsense")]) == .failure(["SESSION_INVALID", "OpaqueRef:nonsense"]))
    }

    @Test func methodNamesInBothSpellingsAndTheErrorsForUnknownOnes() throws {
        let rig = try SurfaceRig()
        defer { rig.close() }
        let dotted = try rig.ok("pool.get_all")
        #expect(try rig.ok("pool_get_all") == dotted)
        #expect(try rig.ok("VM_metrics_get_all") == rig.ok("VM_metrics.get_all"))
        #expect(rig.fails("VM.fly") == ["MESSAGE_METHOD_UNKNOWN", "VM.fly"])
        #expect(rig.fails("Async.session.logout") == ["MESSAGE_METHOD_UNKNOWN", "Async.session.logout"])
        #expect(rig.fails("VM.get_record") == ["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.get_record", "2", "1"])
        #expect(rig.fails("VM.get_record", [.string("OpaqueRef:none")]) == ["HANDLE_INVALID", "VM", "OpaqueRef:none"])
        #expect(rig.fails("VM.get_by_uuid", [.string("nope")]) == ["UUID_INVALID", "VM", "nope"])
    }

    @Test func thePoolOfOneAndItsHost() throws {
        let rig = try SurfaceRig()
        defer { rig.close() }
        let pools = try rig.ok("pool.get_all").strings
        #expect(pools.count == 1)
        let host = try rig.ok("pool.get_master", [.string(pools[0])]).stringValue
        #expect(try rig.ok("host.get_all").strings == [host])
        #expect(host == rig.surface.hostRef)
        let pool = try rig.ok("pool.get_record", [.string(pools[0])]).structValue
        #expect(Set(pool.keys) == Set(XenAPISurface.poolFields))
        #expect(pool["master"] == .string(host))
        #expect(try rig.ok("pool.get_default_SR", [.string(pools[0])]) == rig.ok("SR.get_all").arrayValue.first)

        // What XenAPI.py asks at login.
        #expect(try rig.ok("host.get_API_version_major", [.string(host)]) == .string("2"))
        #expect(try rig.ok("host.get_API_version_minor", [.string(host)]) == .string("21"))

        let version = try rig.host.toolstack.hypervisor.version(), phys = try rig.host.toolstack.hypervisor.physInfo()
        let software = try rig.ok("host.get_software_version", [.string(host)]).structValue
        #expect(software["product_version"] == .string("9.9.9"))
        #expect(software["platform_version"] == .string("9.9.9"))
        #expect(software["xen"] == .string("\(version.major).\(version.minor)\(version.extra)"))

        let record = try rig.ok("host.get_record", [.string(host)]).structValue
        #expect(Set(record.keys) == Set(XenAPISurface.hostFields))
        #expect(try record["uuid"] == rig.ok("host.get_uuid", [.string(host)]))
        #expect(record["cpu_info"]?.structValue["cpu_count"] == .string("\(phys.cpus)"))
        #expect(record["sched_policy"] == .string(phys.scheduler))
        #expect(try record["control_domain"] == rig.ok("VM.get_by_name_label", [.string("Domain-0")]).arrayValue.first)
        let metrics = try rig.ok("host.get_metrics", [.string(host)]).stringValue
        let m = try rig.ok("host_metrics.get_record", [.string(metrics)]).structValue
        #expect(m["memory_total"] == .string("\(phys.totalKiB << 10)"))
        #expect(m["memory_free"] == .string("\(try rig.host.toolstack.hypervisor.physInfo().freeKiB << 10)"))
        #expect(rig.fails("host.get_record", [.string(pools[0])]) == ["HANDLE_INVALID", "host", pools[0]])

        // The host's uuid is kept: another surface over the same state says the same.
        let again = XenAPISurface(host: rig.host, watchStore: false)
        #expect(again.hostRef == host)
        #expect(again.poolRef == pools[0])
    }
}
