import Foundation
import Testing

/// xl.conf as swxl reads it (`SWXL_XL_CONF` stands for /etc/xen/xl.conf):
/// before every xl command, with xl's messages, and applied where xl applies it.
@Suite struct XLConfTests {
    /// A file xl cannot parse stops every xl command with xl's message and
    /// status 1; swxl's own commands do not read it.
    @Test func aBrokenXlConfStopsXlsCommands() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        try "autoballoon = \"on\"\nnot xl syntax\n".write(toFile: host.xlConf, atomically: true, encoding: .utf8)
        for args in [["list"], ["help"], ["create", "-n", "/nonexistent.cfg"], ["no-such-command"]] {
            let r = try host.swxl(args)
            #expect(r.status == 1, "\(args)")
            #expect(r.stderr.hasSuffix("Failed to parse config file: Invalid argument\n"), "\(args): \(r.stderr)")
            #expect(r.stderr.hasPrefix(host.xlConf + ":2:"), "\(args): \(r.stderr)")
        }
        let own = try host.swxl(["config", "check", try host.config(name: "g")])
        #expect(own.status == 0, "\(own.stderr)")
        // A grant limit out of range ends xl without a word.
        try "max_grant_frames = \"-2\"\n".write(toFile: host.xlConf, atomically: true, encoding: .utf8)
        let r = try host.swxl(["list"])
        #expect(r.status == 1 && r.stderr == "" && r.stdout == "")
        // Deprecated spellings are said and taken.
        try "defaultbridge = \"br7\"\n".write(toFile: host.xlConf, atomically: true, encoding: .utf8)
        let listed = try host.swxl(["list"])
        #expect(listed.status == 0)
        #expect(listed.stderr == "the global config option defaultbridge is deprecated, please switch to vif.default.bridge\n")
    }

    /// vif.default.* give a vif without its own bridge, script and gateway
    /// device xl.conf's, in create -n and in the domain create makes (the
    /// backend's bridge) and in network-attach; a vif's own keys win.
    @Test func vifDefaultsAreApplied() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        try """
            vif.default.bridge = "br7"
            vif.default.gatewaydev = "eth9"
            blkdev_start = "xvdz"
            """.write(toFile: host.xlConf, atomically: true, encoding: .utf8)
        let cfg = try host.config(name: "vd", "vif = [ 'mac=00:16:3e:00:00:01', 'bridge=br8,mac=00:16:3e:00:00:02' ]")
        let env = ["SWXL_EMBEDDED_BRIDGES": "br7,br8"]
        let dry = try host.swxl(["create", "-n", cfg], environment: env)
        #expect(dry.status == 0, "\(dry.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(dry.stdout.utf8)) as? [String: Any])
        let nics = try #require(json["nics"] as? [[String: Any]])
        #expect(nics.map { $0["bridge"] as? String } == ["br7", "br8"])
        #expect(nics.map { $0["gatewaydev"] as? String } == ["eth9", "eth9"])
        #expect((json["b_info"] as? [String: Any])?["blkdev_start"] as? String == "xvdz")

        let made = try host.swxl(["create", "-q", cfg], environment: env)
        #expect(made.status == 0, "\(made.stderr)")
        let domid = try #require(try host.domains().first { $0["name"] as? String == "vd" }?["domid"] as? Int)
        let base = "/local/domain/0/backend/vif/\(domid)/"
        #expect(try host.xenstore("xenstore-read", [base + "0/bridge"]).stdout == "br7\n")
        #expect(try host.xenstore("xenstore-read", [base + "1/bridge"]).stdout == "br8\n")
        let attached = try host.swxl(["network-attach", "vd", "mac=00:16:3e:00:00:03"], environment: env)
        #expect(attached.status == 0, "\(attached.stderr)")
        #expect(try host.xenstore("xenstore-read", [base + "2/bridge"]).stdout == "br7\n")
    }

    /// vm.cpumask and vm.pv.cpumask cut every vCPU's hard affinity down at
    /// create and at vcpu-pin (the embedded host has 4 CPUs), unless -i;
    /// a config whose `cpus` the masks leave empty is refused as xl refuses it.
    @Test func affinityMasksAreApplied() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        try "vm.cpumask = \"1-2\"\nvm.pv.cpumask = \"2-3\"\nvm.hvm.cpumask = \"0\"\n"
            .write(toFile: host.xlConf, atomically: true, encoding: .utf8)
        let cfg = try host.config(name: "m1", "vcpus = 2")
        func hard(_ name: String) throws -> [String] {
            let r = try host.swxl(["vcpu-list", name])
            #expect(r.status == 0, "\(r.stderr)")
            return r.stdout.split(separator: "\n").dropFirst().map { line in
                String(line.split(separator: " ", omittingEmptySubsequences: true).suffix(3).first ?? "")
            }
        }
        #expect(try host.swxl(["create", "-q", cfg]).status == 0)
        #expect(try hard("m1") == ["2", "2"])
        #expect(try host.swxl(["create", "-q", "-i", cfg, "name=m2"]).status == 0)
        #expect(try hard("m2") == ["all", "all"])
        let empty = try host.swxl(["create", "-q", cfg, "name=m3", "cpus=0-1"])
        #expect(empty.status == 1 && empty.stderr == "vcpu hard affinity map is empty\n", "\(empty.stderr)")
        #expect(try host.domains().count == 3)  // nothing made
        let dry = try host.swxl(["create", "-n", cfg])
        #expect(dry.stdout.contains("\"vcpu_hard_affinity\": [\n            [\n                2\n            ],"), "\(dry.stdout)")
        #expect(try host.swxl(["vcpu-pin", "m2", "0", "all"]).status == 0)
        #expect(try host.swxl(["vcpu-pin", "-i", "m2", "1", "1-3"]).status == 0)
        #expect(try hard("m2") == ["2", "1-3"])
    }

    /// xl.conf's grant limits reach a config that sets none, and, not
    /// applied by swxl, are warned about as the config's own keys are.
    @Test func grantLimitsAreWarnedAbout() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        try "max_grant_frames = 64\n".write(toFile: host.xlConf, atomically: true, encoding: .utf8)
        let cfg = try host.config(name: "gl")
        let made = try host.swxl(["create", cfg])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stderr.contains("\(cfg): warning: ") && made.stderr.contains("max_grant_frames"), "\(made.stderr)")
        let dry = try host.swxl(["create", "-n", cfg, "name=gl2"])
        #expect(dry.stdout.contains("\"max_grant_frames\": 64,"), "\(dry.stdout)")
    }

    /// output_format="sxp": create -n prints xl's SXP form.
    @Test func outputFormatSXP() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        try "output_format = \"sxp\"\n".write(toFile: host.xlConf, atomically: true, encoding: .utf8)
        let r = try host.swxl(["create", "-n", try host.config(name: "s")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("(domain\n"), "\(r.stdout)")
    }
}
