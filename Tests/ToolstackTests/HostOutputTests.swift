import DomainConfig
import Foundation
import Testing
@testable import Toolstack

/// The text and JSON the command line prints, built here.
@Suite struct HostOutputTests {
    static func info(_ domid: UInt32, shutdown: ShutdownReason? = nil, paused: Bool = false) -> DomainInfo {
        DomainInfo(domid: domid, uuid: DomainUUID(bytes: Array(repeating: UInt8(domid), count: 16))!, running: domid == 0, blocked: domid != 0 && !paused && shutdown == nil,
                   paused: paused, shutdown: shutdown != nil, crashed: shutdown == .crash, shutdownReason: shutdown,
                   currentMemoryKiB: 262144, maxMemoryKiB: 263168, onlineVCPUs: 1, maxVCPUs: 2, cpuTimeNs: 1_234_567_890)
    }

    @Test func listJSONIsAnObjectPerLine() throws {
        let text = DomainListing.json([DomainSummary(info: Self.info(0), name: "Domain-0"),
                                       DomainSummary(info: Self.info(3, shutdown: .reboot), name: "we\"b")])
        #expect(text == """
            [
              {"name": "Domain-0", "domid": 0, "uuid": "00000000-0000-0000-0000-000000000000", "memory_kib": 262144, \
            "max_memory_kib": 263168, "vcpus": 1, "max_vcpus": 2, "state": "running", "state_letters": "r-----", \
            "cpu_time": 1.235, "shutdown_reason": null},
              {"name": "we\\"b", "domid": 3, "uuid": "03030303-0303-0303-0303-030303030303", "memory_kib": 262144, \
            "max_memory_kib": 263168, "vcpus": 1, "max_vcpus": 2, "state": "shutdown", "state_letters": "---sr-", \
            "cpu_time": 1.235, "shutdown_reason": "reboot"}
            ]

            """)
        #expect(try JSONSerialization.jsonObject(with: Data(text.utf8)) is [[String: Any]])
    }

    @Test func stateNamesTakeTheFirstStateThatApplies() {
        #expect([Self.info(0), Self.info(1), Self.info(2, paused: true), Self.info(3, shutdown: .poweroff),
                 Self.info(4, shutdown: .crash)].map(\.stateName) == ["running", "blocked", "paused", "shutdown", "crashed"])
        var dying = Self.info(5, shutdown: .crash)
        dying.dying = true
        #expect(dying.stateName == "dying")
    }

    @Test func fixedDecimalsRoundAndPad() {
        #expect([DecimalText.fixed(1.2345, places: 3), DecimalText.fixed(0.05, places: 1), DecimalText.fixed(2, places: 2),
                 DecimalText.fixed(-1.26, places: 1), DecimalText.fixed(7.6, places: 0)] == ["1.235", "0.1", "2.00", "-1.3", "8"])
    }

    static let fields = [HostInfo.Field(key: "host", value: .text("box")), HostInfo.Field(key: "nr_cpus", value: .number(4)),
                         HostInfo.Field(key: "virt_caps", value: .words(["pv", "hvm"])),
                         HostInfo.Field(key: "xen_commandline", value: .text(""))]

    @Test func infoTextIsXls() {
        #expect(HostInfo.text(Self.fields, item: nil) == """
            host                   : box
            nr_cpus                : 4
            virt_caps              : pv hvm
            xen_commandline        : \n
            """)
        #expect(HostInfo.text(Self.fields, item: "nr") == "4\n")
        #expect(HostInfo.text(Self.fields, item: "xen_c") == "\n")
    }

    @Test func infoJSONIsOneObject() {
        #expect(HostInfo.json(Self.fields, item: nil) == """
            {
              "host": "box",
              "nr_cpus": 4,
              "virt_caps": ["pv", "hvm"],
              "xen_commandline": ""
            }

            """)
        #expect(HostInfo.json(Self.fields, item: "nr") == "{\n  \"nr_cpus\": 4\n}\n")
        #expect(HostInfo.json(Self.fields, item: "none") == "{\n}\n")
    }

    @Test func monitorLinesCarryTheirUTCTime() throws {
        #expect(MonitorLogFile.stamped("domain 3 (web) shut down (reboot): restart", at: 1_796_339_991)
                == "2026-12-03T23:19:51Z domain 3 (web) shut down (reboot): restart\n")
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = MonitorLogFile(path: dir + "/monitor.log")
        file.append("one", at: 0)
        file.append("two", at: 60)
        #expect(try String(contentsOfFile: dir + "/monitor.log", encoding: .utf8)
                == "1970-01-01T00:00:00Z one\n1970-01-01T00:01:00Z two\n")
    }

    @Test func uptimeIsTheMachinesForDomain0AndSinceStartForOthers() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "12345.67 45678.90\n".write(toFile: dir + "/uptime", atomically: true, encoding: .utf8)
        #expect(Toolstack.machineUptimeSeconds(procUptime: dir + "/uptime") == 12345)
        #expect(Toolstack.machineUptimeSeconds(procUptime: dir + "/missing") == 0)
        let rig = try Rig()
        defer { rig.cleanup() }
        let id = try rig.toolstack.create(rig.config("up"))
        let start = try #require(rig.toolstack.startTime(domid: id))
        #expect(rig.toolstack.uptimeSeconds(domid: id, now: start + 90.5) == 90)
        #expect(rig.toolstack.uptimeSeconds(domid: id, now: start - 5) == 0)
        #expect(rig.toolstack.uptimeSeconds(domid: 99, now: start) == nil)
        #expect(rig.toolstack.uptimeSeconds(domid: 0, now: 0) == Toolstack.machineUptimeSeconds())
    }
}
