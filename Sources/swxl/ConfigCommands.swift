import ArgumentParser

/// `swxl config ...`.
var configCommands: [any ParsableCommand.Type] { [] }
