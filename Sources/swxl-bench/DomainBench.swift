import ArgumentParser

var domainBenchmarks: [any ParsableCommand.Type] { [] }
