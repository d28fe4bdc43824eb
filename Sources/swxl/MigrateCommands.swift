import ArgumentParser
import CSwxlSystem
import DomainConfig
import EmbeddedHost
#if canImport(Glibc)
import Glibc
#endif
import SaveFormat
import SwxlSystem
import Toolstack

/// `swxl migrate` and `swxl migrate-receive`: xl 4.17's migration
/// (tools/xl/xl_migrate.c), its messages and its protocol byte for byte
/// (SaveFormat's `MigrationProtocol`), over the pipes of `sh -c RUNE`.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Migrate a domain to another host (xl's protocol, over ssh or -s's command).",
        discussion: """
            DOMAIN HOST: runs `exec SSHCOMMAND HOST swxl migrate-receive` (SSHCOMMAND: ssh, or -s's; \
            with -s '' HOST is the whole command) and sends the domain down its pipes. Live when this \
            host can track the guest's dirty pages; otherwise the guest is suspended while its memory \
            is sent (said on stderr). Exit status 0, or 1.
            """).parsedAlone

    @Option(name: .customShort("C"), help: ArgumentHelp("Send <config> instead of config file from creation.", valueName: "config"))
    var config: String?
    @Option(name: .customShort("s"), help: ArgumentHelp("Use <sshcommand> instead of ssh (passed to sh; empty: run HOST itself).", valueName: "sshcommand"))
    var sshCommand = "ssh"
    @Flag(name: .customShort("e"), help: "Do not wait in the background (on <host>) for the death of the domain.")
    var noMonitor = false
    @Flag(name: .customShort("F"), help: "Run in the foreground on <host> (passed on as xl does not: ignored).")
    var foreground = false
    @Flag(name: .long, help: "Debug: the receiver prints the config; the image is verified (XCFLAGS_DEBUG) where the host can.")
    var debug = false
    @Flag(name: .long, help: "Accepted and ignored, as xl does (for xm's sake).")
    var live = false
    @Flag(name: .customShort("p"), help: "Do not unpause domain after migrating it.")
    var paused = false
    @Flag(name: .customShort("D"), help: "Preserve the domain id.")
    var preserveDomid = false
    @Flag(name: .shortAndLong, help: "No progress line (swxl's addition).")
    var quiet = false
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "DOMAIN HOST")
    var words: [String] = []

    /// xl's rune: `exec SSH HOST PROGRAM[ -t] migrate-receive[ -e][ -d][ -p]`, or HOST itself with `-s ''`.
    func rune(host: String) -> String {
        if sshCommand.isEmpty { return host }
        let tty = isatty(2) == 1 ? " -t" : ""
        return "exec \(sshCommand) \(host) \(XLInvocation.program)\(tty) migrate-receive"
            + (foreground || noMonitor ? " -e" : "") + (debug ? " -d" : "") + (paused ? " -p" : "")
    }

    func run() throws {
        guard words.count == 2 else {
            Terminal.out(XLHelp.text(XLHelp.spec("migrate")!, program: XLInvocation.program))
            throw ExitCode.failure
        }
        let host = try hostOptions.open(startWatcher: true)
        let toolstack = host.toolstack
        let domid = try DomainCLI.resolve(toolstack, words[0])
        let name = (try? toolstack.info(domid).name) ?? words[0]
        let override = try config.map { try SaveRestoreCLI.loadConfig($0, unreadable: "unable to read overridden config file") }
        let json: String
        do {
            json = try toolstack.savedConfigJSON(domid: domid, override: override, preserveDomid: preserveDomid)
        } catch {
            Terminal.err("\(error)\n")
            throw ExitCode.failure
        }
        // Live or not, decided before anything is written: a live save that
        // fails has already sent part of its stream.
        let canLive: Bool
        do { canLive = try toolstack.hypervisor.canSaveLive(domid: domid) } catch { throw DomainCLI.fail(error) }
        if canLive {
            Terminal.errLine("migration sender: Migrating live: memory is copied while the domain runs, then it is suspended for the last round.")
        } else {
            Terminal.errLine("migration sender: This host cannot track the domain's dirty pages (no shadow paging): "
                             + "migrating it suspended, its memory sent once (not live).")
        }
        let rune = rune(host: words[1])
        let transport: MigrationTransport
        do { transport = try MigrationTransport(rune: rune) } catch {
            DomainCLI.printError("cannot run the migration transport: \(error)")
            throw ExitCode.failure
        }
        let sender = MigrationSender(toolstack: toolstack, domid: domid, name: name, rune: rune, transport: transport,
                                     quiet: quiet)
        let ok = sender.run(configJSON: json, options: SaveStreamOptions(live: canLive, debug: debug, preserveDomid: preserveDomid))
        if !ok { throw ExitCode.failure }
    }
}

/// `sh -c RUNE` with our pipes on its stdin and stdout (xl's
/// `create_migration_child`); SIGPIPE ignored so a receiver that goes
/// away is an error, not our death.
final class MigrationTransport {
    let pid: pid_t
    /// We write the stream here (the child's stdin).
    let sendFD: Int32
    /// We read the receiver's replies here (the child's stdout).
    let recvFD: Int32

    init(rune: String) throws(SystemError) {
        var send: [Int32] = [-1, -1], recv: [Int32] = [-1, -1]
        guard swxl_pipe_cloexec(&send) == 0 else { throw SystemError("pipe") }
        guard swxl_pipe_cloexec(&recv) == 0 else {
            close(send[0]); close(send[1])
            throw SystemError("pipe")
        }
        do {
            pid = try BackgroundProcess.spawn(executable: "/bin/sh", arguments: ["-c", rune],
                                              output: .pipes(input: send[0], output: recv[1]), newSession: false)
        } catch {
            for fd in send + recv { close(fd) }
            throw error
        }
        close(send[0])
        close(recv[1])
        Self.growStreamPipe(send[1])
        sendFD = send[1]
        recvFD = recv[0]
        signal(SIGPIPE, SIG_IGN)
    }

    func closeSend() { close(sendFD) }

    /// Makes the stream's pipe big (8 MiB, else the 1 MiB anyone may ask
    /// for), when `fd` is a pipe: libxc writes and reads records of up to
    /// 4 MiB, and through the default 64 KiB the sender and the receiver
    /// take turns every 64 KiB (a few thousand switches for a small guest,
    /// each dear in a one-vCPU dom0). Best effort: a small pipe only costs time.
    static func growStreamPipe(_ fd: Int32) {
        for size: Int32 in [8 << 20, 1 << 20] where swxl_pipe_set_size(fd, size) >= 0 { return }
    }

    /// xl's `migration_child_report`: waits up to 2 s for the transport to
    /// exit and says if it failed.
    func report() {
        let deadline = SystemClock.monotonicNanoseconds() + 2_000_000_000
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                if status != 0 {
                    let code = (status & 0x7f) == 0 ? "exited with error status \((status >> 8) & 0xff)"
                                                    : "died due to fatal signal \(status & 0x7f)"
                    Terminal.errLine("\(XLInvocation.program): migration transport process [\(pid)] \(code)")
                }
                return
            }
            if r < 0 && errno != EINTR {
                Terminal.errLine("wait for migration child [\(pid)] failed: \(String(cString: strerror(errno)))")
                return
            }
            if SystemClock.monotonicNanoseconds() > deadline {
                Terminal.errLine("migration child [\(pid)] not exiting, no longer waiting (exit status will be unreported)")
                return
            }
            usleep(1_000)
        }
    }
}

/// The sender's half of xl's protocol (`migrate_domain`).
struct MigrationSender {
    let toolstack: Toolstack
    let domid: UInt32
    let name: String
    let rune: String
    let transport: MigrationTransport
    let quiet: Bool

    var stream: String { "migration receiver stream" }

    /// Reads a fixed message; false (said as xl says it) if it is not there.
    func expect(_ message: [UInt8], _ what: String) -> Bool {
        let reader = DescriptorReader(fd: transport.recvFD, source: stream)
        do {
            let got = try reader.read(exactly: message.count, what)
            if got != message {
                Terminal.errLine("\(stream) contained unexpected data instead of \(what)")
                Terminal.errLine("(command run was: \(rune) )")
                return false
            }
            return true
        } catch {
            Terminal.errLine(error.message)
            return false
        }
    }

    func write(_ bytes: [UInt8], _ what: String) -> Bool {
        do { try DescriptorWriter(fd: transport.sendFD, destination: "migration stream").write(bytes, what) } catch {
            Terminal.errLine(error.message)
            return false
        }
        return true
    }

    func resume() -> Bool {
        if let problem = SaveRestoreCLI.resume(toolstack, domid) {
            DomainCLI.printError(problem)
            return false
        }
        return true
    }

    func failedResume() -> Bool {
        transport.closeSend()
        transport.report()
        Terminal.errLine("Migration failed, resuming at sender.")
        _ = resume()
        return false
    }

    func failedBadly() -> Bool {
        Terminal.err("""
            ** Migration failed during final handshake **
            Domain state is now undefined !
            Please CHECK AT BOTH ENDS for running instances, before renaming and
             resuming at most one instance.  Two simultaneous instances of the domain
             would probably result in SEVERE DATA LOSS and it is now your
             responsibility to avoid that.  Sorry.

            """)
        transport.closeSend()
        transport.report()
        return false
    }

    func run(configJSON: String, options: SaveStreamOptions) -> Bool {
        // The receiver's banner, then the stream.
        guard expect(Array(MigrationProtocol.receiverBanner), "banner") else {
            transport.closeSend()
            transport.report()
            return false
        }
        let progress = ProgressLine("Sending memory", quiet: quiet)
        do {
            try toolstack.writeSaveStream(domid: domid, to: transport.sendFD, destination: "migration stream",
                                          configJSON: configJSON, options: options,
                                          note: { Terminal.errLine($0) }, progress: progress.update)
        } catch {
            progress.finish()
            Terminal.errLine("migration sender: libxl_domain_suspend failed (rc=\(Self.libxlCode(error.error)))")
            DomainCLI.printError(error.error.description)
            if case .timedOut = error.error {
                transport.closeSend()
                transport.report()
                Terminal.errLine("Migration failed, failed to suspend at sender.")
                return false
            }
            return failedResume()
        }
        progress.finish()
        guard expect(MigrationProtocol.receiverReady, "ready message") else { return failedResume() }
        Terminal.errLine("migration sender: Target has acknowledged transfer.")
        let away = name + "--migratedaway"
        do { try toolstack.rename(domid: domid, to: away) } catch {
            DomainCLI.printError("\(error)")
            return failedResume()
        }
        // The point of no return.
        Terminal.errLine("migration sender: Giving target permission to start.")
        guard write(MigrationProtocol.permissionToGo, "GO message") else { return failedBadly() }
        guard expect(MigrationProtocol.report, "success/failure report message") else { return failedBadly() }
        let status: UInt8
        do {
            status = try DescriptorReader(fd: transport.recvFD, source: "migration ack stream")
                .read(exactly: 1, "success/failure status")[0]
        } catch {
            Terminal.errLine(error.message)
            return failedBadly()
        }
        if status != 0 {
            Terminal.errLine("migration sender: Target reports startup failure (status code \(Int8(bitPattern: status))).")
            guard expect(MigrationProtocol.permissionToGo, "permission for sender to resume") else { return failedBadly() }
            Terminal.errLine("migration sender: Trying to resume at our end.")
            try? toolstack.rename(domid: domid, to: name)
            if resume() { Terminal.errLine("migration sender: Resumed OK.") }
            Terminal.errLine("Migration failed due to problems at target.")
            return false
        }
        Terminal.errLine("migration sender: Target reports successful startup.")
        do { try toolstack.destroy(domid: domid) } catch { DomainCLI.printError("\(error)") }
        Terminal.errLine("Migration successful.")
        transport.closeSend()
        transport.report()
        return true
    }

    /// libxl's error code for a failed suspend: ERROR_GUEST_TIMEDOUT (-8)
    /// when the guest did not suspend in time, else ERROR_FAIL (-3).
    static func libxlCode(_ error: ToolstackError) -> Int {
        if case .timedOut = error { return -8 }
        return -3
    }
}

struct MigrateReceiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-receive",
        abstract: "Receive a migrating domain (for `migrate`'s use, on its pipes).",
        discussion: """
            Reads the domain from stdin and answers on stdout, xl's protocol; everything for \
            people goes to stderr.
            """).parsedAlone

    @Flag(name: .customShort("e"), help: "Do not wait in the background for the death of the domain (swxl's host-wide watcher follows it either way).")
    var noMonitor = false
    @Flag(name: .customShort("F"), help: "Run in the foreground (swxl's receive always does).")
    var foreground = false
    @Flag(name: .customShort("d"), help: "Enable debug messages.")
    var debug = false
    @Flag(name: .customShort("p"), help: "Do not unpause domain after migrating it.")
    var paused = false
    @Flag(name: .customShort("r"), help: "Remus (not supported).")
    var remus = false
    @Flag(name: .customLong("colo"), help: "COLO (not supported).")
    var colo = false
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "none")
    var words: [String] = []

    func run() throws {
        guard words.isEmpty else {
            Terminal.err(XLHelp.text(XLHelp.spec("migrate-receive")!, program: XLInvocation.program))
            throw ExitCode.failure
        }
        if remus { throw DomainCLI.unsupported("migrate-receive", "-r", "Remus") }
        if colo { throw DomainCLI.unsupported("migrate-receive", "--colo", "COLO") }
        signal(SIGPIPE, SIG_IGN)
        MigrationTransport.growStreamPipe(0)
        let replies = DescriptorWriter(fd: 1, destination: "migration ack stream")
        func send(_ bytes: [UInt8], _ what: String) -> Bool {
            do { try replies.write(bytes, what) } catch {
                Terminal.errLine(error.message)
                return false
            }
            return true
        }
        Terminal.errLine("migration target: Ready to receive domain.")
        guard send(MigrationProtocol.receiverBanner, "banner") else { throw ExitCode.failure }
        let host = try hostOptions.open()
        let reader = DescriptorReader(fd: 0, source: "<incoming migration stream>")
        var savedName = ""
        let domid: UInt32
        do {
            domid = try SaveRestoreCLI.restore(host, reader: reader, configFile: nil, paused: true, debug: debug, quiet: false,
                                               rename: { savedName = $0; return $0 + "--incoming" })
        } catch {
            Terminal.errLine("migration target: Domain creation failed (code -3).")
            throw ExitCode.failure
        }
        Terminal.errLine("migration target: Transfer complete, requesting permission to start domain.")
        guard send(MigrationProtocol.receiverReady, "ready message") else { throw ExitCode.failure }
        var failed = false
        do {
            try MigrationProtocol.expect(MigrationProtocol.permissionToGo, from: reader, "GO message")
            Terminal.errLine("migration target: Got permission, starting domain.")
            do {
                try host.toolstack.rename(domid: domid, to: savedName)
                if !paused { try host.toolstack.unpause(domid: domid) }
                Terminal.errLine("migration target: Domain started successsfully.")
            } catch {
                DomainCLI.printError("\(error)")
                failed = true
            }
        } catch {
            Terminal.errLine(error.kind == .truncated ? error.message
                             : "migration stream contained unexpected data instead of GO message")
            failed = true
        }
        // libxl's ERROR_FAIL (-3), negated, as the report byte.
        guard send(MigrationProtocol.report, "success/failure report"), send([failed ? 3 : 0], "success/failure code") else {
            throw ExitCode.failure
        }
        if failed {
            Terminal.errLine("migration target: Failure, destroying our copy.")
            do { try host.toolstack.destroy(domid: domid) } catch {
                Terminal.errLine("migration target: Failed to destroy our copy (code -3).")
                throw ExitCode.failure
            }
            Terminal.errLine("migration target: Cleanup OK, granting sender permission to resume.")
            guard send(MigrationProtocol.permissionToGo, "permission to sender to have domain back") else { throw ExitCode.failure }
        }
    }
}
