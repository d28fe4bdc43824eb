import ArgumentParser
import DomainConfig
import EmbeddedHost
#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import Toolstack
import XenStoreProtocol

/// `swxl create`, `swxl list`, `swxl destroy` and the other domain commands.
var domainCommands: [any ParsableCommand.Type] {
    [CreateCommand.self, ListCommand.self, DestroyCommand.self, ShutdownCommand.self, RebootCommand.self,
     PauseCommand.self, UnpauseCommand.self, RenameCommand.self, MemSetCommand.self, MemMaxCommand.self,
     VCPUSetCommand.self, DomidCommand.self, DomnameCommand.self, VMListCommand.self,
     UptimeCommand.self, InfoCommand.self, DmesgCommand.self, ConsoleCommand.self, SimGuestsCommand.self,
     MonitorCommand.self]
}

struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a domain from a config file (xl.cfg, xm or SXP).",
        discussion: """
            KEY=VALUE words after the file override the file's settings, as with xl \
            (e.g. `swxl create guest.cfg name=web2 memory=512`). The options are xl's; \
            --dry-run is swxl's older spelling of --dryrun. Exit status 0 on success, \
            1 when the config is bad or the domain cannot be created (nothing is left behind), \
            2 for a bad command line.
            """).parsedAlone

    @Flag(name: .short, help: "Leave the domain paused after it is created.")
    var paused = false
    @Flag(name: [.customShort("n"), .customLong("dryrun"), .customLong("dry-run")],
          help: "Only parse the config and print it resolved, as JSON.")
    var dryRun = false
    @Flag(name: .shortAndLong, help: "Quiet: print nothing on success.")
    var quiet = false
    @Flag(name: .customShort("d"), help: "Debug: print the resolved config, as JSON, on stderr, then create.")
    var debug = false
    @Option(name: [.customShort("f"), .customLong("defconfig")], help: "The config file (then every argument is a KEY=VALUE override).")
    var defconfig: String?
    @Flag(name: .customShort("c"), help: "Connect to the console after the domain is created.")
    var console = false
    @Flag(name: .customShort("F"), help: "Stay in the foreground until the domain dies, saying what happens to it.")
    var foreground = false
    @Flag(name: .customShort("e"), help: "Leave the domain unwatched: its on_poweroff, on_reboot and on_crash are not carried out (it stays as it shut down).")
    var noMonitor = false
    @Flag(name: [.customShort("V"), .customLong("vncviewer")], help: "Connect a VNC viewer to the domain's display (swxl's domains have none: said, as libxl says it).")
    var vncviewer = false
    @Flag(name: [.customShort("A"), .customLong("vncviewer-autopass")], help: "As -V, passing the display's password to the viewer.")
    var vncviewerAutopass = false
    @Flag(name: [.customShort("i"), .customLong("ignore-global-affinity-masks")], help: "Ignore xl.conf's vCPU affinity masks (vm.cpumask, vm.pv.cpumask, vm.hvm.cpumask).")
    var ignoreGlobalAffinityMasks = false
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The config file (unless -f names it), then KEY=VALUE overrides.")
    var words: [String] = []

    /// The config file and the overrides, as xl's `main_create` splits its
    /// arguments (tools/xl/xl_vmcontrol.c): KEY=VALUE words are overrides
    /// wherever they are, and the one other word is the file unless -f names it.
    func fileAndOverrides() throws -> (file: String, overrides: [String]) {
        var file = defconfig
        var overrides: [String] = []
        for word in words {
            if word.contains("=") {
                overrides.append(word)
            } else if file == nil {
                file = word
            } else {
                // xl prints create's help and exits 2, with no other word.
                Terminal.out(XLHelp.text(XLHelp.spec("create")!, program: XLInvocation.program))
                throw ExitCode(UsageErrors.status)
            }
        }
        guard let file else {
            // xl's create_domain: libxl's ERROR_INVAL, which main_create makes exit status 6.
            Terminal.err("Config file not specified and none in save file\n")
            throw ExitCode(6)
        }
        return (file, overrides)
    }

    /// What -n and -d print, as xl does: libxl's JSON of the config before
    /// libxl's defaults (or xl's SXP form if xl.conf says so; no domain: domid -1).
    func xlText(_ config: DomainConfiguration, keys: Set<String>?) throws -> String {
        let libxl = config.libxlParsedConfig(host: try libxlHostFacts(config), fileKeys: keys, xl: XLGlobalConfig.settings)
        return XLGlobalConfig.printsSXP ? libxl.xlSXPText(domid: -1, uuid: nil) : libxl.json.yajlBeautified()
    }

    /// The CPUs `cpus` and `cpus_soft` stand for on this host; the host is
    /// only asked when the config has them (a dry run touches nothing otherwise).
    func libxlHostFacts(_ config: DomainConfiguration) throws -> LibxlHostFacts {
        guard config.cpus != nil || config.cpus_soft != nil else { return LibxlHostFacts() }
        return try hostOptions.open().toolstack.libxlHostFacts(config)
    }

    func run() throws {
        let (file, overrides) = try fileAndOverrides()
        let (result, config, resolvedConfig) = try ConfigIntake.read(file, overrides: overrides, hostOptions: hostOptions,
                                                                      ignoreAffinityMasks: ignoreGlobalAffinityMasks)
        var resolved = resolvedConfig
        if dryRun {
            Terminal.out(try xlText(config, keys: result.keys))
            return
        }
        if !quiet { Terminal.errLine("Parsing config from \(file)") }
        if debug { Terminal.err(try xlText(config, keys: result.keys)) }
        let host = try hostOptions.open()
        try ConfigIntake.checkKeys(resolved, file: file, on: host.kind)
        // With -c the console attaches while the domain is still paused and
        // the domain runs once it has, as xl's create does: nothing the
        // guest prints is missed. (Only the console log's readers, on the
        // embedded host without a terminal, need no pause.)
        if noMonitor { resolved.leaveUnwatched() }
        let attach = console && ConsoleCommand.attaches(host, follow: false)
        let follower = foreground && !noMonitor ? try CreateForeground.lock(host.toolstack, resolved) : nil
        // xl.conf's autoballoon: xl's lock held over the create; what swxl does not do of it, said.
        let lock: Int32?
        switch CreatePolicy.acquireLock(host.toolstack, on: host.kind) {
        case .success(let fd): lock = fd
        case .failure(let f):
            Terminal.err(f.message)
            throw ExitCode.failure
        }
        for warning in CreatePolicy.warnings(resolved, host.toolstack, autoballoon: CreatePolicy.autoballoon(host.toolstack)) {
            Terminal.errLine(warning)
        }
        let domid: UInt32
        do {
            defer { CreatePolicy.releaseLock(lock) }
            domid = try host.toolstack.create(resolved, paused: paused || attach)
        } catch {
            throw DomainCLI.fail(error)
        }
        host.ensureWatcher()
        if attach {
            try ConsoleCommand.attachAfterCreate(host, domid, type: resolved.type, unpause: !paused)
        } else if console {
            ConsoleCommand.printLog(host, domid, keepFollowing: true)
        }
        // As xl: -e returns here; the viewer (-V, -A) comes once the domain runs; -F then follows it.
        if noMonitor { return }
        if vncviewer || vncviewerAutopass { VNCViewer.connect(host.toolstack, domid: domid, autopass: vncviewerAutopass) }
        if let follower { try CreateForeground.follow(host, domid: domid, config: resolved, lock: follower) }
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List domains: xl's columns and state letters, or JSON.").parsedAlone

    @Flag(name: .shortAndLong, help: "Also show each domain's UUID and shutdown reason code.")
    var verbose = false
    @Flag(name: .shortAndLong, help: "The domains' configurations as xl prints them: libxl's JSON, [{\"domid\":..,\"config\":..}].")
    var long = false
    @Flag(name: [.customShort("Z"), .customLong("context")], help: "Also show the security label (`-`: swxl reads no XSM labels).")
    var context = false
    @Flag(name: [.customShort("c"), .customLong("cpupool")], help: "Also show each domain's cpupool.")
    var cpupool = false
    @Flag(name: [.customShort("n"), .customLong("numa")], help: "Also show each domain's NUMA node affinity.")
    var numa = false
    @Flag(name: .long, help: "One JSON object per domain, for scripts (swxl's addition).")
    var json = false
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "Only this domain (name or domid).")
    var domain: String?

    func run() throws {
        let toolstack = try hostOptions.open().toolstack
        // -n: each domain's node affinity, as xl's print_bitmap writes it over the host's nodes.
        var nodeAffinity: ((UInt32) -> String)?
        if numa {
            let nodes = try DomainCLI.reporting { try toolstack.hypervisor.physInfo().nodes }
            nodeAffinity = { domid in
                guard let set = try? toolstack.hypervisor.nodeAffinity(domid: domid) else { return "none" }
                return CPUSet(set).xlText(cpuCount: nodes)
            }
        }
        var domains: [DomainSummary]
        var halted: [DomainConfiguration] = []
        do {
            if let domain, !DomainCLI.isDomid(domain), (try? toolstack.resolve(domain)) == nil,
               let defined = toolstack.managedDomain(named: domain) {
                // A managed domain that is not running (one that runs is found above).
                domains = []
                halted = [defined]
            } else if let domain {
                // xl takes digits as a domid without looking it up (libxl_domain_qualifier_to_domid).
                let id = DomainCLI.isDomid(domain) ? UInt32(domain) ?? UInt32.max : try DomainCLI.resolve(toolstack, domain)
                guard let summary = try? toolstack.info(id) else {
                    // xl's main_list (tools/xl/xl_list.c) for a domid with no domain.
                    Terminal.err("Error: Domain '\(domain)' does not exist.\n")
                    throw ExitCode.failure
                }
                domains = [summary]
            } else {
                domains = try toolstack.list()
                halted = toolstack.haltedDomains(running: domains)
            }
        } catch let e as ExitCode { throw e } catch { throw DomainCLI.fail(error) }
        if long, domain != nil, let defined = halted.first {
            // libxl's JSON is of a domain that exists (its domid); a halted one has only its definition.
            DomainCLI.printError("'\(defined.name_label)' is defined but not running (its config: swxl config show \(defined.name_label))")
            throw ExitCode.failure
        }
        if long {
            // As xl: libxl's JSON of each domain's config, or xl's SXP form if xl.conf says so.
            if XLGlobalConfig.printsSXP {
                Terminal.out(toolstack.libxlDomainListSXP(domains, xl: XLGlobalConfig.settings))
            } else {
                Terminal.out(toolstack.libxlDomainList(domains, xl: XLGlobalConfig.settings))
            }
            return
        }
        if json {
            Terminal.out(DomainListing.json(domains, halted: halted))
            return
        }
        Terminal.out(table(domains, poolName: cpupool ? { toolstack.poolName($0) } : nil, nodeAffinity: nodeAffinity)
                     + haltedRows(halted))
    }

    /// xl's table (list_domains in tools/xl/xl_info.c): the columns -v, -Z
    /// and -n add follow the state and time. The security label is always
    /// "-", what xl prints on a host without XSM labels.
    /// With -c, each domain's pool by name (`/local/pool/<id>/name`;
    /// xl's printf shows a missing one as `(null)`).
    func table(_ domains: [DomainSummary], poolName: ((UInt32) -> String?)? = nil, nodeAffinity: ((UInt32) -> String)? = nil) -> String {
        var text = "Name                                        ID   Mem VCPUs\tState\tTime(s)"
        if verbose { text += "   UUID                            Reason-Code\tSecurity Label" }
        if context && !verbose { text += "   Security Label" }
        if poolName != nil { text += "         Cpupool" }
        if numa { text += " NODE Affinity" }
        text += "\n"
        for d in domains {
            let i = d.info
            text += Fmt.left(d.name, 40) + " " + Fmt.right("\(i.domid)", 5) + " " + Fmt.right("\(i.currentMemoryKiB / 1024)", 5)
                + " " + Fmt.right("\(i.onlineVCPUs)", 5) + "     " + i.stateLetters + "  "
                + Fmt.right(DecimalText.fixed(Double(i.cpuTimeNs) / 1e9, places: 1), 8)
            if verbose {
                text += " " + i.uuid.description
                text += " " + Fmt.right(i.shutdown ? String(i.shutdownReason?.rawValue ?? 0, radix: 16) : "-", 8)
            }
            if verbose || context { text += " " + Fmt.right("-", 16) }
            if let poolName { text += Fmt.right(poolName(i.cpupool) ?? "(null)", 16) }
            if let nodeAffinity { text += " " + nodeAffinity(i.domid) }
            text += "\n"
        }
        return text
    }

    /// The managed domains that are not running, after the running ones,
    /// in xl's columns as xm's list showed them: no ID, the memory and vCPUs
    /// they start with, no state flag, no time; `-` for what a halted
    /// domain does not have (reason code, label, pool, node affinity).
    func haltedRows(_ halted: [DomainConfiguration]) -> String {
        var text = ""
        for config in halted {
            text += Fmt.left(config.name_label, 40) + " " + Fmt.right("", 5) + " " + Fmt.right("\(config.memory_dynamic_max >> 20)", 5)
                + " " + Fmt.right("\(config.VCPUs_at_startup)", 5) + "     " + DomainListing.haltedStateLetters + "  "
                + Fmt.right("0.0", 8)
            if verbose { text += " " + config.uuid.description + " " + Fmt.right("-", 8) }
            if verbose || context { text += " " + Fmt.right("-", 16) }
            if cpupool { text += Fmt.right("-", 16) }
            if numa { text += " -" }
            text += "\n"
        }
        return text
    }
}

struct DestroyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy", abstract: "Destroy a domain at once: no shutdown, everything about it removed.").parsedAlone
    @Flag(name: .customShort("f"), help: "Permit destroying domain 0.") var force = false
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The domain (name or domid).") var domain: String

    func run() throws {
        let toolstack = try hostOptions.open().toolstack
        let id = try DomainCLI.resolve(toolstack, domain)
        if id == 0 && !force {
            // xl's destroy_domain (tools/xl/xl_vmcontrol.c).
            Terminal.err("Not destroying domain 0; use -f to force.\n"
                         + "This can only be done when using a disaggregated hardware domain and toolstack.\n\n")
            throw ExitCode.failure
        }
        do { try toolstack.destroy(domid: id) } catch { throw DomainCLI.fail(error) }
    }
}

/// `shutdown` and `reboot`: ask the guest through `control/shutdown`.
struct ShutdownRequest {
    /// As xl's main_shutdown_or_reboot (tools/xl/xl_vmcontrol.c): ask every
    /// domain first, then wait. `wait` counts the -w given: 1 waits until
    /// each has shut down, 2 (`-ww`) until each is gone; the lines on
    /// stderr are xl's.
    static func run(reason: String, all: Bool, wait: Int, domain: String?, fallback: Bool = false, host: HostOptions) throws {
        let toolstack = try host.open(startWatcher: true).toolstack
        var ids: [UInt32] = []
        if all {
            do { ids = try toolstack.list().map(\.info.domid).filter { $0 != 0 } } catch { throw DomainCLI.fail(error) }
        } else if let domain {
            ids = [try DomainCLI.resolve(toolstack, domain)]
        } else {
            // xl's main_shutdown_or_reboot (tools/xl/xl_vmcontrol.c): exit 1, not a usage error.
            Terminal.err("You must specify -a or a domain id.\n\n")
            throw ExitCode.failure
        }
        var failed = false
        var asked: [(id: UInt32, name: String)] = []
        let reboot = reason == "reboot"
        for id in ids {
            do {
                let name = (try? toolstack.info(id).name) ?? "\(id)"
                Terminal.err(reboot ? "Rebooting domain \(id)\n" : "Shutting down domain \(id)\n")
                // An HVM guest without PV drivers cannot be asked: xl's words, and with
                // -F the ACPI button instead (shutdown_domain/reboot_domain in xl_vmcontrol.c).
                if !(try toolstack.hypervisor.pvControlAvailable(domid: id)) {
                    let what = reboot ? "reboot" : "shutdown"
                    guard fallback else {
                        Terminal.err("PV control interface not available: external graceful \(what) not possible.\n"
                                     + "Use \"-F\" to fallback to ACPI \(reboot ? "reset" : "power") event.\n"
                                     + "\(what) failed (rc=-10)\n")
                        throw ExitCode.failure
                    }
                    Terminal.err("PV control interface not available: sending ACPI \(reboot ? "reset" : "power") button event.\n")
                    do { try toolstack.hypervisor.sendACPITrigger(domid: id, power: !reboot) } catch {
                        DomainCLI.printError("\(error)")
                        Terminal.err("\(what) failed (rc=-3)\n")
                        throw ExitCode.failure
                    }
                    asked.append((id, name))
                    continue
                }
                try toolstack.requestShutdown(domid: id, reason: reason)
                asked.append((id, name))
            } catch let e as ExitCode {
                throw e
            } catch {
                DomainCLI.printError("\(error)")
                failed = true
            }
        }
        if wait > 0 && !asked.isEmpty {
            let verb = reason == "reboot" ? "reboot" : "shutdown"
            Terminal.errLine("Waiting for \(asked.count) domains")
            for (id, name) in asked {
                guard toolstack.waitForShutdown(domid: id, timeoutSeconds: 60) else {
                    DomainCLI.printError("domain \(name) did not \(verb) within 60 s")
                    failed = true
                    continue
                }
                Terminal.errLine("Domain \(id) has been shut down, reason code \(reason == "reboot" ? 1 : 0)")
                guard wait > 1 else { continue }
                Terminal.errLine("Domain \(id) continue waiting for death")
                guard toolstack.waitForDeath(domid: id, timeoutSeconds: 60) else {
                    DomainCLI.printError("domain \(name) was not destroyed within 60 s")
                    failed = true
                    continue
                }
                Terminal.errLine("Domain \(id) has been destroyed")
            }
        }
        if failed { throw ExitCode.failure }
    }
}

struct ShutdownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shutdown", abstract: "Ask a domain to shut down (its on_poweroff action follows).").parsedAlone
    @Flag(name: .shortAndLong, help: "All domains.") var all = false
    @Flag(name: .shortAndLong, help: "Wait until the domain has shut down (-ww: until it is gone).") var wait: Int
    @Flag(name: .customShort("F"), help: "Send an ACPI power button event to an HVM guest whose PV drivers are not up.")
    var fallback = false
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The domain (name or domid).") var domain: String?
    func run() throws {
        try ShutdownRequest.run(reason: "poweroff", all: all, wait: wait, domain: domain, fallback: fallback, host: hostOptions)
    }
}

struct RebootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reboot", abstract: "Ask a domain to reboot (its on_reboot action follows).").parsedAlone
    @Flag(name: .shortAndLong, help: "All domains.") var all = false
    @Flag(name: .shortAndLong, help: "Wait until the domain has shut down for the reboot (-ww: until it is gone).") var wait: Int
    @Flag(name: .customShort("F"), help: "Send an ACPI reset button event to an HVM guest whose PV drivers are not up.")
    var fallback = false
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The domain (name or domid).") var domain: String?
    func run() throws {
        try ShutdownRequest.run(reason: "reboot", all: all, wait: wait, domain: domain, fallback: fallback, host: hostOptions)
    }
}

struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Pause a domain.").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The domain (name or domid).") var domain: String
    func run() throws {
        let t = try hostOptions.open().toolstack
        try DomainCLI.reporting { try t.pause(domid: try DomainCLI.resolve(t, domain)) }
    }
}

struct UnpauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unpause", abstract: "Unpause a domain.").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The domain (name or domid).") var domain: String
    func run() throws {
        let host = try hostOptions.open(startWatcher: true)
        let t = host.toolstack
        try DomainCLI.reporting { try t.unpause(domid: try DomainCLI.resolve(t, domain)) }
        host.ensureWatcher()
    }
}

struct RenameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rename", abstract: "Rename a domain.").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The domain (name or domid).") var domain: String
    @Argument(help: "The new name.") var newName: String
    func run() throws {
        let t = try hostOptions.open().toolstack
        let id = try DomainCLI.resolve(t, domain)
        do {
            try t.rename(domid: id, to: newName)
        } catch {
            // The reason (what libxl logs), then xl's main_rename line (tools/xl/xl_misc.c).
            DomainCLI.printError("\(error)")
            Terminal.err("Can't rename domain '\(domain)'.\n")
            throw ExitCode.failure
        }
    }
}

extension MemorySize {
    /// xl's message for a size it cannot read (tools/xl/xl_mem.c), exit 1;
    /// said after the domain is found, as xl says it.
    static func invalid(_ text: String) -> ExitCode {
        Terminal.err("invalid memory size: \(text)\n")
        return ExitCode.failure
    }
}

struct MemSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mem-set", abstract: "Set a domain's memory target (the guest balloons to it). Sizes: 512, 512m, 1g, 65536k.").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The domain (name or domid).") var domain: String
    @Argument(help: "The memory (MiB unless suffixed k, m, g).") var memory: String
    func run() throws {
        let t = try hostOptions.open(startWatcher: true).toolstack
        let id = try DomainCLI.resolve(t, domain)
        guard let mib = MemorySize.parse(memory) else { throw MemorySize.invalid(memory) }
        try DomainCLI.reporting { try t.setMemoryTarget(domid: id, mib: mib) }
    }
}

struct MemMaxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mem-max", abstract: "Set the most memory a domain may have.").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The domain (name or domid).") var domain: String
    @Argument(help: "The memory (MiB unless suffixed k, m, g).") var memory: String
    func run() throws {
        let t = try hostOptions.open().toolstack
        let id = try DomainCLI.resolve(t, domain)
        guard let mib = MemorySize.parse(memory) else { throw MemorySize.invalid(memory) }
        try DomainCLI.reporting { try t.setMemoryMax(domid: id, mib: mib) }
    }
}

struct VCPUSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vcpu-set", abstract: "Set the number of a domain's online vcpus.").parsedAlone
    @Flag(name: [.customShort("i"), .customLong("ignore-host")],
          help: "Allow more vCPUs than the host has CPUs.")
    var ignoreHost = false
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The domain (name or domid).") var domain: String
    @Argument(help: "How many vcpus online.") var count: String

    /// As xl's vcpuset (tools/xl/xl_vcpu.c): the domain is found first, the
    /// number read as strtoul reads it, and without -i more vCPUs than
    /// online and than the host has CPUs are refused.
    func run() throws {
        let t = try hostOptions.open(startWatcher: true).toolstack
        let id = try DomainCLI.resolve(t, domain)
        guard let wanted = DomainCLI.leadingNumber(count), wanted <= UInt64(Int32.max) else {
            Terminal.err("Error: Invalid argument.\n")
            throw ExitCode.failure
        }
        if !ignoreHost {
            let (online, hostCPUs) = try DomainCLI.reporting { (try t.info(id).info.onlineVCPUs, try t.hypervisor.physInfo().maxCPUID + 1) }
            if wanted > online && wanted > hostCPUs {
                Terminal.err("You are overcommmitting! You have \(hostCPUs) physical CPUs and want \(wanted) vCPUs! "
                             + "Aborting, use --ignore-host to continue\n")
                throw ExitCode.failure
            }
        }
        try DomainCLI.reporting { try t.setVCPUs(domid: id, count: UInt32(wanted)) }
    }
}

struct DomidCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "domid", abstract: "Print the domid of a domain name.").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The domain name.") var name: String
    func run() throws {
        let t = try hostOptions.open().toolstack
        guard let id = try? t.resolve(name) else {
            // xl's main_domid (tools/xl/xl_misc.c).
            Terminal.err("Can't get domid of domain name '\(name)', maybe this domain does not exist.\n")
            throw ExitCode.failure
        }
        Terminal.out("\(id)\n")
    }
}

struct DomnameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "domname", abstract: "Print the name of a domid.").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The domid.") var domid: String
    func run() throws {
        // xl's main_domname (tools/xl/xl_misc.c): the number strtol reads; none at all is refused.
        guard let number = DomainCLI.leadingNumber(domid), let id = UInt32(exactly: number) else {
            Terminal.err("Invalid domain id.\n\n")
            throw ExitCode.failure
        }
        let t = try hostOptions.open().toolstack
        guard let d = try? t.info(id) else {
            Terminal.err("Can't get domain name of domain id '\(id)', maybe this domain does not exist.\n")
            throw ExitCode.failure
        }
        Terminal.out(d.name + "\n")
    }
}

struct VMListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vm-list", abstract: "List the guests' UUIDs, domids and names.").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    func run() throws {
        let t = try hostOptions.open().toolstack
        var text = "UUID                                  ID    name\n"
        do {
            for d in try t.list() where d.info.domid != 0 {
                text += d.info.uuid.description + "  \(d.info.domid)    " + Fmt.left(d.name, 30) + "\n"
            }
        } catch { throw DomainCLI.fail(error) }
        Terminal.out(text)
    }
}

struct UptimeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "uptime", abstract: "How long domains have been up.").parsedAlone
    @Flag(name: .short, help: "Short form, like uptime(1).") var short = false
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "Only these domains.") var domains: [String] = []

    static func format(_ seconds: Int, short: Bool) -> String {
        let day = seconds / 86400, hour = seconds % 86400 / 3600, min = seconds % 3600 / 60, sec = seconds % 60
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let days = day > 1 ? "\(day) days, " : day == 1 ? "1 day, " : ""
        return days + Fmt.right("\(hour)", 2) + ":" + two(min) + (short ? "" : ":" + two(sec))
    }

    func run() throws {
        let t = try hostOptions.open().toolstack
        let now = Double(nowSeconds())
        var text = short ? "" : Fmt.left("Name", 33) + " " + Fmt.right("ID", 4) + " Uptime\n"
        do {
            let targets: [DomainSummary] = domains.isEmpty ? try t.list() : try domains.map { try t.info(try DomainCLI.resolve(t, $0)) }
            for d in targets {
                guard let up = t.uptimeSeconds(domid: d.info.domid, now: now) else { continue }
                if short {
                    text += " " + clock() + " up " + Self.format(up, short: true) + ", \(d.name) (\(d.info.domid))\n"
                } else {
                    text += Fmt.left(d.name, 33) + " " + Fmt.right("\(d.info.domid)", 4) + " " + Self.format(up, short: false) + "\n"
                }
            }
        } catch let e as ExitCode { throw e } catch { throw DomainCLI.fail(error) }
        Terminal.out(text)
    }

    private func nowSeconds() -> Int { Int(SystemClock.realtimeNanoseconds() / 1_000_000_000) }
    private func clock() -> String {
        var now = time(nil)
        var tmv = tm()
        localtime_r(&now, &tmv)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return two(tmv.tm_hour) + ":" + two(tmv.tm_min) + ":" + two(tmv.tm_sec)
    }
}

struct DmesgCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dmesg", abstract: "The hypervisor's console ring.").parsedAlone
    @Flag(name: [.short, .long], help: "Clear the ring after reading it.") var clear = false
    @OptionGroup var hostOptions: HostOptions
    func run() throws {
        let t = try hostOptions.open().toolstack
        do { Terminal.out(try t.hypervisor.readConsoleRing(clear: clear)) } catch { throw DomainCLI.fail(error) }
    }
}

struct MonitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "_monitor", abstract: "Carry out on_poweroff, on_reboot and on_crash for swxl's domains on Xen (started by swxl on demand).",
        shouldDisplay: false).parsedAlone
    func run() throws {
        try HostOptions.parse([]).open(startWatcher: false, startDaemon: false).runMonitor()
    }
}

struct SimGuestsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "_sim-guests", abstract: "Serve the embedded host's simulated guests (started by swxl on demand).",
        shouldDisplay: false).parsedAlone
    func run() throws {
        // The guest host never starts a daemon: without one it has nothing to serve.
        let host = try HostOptions.parse([]).open(startWatcher: false, startDaemon: false)
        do { try host.serveSimulatedGuests() } catch { throw DomainCLI.fail(error) }
    }
}

extension DomainConfiguration {
    /// create -e and restore -e: nobody watches the domain, as when xl
    /// leaves no daemon behind, so whatever it shuts down for it stays as
    /// it is (the record says preserve for each reason).
    mutating func leaveUnwatched() {
        actions_after_shutdown = .preserve
        actions_after_reboot = .preserve
        actions_after_crash = .preserve
        actions_after_watchdog = .preserve
        actions_after_soft_reset = .preserve
    }
}
