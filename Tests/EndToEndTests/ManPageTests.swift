import Foundation
import Testing

/// man/ holds a page per command, generated from the command definitions by
/// `scripts/gen-man` (argument-parser's generate-manual, from
/// `swxl --experimental-dump-help`), and the dump they were made from.
/// Here: that dump is the built swxl's, and the pages are exactly one per
/// command that is not hidden. (`scripts/gen-man --check`, run by
/// scripts/test, regenerates the pages themselves and compares them.)
@Suite struct ManPageTests {
    static let manDir = packageRoot.appendingPathComponent("man")

    @Test func committedDumpIsTheBuiltCommands() throws {
        let fresh = try run(swxlBinary, ["--experimental-dump-help"])
        #expect(fresh.status == 0)
        let committed = try String(contentsOf: Self.manDir.appendingPathComponent("dump-help.json"), encoding: .utf8)
        #expect(committed == fresh.stdout, "man/ is stale: run scripts/gen-man")
    }

    @Test func onePagePerVisibleCommand() throws {
        let fresh = try run(swxlBinary, ["--experimental-dump-help"])
        let root = try #require(try JSONSerialization.jsonObject(with: Data(fresh.stdout.utf8)) as? [String: Any])
        var expected: Set<String> = []
        func walk(_ command: [String: Any], _ path: [String]) {
            guard let name = command["commandName"] as? String, !name.hasPrefix("_") else { return }
            let here = path + [name]
            expected.insert(here.joined(separator: ".") + ".1")
            for sub in command["subcommands"] as? [[String: Any]] ?? [] { walk(sub, here) }
        }
        walk(try #require(root["command"] as? [String: Any]), [])
        #expect(expected.count > 50)
        let pages = try FileManager.default.contentsOfDirectory(atPath: Self.manDir.path).filter { $0.hasSuffix(".1") }
        #expect(Set(pages) == expected)
        // Every page names its command as `swxl SUB ...`.
        for page in pages {
            let text = try String(contentsOf: Self.manDir.appendingPathComponent(page), encoding: .utf8)
            let command = page.dropLast(2).replacingOccurrences(of: ".", with: " ")
            #expect(text.contains(".Nm \"\(command)\"") || text.contains(".Nm \(command)\n"), "\(page)")
        }
    }

    /// The pages written by hand, for what no command definition says.
    @Test(arguments: ["swxl.cfg.5", "swxl-state.5", "swxl-domains.8"])
    func handWrittenPageExists(name: String) throws {
        let text = try String(contentsOf: Self.manDir.appendingPathComponent(name), encoding: .utf8)
        #expect(text.contains(".Sh NAME"))
    }
}
