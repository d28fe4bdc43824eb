import ArgumentParser
import DomainConfig
import EmbeddedHost
#if canImport(Glibc)
import Glibc
#endif
import GuestConsole
import SwxlSystem
import Toolstack
import XenStoreClient

/// `swxl console`: xl's `console`, which runs xenconsole
/// (tools/xl/xl_console.c, tools/console/client/main.c): the terminal
/// attached to the guest's console until Ctrl-] or the domain's death.
/// On the embedded host, without a terminal (or with `-f`), it prints the
/// guest's console log instead, as it always has.
struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Attach to a domain's console (Ctrl-] detaches).",
        discussion: """
            On a terminal, keys go to the guest and what it prints comes back, on real Xen and on \
            the embedded host alike; Ctrl-] detaches (exit status 0). On the embedded host without \
            a terminal, or with -f, this prints the guest's console log (the simulated kernel's \
            lines and its sim_guest_script's output) instead.
            """).parsedAlone
    @Flag(name: .customShort("f"), help: "Embedded host: print the console log and keep following it until the guest dies (swxl's addition).")
    var follow = false
    @Option(name: .customShort("t"), help: ArgumentHelp("The console type: pv, serial or vuart (default: serial for HVM guests, else pv).", valueName: "type"))
    var type: String?
    @Option(name: .customShort("n"), help: ArgumentHelp("The console number (default 0).", valueName: "number"))
    var number: String?
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The domain (name or domid).") var domain: String

    func run() throws {
        var kind: ConsoleTarget.Kind?
        if let type {
            guard let known = ConsoleTarget.Kind(rawValue: type) else {
                // xl's main_console (tools/xl/xl_console.c).
                Terminal.err("console type supported are: pv, serial, vuart\n")
                throw ExitCode.failure
            }
            kind = known
        }
        // xl reads -n with atoi.
        let number = number.map { UInt32(truncatingIfNeeded: Int32(truncatingIfNeeded: Self.atoi($0))) } ?? 0
        let host = try hostOptions.open()
        let domid = try resolve(host)
        guard Self.attaches(host, follow: follow) else {
            Self.printLog(host, domid, keepFollowing: follow)
            return
        }
        let target = kind.map { ConsoleTarget(domid: domid, kind: $0, number: number) }
            ?? ConsoleTarget.primary(domid: domid, isHVM: host.toolstack.record(domid)?.type == .hvm)
        let session = try Self.session(host, target)
        do {
            _ = try session.run()
        } catch {
            Self.printFailure(error)
            throw ExitCode(error.exitStatus)
        }
    }

    /// The domid, refused as xl refuses it: a name no domain has by
    /// find_domain's message; a domid no domain has by xl's last line
    /// (after libxl's failure to find the domain's type); domain 0 by
    /// xenconsole's.
    private func resolve(_ host: ToolstackHost) throws -> UInt32 {
        let domid: UInt32
        if DomainCLI.isDomid(domain) {
            domid = (try? host.toolstack.resolve(domain)) ?? UInt32.max
        } else {
            domid = try DomainCLI.resolve(host.toolstack, domain)
        }
        guard domid != UInt32.max, (try? host.toolstack.hypervisor.domainInfo(domid: domid)) ?? nil != nil else {
            Terminal.err("Unable to attach console\n")
            throw ExitCode.failure
        }
        if domid == 0 {
            // xenconsole's refusal: no data ever shows up on domain 0's console.
            Self.printFailure(.domain0)
            throw ExitCode(ConsoleError.domain0.exitStatus)
        }
        return domid
    }

    /// Whether `console` attaches to the pty here: always on Xen; on the
    /// embedded host when standard input and output are terminals and the
    /// log was not asked for.
    static func attaches(_ host: ToolstackHost, follow: Bool) -> Bool {
        host.consoleLog == nil || (!follow && isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1)
    }

    /// A console session over a connection of its own.
    static func session(_ host: ToolstackHost, _ target: ConsoleTarget) throws -> ConsoleSession {
        let store: XenStoreClient
        do { store = try XenStoreClient.open(path: host.storeSocket) } catch { throw DomainCLI.fail(error) }
        return ConsoleSession(store: store, target: target, lockDirectory: host.consoleLockDirectory)
    }

    /// `create -c`: attaches to the new domain's primary console, then
    /// unpauses it (unless `-p`), as xl does once xenconsole says it is
    /// ready. If the console cannot be attached, the domain runs anyway
    /// and create still succeeds, as with xl.
    static func attachAfterCreate(_ host: ToolstackHost, _ domid: UInt32, type: DomainType, unpause: Bool) throws {
        func run() throws {
            if unpause { do { try host.toolstack.unpause(domid: domid) } catch { throw DomainCLI.fail(error) } }
        }
        let session = try session(host, .primary(domid: domid, isHVM: type == .hvm))
        var started = false
        do throws(ConsoleError) {
            _ = try session.run {
                started = true
                try? run()
            }
        } catch {
            printFailure(error)
            // xl's create, reading the notification pipe xenconsole never wrote to.
            Terminal.err("Got EOF from xenconsole notification fd\n")
            if !started { try run() }
        }
    }

    /// xenconsole's line for a failure: err(3)'s, with the program's name
    /// first, except for domain 0's refusal, which it prints plainly.
    static func printFailure(_ error: ConsoleError) {
        Terminal.err(error == .domain0 ? error.message + "\n" : "xenconsole: " + error.message + "\n")
    }

    /// Prints a guest's console log (embedded host); with `keepFollowing`,
    /// goes on printing what it writes until it dies.
    static func printLog(_ host: ToolstackHost, _ id: UInt32, keepFollowing: Bool) {
        guard let consoles = host.consoleLog else { return }
        let t = host.toolstack
        consoles.follow(id, keepFollowing: { keepFollowing && (try? t.hypervisor.domainInfo(domid: id)) ?? nil != nil },
                        output: Terminal.out)
    }

    /// C's atoi: leading blanks, a sign, digits; 0 without digits.
    static func atoi(_ text: String) -> Int64 {
        var rest = Substring(text).drop { $0 == " " || $0 == "\t" || $0 == "\n" }
        var sign: Int64 = 1
        if let first = rest.first, first == "-" || first == "+" {
            if first == "-" { sign = -1 }
            rest = rest.dropFirst()
        }
        let digits = rest.prefix { $0.isASCII && $0.isNumber }.prefix(18)
        return sign * (Int64(digits) ?? 0)
    }
}
