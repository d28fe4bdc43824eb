import DomainConfig
import Foundation
import Testing
@testable import Toolstack

/// No key dropped in silence: docs/config.md's table is ConfigKeyStatus,
/// and create's refusals and warnings are the table's.
@Suite struct ConfigKeyStatusTests {
    /// The rows of docs/config.md's key table: key → (real Xen, embedded host) cells.
    static func documentedRows() throws -> [(String, String, String)] {
        let text = try String(contentsOf: packageRoot.appendingPathComponent("docs/config.md"), encoding: .utf8)
        let section = text.components(separatedBy: "## Every xl.cfg key: what create does with it")[1]
            .components(separatedBy: "\n## ")[0]
        return section.split(separator: "\n").filter { $0.hasPrefix("| `") }.map { line in
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            return (String(cells[0].dropFirst().dropLast()), cells[1], cells[2])
        }
    }

    /// The word each cell starts with, as ConfigKeyStatus gives it (nil: unknown to swxl, warned by the reader).
    static func word(_ status: ConfigKeyStatus?) -> String { status?.rawValue ?? "warned" }

    @Test func theDocumentedTableIsTheCode() throws {
        let rows = try Self.documentedRows()
        #expect(rows.count == 158)
        for (key, xen, embedded) in rows {
            #expect(embedded.hasPrefix(Self.word(ConfigKeyStatus.of(key, on: .embedded))), "\(key): \(embedded)")
            #expect(xen.hasPrefix(Self.word(ConfigKeyStatus.of(key, on: .xen))), "\(key): \(xen)")
            #expect((ConfigKeyStatus.of(key, on: .embedded) == nil) == embedded.hasPrefix("warned: unknown key"), "\(key)")
        }
        // Every key the code applies or refuses is in the table (swxl's own simulated-guest key aside).
        let documented = Set(rows.map(\.0))
        let decided = ConfigKeyStatus.appliedKeys.union(ConfigKeyStatus.refusedKeys.keys).subtracting([DomainConfiguration.simGuestScriptKey])
        #expect(decided.subtracting(documented) == [])
        let counts = Dictionary(grouping: rows, by: { Self.word(ConfigKeyStatus.of($0.0, on: .embedded)) }).mapValues(\.count)
        #expect(counts == ["applied": 26, "refused": 27, "warned": 105])
    }

    @Test func createSaysWhatItDoesNotApply() {
        var config = DomainConfiguration(name_label: "g", uuid: .random())
        config.platform = ["vnc": "1", "pool": "Pool-0", "seclabel": "system_u:system_r:domU_t", "cpu_weight": "512"]
        config.platformLists = ["usbdev": ["hostbus=1"]]
        config.pcis = [PCIDevice(bus: 1, device: 0, function: 0)]
        let problems = ConfigKeyStatus.problems(config, on: .embedded)
        #expect(problems.refused == [
            "`pci`: PCI passthrough is not supported by swxl on this host",
            "`seclabel`: XSM security labels are not supported by swxl on this host",
            "`usbdev`: USB devices are not supported by swxl on this host",
        ])
        #expect(problems.ignored == ["`vnc` is not applied by swxl yet: ignored"])
        config.platform["pool"] = "fast"
        #expect(ConfigKeyStatus.problems(config, on: .xen).refused.first == "`pci`: PCI passthrough is not supported by swxl on this host")
        #expect(ConfigKeyStatus.problems(config, on: .xen).refused.contains("`pool`: CPU pools other than Pool-0 are not supported by swxl on this host"))
    }
}
