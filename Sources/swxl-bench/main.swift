import ArgumentParser

/// Benchmarks that print their figures; each area adds its command list.
struct SwxlBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swxl-bench",
        abstract: "Benchmarks of swxl (build with -c release).",
        subcommands: configBenchmarks + storeBenchmarks + [RingBench.self] + domainBenchmarks + xenAPIBenchmarks
    )
}

SwxlBench.main()
