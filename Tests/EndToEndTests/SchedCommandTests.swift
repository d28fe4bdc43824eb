import Foundation
import Testing

/// vCPU affinity and the credit schedulers through the built `swxl` on the
/// embedded host: what a config's `cpus`, `cpus_soft`, `cpu_weight` and
/// `cap` set at create, and `vcpu-list`, `vcpu-pin`, `sched-credit` and
/// `sched-credit2` with xl 4.17's output, messages and exit status
/// (tools/xl/xl_vcpu.c, xl_sched.c; libxl_sched.c for libxl's checks),
/// compared whole, byte for byte.
@Suite(.serialized) struct SchedCommandTests {
    /// A host of 4 CPUs whose pool runs `scheduler`, with guest `g1`
    /// created paused (so that its CPU time stays 0.0) from `body`.
    func host(scheduler: String, _ body: String) throws -> (EmbeddedHost, (([String]) throws -> RunResult)) {
        let host = try EmbeddedHost()
        let env = ["SWXL_SIM_CPUS": "4", "SWXL_SIM_SCHED": scheduler]
        let swxl = { (arguments: [String]) throws -> RunResult in try host.swxl(arguments, environment: env) }
        let create = try swxl(["create", "-p", try host.config(name: "g1", body)])
        #expect(create.status == 0, "\(create.stderr)")
        return (host, swxl)
    }

    static let vcpuHeader = "Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n"
    static let creditHeader = "Name                                ID Weight  Cap\n"

    @Test func createAppliesAffinityWeightAndCap() throws {
        let (host, swxl) = try host(scheduler: "credit", """
            vcpus = 3
            maxvcpus = 4
            cpus = "1-3,^2"
            cpus_soft = ["0", "2-3"]
            cpu_weight = 512
            cap = 150
            """)
        defer { host.close() }
        let list = try swxl(["vcpu-list", "g1"])
        #expect(list.status == 0 && list.stderr == "")
        #expect(list.stdout == Self.vcpuHeader
                + "g1                                   1     0    1   ---       0.0  1,3 / 0\n"
                + "g1                                   1     1    3   ---       0.0  1,3 / 2-3\n"
                + "g1                                   1     2    1   ---       0.0  1,3 / all\n"
                + "g1                                   1     3    -   --p       0.0  1,3 / all\n")
        let one = try swxl(["sched-credit", "-d", "g1"])
        #expect(one.status == 0 && one.stderr == "")
        #expect(one.stdout == Self.creditHeader + "g1                                   1    512  150\n")
        let all = try swxl(["sched-credit"])
        #expect(all.status == 0 && all.stderr == "")
        #expect(all.stdout == "Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us\n" + Self.creditHeader
                + "Domain-0                             0    256    0\n" + "g1                                   1    512  150\n")
    }

    @Test func vcpuPinAsXl() throws {
        let (host, swxl) = try host(scheduler: "credit2", "vcpus = 2")
        defer { host.close() }
        #expect(try swxl(["vcpu-pin", "g1", "all", "0-1", "-"]).status == 0)
        #expect(try swxl(["vcpu-pin", "g1", "1", "-", "nodes:0,^3"]).status == 0)
        let list = try swxl(["vcpu-list", "g1"])
        #expect(list.stdout == Self.vcpuHeader
                + "g1                                   1     0    0   ---       0.0  0-1 / all\n"
                + "g1                                   1     1    1   ---       0.0  0-1 / 0-2\n")
        // Xen keeps no CPU beyond the host's, and refuses a hard affinity left with none.
        let beyond = try swxl(["vcpu-pin", "g1", "0", "9"])
        #expect(beyond.status == 1 && beyond.stdout == "")
        #expect(beyond.stderr == "swxl: error: Setting vcpu affinity: Invalid argument\nCould not set affinity for vcpu `0'.\n")
        let cases: [([String], String)] = [
            (["vcpu-pin", "g1", "x", "1"], "Error: Invalid argument x as VCPU.\n"),
            (["vcpu-pin", "-f", "g1", "all", "1"], "Error: --force and 'all' as VCPU not allowed.\n"),
            (["vcpu-pin", "g1", "0", "^all"], "Can't combine \"^\" and \"all\".\n"),
            (["vcpu-pin", "g1", "0", "1-a"], "Invalid pcpu range: 1-a.\n"),
            (["vcpu-pin", "g1", "0", "3-1"], "Invalid pcpu range: 3-1.\n"),
        ]
        for (arguments, message) in cases {
            let r = try swxl(arguments)
            #expect(r.status == 1 && r.stdout == "" && r.stderr == message, "\(arguments): \(r.stderr)")
        }
        // xl's global -N: the maps it would set, over the host's CPUs.
        let dry = try swxl(["-N", "vcpu-pin", "g1", "0", "1,^1", "all"])
        #expect(dry.status == 0 && dry.stdout == "cpumap: none all\n")
        #expect(try swxl(["-N", "vcpu-pin", "g1", "0", "-"]).stdout == "cpumap: -\n")
        // Unchanged by the refusals and the dry runs.
        #expect(try swxl(["vcpu-list", "g1"]).stdout == list.stdout)
    }

    @Test func schedCreditAsXl() throws {
        let (host, swxl) = try host(scheduler: "credit", "vcpus = 4")
        defer { host.close() }
        let errors: [([String], String)] = [
            (["sched-credit", "-d", "g1", "-w", "70000"],
             "swxl: error: Cpu weight out of range, valid values are within range from 1 to 65535\nlibxl_domain_sched_params_set failed.\n"),
            (["sched-credit", "-d", "g1", "-c", "401"],
             "swxl: error: Cpu cap out of range, valid range is from 0 to 400 for specified number of vcpus\nlibxl_domain_sched_params_set failed.\n"),
            (["sched-credit", "-d", "g1", "-w", "x"],
             "swxl: error: Cpu weight out of range, valid values are within range from 1 to 65535\nlibxl_domain_sched_params_set failed.\n"),
            (["sched-credit", "-s", "-t", "10", "-r", "20000"],
             "swxl: error: Ratelimit cannot be greater than timeslice\nlibxl_sched_credit_params_set failed.\n"),
            (["sched-credit", "-s", "-t", "0"],
             "swxl: error: Time slice out of range, valid range is from 1 to 1000\nlibxl_sched_credit_params_set failed.\n"),
            (["sched-credit", "-p", "nosuch"], "unknown cpupool 'nosuch'\n"),
            (["sched-credit", "-d", "g1", "-s"], "Specifying a cpupool or schedparam is not allowed with domain options.\n"),
            (["sched-credit", "-w", "5"], "Must specify a domain.\n"),
            (["sched-credit", "-t", "5"], "Must specify schedparam to set schedule parameter values.\n"),
        ]
        for (arguments, message) in errors {
            let r = try swxl(arguments)
            #expect(r.status == 1 && r.stdout == "" && r.stderr == message, "\(arguments): \(r.stderr)")
        }
        #expect(try swxl(["sched-credit", "-d", "g1", "-w100", "--cap=20"]).status == 0)
        #expect(try swxl(["sched-credit", "--schedparam", "--tslice_ms", "10", "-r", "2000"]).status == 0)
        let shown = try swxl(["sched-credit", "-p", "Pool-0"])
        #expect(shown.status == 0 && shown.stderr == "")
        #expect(shown.stdout == "Cpupool Pool-0: tslice=10ms ratelimit=2000us migration-delay=0us\n" + Self.creditHeader
                + "Domain-0                             0    256    0\n" + "g1                                   1    100   20\n")
        #expect(try swxl(["sched-credit", "-s", "-p", "0"]).stdout == "Cpupool Pool-0: tslice=10ms ratelimit=2000us migration-delay=0us\n")
        // The pool runs credit: credit2's commands find no pool and no domain of theirs.
        let two = try swxl(["sched-credit2"])
        #expect(two.status == 0 && two.stdout == "" && two.stderr == "")
        let twoDomain = try swxl(["sched-credit2", "-d", "g1"])
        #expect(twoDomain.status == 1 && twoDomain.stdout == Self.creditHeader)
        #expect(twoDomain.stderr == "libxl_domain_sched_params_get returned credit not credit2.\n")
    }

    @Test func schedCredit2AsXl() throws {
        let (host, swxl) = try host(scheduler: "credit2", "cpu_weight = 300\ncap = 50")
        defer { host.close() }
        let one = try swxl(["sched-credit2", "-d", "g1"])
        #expect(one.status == 0 && one.stdout == Self.creditHeader + "g1                                   1    300   50\n")
        // credit2 refuses a cap above 100 per vCPU (1 here), as libxl does first.
        let cap = try swxl(["sched-credit2", "-d", "g1", "-c", "101"])
        #expect(cap.status == 1)
        #expect(cap.stderr == "swxl: error: Cpu cap out of range, valid range is from 0 to 100 for specified number of vcpus\nlibxl_domain_sched_params_set failed.\n")
        #expect(try swxl(["sched-credit2", "-s", "-r", "500"]).status == 0)
        let all = try swxl(["sched-credit2"])
        #expect(all.stdout == "Cpupool Pool-0: ratelimit=500us\n" + Self.creditHeader
                + "Domain-0                             0    256    0\n" + "g1                                   1    300   50\n")
        // The credit scheduler's commands on a credit2 pool, as xl says it.
        let credit = try swxl(["sched-credit"])
        #expect(credit.status == 0 && credit.stdout == "" && credit.stderr == "")
        let creditDomain = try swxl(["sched-credit", "-d", "g1"])
        #expect(creditDomain.status == 1 && creditDomain.stdout == Self.creditHeader)
        #expect(creditDomain.stderr == "libxl_domain_sched_params_get returned credit2 not credit.\n")
        let setCredit = try swxl(["sched-credit", "-d", "g1", "-w", "10"])
        #expect(setCredit.status == 1 && setCredit.stdout == "")
        #expect(setCredit.stderr == "swxl: error: Getting domain sched credit: Invalid argument\nlibxl_domain_sched_params_set failed.\n")
        let pool = try swxl(["sched-credit", "-s"])
        #expect(pool.status == 0 && pool.stdout == "Cpupool Pool-0: [sched params unavailable]\n")
        #expect(pool.stderr == "swxl: error: getting Credit scheduler parameters: Invalid argument\nlibxl_sched_credit_params_get failed.\n")
    }

    /// What the hypervisor or libxl refuses at create fails the create, and nothing is left.
    @Test func createRefusesWhatXenRefuses() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        for (body, message) in [("cpus = \"5-7\"", "setting affinity failed on vcpu `0': Invalid argument"),
                                ("cpu_weight = 0", "Cpu weight out of range, valid values are within range from 1 to 65535"),
                                ("cap = 101", "Cpu cap out of range, valid range is from 0 to 100 for specified number of vcpus")] {
            let r = try host.swxl(["create", try host.config(name: "bad", body)], environment: ["SWXL_SIM_CPUS": "4"])
            #expect(r.status == 1, "\(body)")
            #expect(r.stderr.contains(message), "\(body): \(r.stderr)")
            #expect(try host.domains().count == 1, "\(body)")
        }
    }
}

/// No key dropped in silence at create, and xl's lexical error for an upper-case key.
@Suite(.serialized) struct ConfigKeyCreateTests {
    @Test func createWarnsRefusesAndRejectsAsDocumented() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let warned = try host.config(name: "w", "vnc = 1")
        let w = try host.swxl(["create", "-p", warned])
        #expect(w.status == 0)
        #expect(w.stderr == "Parsing config from \(warned)\n\(warned): warning: `vnc` is not applied by swxl yet: ignored\n")
        let refused = try host.config(name: "r", "pci = [ '0000:01:00.0' ]")
        let r = try host.swxl(["create", refused])
        #expect(r.status == 1 && r.stdout == "")
        #expect(r.stderr == "Parsing config from \(refused)\n\(refused): error: `pci`: PCI passthrough is not supported by swxl on this host\n")
        let upper = try host.config(name: "u", "Vcpus = 2")
        let u = try host.swxl(["create", upper])
        #expect(u.status == 1 && u.stdout == "")
        #expect(u.stderr == "\(upper):4:1: error: invalid key `Vcpus`: xl.cfg keys are lower-case letters, digits, `.` and `_`, starting with a letter\n")
        #expect(try host.domains().map { $0["name"] as? String } == ["Domain-0", "w"])
    }
}
