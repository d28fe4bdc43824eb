import ArgumentParser
import DomainConfig
import EmbeddedHost
import Toolstack

/// `swxl new`, `start` and `delete`: managed domains, as xend's `xm new`,
/// `xm start` and `xm delete` (see docs/managed.md).
var managedCommands: [any ParsableCommand.Type] { [NewCommand.self, StartCommand.self, DeleteCommand.self] }

struct NewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Define a domain without starting it (xm's new).",
        discussion: """
            The config is read as `create` reads it (KEY=VALUE overrides, xl.conf's defaults, the same \
            errors and warnings) and resolved once: its uuid and MACs stay the same at every `start`. \
            A name or uuid another domain, running or defined, has is refused. Exit status 0 on success, \
            1 when the config is bad or the name is taken (nothing is stored), 2 for a bad command line.
            """).parsedAlone

    @Flag(name: .shortAndLong, help: "Quiet: print nothing on success.")
    var quiet = false
    @Option(name: [.customShort("f"), .customLong("defconfig")], help: "The config file (then every argument is a KEY=VALUE override).")
    var defconfig: String?
    @Flag(name: [.customShort("i"), .customLong("ignore-global-affinity-masks")], help: "Ignore xl.conf's vCPU affinity masks.")
    var ignoreGlobalAffinityMasks = false
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The config file (unless -f names it), then KEY=VALUE overrides.", completion: .file())
    var words: [String] = []

    func run() throws {
        var file = defconfig
        var overrides: [String] = []
        for word in words {
            if word.contains("=") {
                overrides.append(word)
            } else if file == nil {
                file = word
            } else {
                throw ValidationError("one config file only (\(file!), then \(word))")
            }
        }
        guard let file else { throw ValidationError("no config file given") }
        let (_, _, resolved) = try ConfigIntake.read(file, overrides: overrides, hostOptions: hostOptions,
                                                     ignoreAffinityMasks: ignoreGlobalAffinityMasks)
        if !quiet { Terminal.errLine("Parsing config from \(file)") }
        let host = try hostOptions.open()
        try ConfigIntake.checkKeys(resolved, file: file, on: host.kind)
        try DomainCLI.reporting { try host.toolstack.define(resolved) }
    }
}

struct StartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start a domain defined with new (xm's start).",
        discussion: """
            The domain is created as `create` creates it (all or nothing) and keeps the uuid it was \
            defined with. A domain that is already running is refused.
            """).parsedAlone

    @Flag(name: [.short, .customLong("paused")], help: "Leave the domain paused after it is created.")
    var paused = false
    @Flag(name: [.short, .customLong("console_autoconnect")], help: "Connect to the console after the domain is created.")
    var console = false
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The defined domain's name.") var domain: String

    func run() throws {
        let host = try hostOptions.open()
        let toolstack = host.toolstack
        guard let config = toolstack.managedDomain(named: domain) else { throw DomainCLI.invalidDomain(domain) }
        try ConfigIntake.checkKeys(config, file: domain, on: host.kind)
        let attach = console && ConsoleCommand.attaches(host, follow: false)
        let lock: Int32?
        switch CreatePolicy.acquireLock(toolstack, on: host.kind) {
        case .success(let fd): lock = fd
        case .failure(let f):
            Terminal.err(f.message)
            throw ExitCode.failure
        }
        for warning in CreatePolicy.warnings(config, toolstack, autoballoon: CreatePolicy.autoballoon(toolstack)) {
            Terminal.errLine(warning)
        }
        let domid: UInt32
        do {
            defer { CreatePolicy.releaseLock(lock) }
            domid = try toolstack.start(named: domain, paused: paused || attach)
        } catch {
            throw DomainCLI.fail(error)
        }
        host.ensureWatcher()
        if attach {
            try ConsoleCommand.attachAfterCreate(host, domid, type: config.type, unpause: !paused)
        } else if console {
            ConsoleCommand.printLog(host, domid, keepFollowing: true)
        }
    }
}

struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Forget a halted domain defined with new (xm's delete).").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The defined domain's name.") var domain: String

    func run() throws {
        let toolstack = try hostOptions.open().toolstack
        do {
            try toolstack.undefine(named: domain)
        } catch .noSuchDomain {
            throw DomainCLI.invalidDomain(domain)
        } catch {
            throw DomainCLI.fail(error)
        }
    }
}
