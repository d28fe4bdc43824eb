import DomainConfig
import Testing
@testable import Toolstack

/// CPU lists to cpumaps as xl reads them, cpumaps as xl prints them, and
/// what create and the scheduling calls ask of the hypervisor.
@Suite struct SchedulingTests {
    let topology = CPUTopology(cpuCount: 4, nodeCPUs: [CPUSet(0..<4)])

    /// xl's print_bitmap (tools/xl/xl_utils.c): `all` only for one run from 0 to the last CPU.
    @Test(arguments: [([UInt32](), "none"), ([0, 1, 2, 3], "all"), ([0, 1, 2], "0-2"), ([1, 2, 3], "1-3"),
                      ([0, 2, 3], "0,2-3"), ([3], "3"), ([0, 1, 2, 3, 9], "all"), ([1, 3], "1,3")])
    func xlText(cpus: [UInt32], text: String) {
        #expect(CPUSet(cpus).xlText(cpuCount: 4) == text)
    }

    /// xl's parse_cpurange: items in order over an empty map; CPUs past the
    /// host's but inside the map's byte are kept for Xen to drop.
    @Test(arguments: [("2-5,^3", [2, 4, 5]), ("all", Array(0..<8)), ("all,^1", [0] + Array(2..<8)), ("nodes:0", [0, 1, 2, 3]),
                      ("node:0,^nodes:0", []), ("^1", []), ("1,1", [1]), ("9", []), ("0-100", Array(0..<8)), ("nodes:3", [])])
    func cpuLists(text: String, cpus: [UInt32]) throws {
        #expect(try topology.parseCPUList(text).get() == CPUSet(cpus))
    }

    @Test(arguments: [("^all", "Can't combine \"^\" and \"all\"."), ("1-a", "Invalid pcpu range: 1-a."),
                      ("3-1", "Invalid pcpu range: 3-1."), ("x", "Invalid pcpu range: x."), ("^nodes:all", "Can't combine \"^\" and \"all\".")])
    func refusedCPULists(text: String, message: String) {
        #expect(throws: CPUListError(message: message)) { try topology.parseCPUList(text).get() }
    }

    /// One map per vCPU as xl's parse_vcpu_affinity makes them.
    @Test func perVCPUMaps() throws {
        let single = try CPUAffinity.parse("1-3,^2").get()
        #expect(topology.vcpuCPUSets(single, maxVCPUs: 3) == Array(repeating: CPUSet([1, 3]), count: 3))
        let list = CPUAffinity.perVCPU([.cpus([0]), .all, .cpus([2, 3])])
        #expect(topology.vcpuCPUSets(list, maxVCPUs: 2) == [CPUSet([0]), CPUSet.all(4)])
        #expect(topology.vcpuCPUSets(list, maxVCPUs: 5) == [CPUSet([0]), CPUSet.all(4), CPUSet([2, 3])])
        #expect(topology.cpuSet(try CPUAffinity.parse("nodes:0,^1").get()) == CPUSet([0, 2, 3]))
    }

    /// On a host of several nodes, whose nodes' CPUs swxl does not read yet, a list naming nodes is refused; CPUs are fine.
    @Test func severalNodes() throws {
        let phys = PhysInfo(cpus: 8, threadsPerCore: 1, coresPerSocket: 4, nodes: 2, cpuKHz: 1, totalKiB: 1, freeKiB: 1)
        let two = CPUTopology(physInfo: phys)
        #expect(two == CPUTopology(cpuCount: 8, nodeCPUs: []))
        #expect(CPUTopology(physInfo: PhysInfo(cpus: 8, threadsPerCore: 1, coresPerSocket: 8, nodes: 1, cpuKHz: 1, totalKiB: 1,
                                               freeKiB: 1)) == CPUTopology(cpuCount: 8, nodeCPUs: [CPUSet.all(8)]))
        let rig = try Rig()
        defer { rig.cleanup() }
        #expect(throws: ToolstackError.notSupported("`nodes:1`: NUMA nodes in CPU lists are resolved only on hosts of one node for now")) {
            try rig.toolstack.checkNodes("nodes:1", two)
        }
        try rig.toolstack.checkNodes("0-3,^1", two)
    }

    /// Create sets each vCPU's affinity and the weight and cap, as libxl's build does.
    @Test func createAppliesTheConfig() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        var config = rig.config("g")
        config.VCPUs_max = 3
        config.VCPUs_at_startup = 2
        config.cpus = .perVCPU([.cpus([1]), .cpus([2, 3])])
        config.cpus_soft = .cpus([0, 1])
        config.platform["cpu_weight"] = "512"
        config.platform["cap"] = "0x20"
        let domid = try rig.toolstack.create(config)
        let all = CPUSet.all(4)
        let affinity = try rig.sim.vcpuInfo(domid: domid).map { [$0.hardAffinity, $0.softAffinity] }
        #expect(affinity == [[CPUSet([1]), CPUSet([0, 1])], [CPUSet([2, 3]), CPUSet([0, 1])], [all, CPUSet([0, 1])]])
        #expect(rig.sim.credit == [domid: CreditParams(weight: 512, cap: 32)])
        #expect(try rig.toolstack.creditParams(domid: domid, scheduler: .credit2) == CreditParams(weight: 512, cap: 32))
        #expect(throws: ToolstackError.wrongScheduler(running: "credit2", asked: "credit")) {
            try rig.toolstack.creditParams(domid: domid, scheduler: .credit)
        }
    }

    /// libxl's checks come before the hypervisor is asked, and a refused create leaves nothing.
    @Test func libxlChecks() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let domid = try rig.toolstack.create(rig.config("g"))
        #expect(throws: ToolstackError.invalid("Cpu weight out of range, valid values are within range from 1 to 65535")) {
            try rig.toolstack.setCreditParams(domid: domid, scheduler: .credit2, weight: 0, cap: nil)
        }
        #expect(throws: ToolstackError.invalid("Cpu cap out of range, valid range is from 0 to 100 for specified number of vcpus")) {
            try rig.toolstack.setCreditParams(domid: domid, scheduler: .credit2, weight: nil, cap: 101)
        }
        #expect(rig.sim.credit == [:])
        var bad = rig.config("h")
        bad.cpus = .cpus([7])
        #expect(throws: ToolstackError.invalid("setting affinity failed on vcpu `0': Invalid argument")) {
            try rig.toolstack.create(bad)
        }
        #expect(rig.sim.domainIDs() == [domid])
    }
}
