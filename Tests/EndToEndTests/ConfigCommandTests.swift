import Foundation
import Testing

/// `swxl config check|show` as a user runs them.
@Suite struct ConfigCommandTests {
    let examples = packageRoot.appendingPathComponent("examples")

    func withTemporaryDirectory(_ body: (URL) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swxl-config-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try body(dir)
    }

    @Test func everyExampleChecks() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: examples.path).sorted()
        let r = try run(swxlBinary, ["config", "check"] + names.map { examples.appendingPathComponent($0).path })
        #expect(r.status == 0, "\(r.stderr)")
        for name in ["pv-guest.cfg", "pvh-guest.cfg", "hvm-guest.cfg", "legacy-xm.cfg", "guest.sxp"] {
            #expect(r.stdout.contains("examples/\(name): ok"), "\(name)")
        }
        #expect(r.stderr.contains("kernels: skipped (a directory, not a config file)"))
    }

    @Test func everyProblemWithItsPlaceAndExitOne() throws {
        try withTemporaryDirectory { dir in
            let file = dir.appendingPathComponent("bad.cfg")
            try "name = \"a b\"\nmemory = 0\nmemroy = 5\nkernel = \"missing-kernel\"\n".write(to: file, atomically: true, encoding: .utf8)
            let r = try run(swxlBinary, ["config", "check", file.path])
            #expect(r.status == 1)
            #expect(r.stdout == "")
            #expect(r.stderr.split(separator: "\n").map(String.init) == [
                "\(file.path):1:8: error: the domain name \"a b\" contains a space: only letters, digits and _ - . : / + are allowed",
                "\(file.path):2:10: error: `memory` must be at least 1, not 0",
                "\(file.path):3:1: warning: unknown key `memroy` (did you mean `memory`?)",
                "\(file.path):4:10: error: kernel file \"missing-kernel\" (\(dir.path)/missing-kernel) does not exist",
            ])
        }
    }

    @Test func strictMakesWarningsFail() throws {
        try withTemporaryDirectory { dir in
            let file = dir.appendingPathComponent("warn.cfg")
            try "name = \"g\"\nbootloader = \"pygrub\"\ncolour = 1\n".write(to: file, atomically: true, encoding: .utf8)
            #expect(try run(swxlBinary, ["config", "check", file.path]).status == 0)
            #expect(try run(swxlBinary, ["config", "check", "--strict", file.path]).status == 1)
        }
    }

    @Test func showConvertsAndOverrides() throws {
        try withTemporaryDirectory { dir in
            let pv = examples.appendingPathComponent("pv-guest.cfg").path
            let sxp = try run(swxlBinary, ["config", "show", pv, "--format", "sxp", "name=web1", "memory=96"])
            #expect(sxp.status == 0, "\(sxp.stderr)")
            #expect(sxp.stdout.hasPrefix("(vm\n    (name web1)\n"))
            #expect(sxp.stdout.contains("(memory 96)"))
            let sxpFile = dir.appendingPathComponent("web1.sxp")
            try sxp.stdout.write(to: sxpFile, atomically: true, encoding: .utf8)

            // SXP in, SXP out: the same text; and JSON and xl.cfg from it read back the same.
            let again = try run(swxlBinary, ["config", "show", sxpFile.path, "--format", "sxp"])
            #expect(again.stdout == sxp.stdout)
            let json = try run(swxlBinary, ["config", "show", sxpFile.path, "--format", "json"])
            #expect(json.stdout.contains("\"name_label\": \"web1\""))
            #expect(json.stdout.contains("\"memory_dynamic_max\": 100663296"))
            let jsonFile = dir.appendingPathComponent("web1.json")
            try json.stdout.write(to: jsonFile, atomically: true, encoding: .utf8)
            let xl = try run(swxlBinary, ["config", "show", jsonFile.path, "--format", "xl"])
            let xlFile = dir.appendingPathComponent("web1.cfg")
            try xl.stdout.write(to: xlFile, atomically: true, encoding: .utf8)
            #expect(try run(swxlBinary, ["config", "show", xlFile.path, "--format", "json"]).stdout == json.stdout)
        }
    }

    @Test func usageErrors() throws {
        #expect(try run(swxlBinary, ["config", "check"]).status == 2)
        #expect(try run(swxlBinary, ["config", "show", "a.cfg", "b.cfg"]).status == 2)
        #expect(try run(swxlBinary, ["config", "show", "a.cfg", "--format", "yaml"]).status == 2)
        let missing = try run(swxlBinary, ["config", "check", "/nonexistent/guest.cfg"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "/nonexistent/guest.cfg:1:1: error: cannot open: No such file or directory\n")
    }
}
