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
