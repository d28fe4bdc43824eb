import ArgumentParser
import DomainConfig
#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import Toolstack

/// `swxl config ...`.
var configCommands: [any ParsableCommand.Type] { [ConfigCommand.self] }

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Read, check and convert domain config files (xl.cfg, legacy xm, SXP, JSON).",
        subcommands: [ConfigCheck.self, ConfigShow.self]
    )
}

extension ConfigFormat: ExpressibleByArgument {}

/// Splits the words after the command into files and `KEY=VALUE` overrides:
/// a word is an override when it has `=` after a valid xl key.
func splitFilesAndOverrides(_ words: [String]) -> (files: [String], overrides: [String]) {
    var files: [String] = []
    var overrides: [String] = []
    for w in words {
        if let eq = w.firstIndex(of: "="), DomainConfiguration.isValidKey(w[..<eq]) {
            overrides.append(w)
        } else {
            files.append(w)
        }
    }
    return (files, overrides)
}

struct ConfigCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check config files: every problem as file:line:col, exit 1 on any error.",
        discussion: "KEY=VALUE words override the files' settings, as with `xl create`."
    ).parsedAlone

    @Option(name: .long, help: "The input format: auto, xl, xm, sxp or json.")
    var from: ConfigFormat = .auto

    @Flag(name: .long, help: "Treat warnings as errors.")
    var strict = false

    @Argument(help: "Config files, then optional KEY=VALUE overrides.", completion: .file())
    var words: [String]

    func run() throws {
        let (files, overrides) = splitFilesAndOverrides(words)
        guard !files.isEmpty else { throw ValidationError("no config file given") }
        var failed = false
        for file in files {
            if isDirectory(file) {
                Terminal.errLine("\(file): skipped (a directory, not a config file)")
                continue
            }
            let result = DomainConfiguration.load(path: file, format: from, overrides: overrides)
            for d in result.diagnostics { Terminal.errLine(d.description) }
            if result.configuration == nil || (strict && !result.warnings.isEmpty) {
                failed = true
            } else {
                Terminal.out("\(file): ok (\(result.format.rawValue), \(result.configuration!.type.rawValue) \"\(result.configuration!.name_label)\")\n")
            }
        }
        if failed { throw ExitCode(1) }
    }
}

struct ConfigShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Read a config and print it as JSON, SXP or xl.cfg (converting between formats).",
        discussion: """
            KEY=VALUE words override the file's settings, as with `xl create`. A NAME that is no file \
            but a domain defined with `swxl new` prints that domain's stored config.
            """
    ).parsedAlone

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case json, sxp, xl
    }

    @Option(name: .long, help: "The output format: json, sxp or xl.")
    var format: OutputFormat = .json

    @Option(name: .long, help: "The input format: auto, xl, xm, sxp or json.")
    var from: ConfigFormat = .auto

    @Argument(help: "A config file (or a defined domain's name), then optional KEY=VALUE overrides.", completion: .file())
    var words: [String]

    func run() throws {
        let (files, overrides) = splitFilesAndOverrides(words)
        guard files.count == 1 else { throw ValidationError("give exactly one config file") }
        if overrides.isEmpty, !FileIO.exists(files[0]), DomainConfiguration.validateName(files[0]) == nil,
           let defined = Toolstack.managedDomain(named: files[0],
                                                 stateDir: HostPaths(environment: CurrentProcess.environment(), uid: getuid()).stateDir) {
            print(defined)
            return
        }
        let result = DomainConfiguration.load(path: files[0], format: from, overrides: overrides)
        for d in result.diagnostics { Terminal.errLine(d.description) }
        guard let config = result.configuration else { throw ExitCode(1) }
        print(config)
    }

    private func print(_ config: DomainConfiguration) {
        switch format {
        case .json: Terminal.out(config.jsonText())
        case .sxp: Terminal.out(config.sxpText())
        case .xl: Terminal.out(config.xlText())
        }
    }
}

func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}
