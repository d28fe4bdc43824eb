import ArgumentParser
#if canImport(Glibc)
import Glibc
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
        commandName: "swxl",
        abstract: "A Xen domain toolstack: domain configs, lifecycle and xenstore.",
        version: "0.1.0",
        subcommands: domainCommands + configCommands + storeCommands
    )

    static func main() {
        // Start with no signal blocked. A mask is inherited across exec, and
        // a parent that spawns from a Dispatch thread (Foundation's Process
        // in a test, for one) passes nearly every signal blocked: then
        // `swxl xenstored` would never see SIGTERM, and Ctrl-C would not stop
        // `swxl store watch`.
        var none = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, nil)
        // `swxl store read`, `write` and `exists` skip argument-parser's start-up: StoreFastPath.swift.
        if let status = storeFastPath(CommandLine.arguments) { Glibc.exit(status) }
        main(nil)
    }
}
