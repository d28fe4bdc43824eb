import Foundation
import SwxlSystem
import Testing

/// `swxl console` and `create -c` on a terminal: the test is the user's
/// terminal (a pseudo-terminal it made), types into the guest's console
/// and reads what the guest answers, as on real Xen.
@Suite(.serialized) struct ConsoleTests {
    /// A guest whose script runs each line it reads from its console.
    static let shell = "sim_guest_script = \"echo ready; while read -r cmd; do eval \\\"$cmd\\\"; done\""

    /// `swxl ARGS` with a pseudo-terminal as its stdin, stdout and stderr.
    final class OnTerminal {
        let pty: PseudoTerminal
        /// The terminal's side the program has (kept open to read its settings).
        let slave: Int32
        let process = Process()
        var seen: [UInt8] = []

        init(_ host: EmbeddedHost, _ arguments: [String]) throws {
            pty = try PseudoTerminal.open()
            slave = try pty.openSlave()
            let handle = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
            process.executableURL = URL(fileURLWithPath: swxlBinary)
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(host.environment) { $1 }
            process.standardInput = handle
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
        }

        deinit {
            if process.isRunning { process.terminate() }
            close(slave)
            close(pty.master)
        }

        /// Types `text`.
        func type(_ text: String) {
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { write(pty.master, $0.baseAddress, $0.count) }
        }

        /// Reads what the program prints until `text` has been seen (true)
        /// or `seconds` pass (false).
        func read(until text: String, seconds: Double = 20) -> Bool {
            let wanted = Array(text.utf8)
            let end = Date().addingTimeInterval(seconds)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !contains(wanted) && Date() < end {
                var fds = [pollfd(fd: pty.master, events: Int16(POLLIN), revents: 0)]
                guard poll(&fds, 1, 100) > 0 else { continue }
                let n = buffer.withUnsafeMutableBytes { Glibc.read(pty.master, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                seen += buffer[0..<n]
            }
            return contains(wanted)
        }

        var text: String { String(decoding: seen, as: UTF8.self) }

        private func contains(_ wanted: [UInt8]) -> Bool {
            guard seen.count >= wanted.count else { return false }
            return (0...(seen.count - wanted.count)).contains { seen[$0..<($0 + wanted.count)].elementsEqual(wanted) }
        }

        /// The exit status, waiting at most `seconds` (nil if still running).
        func status(within seconds: Double = 10) -> Int32? {
            let end = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < end { usleep(20_000) }
            return process.isRunning ? nil : process.terminationStatus
        }
    }

    @Test func typesIntoTheGuestAndDetachesWithCtrlBracket() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let cfg = try host.config(name: "shell", Self.shell)
        #expect(try host.swxl(["create", "-q", cfg]).status == 0)
        #expect(try host.waitUntil { (try host.swxl(["console", "shell"])).stdout.contains("ready\n") })
        // The pty is published as xenconsoled publishes one.
        let tty = try host.xenstore("xenstore-read", ["/local/domain/1/console/tty"]).stdout
        #expect(tty.hasPrefix("/dev/pts/"))

        let terminal = try OnTerminal(host, ["console", "shell"])
        let before = try #require(TerminalMode.snapshot(terminal.slave))
        // What the guest printed before the client came, then the answer to a command.
        #expect(terminal.read(until: "ready\r\n"), "\(terminal.text)")
        terminal.type("echo $((6 * 7))\r")
        #expect(terminal.read(until: "\r\n42\r\n"), "\(terminal.text)")
        // While attached, the terminal is raw: no echo, no line editing.
        var raw = termios()
        #expect(tcgetattr(terminal.slave, &raw) == 0)
        #expect(raw.c_lflag & tcflag_t(ECHO | ICANON | ISIG) == 0)
        // Ctrl-] detaches: exit 0, nothing printed, the terminal as it was.
        let printed = terminal.seen.count
        terminal.type("\u{1d}")
        #expect(terminal.status() == 0)
        #expect(TerminalMode.snapshot(terminal.slave) == before)
        _ = terminal.read(until: "\u{0}", seconds: 0.3)
        #expect(terminal.seen.count == printed, "\(terminal.text)")
        // The guest runs on, and its log has what was typed and answered.
        #expect(try host.domains().last?["name"] as? String == "shell")
        let log = try host.swxl(["console", "shell"]).stdout
        #expect(log.hasSuffix("ready\necho $((6 * 7))\n42\n"), "\(log)")

        // A second client meanwhile is refused, as xenconsole refuses one.
        let first = try OnTerminal(host, ["console", "shell"])
        first.type("echo $((6 * 9))\r")
        #expect(first.read(until: "\r\n54\r\n"), "\(first.text)")
        let second = try OnTerminal(host, ["console", "shell"])
        #expect(second.status() == EWOULDBLOCK)
        #expect(second.read(until: "xenconsole: Could not lock \(host.stateDir)/toolstack/xenconsole.1: Resource temporarily unavailable\r\n"),
                "\(second.text)")
        // The domain's death ends the console, exit 0.
        #expect(try host.swxl(["destroy", "shell"]).status == 0)
        #expect(first.status() == 0)
    }

    /// `create -c`: attached while the domain is still paused, so the
    /// client sees the guest from its first line; then it runs.
    @Test func createAttachesThenRuns() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let cfg = try host.config(name: "shell", Self.shell)
        let terminal = try OnTerminal(host, ["create", "-c", cfg])
        #expect(terminal.read(until: "Parsing config from \(cfg)\r\nXen PV guest 1 (swxl simulated): booting "), "\(terminal.text)")
        #expect(terminal.read(until: "ready\r\n"), "\(terminal.text)")
        terminal.type("echo $((6 * 7))\r")
        #expect(terminal.read(until: "\r\n42\r\n"), "\(terminal.text)")
        terminal.type("\u{1d}")
        #expect(terminal.status() == 0)
        #expect(try host.domains().last?["state"] as? String != "paused")
    }

    /// `restore -c`: as create -c, attached before the restored guest runs.
    @Test func restoreAttachesThenRuns() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let cfg = try host.config(name: "shell", Self.shell)
        #expect(try host.swxl(["create", "-q", cfg]).status == 0)
        let file = host.stateDir + "/shell.save"
        #expect(try host.swxl(["save", "shell", file]).status == 0)
        let terminal = try OnTerminal(host, ["restore", "-c", file])
        #expect(terminal.read(until: "Parsing config from <saved>\r\n"), "\(terminal.text)")
        // Typed before the restored guest runs, a line can reach it while it
        // is still being resumed and be lost (a busy machine's failure):
        // wait for its first words.
        #expect(terminal.read(until: "resumed from a saved image"), "\(terminal.text)")
        terminal.type("echo $((6 * 7))\r")
        #expect(terminal.read(until: "\r\n42\r\n"), "\(terminal.text)")
        terminal.type("\u{1d}")
        #expect(terminal.status() == 0)
        #expect(try host.domains().last?["state"] as? String != "paused")
    }

    /// `create -c -p`: attached, and the domain stays paused until unpaused.
    @Test func createPausedAttachesAndWaits() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let cfg = try host.config(name: "shell", Self.shell)
        let terminal = try OnTerminal(host, ["create", "-c", "-p", "-q", cfg])
        #expect(try host.waitUntil { (try host.xenstore("xenstore-read", ["/local/domain/1/console/tty"]).stdout).hasPrefix("/dev/pts/") })
        #expect(try host.domains().last?["state"] as? String == "paused")
        #expect(!terminal.read(until: "ready", seconds: 1))
        #expect(try host.swxl(["unpause", "shell"]).status == 0)
        #expect(terminal.read(until: "ready\r\n"), "\(terminal.text)")
        #expect(try host.swxl(["destroy", "shell"]).status == 0)
        #expect(terminal.status() == 0)
    }

    /// What xl's console (and the xenconsole it runs) print and exit with
    /// when there is nothing to attach to.
    @Test func refusalsAreXls() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let cases: [([String], Int32, String)] = [
            (["console", "nosuch"], 1, "nosuch is an invalid domain identifier (rc=-6)\n"),  // find_domain
            (["console", "7"], 1, "Unable to attach console\n"),                            // main_console
            (["console", "0"], EINVAL, "Can't specify Domain-0\n"),                          // xenconsole
            (["console", "-t", "serial", "0"], EINVAL, "Can't specify Domain-0\n"),
            (["console", "-t", "usb", "0"], 1, "console type supported are: pv, serial, vuart\n"),
            (["console", "-x", "0"], 2, "option `x' not supported.\n"),                       // def_getopt
        ]
        for (words, status, message) in cases {
            let r = try host.swxl(words)
            #expect(r.status == status && r.stderr == message && r.stdout == "", "\(words): \(r)")
        }
        // A console that never gets a pty: xenconsole waits for it, then gives up.
        #expect(try host.swxl(["create", "-q", try host.config(name: "quiet")]).status == 0)
        // (-n without -t is ignored, as by xl: the primary console.)
        let terminal = try OnTerminal(host, ["console", "-t", "pv", "-n", "3", "quiet"])
        #expect(terminal.status(within: 15) == ETIMEDOUT)
        #expect(terminal.read(until: "xenconsole: Could not read tty from store: Connection timed out\r\n"), "\(terminal.text)")
    }
}
