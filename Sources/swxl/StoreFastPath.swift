#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser

/// `swxl store read`, `write` and `exists` are what scripts run in loops
/// (hotplug scripts most of all), and argument-parser's start-up (building
/// the command tree, reflecting every option) costs more than the whole
/// request. So their plain forms are recognised here and run through the
/// very same command structs:
///
/// - `read` with paths and any of `-p`/`--prefix`, `-R`/`--raw`, `--json`,
///   each at most once;
/// - `write` with path/value pairs and at most one `-R`/`--raw`;
/// - `exists` with paths.
///
/// Anything else (help, `--`, combined or unknown flags, a repeated flag, no
/// path, an odd number of write arguments, an argument starting with `-`)
/// returns nil and goes to argument-parser, which decides.
/// `SWXL_NO_FAST_PATH=1` turns this off; an end-to-end test runs many forms
/// both ways and compares the results.
func storeFastPath(_ argv: [String]) -> Int32? {
    guard argv.count >= 4, argv[1] == "store", getenv("SWXL_NO_FAST_PATH") == nil else { return nil }
    let words = argv[3...]
    switch argv[2] {
    case "read":
        var prefix = false, raw = false, json = false
        var paths: [String] = []
        for word in words {
            switch word {
            case "-p", "--prefix":
                if prefix { return nil }
                prefix = true
            case "-R", "--raw":
                if raw { return nil }
                raw = true
            case "--json":
                if json { return nil }
                json = true
            default:
                if word.hasPrefix("-") { return nil }
                paths.append(word)
            }
        }
        if paths.isEmpty { return nil }
        var command = StoreRead()
        command.prefix = prefix
        command.raw = raw
        command.json = json
        command.paths = paths
        return runFast("read", command)
    case "write":
        var raw = false
        var pairs: [String] = []
        for word in words {
            if word == "-R" || word == "--raw" {
                if raw { return nil }
                raw = true
            } else if word.hasPrefix("-") {
                return nil
            } else {
                pairs.append(word)
            }
        }
        if pairs.isEmpty || pairs.count % 2 != 0 { return nil }
        var command = StoreWrite()
        command.raw = raw
        command.pairs = pairs
        return runFast("write", command)
    case "exists":
        if words.contains(where: { $0.hasPrefix("-") }) { return nil }
        var command = StoreExists()
        command.paths = Array(words)
        return runFast("exists", command)
    default:
        return nil
    }
}

private func runFast(_ name: String, _ command: some ParsableCommand) -> Int32 {
    var command = command
    do {
        try command.run()
        return 0
    } catch let exit as ExitCode {
        return exit.rawValue
    } catch {
        StoreCLI.warn(name, "\(error)")
        return 1
    }
}
