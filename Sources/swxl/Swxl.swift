import ArgumentParser
#if canImport(Glibc)
import Glibc
import SwxlSystem
#endif

/// The root command. Each command group lives in its own file and
/// contributes its commands through one list.
///
/// Synchronous on purpose: an async root makes the main thread call
/// `dispatch_main()`, whose `pthread_exit` unwinds the stack, and in a static
/// executable the first unwind sorts every frame description of the binary
/// (about 10 ms of CPU on each start).
@main
struct Swxl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: XLInvocation.program,
        abstract: "A Xen domain toolstack: domain configs, lifecycle and xenstore.",
        version: "0.1.0",
        subcommands: domainCommands + managedCommands + saveRestoreCommands + vcpuCommands + schedCommands + diagnosticCommands + deviceCommands + configCommands + storeCommands + serveCommands
    )

    static func main() {
        // Start with no signal blocked. A mask is inherited across exec, and
        // a parent that spawns from a Dispatch thread (Foundation's Process
        // in a test, for one) passes nearly every signal blocked: then
        // `swxl xenstored` would never see SIGTERM, and Ctrl-C would not stop
        // `swxl store watch`.
        PhaseTrace.mark("main")
        var none = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, nil)
        // `swxl store read`, `write` and `exists` skip argument-parser's start-up: StoreFastPath.swift.
        if let status = storeFastPath(CommandLine.arguments) { Glibc.exit(status) }
        // xl's global options, `help`, `xl COMMAND -h` and commands swxl does not have, as xl: XLInvocation.swift.
        if let status = XLInvocation.handle(CommandLine.arguments) { Glibc.exit(status) }
        let argv = XLInvocation.commandLine
        // `save` and `restore` in their plain forms skip argument-parser: SaveRestoreFastPath.swift.
        if let command = SaveRestoreFastPath.command(argv) ?? parseLeaf(argv) { run(command) }
        let command: any ParsableCommand
        do {
            command = try parseAsRoot(Array(argv.dropFirst()))
        } catch {
            UsageErrors.exit(error, command: self)
        }
        run(command)
    }

    /// Parses `swxl <command> [<subcommand>] ARGS...` with the leaf
    /// command as the root: argument-parser then reflects over that one
    /// command instead of the whole tree, which is most of its start-up
    /// (`swxl list` took 2.5 ms this way, of which 1.4 ms went to parsing,
    /// against 0.4 ms now). Anything it does not accept (help, a
    /// completion request, a bad option) returns nil, and the full tree
    /// parses again so that usage and messages come out as they always do.
    static func parseLeaf(_ argv: [String]) -> (any ParsableCommand)? {
        var commands = configuration.subcommands
        var index = 1
        var leaf: (any ParsableCommand.Type)?
        while index < argv.count, let next = commands.first(where: { $0._commandName == argv[index] }) {
            leaf = next
            commands = next.configuration.subcommands
            index += 1
            if commands.isEmpty { break }
        }
        // Every leaf is `.parsedAlone` (a new command without it would pay
        // for argument-parser's completion check on each start).
        assert(leaf == nil || !leaf!.configuration.subcommands.isEmpty || leaf!.configuration._superCommandName != nil,
               "\(leaf!) lacks .parsedAlone")
        guard let leaf, leaf.configuration.subcommands.isEmpty,
              let parsed = try? leaf.parseAsRoot(Array(argv[index...])),
              type(of: parsed) == leaf  // not argument-parser's own help command
        else { return nil }
        return parsed
    }

    /// Runs a parsed command as `main` would, and exits.
    static func run(_ command: any ParsableCommand) -> Never {
        var command = command
        do {
            try command.run()
        } catch {
            UsageErrors.exit(error, running: type(of: command), root: Self.self)
        }
        leave()
    }

    /// Exits with status 0 at once, as ``run(_:)`` does once a command has
    /// returned; called inside a command, what it still holds is never
    /// released one object at a time (the kernel frees it all at exit).
    static func leave() -> Never {
        PhaseTrace.mark("exit")
        exit()
    }
}

extension CommandConfiguration {
    /// A leaf command's configuration, marked so that argument-parser skips
    /// its `--generate-completion-script` check when ``Swxl/parseLeaf(_:)``
    /// parses the command as the root: that check parses the line twice more
    /// through two commands of its own (over half of the leaf's parse, about
    /// 25 ms of each command under QEMU's TCG). Only a root's mark is read,
    /// so the whole tree (completion scripts, help, usage) is unchanged, and
    /// a completion request on a leaf's line fails the leaf's parse and goes
    /// to the whole tree as before.
    var parsedAlone: CommandConfiguration {
        var configuration = self
        configuration._superCommandName = Swxl.configuration.commandName
        return configuration
    }
}
