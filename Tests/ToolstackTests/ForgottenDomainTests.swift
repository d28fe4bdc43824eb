import DomainConfig
import Foundation
import Testing
@testable import Toolstack
import XenStoreProtocol

/// The host is told about every domain the toolstack forgets, however it
/// goes, so that it can remove what it keeps per domain.
@Suite struct ForgottenDomainTests {
    @Test func destroyTellsTheHost() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        var forgotten: [UInt32] = []
        rig.toolstack.onDomainForgotten = { forgotten.append($0) }
        let id = try rig.toolstack.create(rig.config("web"))
        #expect(forgotten == [])
        try rig.toolstack.destroy(domid: id)
        #expect(forgotten == [id])
    }

    @Test func aRolledBackCreateTellsTheHostOnceItHadARecord() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        var forgotten: [UInt32] = []
        rig.toolstack.onDomainForgotten = { forgotten.append($0) }
        rig.toolstack.faults = FaultInjection(step: .introduce)
        #expect(throws: ToolstackError.injected(.introduce)) { _ = try rig.toolstack.create(rig.config("early")) }
        #expect(forgotten == [])
        rig.toolstack.faults = FaultInjection(step: .record)
        #expect(throws: ToolstackError.injected(.record)) { _ = try rig.toolstack.create(rig.config("late")) }
        #expect(forgotten == [2])
    }

    @Test func undoingAnInterruptedCreateTellsTheHost() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        var forgotten: [UInt32] = []
        rig.toolstack.onDomainForgotten = { forgotten.append($0) }
        let id = try rig.sim.createDomain(DomainCreateSpec(uuid: DomainUUID.random(), type: .pv, maxVCPUs: 1, maxMemoryKiB: 1024))
        let me = try #require(ProcessIdentity.startTime(of: getpid()))
        let journal = try rig.toolstack.state.beginCreate(name: "ghost", owner: (getpid(), me + 1)) { _ in false }
        try rig.toolstack.state.noteDomain(journal: journal, domid: id, uuid: DomainUUID.random())
        rig.toolstack.recoverInterruptedCreates()
        #expect(forgotten == [id])
    }

    /// The config's `vcpus` reach the hypervisor with the build, as the
    /// number the guest's kernel brings online.
    @Test func theBuildSaysHowManyVCPUsTheKernelBringsOnline() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        var config = rig.config("smp")
        config.VCPUs_at_startup = 2
        config.VCPUs_max = 4
        let id = try rig.toolstack.create(config)
        let info = try #require(try rig.sim.domainInfo(domid: id))
        #expect([info.onlineVCPUs, info.maxVCPUs] == [2, 4])
    }
}
