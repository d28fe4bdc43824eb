#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser

/// `swxl store read` is what scripts run in loops, and argument-parser's
/// start-up (building the command tree, reflecting every option) costs more
/// than the whole read. So the plain forms of it, `swxl store read` with
/// paths and any of `-p`/`--prefix`, `-R`/`--raw`, `--json` each at most
/// once, are recognised here and run through the very same `StoreRead`.
/// Anything else (help, `--`, combined or unknown flags, no path, a
/// repeated flag) returns nil and goes to argument-parser, which decides.
/// `SWXL_NO_FAST_PATH=1` turns this off; an end-to-end test runs both ways
/// and compares the results.
func storeFastPath(_ argv: [String]) -> Int32? {
    guard argv.count >= 4, argv[1] == "store", argv[2] == "read", getenv("SWXL_NO_FAST_PATH") == nil else {
        return nil
    }
    var prefix = false, raw = false, json = false
    var paths: [String] = []
    for argument in argv[3...] {
        switch argument {
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
            if argument.hasPrefix("-") { return nil }
            paths.append(argument)
        }
    }
    if paths.isEmpty { return nil }
    var command = StoreRead()
    command.prefix = prefix
    command.raw = raw
    command.json = json
    command.paths = paths
    do {
        try command.run()
        return 0
    } catch let exit as ExitCode {
        return exit.rawValue
    } catch {
        StoreCLI.warn("read", "\(error)")
        return 1
    }
}
