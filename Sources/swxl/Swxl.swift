import ArgumentParser

/// The root command. Each command group lives in its own file and
/// contributes its commands through one list.
@main
struct Swxl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swxl",
        abstract: "A Xen domain toolstack: domain configs, lifecycle and xenstore.",
        version: "0.1.0",
        subcommands: domainCommands + configCommands + storeCommands
    )
}
