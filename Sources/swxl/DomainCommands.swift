import ArgumentParser

/// `swxl create`, `swxl list`, `swxl destroy` and the other domain commands.
var domainCommands: [any ParsableCommand.Type] { [] }
