import Foundation
import Testing

/// completions/ must be what argument-parser generates from the current
/// commands; `scripts/gen-completions` rewrites them.
@Suite struct CompletionTests {
    @Test(arguments: ["bash", "zsh", "fish"])
    func committedScriptMatchesFreshGeneration(shell: String) throws {
        let fresh = try run(swxlBinary, ["--generate-completion-script", shell])
        #expect(fresh.status == 0)
        #expect(fresh.stdout.contains("swxl"))
        let committed = try String(contentsOf: packageRoot.appendingPathComponent("completions/swxl.\(shell)"), encoding: .utf8)
        #expect(committed == fresh.stdout, "completions/swxl.\(shell) is stale: run scripts/gen-completions")
    }
}

/// A command's line is parsed with that command as the root (Swxl.parseLeaf)
/// unless argument-parser has something to say: help and usage errors
/// still come from the whole tree, naming `swxl <command>`.
@Suite struct CommandLineTests {
    @Test(arguments: [["list", "-h"], ["list", "--help"], ["config", "check", "-h"], ["store", "ls", "--help"],
                      ["_sim-guests", "--help"]])
    func helpNamesTheWholeCommand(arguments: [String]) throws {
        let r = try run(swxlBinary, arguments)
        #expect(r.status == 0)
        let words = arguments.prefix { !$0.hasPrefix("-") }.joined(separator: " ")
        #expect(r.stdout.contains("USAGE: swxl \(words) ") || r.stdout.contains("USAGE: swxl \(words)\n"), "\(r.stdout)")
    }

    /// Usage errors exit 2, as xl's do; a missing argument still names
    /// `swxl <command>` in the usage line (XLCommandLineTests has xl's
    /// message for an unknown option).
    @Test func usageErrorsNameTheWholeCommand() throws {
        let missing = try run(swxlBinary, ["config", "show"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("Usage: swxl config show "), "\(missing.stderr)")
    }
}

/// Leaf commands skip argument-parser's completion check when parsed alone
/// (`.parsedAlone`); a completion request on a leaf's line still reaches the
/// whole tree and gets the same script.
@Suite struct LeafCompletionRequestTests {
    @Test(arguments: [["list"], ["store", "read"], ["restore"]])
    func completionRequestAfterALeaf(leaf: [String]) throws {
        let whole = try run(swxlBinary, ["--generate-completion-script", "bash"])
        let afterLeaf = try run(swxlBinary, leaf + ["--generate-completion-script", "bash"])
        #expect(afterLeaf.status == 0)
        #expect(afterLeaf.stdout == whole.stdout)
    }
}
