import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// How swxl ends on a bad command line: as xl does, with status 2 and the
/// reason on standard error.
///
/// argument-parser ends usage errors with 64 (`EX_USAGE`); xl exits 2
/// (`def_getopt` in tools/xl/xl_utils.c), and scripts written for xl test
/// for that. An unknown option is reported as xl's getopt loop reports it,
/// "option `z' not supported."; other usage errors keep argument-parser's
/// message, which names the argument and shows the usage line.
enum UsageErrors {
    /// xl's exit status for a usage error.
    static let status: Int32 = 2

    /// Ends the process for `error`, thrown while parsing or running
    /// `command`: usage errors with status 2, anything else as
    /// argument-parser ends it (help, a clean exit, an `ExitCode`).
    static func exit(_ error: any Error, command: any ParsableCommand.Type) -> Never {
        guard command.exitCode(for: error) == .validationFailure else { command.exit(withError: error) }
        let message = command.message(for: error)
        let argv = XLInvocation.commandLine
        if let option = unknownOption(message) {
            Terminal.err("option `\(option)' not supported.\n")
        } else if message.hasPrefix("Missing expected argument"), argv.count > 1, let spec = XLHelp.spec(argv[1]) {
            // xl's def_getopt: the message on stderr, the command's help on stdout.
            Terminal.err(XLHelp.tooFewArguments(spec, program: XLInvocation.program))
            Terminal.out(XLHelp.text(spec, program: XLInvocation.program))
        } else {
            Terminal.err(command.fullMessage(for: error) + "\n")
        }
        Glibc.exit(status)
    }

    /// Ends the process for `error`, thrown by the parsed `command`'s
    /// `run`: a usage error there (a `ValidationError`) is shown with that
    /// command's usage line, which the root's message would not name.
    static func exit(_ error: any Error, running command: any ParsableCommand.Type, root: any ParsableCommand.Type) -> Never {
        guard root.exitCode(for: error) == .validationFailure else { root.exit(withError: error) }
        Terminal.err("Error: \(root.message(for: error))\nUsage: \(root.usageString(for: command))\n")
        Glibc.exit(status)
    }

    /// The option argument-parser named as unknown, as xl's message shows
    /// it: a short option without its dash (`z`), a long one whole
    /// (`--bogus`, where xl's getopt has no character to show).
    static func unknownOption(_ message: String) -> String? {
        let prefix = "Unknown option '"
        guard message.hasPrefix(prefix) else { return nil }
        let rest = message.dropFirst(prefix.count)
        guard let end = rest.firstIndex(of: "'") else { return nil }
        let option = rest[..<end]
        if option.hasPrefix("--") { return String(option) }
        return option.hasPrefix("-") ? String(option.dropFirst()) : String(option)
    }
}
