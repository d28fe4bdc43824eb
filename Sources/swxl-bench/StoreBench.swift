import ArgumentParser

var storeBenchmarks: [any ParsableCommand.Type] { [] }
