import ArgumentParser

/// `swxl store ...` and `swxl xenstored`.
var storeCommands: [any ParsableCommand.Type] { [Xenstored.self] }
