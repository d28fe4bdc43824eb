import Foundation
import Testing
@testable import EmbeddedHost
import Toolstack

@Suite struct ConsoleLogTests {
    @Test func aLogIsAFilePerDomainUnderTheToolstacksDir() throws {
        let log = ConsoleLog(stateDir: "/var/lib/swxl")
        #expect(log.directory == "/var/lib/swxl/toolstack/console")
        #expect(log.path(7) == "/var/lib/swxl/toolstack/console/7.log")
    }

    @Test func appendMakesTheDirectoryAndRemoveTakesTheLogAway() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = ConsoleLog(stateDir: dir)
        log.append(3, "booting\n")
        log.append(3, "login: ")
        #expect(try String(contentsOfFile: log.path(3), encoding: .utf8) == "booting\nlogin: ")
        log.remove(3)
        log.remove(3)  // already gone: not an error
        #expect(!FileManager.default.fileExists(atPath: log.path(3)))
    }

    /// Without following, what is there; a missing log is empty.
    @Test func followingOnceGivesWhatIsThere() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = ConsoleLog(stateDir: dir)
        var seen: [String] = []
        log.follow(1) { seen.append($0) }
        #expect(seen == [])
        log.append(1, "hello\n")
        log.follow(1) { seen.append($0) }
        #expect(seen == ["hello\n"])
    }

    /// Following gives what is added after each look, each byte once, until told to stop.
    @Test func followingGivesWhatIsAddedUntilToldToStop() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = ConsoleLog(stateDir: dir)
        log.append(2, "one\n")
        var seen = ""
        var looks = 0
        log.follow(2, pollMicroseconds: 1000, keepFollowing: {
            looks += 1
            if looks == 1 { log.append(2, "two\n") }
            return looks < 3
        }, output: { seen += $0 })
        #expect(seen == "one\ntwo\n")
        #expect(looks == 3)
    }
}
