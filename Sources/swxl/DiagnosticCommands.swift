import ArgumentParser
import DomainConfig
import EmbeddedHost
import Toolstack

/// `swxl sysrq`, `debug-keys`, `dump-core` and `cpupool-list`, as xl's
/// (tools/xl/xl_misc.c, xl_cpupool.c, Xen 4.17): the same arguments,
/// output, messages and exit status.
var diagnosticCommands: [any ParsableCommand.Type] {
    [SysrqCommand.self, DebugKeysCommand.self, DumpCoreCommand.self, CPUPoolListCommand.self, TopCommand.self]
}

struct SysrqCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sysrq", abstract: "Send a sysrq to a domain.",
        discussion: "The key goes to the guest's kernel through xenstore (control/sysrq), as libxl sends it; the guest empties the node when it takes the key.").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The domain (name or domid).") var domain: String
    @Argument(help: "The sysrq letter (e.g. s, u, b, h).") var letter: String
    /// xl reads nothing after the letter.
    @Argument(help: ArgumentHelp(visibility: .hidden)) var ignored: [String] = []

    /// As xl's main_sysrq: the domain found first, then the letter checked.
    func run() throws {
        let host = try hostOptions.open()
        let t = host.toolstack
        let id = try DomainCLI.resolve(t, domain)
        guard letter.utf8.count == 1, let key = letter.first else {
            Terminal.err("Invalid sysrq.\n\n")
            Terminal.out(XLHelp.text(XLHelp.spec("sysrq")!, program: XLInvocation.program))
            throw ExitCode.failure
        }
        if id == 0 && host.kind == .embedded {
            DomainCLI.printError("the embedded host has no Domain-0 kernel to take a sysrq")
            throw ExitCode.failure
        }
        try DomainCLI.reporting { try t.sendSysrq(domid: id, key: key) }
    }
}

struct DebugKeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug-keys", abstract: "Send debug keys to Xen.",
        discussion: "As typed on Xen's serial console; what they print is in `swxl dmesg`.").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The keys (e.g. h, q).") var keys: String
    @Argument(help: ArgumentHelp(visibility: .hidden)) var ignored: [String] = []

    func run() throws {
        let t = try hostOptions.open().toolstack
        do { try t.hypervisor.sendDebugKeys(keys) } catch {
            DomainCLI.printError(error.description)
            Terminal.err("cannot send debug keys: \(keys)\n")
            throw ExitCode.failure
        }
    }
}

struct DumpCoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump-core", abstract: "Core dump a domain.",
        discussion: "The guest's memory and vCPU state as an ELF core in libxenguest's format (see docs/domains.md).").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The domain (name or domid).") var domain: String
    @Argument(help: "The core file to write.") var filename: String
    @Argument(help: ArgumentHelp(visibility: .hidden)) var ignored: [String] = []

    func run() throws {
        let t = try hostOptions.open().toolstack
        let id = try DomainCLI.resolve(t, domain)
        do { try t.hypervisor.dumpCore(domid: id, path: filename) } catch {
            DomainCLI.printError(error.description)
            Terminal.err("core dump failed (rc=-3)\n")  // libxl's ERROR_FAIL
            throw ExitCode.failure
        }
    }
}

struct CPUPoolListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cpupool-list", abstract: "List CPU pools on host.").parsedAlone
    @Flag(name: [.customShort("c"), .customLong("cpus")], help: "Output list of CPUs used by a pool.") var cpus = false
    @Flag(name: .long, help: "The pools as a JSON array, for scripts (swxl's addition).") var json = false
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "Only this pool (by name).") var pool: String?
    /// xl reads nothing after the pool.
    @Argument(help: ArgumentHelp(visibility: .hidden)) var ignored: [String] = []

    func run() throws {
        let t = try hostOptions.open().toolstack
        let (pools, domains) = try DomainCLI.reporting { (try t.cpuPools(), try t.hypervisor.listDomains()) }
        var only: UInt32?
        if let pool {
            // libxl_name_to_cpupoolid: by name only.
            guard let match = pools.first(where: { t.poolName($0.id) == pool }) else {
                Terminal.err("Pool '\(pool)' does not exist\n")
                throw ExitCode.failure
            }
            only = match.id
        }
        let shown = pools.filter { only == nil || $0.id == only }
        func count(_ p: CPUPoolInfo) -> UInt32 { p.domainCount ?? UInt32(domains.filter { $0.cpupool == p.id }.count) }
        if json {
            let items = shown.map { p in
                JSONValue.object([
                    ("name", .string(t.poolName(p.id) ?? "")), ("id", .number("\(p.id)")),
                    ("scheduler", p.scheduler.map { .string($0.rawValue) } ?? .null),
                    ("cpus", .array(p.cpus.cpus.map { .number("\($0)") })), ("domains", .number("\(count(p))")),
                ])
            }
            Terminal.out(JSONValue.array(items).serialized(inlineBelow: 1) + "\n")
            return
        }
        var text = Fmt.left("Name", 19) + (cpus ? "CPU list\n" : "CPUs   Sched     Active   Domain count\n")
        for p in shown {
            text += Fmt.left(t.poolName(p.id) ?? "(null)", 19)
            if cpus {
                text += p.cpus.cpus.map(String.init).joined(separator: ",")
            } else {
                text += XentopText.c("%3d ", Int32(p.cpus.cpus.count)) + XentopText.right(p.scheduler?.rawValue ?? "(null)", 9)
                    + XentopText.c("       y       %4d", Int32(bitPattern: count(p)))
            }
            text += "\n"
        }
        Terminal.out(text)
    }
}
