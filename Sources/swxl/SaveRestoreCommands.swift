import ArgumentParser
import DomainConfig
import EmbeddedHost
#if canImport(Glibc)
import Glibc
#endif
import SaveFormat
import SwxlSystem
import Toolstack

/// `swxl save`, `swxl restore` (xl 4.17's tools/xl/xl_saverestore.c and
/// the restore half of xl_vmcontrol.c's create_domain); `migrate` and
/// `migrate-receive` are in MigrateCommands.swift. See docs/save-restore.md.
var saveRestoreCommands: [any ParsableCommand.Type] {
    [SaveCommand.self, MigrateCommand.self, RestoreCommand.self, MigrateReceiveCommand.self]
}

struct SaveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save",
        abstract: "Save a domain state to restore later (xl's file format).",
        discussion: """
            DOMAIN FILE [CONFIG]: the guest is suspended, its memory and state written to FILE after its \
            config (libxl JSON, or CONFIG's instead), and the domain destroyed, unless -c or -p. A save \
            that fails resumes the guest and removes the incomplete FILE. Exit status 0, or 1.
            """).parsedAlone

    @Flag(name: .customShort("c"), help: "Leave domain running after creating the snapshot.")
    var keepRunning = false
    @Flag(name: .customShort("p"), help: "Leave domain paused after creating the snapshot.")
    var leavePaused = false
    @Flag(name: .customShort("D"), help: "Store the domain id in the configuration.")
    var preserveDomid = false
    @Flag(name: .shortAndLong, help: "No progress line (swxl's addition; there is none off a terminal either).")
    var quiet = false
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "DOMAIN FILE [CONFIG]")
    var words: [String] = []

    func run() throws {
        guard (2...3).contains(words.count) else {
            Terminal.out(XLHelp.text(XLHelp.spec("save")!, program: XLInvocation.program))
            throw ExitCode.failure
        }
        let host = try hostOptions.open(startWatcher: true)
        PhaseTrace.mark("save: host open")
        let toolstack = host.toolstack
        let domid = try DomainCLI.resolve(toolstack, words[0])
        let file = words[1]
        let override = try words.count == 3 ? SaveRestoreCLI.loadConfig(words[2], unreadable: "unable to read overridden config file") : nil
        let json: String
        do {
            json = try toolstack.savedConfigJSON(domid: domid, override: override, preserveDomid: preserveDomid)
        } catch {
            Terminal.err("\(error)\n")
            throw ExitCode.failure
        }
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            Terminal.err("Failed to open temp file \(file) for writing\n")
            throw ExitCode.failure
        }
        PhaseTrace.mark("save: config and file ready")
        let progress = ProgressLine("Saving memory", quiet: quiet)
        do {
            try toolstack.writeSaveStream(domid: domid, to: fd, destination: file, configJSON: json,
                                          options: SaveStreamOptions(preserveDomid: preserveDomid),
                                          note: { Terminal.errLine($0) }, progress: progress.update)
        } catch {
            progress.finish()
            close(fd)
            unlink(file)
            DomainCLI.printError(error.error.description)
            Terminal.err("Failed to save domain, resuming domain\n")
            if let problem = SaveRestoreCLI.resume(toolstack, domid) { DomainCLI.printError(problem) }
            throw ExitCode.failure
        }
        progress.finish()
        PhaseTrace.mark("save: stream written")
        let closed = close(fd)
        PhaseTrace.mark("save: file closed")
        if closed != 0 {
            DomainCLI.printError("\(file): \(String(cString: strerror(errno)))")
            unlink(file)
            Terminal.err("Failed to save domain, resuming domain\n")
            if let problem = SaveRestoreCLI.resume(toolstack, domid) { DomainCLI.printError(problem) }
            throw ExitCode.failure
        }
        if leavePaused || keepRunning {
            // xl: paused first, then resumed, so a -p guest never runs on.
            if leavePaused { try? toolstack.pause(domid: domid) }
            if let problem = SaveRestoreCLI.resume(toolstack, domid) {
                DomainCLI.printError(problem)
                throw ExitCode.failure
            }
        } else {
            do { try toolstack.destroy(domid: domid) } catch { throw DomainCLI.fail(error) }
            PhaseTrace.mark("save: domain destroyed")
        }
    }
}

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a domain from a saved state (xl's file format).",
        discussion: """
            [CONFIG] FILE: the domain is made again with the saved uuid, its memory and state read back, \
            its xenstore entries, console and devices (with their device ids) brought back, and it runs \
            unless -p. CONFIG replaces the config in the file. A restore that fails leaves nothing behind. \
            Exit status 0, or 1.
            """).parsedAlone

    @Flag(name: .customShort("p"), help: "Do not unpause domain after restoring it.")
    var paused = false
    @Flag(name: .customShort("e"), help: "Leave the domain unwatched, as create -e: its on_poweroff, on_reboot and on_crash are not carried out.")
    var noMonitor = false
    @Flag(name: .customShort("d"), help: "Enable debug messages: the config, as libxl JSON, on stderr.")
    var debug = false
    @Flag(name: .customShort("F"), help: "Stay in the foreground until the domain dies, carrying out its actions (as create -F).")
    var foreground = false
    @Flag(name: .customShort("c"), help: "Connect to the console after the domain is restored (before it runs, as create -c).")
    var console = false
    @Flag(name: [.customShort("V"), .customLong("vncviewer")], help: "Connect a VNC viewer to the domain's display (as create -V).")
    var vncviewer = false
    @Flag(name: [.customShort("A"), .customLong("vncviewer-autopass")], help: "As -V, passing the display's password to the viewer.")
    var vncviewerAutopass = false
    @Flag(name: .shortAndLong, help: "No progress line, no \"Parsing config\" line (swxl's addition).")
    var quiet = false
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "[CONFIG] FILE")
    var words: [String] = []

    func run() throws {
        guard (1...2).contains(words.count) else {
            Terminal.out(XLHelp.text(XLHelp.spec("restore")!, program: XLInvocation.program))
            throw ExitCode.failure
        }
        let file = words.last!
        let configFile = words.count == 2 ? words[0] : nil
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            Terminal.err("Can't open restore file: \(String(cString: strerror(errno)))\n")
            throw ExitCode.failure
        }
        defer { close(fd) }
        PhaseTrace.mark("restore: arguments parsed, file open")
        let host = try hostOptions.open()
        PhaseTrace.mark("restore: host open")
        let reader = DescriptorReader(fd: fd, source: file)
        // -c: restored paused, the console attached, then it runs (as create -c).
        let attach = console && ConsoleCommand.attaches(host, follow: false)
        // -F: the follower lock is taken once the domain's uuid is known, before it exists.
        var follower: LockFile?
        let domid = try SaveRestoreCLI.restore(host, reader: reader, configFile: configFile, paused: paused || attach,
                                               debug: debug, quiet: quiet, rename: nil,
                                               adjust: { config in
                                                   if noMonitor { config.leaveUnwatched() }
                                                   if foreground && !noMonitor { follower = try? CreateForeground.lock(host.toolstack, config) }
                                               })
        PhaseTrace.mark("restore: restored, watcher running")
        // Nothing left to do on Xen (no console, viewer or follower): the
        // process leaves at once. The record and the journal are committed
        // and the guest runs; the hypervisor's handles, the xenstore
        // connection and the state database would be closed one by one on
        // the way out, 15-45 ms of dom0's one CPU in the QEMU harness, just
        // while the restored guest resumes through xenstored and
        // xenconsoled on that CPU (docs/save-restore.md); the kernel lets
        // them go at exit. (The embedded host keeps its own way out.)
        if host.kind == .xen && !attach && !console && !vncviewer && !vncviewerAutopass && follower == nil {
            withExtendedLifetime(host) { Swxl.leave() }
        }
        if attach {
            try ConsoleCommand.attachAfterCreate(host, domid, type: host.toolstack.record(domid)?.type ?? .pv, unpause: !paused)
        } else if console {
            ConsoleCommand.printLog(host, domid, keepFollowing: true)
        }
        // As xl's create_domain after a restore: -e returns here, then the viewer, then -F follows.
        if noMonitor { return }
        if vncviewer || vncviewerAutopass { VNCViewer.connect(host.toolstack, domid: domid, autopass: vncviewerAutopass) }
        if let follower, let config = host.toolstack.record(domid) {
            try CreateForeground.follow(host, domid: domid, config: config, lock: follower)
        }
    }
}

/// What save, restore, migrate and migrate-receive share.
enum SaveRestoreCLI {
    /// An xl.cfg (or xm, SXP) file, as create reads it; `unreadable` is xl's message when it cannot be read.
    static func loadConfig(_ path: String, unreadable: String) throws -> DomainConfiguration {
        guard FileIO.exists(path) else {
            Terminal.err(unreadable + "\n")
            throw ExitCode.failure
        }
        let result = DomainConfiguration.load(path: path)
        guard let config = result.configuration, result.errors.isEmpty else {
            for diagnostic in result.diagnostics { Terminal.errLine(diagnostic.description) }
            throw ExitCode.failure
        }
        for warning in result.warnings { Terminal.errLine(warning.description) }
        return config
    }

    /// Resumes a guest after a save that failed or kept it; the problem, if any.
    static func resume(_ toolstack: Toolstack, _ domid: UInt32) -> String? {
        do { try toolstack.resumeAfterSave(domid: domid) } catch { return "resuming domain \(domid): \(error)" }
        return nil
    }

    /// Reads the stream's xl header and config, then restores, as xl's
    /// create_domain does for `restore` and `migrate-receive`: its
    /// "Loading new save file" lines on stderr. `rename` turns the saved
    /// name into the one to restore under (migrate-receive's `--incoming`).
    /// Returns the new domid; a failure is printed and exits 1 (or what xl exits).
    static func restore(_ host: ToolstackHost, reader: DescriptorReader, configFile: String?, paused: Bool,
                        debug: Bool, quiet: Bool, rename: ((String) -> String)?,
                        adjust: ((inout DomainConfiguration) -> Void)? = nil) throws -> UInt32 {
        let incoming: Toolstack.IncomingStream
        do { incoming = try Toolstack.readStreamHeader(reader) } catch {
            Terminal.err("\(error)\n")
            throw ExitCode.failure
        }
        PhaseTrace.mark("restore: header and config read")
        Terminal.errLine(incoming.header.loadingLine(from: reader.source))
        if !incoming.header.optionalData.isEmpty {
            Terminal.errLine(" Savefile contains xl domain config" + (incoming.configIsJSON ? " in JSON format" : ""))
        }
        var config: DomainConfiguration
        if let configFile {
            if !quiet { Terminal.errLine("Parsing config from \(configFile)") }
            config = try loadConfig(configFile, unreadable: "Failed to read config file: \(configFile): No such file or directory")
        } else {
            guard let text = incoming.configText else {
                Terminal.err("Config file not specified and none in save file\n")
                throw ExitCode.failure
            }
            if !quiet { Terminal.errLine("Parsing config from <saved>") }
            if incoming.configIsJSON {
                let reading = DomainConfiguration.fromLibxlJSON(text)
                for warning in reading.warnings { Terminal.errLine("<saved>: warning: \(warning)") }
                guard let parsed = reading.configuration else {
                    for error in reading.errors { Terminal.errLine("<saved>: error: \(error)") }
                    throw ExitCode.failure
                }
                config = parsed
            } else {
                let result = DomainConfiguration.parse(text: text, fileName: "<saved>", format: .xl)
                guard let parsed = result.configuration, result.errors.isEmpty else {
                    for diagnostic in result.diagnostics { Terminal.errLine(diagnostic.description) }
                    throw ExitCode.failure
                }
                config = parsed
            }
        }
        if let rename { config.name_label = rename(config.name_label) }
        adjust?(&config)
        let resolved: DomainConfiguration
        do { resolved = try config.resolved() } catch {
            DomainCLI.printError("\(error)")
            throw ExitCode.failure
        }
        if debug { Terminal.err(resolved.libxlParsedJSONText(host: LibxlHostFacts())) }
        let keys = ConfigKeyStatus.problems(resolved, on: host.kind)
        for ignored in keys.ignored { Terminal.errLine("<saved>: warning: \(ignored)") }
        guard keys.refused.isEmpty else {
            for refused in keys.refused { Terminal.errLine("<saved>: error: \(refused)") }
            throw ExitCode.failure
        }
        PhaseTrace.mark("restore: config parsed and resolved")
        // libxc reads each record of pages into a new buffer of about 4
        // MiB: from the heap, the pages of the first one are touched
        // once, not twice (glibc would map it, unmap it when freed, then
        // take the next from the heap): 1024 page faults fewer, about 40
        // ms of dom0's CPU under the QEMU harness's TCG, where a Xen PV
        // dom0's page fault is dear. This process exits soon after.
        if getenv("SWXL_RESTORE_MALLOC_DEFAULT") == nil { ProcessMemory.keepLargeBlocks() }
        let progress = ProgressLine("Restoring memory", quiet: quiet)
        if PhaseTrace.enabled { host.toolstack.onStep = { PhaseTrace.emit("create step done: \($0)") } }
        let domid: UInt32
        do {
            domid = try host.toolstack.restore(resolved, from: reader, paused: paused, progress: progress.reporter)
        } catch {
            progress.finish()
            throw DomainCLI.fail(error)
        }
        progress.finish()
        PhaseTrace.mark("restore: toolstack done")
        host.ensureWatcher()
        return domid
    }
}
