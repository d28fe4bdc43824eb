import Foundation
import Testing
import XenStoreClient

@Suite struct ConnectorTests {
    func isolated(_ dir: String, command: [String]?) -> XenStoreConnector {
        var connector = XenStoreConnector(environment: ["SWXL_STATE_DIR": dir], uid: 1000, daemonCommand: command)
        connector.systemSocket = dir + "/no-system-socket"
        connector.xenbusDevices = [dir + "/no-xenbus"]
        connector.capabilitiesFile = dir + "/no-capabilities"
        connector.startTimeout = .seconds(2)
        return connector
    }

    @Test func withoutADaemonCommandNothingIsStarted() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: XenStoreError.daemonUnavailable("no xenstored answers at \(dir)/xenstored/socket")) {
            try isolated(dir, command: nil).connect()
        }
    }

    @Test func aDaemonThatFailsToStartIsReported() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: XenStoreError.daemonUnavailable("the embedded xenstored (/bin/false) failed to start (exit status 1)")) {
            try isolated(dir, command: ["/bin/false"]).connect()
        }
    }

    @Test func xenstoredPathWins() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var connector = isolated(dir, command: ["/bin/false"])
        connector.environment["XENSTORED_PATH"] = dir + "/elsewhere"
        #expect(throws: XenStoreError.system("stat \(dir)/elsewhere", ENOENT)) { try connector.connect() }
    }
}

func temporaryDirectory() throws -> String {
    var template = Array("/tmp/swxl-client-XXXXXX".utf8CString)
    guard let path = mkdtemp(&template) else { throw XenStoreError.system("mkdtemp", errno) }
    return String(cString: path)
}
