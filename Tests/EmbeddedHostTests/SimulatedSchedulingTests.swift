import DomainConfig
import Foundation
import Glibc
import Testing
@testable import EmbeddedHost
import Toolstack

/// The simulated hypervisor's vCPU affinity and credit schedulers: kept as
/// set, across processes, and refused where Xen refuses.
@Suite struct SimulatedSchedulingTests {
    let spec = DomainCreateSpec(uuid: DomainUUID.random(), type: .pv, maxVCPUs: 2, maxMemoryKiB: 65536)

    @Test func affinityIsKeptAndRefusedAsXenDoes() throws {
        let rig = try Rig(host: .init(cpus: 4))
        defer { rig.cleanup() }
        let sim = rig.sim
        let d = try sim.createDomain(spec)
        let all = CPUSet.all(4)
        try sim.setVCPUAffinity(domid: d, vcpu: 1, hard: CPUSet([1, 3, 9]), soft: nil, force: false)
        try sim.setVCPUAffinity(domid: d, vcpu: 0, hard: nil, soft: CPUSet([2]), force: false)
        let again = SimulatedHypervisor(dir: rig.dir + "/hypervisor")
        #expect(try again.vcpuInfo(domid: d).map { [$0.hardAffinity, $0.softAffinity] }
                == [[all, CPUSet([2])], [CPUSet([1, 3]), all]])
        // No CPU of the host left, a vCPU it does not have, a domain that does not exist.
        for (domid, vcpu, hard) in [(d, UInt32(0), CPUSet([4, 5])), (d, 2, CPUSet([0])), (99, 0, CPUSet([0]))] {
            #expect(throws: HypervisorError.self) { try sim.setVCPUAffinity(domid: domid, vcpu: vcpu, hard: hard, soft: nil, force: false) }
        }
        #expect(try sim.vcpuInfo(domid: d).map(\.hardAffinity) == [all, CPUSet([1, 3])])
        try sim.destroy(domid: d)
        #expect(throws: HypervisorError.self) { try sim.setVCPUAffinity(domid: d, vcpu: 0, hard: all, soft: nil, force: false) }
    }

    @Test func creditParametersAsXenKeepsThem() throws {
        let rig = try Rig(host: .init(cpus: 4, scheduler: .credit))
        defer { rig.cleanup() }
        let sim = rig.sim
        let d = try sim.createDomain(spec)
        #expect(try sim.cpuPools() == [CPUPoolInfo(id: 0, scheduler: .credit, cpus: CPUSet.all(4))])
        #expect(try sim.creditParams(domid: d, scheduler: .credit) == .initial)
        try sim.setCreditParams(domid: d, scheduler: .credit, CreditParams(weight: 700, cap: 150))
        // Weight 0 leaves the weight as it is (Xen's csched_dom_cntl).
        try sim.setCreditParams(domid: d, scheduler: .credit, CreditParams(weight: 0, cap: 10))
        #expect(try sim.creditParams(domid: d, scheduler: .credit) == CreditParams(weight: 700, cap: 10))
        #expect(throws: HypervisorError("Getting domain sched credit2", errno: EINVAL, "Invalid argument")) {
            try sim.creditParams(domid: d, scheduler: .credit2)
        }
        #expect(throws: HypervisorError("Setting domain sched credit", errno: EINVAL, "Invalid argument")) {
            try sim.setCreditParams(domid: d, scheduler: .credit, CreditParams(weight: 70000, cap: 0))
        }
        try sim.setPoolSchedParams(pool: 0, scheduler: .credit, PoolSchedParams(tsliceMs: 5, ratelimitUs: 0, migrationDelayUs: 100))
        #expect(try SimulatedHypervisor(dir: rig.dir + "/hypervisor").poolSchedParams(pool: 0, scheduler: .credit)
                == PoolSchedParams(tsliceMs: 5, ratelimitUs: 0, migrationDelayUs: 100))
        #expect(throws: HypervisorError.self) {
            try sim.setPoolSchedParams(pool: 0, scheduler: .credit, PoolSchedParams(tsliceMs: 5, ratelimitUs: 6000, migrationDelayUs: 0))
        }
        #expect(throws: HypervisorError.self) { try sim.poolSchedParams(pool: 1, scheduler: .credit) }
    }

    /// credit2 refuses a cap above 100 per vCPU.
    @Test func credit2RefusesACapAboveItsVCPUs() throws {
        let rig = try Rig(host: .init(cpus: 4))
        defer { rig.cleanup() }
        let d = try rig.sim.createDomain(spec)
        try rig.sim.setCreditParams(domid: d, scheduler: .credit2, CreditParams(weight: 10, cap: 200))
        #expect(throws: HypervisorError("Setting domain sched credit2", errno: EINVAL, "Invalid argument")) {
            try rig.sim.setCreditParams(domid: d, scheduler: .credit2, CreditParams(weight: 10, cap: 201))
        }
        #expect(try rig.sim.creditParams(domid: d, scheduler: .credit2) == CreditParams(weight: 10, cap: 200))
    }
}
