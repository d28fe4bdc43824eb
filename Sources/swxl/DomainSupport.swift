import ArgumentParser
import DomainConfig
import EmbeddedHost
#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import Toolstack
import XenStoreProtocol

/// `--host` on every domain command.
struct HostOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).",
                                            valueName: "kind"))
    var host: String?

    func kind() throws -> HostKind {
        do { return try HostKind.detect(forced: host) } catch { throw ValidationError(error.description) }
    }

    /// The chosen host, connected (its xenstored started if need be, unless
    /// not `startDaemon`). With `startWatcher`, the process that follows
    /// the domains is (re)started if domains need it.
    func open(startWatcher: Bool = false, startDaemon: Bool = true) throws -> ToolstackHost {
        let kind = try kind()
        let host: ToolstackHost
        do {
            host = try ToolstackHost.open(kind: kind, environment: CurrentProcess.environment(), program: CurrentProcess.executablePath(),
                                          startDaemon: startDaemon)
        } catch {
            throw DomainCLI.fail(error)
        }
        if startWatcher && host.toolstack.hasRecordedDomains { host.ensureWatcher() }
        return host
    }
}

/// Helpers shared by the domain commands.
enum DomainCLI {
    /// Runs `body`; a failure is printed as xl does and exits 1 (an
    /// `ExitCode` passes through as it is).
    @discardableResult
    static func reporting<R>(_ body: () throws -> R) throws -> R {
        do { return try body() } catch let e as ExitCode { throw e } catch { throw fail(error) }
    }

    /// Prints an error as xl does and gives the exit code (1).
    static func fail(_ error: any Error) -> ExitCode {
        printError("\(error)")
        return ExitCode.failure
    }

    /// `swxl: error: <text>` on standard error (`xl: error:` when run as
    /// `xl`): what libxl logs as an error. With xl's global `-T`, the date
    /// and pid first, as xl's logger writes them (xtl_logger_stdio.c).
    static func printError(_ text: String) {
        Terminal.err(logPrefix() + XLInvocation.program + ": error: " + text + "\n")
    }

    /// `YYYY-MM-DD HH:MM:SS ZONE [PID] ` with `-T`, else nothing.
    static func logPrefix() -> String {
        guard XLInvocation.timestamps else { return "" }
        var now = time(nil)
        var t = tm()
        localtime_r(&now, &t)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let zone = t.tm_zone.map { String(cString: $0) } ?? ""
        return "\(t.tm_year + 1900)-\(two(t.tm_mon + 1))-\(two(t.tm_mday)) \(two(t.tm_hour)):\(two(t.tm_min)):\(two(t.tm_sec)) \(zone) [\(getpid())] "
    }

    /// The domid of a name or domid. A name no domain has is refused as
    /// xl's `find_domain` refuses it (tools/xl/xl_utils.c): libxl's
    /// `ERROR_INVAL` (-6) in the message, exit 1. A domid that does not exist
    /// keeps swxl's message (xl passes it on and fails later, in libxl).
    static func resolve(_ toolstack: Toolstack, _ identifier: String) throws -> UInt32 {
        do {
            return try toolstack.resolve(identifier)
        } catch .noSuchDomain(let name) where !isDomid(name) {
            throw invalidDomain(name)
        } catch {
            throw fail(error)
        }
    }

    /// xl's message for a name no domain has (`find_domain`), and exit 1.
    static func invalidDomain(_ name: String) -> ExitCode {
        Terminal.err("\(name) is an invalid domain identifier (rc=-6)\n")
        return ExitCode.failure
    }

    /// The number at the start of `text`, as C's strtoul reads it (leading
    /// blanks and a `+` skipped, anything after the digits ignored), which
    /// is how xl reads a number argument; nil when there are no digits.
    static func leadingNumber(_ text: String) -> UInt64? {
        var rest = Substring(text).drop { $0 == " " || $0 == "\t" || $0 == "\n" }
        if rest.first == "+" { rest = rest.dropFirst() }
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        return digits.isEmpty ? nil : UInt64(digits) ?? UInt64.max
    }

    /// The number at the start of `text` as C's strtol reads it in base 10
    /// (leading blanks, a sign, the digits; the rest ignored), clamped to
    /// Int; nil when there are no digits.
    static func signedLeadingNumber(_ text: String) -> Int? {
        var rest = Substring(text).drop { $0 == " " || $0 == "\t" || $0 == "\n" }
        let negative = rest.first == "-"
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty else { return nil }
        let magnitude = Int(digits) ?? Int.max
        return negative ? -magnitude : magnitude
    }

    /// Whether `identifier` is all digits, which xl takes as a domid.
    static func isDomid(_ identifier: String) -> Bool {
        !identifier.isEmpty && identifier.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// An xl option swxl accepts but cannot carry out yet: refused with a
    /// clear error (exit 1) rather than ignored, which would leave a script
    /// believing it happened.
    static func unsupported(_ command: String, _ option: String, _ what: String) -> ExitCode {
        printError("\(command) \(option) (\(what)) is not supported yet")
        return ExitCode.failure
    }
}

// MARK: text formatting (printf-like, without Foundation)

enum Fmt {
    /// Left-aligned in `width` (`%-Ns`).
    static func left(_ s: String, _ width: Int) -> String {
        let n = s.count
        return n >= width ? s : s + String(repeating: " ", count: width - n)
    }

    /// Right-aligned in `width` (`%Ns`).
    static func right(_ s: String, _ width: Int) -> String {
        let n = s.count
        return n >= width ? s : String(repeating: " ", count: width - n) + s
    }
}
