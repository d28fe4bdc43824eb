import DomainConfig
import Foundation
import Glibc
import Testing
@testable import EmbeddedHost
import Toolstack

@Suite struct SimulatedHypervisorTests {
    @Test func domainZeroIsThereFromTheStartAndDomidsGrowWithoutReuse() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let sim = rig.sim
        #expect(try sim.listDomains().map(\.domid) == [0])
        let spec = DomainCreateSpec(uuid: DomainUUID.random(), type: .pv, maxVCPUs: 1, maxMemoryKiB: 65536)
        let a = try sim.createDomain(spec), b = try sim.createDomain(spec)
        try sim.destroy(domid: a)
        let c = try sim.createDomain(spec)
        #expect([a, b, c] == [1, 2, 3])
        // It outlives the object: another instance on the same dir sees the same table.
        let again = SimulatedHypervisor(dir: rig.dir + "/hypervisor")
        #expect(try again.listDomains().map(\.domid) == [0, 2, 3])
        #expect(try again.createDomain(spec) == 4)
    }

    @Test func aTableKeptAsFilesByAnOlderSwxlIsImported() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let dir = rig.dir + "/old-hypervisor"
        try FileManager.default.createDirectory(atPath: dir + "/domains", withIntermediateDirectories: true)
        try "cpus=6\nmemory_kib=8388608\ndom0_kib=1048576\nnext_domid=8\nused_kib=131072\nboot_ns=1000\n"
            .write(toFile: dir + "/host", atomically: true, encoding: .utf8)
        let uuid = "0647e9c8-6495-4671-b0c5-b264d12d9a9f"
        try "domid=7\nuuid=\(uuid)\ntype=pv\nmax_vcpus=2\nonline_vcpus=1\nmax_kib=131072\ncur_kib=65536\nstate=shutdown\nreason=1\ncpu_ns=5000\nsince_ns=0\nbuilt=1\nkernel=/k\n"
            .write(toFile: dir + "/domains/7", atomically: true, encoding: .utf8)
        let sim = SimulatedHypervisor(dir: dir)
        let expected = DomainInfo(domid: 7, uuid: try #require(DomainUUID(uuid)), running: false, blocked: false,
                                  paused: false, shutdown: true, dying: false, crashed: false, shutdownReason: .reboot,
                                  currentMemoryKiB: 65536, maxMemoryKiB: 131072, onlineVCPUs: 1, maxVCPUs: 2, cpuTimeNs: 5000)
        #expect(try sim.domainInfo(domid: 7) == expected)
        #expect(try sim.physInfo() == PhysInfo(cpus: 6, threadsPerCore: 1, coresPerSocket: 6, nodes: 1, cpuKHz: 2_400_000,
                                              totalKiB: 8 << 20, freeKiB: (8 << 20) - (1 << 20) - 131072,
                                              virtCaps: ["pv", "hvm", "hap", "shadow", "gnttab-v1", "gnttab-v2"]))
        #expect(try sim.createDomain(DomainCreateSpec(uuid: DomainUUID.random(), type: .pv, maxVCPUs: 1, maxMemoryKiB: 1024)) == 8)
        // The old files are gone; the table lives on in host.db.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted().filter { !$0.hasPrefix("host.db-") } == ["host.db"])
        #expect(try SimulatedHypervisor(dir: dir).listDomains().map(\.domid) == [0, 7, 8])
    }

    @Test func aDomainIsFoundByItsUUIDThroughAnIndex() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let uuid = DomainUUID.random()
        let spec = DomainCreateSpec(uuid: uuid, type: .pv, maxVCPUs: 1, maxMemoryKiB: 1024)
        let a = try rig.sim.createDomain(spec)
        _ = try rig.sim.createDomain(DomainCreateSpec(uuid: DomainUUID.random(), type: .pv, maxVCPUs: 1, maxMemoryKiB: 1024))
        let b = try rig.sim.createDomain(spec)
        #expect(try rig.sim.domainIDs(withUUID: uuid) == [a, b])
        // Each destroy asks this: without the index SQLite read the whole
        // table (10,000 rows with 10,000 domains) every time.
        let db = try StateDatabase(path: rig.dir + "/hypervisor/host.db", schema: "")
        let plan = try db.query("EXPLAIN QUERY PLAN " + SimulatedHypervisor.domainsByUUID, .text(uuid.description)).map { $0.last?.text }
        #expect(plan == ["SEARCH domain USING COVERING INDEX domain_uuid (uuid=?)"])
    }

    @Test func aHostDatabaseFromBeforeTheUUIDIndexGainsIt() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let dir = rig.dir + "/older"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // As the swxl before it made host.db: the schema, version 1, a domain.
        let uuid = DomainUUID.random()
        do {
            let old = try StateDatabase(path: dir + "/host.db", schema: SimulatedHypervisor.schema)
            try old.query("INSERT INTO host VALUES(1, 4, 4194304, 1048576, 6, 65536, 1000)")
            try old.query("INSERT INTO pool VALUES(0, 'credit2', 30, 1000, 0)")
            try old.query("INSERT INTO domain VALUES(5, ?, 'pv', 1, 1, 65536, 65536, 'running', NULL, 0, 0, 1, '/k')", .text(uuid.description))
        }
        #expect(try SimulatedHypervisor(dir: dir).domainIDs(withUUID: uuid) == [5])
        let db = try StateDatabase(path: dir + "/host.db", schema: "")
        #expect(try db.query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'domain'").map { $0.first?.text }
                == ["domain_uuid"])
        #expect(try db.query("PRAGMA user_version").first?.first?.int == 2)
    }

    @Test func memoryRunsOutWithXensError() throws {
        let rig = try Rig(host: .init(cpus: 2, memoryKiB: 1 << 20, dom0MemoryKiB: 256 << 10))
        defer { rig.cleanup() }
        let spec = DomainCreateSpec(uuid: DomainUUID.random(), type: .pv, maxVCPUs: 1, maxMemoryKiB: 512 << 10)
        _ = try rig.sim.createDomain(spec)
        #expect(try rig.sim.physInfo().freeKiB == 256 << 10)
        #expect(throws: HypervisorError("create domain", errno: ENOMEM,
            "xc_dom_boot_mem_init: can't allocate low memory for domain: Out of memory (needs 524288 kB, 262144 kB free)")) {
            _ = try rig.sim.createDomain(spec)
        }
    }

    @Test func concurrentCreatorsNeverShareADomid() async throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let dir = rig.dir + "/hypervisor"
        let ids = await withTaskGroup(of: [UInt32].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let sim = SimulatedHypervisor(dir: dir)
                    return (0..<10).compactMap { _ in
                        try? sim.createDomain(DomainCreateSpec(uuid: DomainUUID.random(), type: .pv, maxVCPUs: 1, maxMemoryKiB: 1024))
                    }
                }
            }
            var all: [UInt32] = []
            for await part in group { all += part }
            return all
        }
        #expect(ids.sorted() == Array(1...80))
    }

    @Test func lifecycleStatesAndCpuTime() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let sim = rig.sim
        let id = try sim.createDomain(DomainCreateSpec(uuid: DomainUUID.random(), type: .pv, maxVCPUs: 2, maxMemoryKiB: 65536))
        #expect(throws: HypervisorError.self) { try sim.unpause(domid: id) }  // not built yet
        _ = try sim.build(domid: id, spec: BuildSpec(kernelPath: tinyKernel, ramdiskPath: nil, commandLine: "", memoryKiB: 65536))
        #expect(try sim.domainInfo(domid: id)?.paused == true)
        try sim.unpause(domid: id)
        let t0 = try #require(try sim.domainInfo(domid: id)).cpuTimeNs
        usleep(50_000)
        let running = try #require(try sim.domainInfo(domid: id))
        #expect(running.blocked && !running.paused && running.cpuTimeNs > t0)
        try sim.shutdown(domid: id, reason: .reboot)
        let down = try #require(try sim.domainInfo(domid: id))
        #expect(down.shutdown && down.shutdownReason == .reboot)
        try sim.destroy(domid: id)
        #expect(try sim.domainInfo(domid: id) == nil)
        #expect(throws: HypervisorError("destroy", errno: ESRCH, "domain \(id) does not exist: No such process")) {
            try sim.destroy(domid: id)
        }
    }

    /// The kernel brings up the vcpus the build asks for; without a number, all of them.
    @Test func aBuildBringsTheAskedVCPUsOnline() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let spec = DomainCreateSpec(uuid: DomainUUID.random(), type: .pv, maxVCPUs: 4, maxMemoryKiB: 65536)
        let some = try rig.sim.createDomain(spec), all = try rig.sim.createDomain(spec), tooMany = try rig.sim.createDomain(spec)
        func build(_ id: UInt32, _ online: UInt32?) throws {
            _ = try rig.sim.build(domid: id, spec: BuildSpec(kernelPath: tinyKernel, ramdiskPath: nil, commandLine: "",
                                                             memoryKiB: 65536, onlineVCPUs: online))
        }
        try build(some, 2)
        try build(all, nil)
        try build(tooMany, 9)
        #expect(try [some, all, tooMany].map { try rig.sim.domainInfo(domid: $0)?.onlineVCPUs } == [2, 4, 4])
    }
}
