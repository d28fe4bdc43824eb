#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import SwxlSystem
import XenStoreClient
import XenStoreTools

/// What the `swxl store` commands share: connecting, and printing and
/// failing like Xen's `xenstore-*` tools (``XenStoreTool`` says what they do).
enum StoreCLI {
    /// The daemon, found as libxenstore finds it; on a host without Xen,
    /// swxl's own, started from this very binary when none answers.
    static func connect(_ command: String) throws -> XenStoreClient {
        do {
            return try XenStoreTool.open(XenStoreConnector.current(daemonCommand: XenStoreConnector.embeddedDaemonCommand(CurrentProcess.executablePath())))
        } catch {
            throw fail(command, error, changesStore: false)
        }
    }

    /// Connects and runs `operations` (see ``XenStoreTool/run(_:on:atomically:lines:)``).
    /// If the daemon goes away before answering (killed, restarting), they
    /// run again on a new connection (the daemon started again if need be)
    /// when doing them twice is doing them once: reads, writes, mkdir,
    /// chmod. A removal is not repeated (the second would find nothing and
    /// fail): its failure says the outcome is unknown.
    static func run(_ command: String, _ operations: [XenStoreBatch.Operation], atomically: Bool,
                    lines: [Int]? = nil) throws -> [XenStoreBatch.Output] {
        let repeatable = !operations.contains { if case .rm = $0 { true } else { false } }
        var attempts = 0
        while true {
            let store = try connect(command)
            do {
                return try XenStoreTool.run(operations, on: store, atomically: atomically, lines: lines)
            } catch where error.connectionLost && repeatable && attempts < maxRepeats {
                attempts += 1
            } catch {
                throw fail(command, error, changesStore: operations.contains(where: \.changesStore))
            }
        }
    }

    /// How many times ``run(_:_:atomically:lines:)`` repeats operations the daemon did not answer.
    static let maxRepeats = 8

    /// A request the daemon never answered may have been done: the message
    /// says so when the daemon went away, and when it did not answer in
    /// time a command that changes the store (a read changes nothing).
    static func fail(_ command: String, _ failure: XenStoreToolFailure, changesStore: Bool) -> ExitCode {
        let note = failure.connectionLost ? " (the daemon went away before answering: whether it was done is unknown)"
            : failure.timedOut && changesStore ? " (whether it was done is unknown: the daemon may yet do it)"
            : ""
        return fail(command, failure.message + note)
    }

    /// Prints `swxl store <command>: message` on stderr and gives exit status 1.
    static func fail(_ command: String, _ message: String) -> ExitCode {
        warn(command, message)
        return ExitCode(1)
    }

    /// `swxl store <command>: message` on stderr.
    static func warn(_ command: String, _ message: String) {
        Terminal.err("swxl store \(command): \(message)\n")
    }

    /// The terminal's width when stdout is one.
    static func terminalColumns() -> Int? {
        guard isatty(1) == 1 else { return nil }
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    static func readStandardInput() -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buffer[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
