import Foundation
import SwxlSystem
import Testing

/// `sysrq`, `debug-keys`, `dump-core`, `cpupool-list` and `top` through the
/// built `swxl` on the embedded host, with xl 4.17's and xentop's output,
/// messages and exit status (tools/xl/xl_misc.c, xl_cpupool.c,
/// tools/xentop/xentop.c), compared whole.
@Suite(.serialized) struct DiagnosticCommandTests {
    /// A host of 4 CPUs and 4 GiB with guest `g1` (128 MiB), paused unless `running`.
    func host(running: Bool = false, _ body: String = "", disk: Bool = false) throws -> (EmbeddedHost, (([String]) throws -> RunResult)) {
        let host = try EmbeddedHost()
        let body = disk ? body + "\ndisk = ['\(try host.image("d")),,xvda,w']" : body
        let env = ["SWXL_SIM_CPUS": "4", "SWXL_SIM_MEMORY": "4096"]
        let swxl = { (arguments: [String]) throws -> RunResult in try host.swxl(arguments, environment: env) }
        let create = try swxl(["create"] + (running ? [] : ["-p"]) + [try host.config(name: "g1", body)])
        #expect(create.status == 0, "\(create.stderr)")
        return (host, swxl)
    }

    @Test func cpupoolListAsXl() throws {
        let (host, swxl) = try host()
        defer { host.close() }
        let table = "Name               CPUs   Sched     Active   Domain count\nPool-0               4   credit2       y          2\n"
        for arguments in [["cpupool-list"], ["cpupool-list", "Pool-0"]] {
            let r = try swxl(arguments)
            #expect(r.status == 0 && r.stderr == "" && r.stdout == table, "\(arguments): \(r.stdout)\(r.stderr)")
        }
        let cpus = try swxl(["cpupool-list", "--cpus"])
        #expect(cpus.status == 0 && cpus.stdout == "Name               CPU list\nPool-0             0,1,2,3\n")
        #expect(try swxl(["cpupool-list", "-c"]).stdout == cpus.stdout)
        // By name only, as libxl_name_to_cpupoolid.
        for pool in ["nope", "0"] {
            let r = try swxl(["cpupool-list", pool])
            #expect(r.status == 1 && r.stdout == "" && r.stderr == "Pool '\(pool)' does not exist\n")
        }
        #expect(try swxl(["cpupool-list", "Pool-0", "ignored"]).stdout == table)  // as xl: what follows the pool is not read
        let bad = try swxl(["cpupool-list", "-z"])
        #expect(bad.status == 2 && bad.stderr == "option `z' not supported.\n")
        let json = try swxl(["cpupool-list", "--json"])
        let pools = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(pools?.count == 1 && pools?[0]["name"] as? String == "Pool-0" && pools?[0]["domains"] as? Int == 2
                && pools?[0]["cpus"] as? [Int] == [0, 1, 2, 3] && pools?[0]["scheduler"] as? String == "credit2")
    }

    @Test func sysrqReachesTheGuest() throws {
        let (host, swxl) = try host(running: true)
        defer { host.close() }
        let domid = try swxl(["domid", "g1"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let node = "/local/domain/\(domid)/control/sysrq"
        let log = host.stateDir + "/toolstack/console/\(domid).log"
        #expect(try swxl(["sysrq", "g1", "s"]) == RunResult(status: 0, stdout: "", stderr: ""))
        // The guest takes the key: it empties the node and says so on its console.
        #expect(try host.waitUntil(10) { try swxl(["store", "read", node]).stdout == "\n" })
        #expect(host.waitUntil(10) { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("sysrq: Emergency Sync\n") })
        let invalid = try swxl(["sysrq", "g1", "sb"])
        #expect(invalid.status == 1 && invalid.stderr == "Invalid sysrq.\n\n"
                && invalid.stdout == "Usage: swxl [-vtTf] sysrq <Domain> <letter>\n\nSend a sysrq to a domain.\n\n")
        #expect(try swxl(["sysrq", "nope", "s"]) == RunResult(status: 1, stdout: "", stderr: "nope is an invalid domain identifier (rc=-6)\n"))
        let few = try swxl(["sysrq", "g1"])
        #expect(few.status == 2 && few.stderr == "'swxl sysrq' requires at least 2 arguments.\n\n")
        // b resets the guest at once: on_reboot's default, restart, gives it a new domid.
        #expect(try swxl(["sysrq", "g1", "b"]).status == 0)
        #expect(try host.waitUntil(10) {
            let now = try swxl(["domid", "g1"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            return !now.isEmpty && now != domid
        })
    }

    @Test func debugKeysPrintToTheConsoleRing() throws {
        let (host, swxl) = try host()
        defer { host.close() }
        #expect(try swxl(["debug-keys", "hx"]) == RunResult(status: 0, stdout: "", stderr: ""))
        // xl's global -N is not for debug-keys.
        #expect(try swxl(["-N", "debug-keys", "h"]) == RunResult(status: 1, stdout: "", stderr: "command does not implement -N (dryrun) option\n"))
        let ring = try swxl(["dmesg"]).stdout
        #expect(ring.contains("(XEN) 'h' pressed -> showing installed handlers\n(XEN)  key '%' (ascii '25') => trap to xendbg\n"))
        #expect(ring.contains("(XEN)  key 'q' (ascii '71') => dump domain (and guest debug) info\n"))
        #expect(!ring.contains("'x' pressed"))  // no handler: ignored, as Xen ignores it
        let reboot = try swxl(["debug-keys", "R"])
        #expect(reboot.status == 1 && reboot.stdout == ""
                && reboot.stderr == "swxl: error: sending debug keys: the embedded host does not reboot its machine ('R')\ncannot send debug keys: R\n")
        let few = try swxl(["debug-keys"])
        #expect(few.status == 2 && few.stderr == "'swxl debug-keys' requires at least 1 argument.\n\n")
    }

    /// The core's bytes as little-endian numbers.
    static func word<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int, _: T.Type) -> T {
        bytes[offset..<offset + MemoryLayout<T>.size].reversed().reduce(T(0)) { $0 << 8 | T($1) }
    }

    @Test func dumpCoreWritesXenCore() throws {
        let (host, swxl) = try host("vcpus = 2")
        defer { host.close() }
        let path = host.stateDir + "/g1.core"
        // Never run yet (created paused): its kernel has set up no p2m, as on Xen.
        let early = try swxl(["dump-core", "g1", path])
        #expect(early.status == 1 && early.stderr.hasPrefix("swxl: error: Core dumping domain to \(path): p2m_size < nr_pages -1 (0 < 7fff)")
                && early.stderr.hasSuffix("\ncore dump failed (rc=-3)\n") && !FileManager.default.fileExists(atPath: path), "\(early.stderr)")
        #expect(try swxl(["unpause", "g1"]).status == 0)
        #expect(try swxl(["pause", "g1"]).status == 0)
        #expect(try swxl(["dump-core", "g1", path]) == RunResult(status: 0, stdout: "", stderr: ""))
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        // ELF64 LSB core for x86-64, section headers right after the ELF header, 7 of them, .shstrtab the 2nd.
        #expect(Array(bytes[0..<16]) == [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
        #expect(Self.word(bytes, 16, UInt16.self) == 4 && Self.word(bytes, 18, UInt16.self) == 62)
        #expect(Self.word(bytes, 40, UInt64.self) == 64 && Self.word(bytes, 60, UInt16.self) == 7 && Self.word(bytes, 62, UInt16.self) == 1)
        func section(_ i: Int) -> (name: UInt32, type: UInt32, offset: UInt64, size: UInt64) {
            let b = 64 + i * 64
            return (Self.word(bytes, b, UInt32.self), Self.word(bytes, b + 4, UInt32.self),
                    Self.word(bytes, b + 24, UInt64.self), Self.word(bytes, b + 32, UInt64.self))
        }
        let strtab = section(1)
        func name(_ i: Int) -> String {
            let start = Int(strtab.offset) + Int(section(i).name)
            return String(decoding: bytes[start...].prefix { $0 != 0 }, as: UTF8.self)
        }
        #expect((1..<7).map(name) == [".shstrtab", ".note.Xen", ".xen_prstatus", ".xen_shared_info", ".xen_pages", ".xen_p2m"])
        // 128 MiB: 32768 pages; 2 vCPUs' contexts; the pages page-aligned; the string table last.
        let pages: UInt64 = 32768
        #expect(section(2).offset == 512 && section(2).type == 7)
        #expect(section(3).offset == section(2).offset + section(2).size && section(3).size % 2 == 0)
        #expect(section(5).offset % 4096 == 0 && section(5).size == pages * 4096)
        #expect(section(6).offset == section(5).offset + section(5).size && section(6).size == pages * 16)
        #expect(strtab.offset == section(6).offset + section(6).size && UInt64(bytes.count) == strtab.offset + strtab.size)
        // The header note: Xen's magic, the vCPUs and pages.
        let header = Int(section(2).offset) + 16
        #expect(Self.word(bytes, header + 16, UInt64.self) == 0xF00F_EBED && Self.word(bytes, header + 24, UInt64.self) == 2
                && Self.word(bytes, header + 32, UInt64.self) == pages && Self.word(bytes, header + 40, UInt64.self) == 4096)
        let p2m = Int(section(6).offset)
        #expect(Self.word(bytes, p2m + 16, UInt64.self) == 1 && Self.word(bytes, p2m + 32, UInt64.self) == 2)

        let missing = try swxl(["dump-core", "g1", host.stateDir + "/no/such/dir"])
        #expect(missing.status == 1 && missing.stdout == ""
                && missing.stderr == "swxl: error: Core dumping domain to \(host.stateDir)/no/such/dir: No such file or directory\ncore dump failed (rc=-3)\n")
        #expect(try swxl(["dump-core", "nope", path]).stderr == "nope is an invalid domain identifier (rc=-6)\n")
    }

    static let topHeader = "      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID\n"

    @Test func topBatchAsXentop() throws {
        let (host, swxl) = try host("vcpus = 2", disk: true)
        defer { host.close() }
        let r = try swxl(["top", "-b", "-i", "2", "-d", "0"])
        #expect(r.status == 0 && r.stderr == "")
        // Domain-0's CPU seconds and share move with time: masked.
        let masked = r.stdout.replacingOccurrences(of: #"(Domain-0 -----r) +\d+ +\d+\.\d"#, with: "$1 <cpu> <pct>", options: .regularExpression)
        let g1 = "        g1 ----p-          0    0.0     131072    3.1     132096       3.1     2    0        0        0    1        0        0        0          0          0    0\n"
        let lines = masked.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 7 && lines[0] + "\n" == Self.topHeader && lines[2] + "\n" == g1 && lines[3] + "\n" == Self.topHeader
                && lines[5] + "\n" == g1, "\(r.stdout)")
        let dom0 = "  Domain-0 -----r <cpu> <pct>    1048576   25.0    1048576      25.0     4    0        0        0    0        0        0        0          0          0    0"
        #expect(lines[1] == dom0 && lines[4] == dom0, "\(lines[1])")
        // -v: each domain's vCPU line; -x: its block devices; -f: the name not cut.
        let more = try swxl(["top", "--batch", "--iterations=1", "-v", "-x"])
        #expect(more.stdout.contains(g1 + "VCPUs(sec):   0:          0s  1:          0s\n"
                                     + "VBD BlkBack 51712 [ca: 0]  OO:        0   RD:        0   WR:        0   RSECT:          0   WSECT:          0\n"),
                "\(more.stdout)")
        let json = try swxl(["top", "--json", "-i", "1"])
        let sample = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let domains = sample?["domains"] as? [[String: Any]]
        #expect(domains?.map { $0["name"] as? String } == ["Domain-0", "g1"] && sample?["memory_total_kib"] as? Int == 4_194_304)
        let bad = try swxl(["top", "-b", "-q"])
        #expect(bad.status == 2 && bad.stderr == "option `q' not supported.\n")
    }

    /// The interactive screen on a terminal: the summary and table, xentop's
    /// keys (V: the vCPU lines, D: the delay prompt), Q leaves with the
    /// terminal as it was.
    @Test func topOnATerminal() throws {
        let (host, _) = try host()
        defer { host.close() }
        // A new terminal's settings (taken from another one: this one's program may already have changed them).
        let fresh = try PseudoTerminal.open()
        let freshSlave = try fresh.openSlave()
        let before = TerminalMode.snapshot(freshSlave)
        close(freshSlave)
        close(fresh.master)
        let term = try ConsoleTests.OnTerminal(host, ["top", "-d", "1"])
        #expect(term.read(until: "CPUs: 4 @ 2400MHz"), "\(term.text)")
        #expect(term.read(until: "        g1 ----p-"), "\(term.text)")
        #expect(term.read(until: "uit  "))
        term.type("v")
        #expect(term.read(until: "VCPUs(sec):   0:          0s"), "\(term.text)")
        term.type("d")
        #expect(term.read(until: "Delay(sec): "))
        term.type("2\r")
        term.type("q")
        #expect(term.status() == 0)
        #expect(before != nil && TerminalMode.snapshot(term.slave) == before)
    }
}
