#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser

/// `swxl save` and `swxl restore` in their plain forms skip
/// argument-parser: its reflection over the command's options took 35-50
/// ms of dom0's one CPU under the QEMU harness's TCG, on the way to the
/// restored guest's unpause (most of it looking up protocol conformances
/// in the static binary). Recognised here, and run through the very same
/// command structs, every property set:
///
/// - `restore` with any of `-p`, `-e`, `-d`, `-F`, `-c`, `-q`, each alone
///   and at most once, then CONFIG and FILE or FILE alone;
/// - `save` with any of `-c`, `-p`, `-D`, `-q`, then DOMAIN FILE [CONFIG].
///
/// Anything else (help, long options, `--host`, combined or repeated flags,
/// a flag after the first positional word, a word starting with `-` there,
/// a wrong number of words) returns nil and goes to argument-parser, which
/// decides. `SWXL_NO_FAST_PATH=1` turns this off (as for the store
/// commands); the end-to-end tests run forms both ways.
enum SaveRestoreFastPath {
    static func command(_ argv: [String]) -> (any ParsableCommand)? {
        guard argv.count >= 3, getenv("SWXL_NO_FAST_PATH") == nil else { return nil }
        switch argv[1] {
        case "restore":
            guard let (flags, words) = split(argv[2...], allowed: ["p", "e", "d", "F", "c", "q"]),
                  (1...2).contains(words.count) else { return nil }
            var command = RestoreCommand()
            command.paused = flags.contains("p")
            command.noMonitor = flags.contains("e")
            command.debug = flags.contains("d")
            command.foreground = flags.contains("F")
            command.console = flags.contains("c")
            command.vncviewer = false
            command.vncviewerAutopass = false
            command.quiet = flags.contains("q")
            command.hostOptions = defaultHost
            command.words = words
            return command
        case "save":
            guard let (flags, words) = split(argv[2...], allowed: ["c", "p", "D", "q"]),
                  (2...3).contains(words.count) else { return nil }
            var command = SaveCommand()
            command.keepRunning = flags.contains("c")
            command.leavePaused = flags.contains("p")
            command.preserveDomid = flags.contains("D")
            command.quiet = flags.contains("q")
            command.hostOptions = defaultHost
            command.words = words
            return command
        default:
            return nil
        }
    }

    /// HostOptions as argument-parser leaves it without `--host`.
    static var defaultHost: HostOptions {
        var options = HostOptions()
        options.host = nil
        return options
    }

    /// The flags (`-x`, each from `allowed`, at most once) before the
    /// words; nil for anything else.
    static func split(_ args: ArraySlice<String>, allowed: Set<Character>) -> (Set<Character>, [String])? {
        var flags: Set<Character> = []
        var words: [String] = []
        for arg in args {
            if arg.hasPrefix("-") {
                guard words.isEmpty, arg.count == 2, let letter = arg.last, allowed.contains(letter),
                      flags.insert(letter).inserted else { return nil }
            } else {
                words.append(arg)
            }
        }
        return (flags, words)
    }
}
