import Foundation
import SwxlFuzzTargets
import Testing

/// Every input the fuzzer found a crash, hang or broken invariant with
/// (Fuzz/regressions/<target>/), and every seed of the corpora
/// (Fuzz/corpus/<target>/), run once through its target: a crash fails the
/// test process, a hang its time limit.
@Suite struct FuzzRegressionTests {
    static let fuzzRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

    static func inputs(_ kind: String, _ target: FuzzTarget) -> [URL] {
        let directory = fuzzRoot.appendingPathComponent(kind).appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().map { directory.appendingPathComponent($0) }
    }

    @Test(.timeLimit(.minutes(1)), arguments: FuzzTarget.allCases)
    func regressionsAndSeedsRunClean(target: FuzzTarget) throws {
        let seeds = Self.inputs("corpus", target)
        #expect(!seeds.isEmpty, "Fuzz/corpus/\(target.rawValue) has no seed")
        for url in seeds + Self.inputs("regressions", target) {
            target.run(Array(try Data(contentsOf: url)))
        }
    }
}
