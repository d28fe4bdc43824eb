import DomainConfig
import Testing
import Toolstack

@Suite struct DomainInfoTests {
    func info(running: Bool = false, blocked: Bool = false, paused: Bool = false, shutdown: Bool = false,
              dying: Bool = false, reason: ShutdownReason? = nil) -> DomainInfo {
        DomainInfo(domid: 1, uuid: DomainUUID(bytes: [UInt8](repeating: 0, count: 16))!, running: running, blocked: blocked,
                   paused: paused, shutdown: shutdown, dying: dying, shutdownReason: reason,
                   currentMemoryKiB: 0, maxMemoryKiB: 0, onlineVCPUs: 1, maxVCPUs: 1, cpuTimeNs: 0)
    }

    /// The column of `xl list`: r b p s, the shutdown reason letter, d.
    @Test func stateLettersAreXls() {
        #expect(info(running: true).stateLetters == "r-----")
        #expect(info(blocked: true).stateLetters == "-b----")
        #expect(info(blocked: true, paused: true).stateLetters == "-bp---")
        #expect(info(shutdown: true, reason: .poweroff).stateLetters == "---s--")
        #expect(info(shutdown: true, reason: .reboot).stateLetters == "---sr-")
        #expect(info(shutdown: true, reason: .crash).stateLetters == "---sc-")
        #expect(info(shutdown: true, reason: .watchdog).stateLetters == "---sw-")
        #expect(info(shutdown: true, reason: .softReset).stateLetters == "---sS-")
        #expect(info(shutdown: true, dying: true, reason: .suspend).stateLetters == "---ssd")
        // A reason without the shutdown flag is not shown.
        #expect(info(running: true, reason: .crash).stateLetters == "r-----")
    }
}
