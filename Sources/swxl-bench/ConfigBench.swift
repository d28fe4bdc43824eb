import ArgumentParser

var configBenchmarks: [any ParsableCommand.Type] { [] }
