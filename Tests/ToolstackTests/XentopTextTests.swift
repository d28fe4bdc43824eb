import DomainConfig
import Foundation
import Testing
import Toolstack

/// xentop's lines (tools/xentop/xentop.c) and libxenstat's reading of
/// /proc/net/dev and blkback's sysfs (xenstat_linux.c), on made-up samples.
@Suite struct XentopTextTests {
    static func domain(_ domid: UInt32, _ name: String, memKiB: UInt64, maxKiB: UInt64, cpuNs: UInt64 = 0, running: Bool = false,
                       crashed: Bool = false, networks: [NetworkStatistics] = [], vbds: [BlockDeviceStatistics] = []) -> DomainStatistics {
        let info = DomainInfo(domid: domid, uuid: DomainUUID(bytes: [UInt8](repeating: UInt8(domid), count: 16))!, running: running,
                              shutdown: false, crashed: crashed, shutdownReason: crashed ? .crash : nil,
                              currentMemoryKiB: memKiB, maxMemoryKiB: maxKiB, onlineVCPUs: 1, maxVCPUs: 2, cpuTimeNs: cpuNs)
        return DomainStatistics(info: info, name: name, vcpus: [], networks: networks, blockDevices: vbds)
    }

    static func sample(_ domains: [DomainStatistics], at us: UInt64) -> XentopText.Sample {
        XentopText.Sample(stats: HostStatistics(totalBytes: 2 << 30, freeBytes: 1 << 30, cpus: 2, cpuHz: 2_000_000_000,
                                                xenVersion: "4.17.3", domains: domains), timeUs: us)
    }

    @Test func batchLinesAsXentop() {
        let big = NetworkStatistics(id: 0, rxBytes: 5 << 10, txBytes: 123_456_789 << 10)
        let domains = [
            Self.domain(0, "Domain-0", memKiB: 524_288, maxKiB: UInt64(UInt32.max) * 4, cpuNs: 12_600_000_000, running: true),
            Self.domain(7, "a-rather-long-name", memKiB: 131_072, maxKiB: 132_096, cpuNs: 3_000_000_000, crashed: true,
                        networks: [big], vbds: [BlockDeviceStatistics(backendType: 1, device: 51712, error: true)]),
            Self.domain(3, "b", memKiB: 65_536, maxKiB: 66_560,
                        vbds: [BlockDeviceStatistics(backendType: 1, device: 51713, outOfRequests: 1, readRequests: 22, writeRequests: 3,
                                                     readSectors: 44, writeSectors: 6)]),
        ]
        let before = Self.sample(domains, at: 1_000_000)
        var after = Self.sample(domains, at: 3_000_000)
        after.stats.domains[0].info.cpuTimeNs += 500_000_000  // 0.5 s of CPU in 2 s: 25%
        let lines = XentopText().table(after, previous: before)
        // Sorted by name, case-blind; NETTX(k) widened to 9 for 123456789; VBD_* "-" where every device failed.
        #expect(lines == [
            "      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS  NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID\n",
            "a-rather-l ---c--          3    0.0     131072    6.2     132096       6.3     2    1 123456789        5    1        -        -        -          -          -    0\n",
            "         b ------          0    0.0      65536    3.1      66560       3.2     2    0         0        0    1        1       22        3         44          6    0\n",
            "  Domain-0 -----r         13   25.0     524288   25.0   no limit       n/a     2    0         0        0    0        0        0        0          0          0    0\n",
        ])
        var text = XentopText()
        text.fullName = true
        text.repeatHeader = true
        text.showBlockDevices = true
        text.showNetworks = true
        let full = text.table(before, previous: nil)
        #expect(full[0].hasPrefix("              NAME  STATE") && full[1].hasPrefix("a-rather-long-name ---c--"))
        #expect(full[2] == "Net0 RX:     5120bytes        0pkts        0err        0drop  TX: 126419751936bytes        0pkts        0err        0drop\n")
        #expect(full[3] == "VBD BlkBack 51712 [ca: 0]  OO:        -   RD:        -   WR:        -   RSECT:          -   WSECT:          -\n")
        #expect(full[4].hasPrefix("              NAME  STATE"))  // repeated before each domain
        #expect(full[6] == "VBD BlkBack 51713 [ca: 1]  OO:        1   RD:       22   WR:        3   RSECT:         44   WSECT:          6\n")
    }

    @Test func summaryAsXentop() {
        let s = Self.sample([Self.domain(0, "Domain-0", memKiB: 1, maxKiB: 1, running: true), Self.domain(1, "x", memKiB: 1, maxKiB: 1)], at: 0)
        #expect(XentopText().summary(s, clock: "10:11:12") == "xentop - 10:11:12   Xen 4.17.3\n"
                + "2 domains: 1 running, 0 blocked, 0 paused, 0 crashed, 0 dying, 0 shutdown \n"
                + "Mem: 2097152k total, 1048576k used, 1048576k free    CPUs: 2 @ 2000MHz\n")
    }

    /// A fake /proc/net/dev and /sys: vifs found by name, counters in
    /// /proc/net/dev's columns; with no bridge on the host, xenstat's test
    /// for bridge interfaces swallows every interface without a `p`.
    @Test func linuxNetworkAndBlockCounters() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xentop-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let net = dir + "/net", sys = dir + "/class", vbd = dir + "/backend"
        try FileManager.default.createDirectory(atPath: sys + "/eth0", withIntermediateDirectories: true)
        for counters in ["vbd-3-51712/statistics", "vbd-9-51712/statistics", "tap-3-51728"] {
            try FileManager.default.createDirectory(atPath: vbd + "/" + counters, withIntermediateDirectories: true)
        }
        for (name, value) in [("oo_req", "1"), ("rd_req", "2"), ("wr_req", "3"), ("rd_sect", "4"), ("wr_sect", "5")] {
            try "\(value)\n".write(toFile: vbd + "/vbd-3-51712/statistics/" + name, atomically: true, encoding: .utf8)
        }
        let text = "Inter-|   Receive                                                |  Transmit\n"
            + " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
            + "    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n"
            + "vif3.0:    1000      10    1    2    0     0          0         0     2000      20    3    4    0     0       0          0\n"
            + "vif4.1:       7       1    0    0    0     0          0         0        8       1    0    0    0     0       0          0\n"
        try text.write(toFile: net, atomically: true, encoding: .utf8)
        let source = LinuxDeviceStatistics(procNetDev: net, sysClassNet: sys, xenBackendDevices: vbd)
        // No bridge: swallowed, as xenstat does.
        #expect(source.networks(domids: [0, 3]).isEmpty)
        try FileManager.default.createDirectory(atPath: sys + "/xenbr0/bridge", withIntermediateDirectories: true)
        #expect(source.networks(domids: [0, 3]) == [3: [NetworkStatistics(id: 0, rxBytes: 1000, rxPackets: 10, rxErrors: 1, rxDrops: 2,
                                                                          txBytes: 2000, txPackets: 20, txErrors: 3, txDrops: 4)]])
        let blocks = source.blockDevices(domids: [0, 3])
        #expect(blocks[3]?.count == 2 && blocks[9] == nil)
        #expect(blocks[3]?.first { $0.backendType == 1 } == BlockDeviceStatistics(backendType: 1, device: 51712, outOfRequests: 1, readRequests: 2,
                                                                                   writeRequests: 3, readSectors: 4, writeSectors: 5))
        #expect(blocks[3]?.first { $0.backendType == 2 } == BlockDeviceStatistics(backendType: 2, device: 51728, error: true))
    }
}
