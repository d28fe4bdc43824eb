import DomainConfig
import Foundation
import Testing
@testable import EmbeddedHost
import SwxlSystem
import Toolstack
import XenStoreProtocol

@Suite struct ToolstackHostTests {
    /// On Xen a restore waits up to 2 s for xenconsoled before it runs the
    /// guest; `SWXL_CONSOLE_CONNECT_TIMEOUT_MS` changes it (0: no wait).
    @Test func theConsoleWaitOfARestoreOnXen() {
        #expect(ToolstackHost.consoleConnectTimeoutMs(environment: [:]) == 2_000)
        #expect(ToolstackHost.consoleConnectTimeoutMs(environment: ["SWXL_CONSOLE_CONNECT_TIMEOUT_MS": "0"]) == 0)
        #expect(ToolstackHost.consoleConnectTimeoutMs(environment: ["SWXL_CONSOLE_CONNECT_TIMEOUT_MS": "350"]) == 350)
        #expect(ToolstackHost.consoleConnectTimeoutMs(environment: ["SWXL_CONSOLE_CONNECT_TIMEOUT_MS": "-4"]) == 0)
        #expect(ToolstackHost.consoleConnectTimeoutMs(environment: ["SWXL_CONSOLE_CONNECT_TIMEOUT_MS": "soon"]) == 2_000)
    }

    /// The embedded host keeps console logs, and its toolstack removes a
    /// domain's log when it forgets the domain.
    @Test func theEmbeddedHostsConsoleLogsGoWithTheirDomains() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let host = ToolstackHost.embedded(paths: HostPaths(stateDir: dir), store: NullStore(),
                                          environment: [:], program: "/bin/false")
        #expect(host.kind == .embedded)
        let log = try #require(host.consoleLog)
        #expect(log == ConsoleLog(stateDir: dir))
        var config = DomainConfiguration(name_label: "web", uuid: .random())
        config.memory_dynamic_max = 64 << 20
        config.memory_static_max = 64 << 20
        config.VCPUs_max = 2
        config.PV_kernel = tinyKernel
        let id = try host.toolstack.create(config)
        // The simulated kernel brought up the one vcpu of the config, of two.
        let info = try #require(try host.toolstack.hypervisor.domainInfo(domid: id))
        #expect([info.onlineVCPUs, info.maxVCPUs] == [1, 2])
        log.append(id, "booting\n")
        try host.toolstack.destroy(domid: id)
        #expect(!FileManager.default.fileExists(atPath: log.path(id)))
    }
}
