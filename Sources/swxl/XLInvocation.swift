import ArgumentParser

/// What swxl does before argument-parser sees the command line, to behave
/// as xl where xl's behaviour is not argument-parser's: `help` and
/// `help COMMAND` in xl's form, `COMMAND -h` in xl's form when run as `xl`,
/// and xl's messages for a command it does not have (tools/xl/xl.c, `main`).
enum XLInvocation {
    /// `xl` when swxl is run through a link (or copy) named `xl` (or `xen`,
    /// the name Debian's wrapper runs xl by), else `swxl`: the name
    /// messages, usage lines and help use.
    static let program: String = {
        let zero = CommandLine.arguments.first ?? "swxl"
        let name = zero.split(separator: "/").last
        return name == "xl" || name == "xen" ? "xl" : "swxl"
    }()

    static var runAsXL: Bool { program == "xl" }

    /// The command line argument-parser is to parse: the program's, less
    /// xl's global options (`handle` takes them off).
    nonisolated(unsafe) static var commandLine = CommandLine.arguments

    /// xl's global options (`getopt(argc, argv, "+vftTN")` in tools/xl/xl.c's
    /// `main`), before the command.
    static let globalOptions: Set<Character> = ["v", "f", "t", "T", "N"]

    /// xl's `-T`: the lines libxl would log (swxl's `swxl: error: ...`)
    /// start with the date and the pid, as xl's logger writes them.
    nonisolated(unsafe) static var timestamps = false
    /// xl's `-t`: progress lines end in a carriage return instead of a newline.
    nonisolated(unsafe) static var progressUsesCR = false
    /// How many `-v`: xl shows libxl's messages down to that many levels below its default.
    nonisolated(unsafe) static var verbosity = 0

    /// Takes xl's global options off the front of `argv` into
    /// `commandLine`. `-N` (dry run) becomes the command's own dry run,
    /// for the commands xl allows it on; `-T` and `-t` shape swxl's log
    /// and progress lines as xl's logger does; `-v` lowers the level of
    /// messages shown (swxl has none below xl's default); `-f` (force) has
    /// no effect in xl 4.17 either.
    /// Gives an exit status when xl would stop there.
    static func takeGlobalOptions(_ argv: [String]) -> Int32? {
        var index = 1
        var dryRun = false
        while index < argv.count, argv[index].count > 1, argv[index].hasPrefix("-"), !argv[index].hasPrefix("--") {
            let letters = argv[index].dropFirst()
            if let unknown = letters.first(where: { !globalOptions.contains($0) }) {
                guard runAsXL else { break }  // swxl's own (-h): argument-parser's
                Terminal.err("\(program): invalid option -- '\(unknown)'\nunknown global option\n")
                return 1
            }
            if letters.contains("N") { dryRun = true }
            if letters.contains("T") { timestamps = true }
            if letters.contains("t") { progressUsesCR = true }
            verbosity += letters.filter { $0 == "v" }.count
            index += 1
        }
        var rest = Array(argv[index...])
        if dryRun, let command = rest.first {
            guard XLHelp.spec(command)?.canDryRun == true else {
                Terminal.err("command does not implement -N (dryrun) option\n")
                return 1
            }
            rest.insert("--dryrun", at: 1)
        }
        commandLine = [argv[0]] + rest
        return nil
    }

    /// The short options of xl's commands that take a value (`f:` in
    /// create's getopt string, `n:t:` in console's).
    static let valueOptions: [String: Set<Character>] = [
        "create": ["f"], "console": ["n", "t"],
        "sched-credit": ["d", "w", "c", "p", "t", "r", "m"], "sched-credit2": ["d", "w", "c", "p", "r"],
    ]

    /// Splits a value written onto its short option (`-fguest.cfg`,
    /// `-qfguest.cfg`, `-tpv`), which getopt takes and argument-parser
    /// does not, into the option and its value.
    static func splitAttachedValues(_ argv: [String]) -> [String] {
        guard argv.count > 1, let options = valueOptions[argv[1]] else { return argv }
        var out = Array(argv.prefix(2))
        var rest = argv.dropFirst(2)
        while let word = rest.popFirst() {
            if word == "--" { out.append(word); out += rest; break }
            guard word.count > 2, word.hasPrefix("-"), !word.hasPrefix("--"),
                  let at = word.dropFirst().firstIndex(where: { options.contains($0) }),
                  word.index(after: at) < word.endIndex
            else { out.append(word); continue }
            out.append(String(word[...at]))
            out.append(String(word[word.index(after: at)...]))
        }
        return out
    }

    /// Handles the command line if it is one of the cases above: prints what
    /// xl prints and gives the exit status; nil lets argument-parser parse
    /// `commandLine`.
    static func handle(_ argv: [String]) -> Int32? {
        if let status = takeGlobalOptions(argv) { return status }
        commandLine = splitAttachedValues(commandLine)
        let argv = commandLine
        let words = Array(argv.dropFirst())
        guard let command = words.first else {
            // xl with no command prints its help and fails; swxl keeps argument-parser's help.
            if runAsXL { Terminal.out(overview()); return 1 }
            return nil
        }
        // xl reads xl.conf before it looks at the command (swxl's own commands do not).
        let swxlsOwn = XLHelp.spec(command) == nil && command != "help"
            && (command.hasPrefix("-") || Swxl.configuration.subcommands.contains { $0._commandName == command })
        if !swxlsOwn, let status = XLGlobalConfig.load() {
            return status
        }
        if command == "help" {
            guard words.count > 1 else { Terminal.out(overview()); return 0 }
            if let spec = XLHelp.spec(words[1]) { Terminal.out(XLHelp.text(spec, program: program)); return 0 }
            if additions.contains(where: { $0.name == words[1] }) { return nil }  // argument-parser's help for swxl's own
            Terminal.out("command \"\(words[1])\" not implemented\n")
            return 0
        }
        if command.hasPrefix("-") { return nil }
        guard let spec = XLHelp.spec(command) else {
            let known = Swxl.configuration.subcommands.contains { $0._commandName == command }
            if known { return nil }
            Terminal.err("command not implemented\n")
            return 1
        }
        // As xl: -h or --help among the options (before `--`) prints the command's help.
        if runAsXL, words.dropFirst().prefix(while: { $0 != "--" }).contains(where: { $0 == "--help" || isShortCluster($0, with: "h") }) {
            Terminal.out(XLHelp.text(spec, program: program))
            return 0
        }
        return nil
    }

    /// Whether `word` is a cluster of short options (`-lh`) that holds `letter`.
    private static func isShortCluster(_ word: String, with letter: Character) -> Bool {
        word.hasPrefix("-") && !word.hasPrefix("--") && word.dropFirst().contains(letter)
    }

    /// swxl's commands that xl does not have, with their one-line abstracts.
    static var additions: [(name: String, description: String)] {
        Swxl.configuration.subcommands
            .filter { $0.configuration.shouldDisplay && XLHelp.spec($0._commandName) == nil }
            .map { command in
                let abstract = command.configuration.abstract
                return (command._commandName, (abstract.hasSuffix(".") ? String(abstract.dropLast()) : abstract) + " (swxl's addition)")
            }
    }

    static func overview() -> String { XLHelp.overview(program: program, additions: additions) }
}
