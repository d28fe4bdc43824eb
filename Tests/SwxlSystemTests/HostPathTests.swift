import SwxlSystem
import Testing

@Suite struct HostPathTests {
    @Test func stateDirFollowsTheArchitecture() {
        #expect(HostPaths(environment: ["SWXL_STATE_DIR": "/s"], uid: 0).stateDir == "/s")
        #expect(HostPaths(environment: [:], uid: 0).stateDir == "/var/lib/swxl")
        #expect(HostPaths(environment: ["XDG_STATE_HOME": "/x", "HOME": "/h"], uid: 1000).stateDir == "/x/swxl")
        #expect(HostPaths(environment: ["HOME": "/h"], uid: 1000).stateDir == "/h/.local/state/swxl")
        let paths = HostPaths(stateDir: "/s")
        #expect(paths.daemonSocket == "/s/xenstored/socket")
        #expect(paths.readOnlySocket == "/s/xenstored/socket_ro")
        #expect(paths.domainSocket(4) == "/s/domains/4/xenbus")
        #expect(paths.hypervisorDir == "/s/hypervisor")
        #expect(HostPaths.clientSocket(environment: ["XENSTORED_PATH": "/p"], default: "/d") == "/p")
        #expect(HostPaths.clientSocket(environment: [:], default: "/d") == "/d")
    }
}
