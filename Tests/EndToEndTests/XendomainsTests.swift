import Foundation
import Testing

/// Xen 4.17's own `xendomains` init scripts run unchanged against swxl on
/// the embedded host (issue 12 item 7): Debian's /etc/init.d/xendomains
/// (xen-utils-common, with its helpers xen-init-list and xen-init-name that
/// parse `xen list -l` and `xen create --dryrun` as JSON), and upstream's
/// template (tools/hotplug/Linux/xendomains.in with its init.d wrapper,
/// Fixtures/xendomains/) with its paths filled, which greps `xl list -l` and
/// `xl create --dryrun` as text. swxl runs as `xl` (and as `xen`, Debian's
/// name) through links on PATH; everything the scripts keep is in a
/// throw-away directory.
final class XendomainsRig: Sendable {
    enum Script: String, CaseIterable, Sendable { case debian, upstream }

    let host: EmbeddedHost
    let script: Script
    let dir: String

    /// The names of the domains in the auto directory.
    static let autoNames = ["xdg1", "xdg2"]

    init(_ script: Script) throws {
        host = try EmbeddedHost()
        self.script = script
        dir = host.stateDir + "/xendomains"
        let fm = FileManager.default
        for sub in ["bin", "auto", "save", "lock", "etc", "scripts", "libexec", "init.d"] {
            try fm.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
        }
        for name in ["xl", "xen"] { try fm.createSymbolicLink(atPath: dir + "/bin/" + name, withDestinationPath: swxlBinary) }
        // What stands for /proc/xen/privcmd (the scripts do nothing without it).
        _ = fm.createFile(atPath: dir + "/privcmd", contents: nil)
        for (i, name) in Self.autoNames.enumerated() {
            try "name = \"\(name)\"\nkernel = \"\(host.kernel)\"\nmemory = 64\nvcpus = \(i + 1)\n"
                .write(toFile: dir + "/auto/\(name).cfg", atomically: true, encoding: .utf8)
        }
        try "".write(toFile: dir + "/xl.conf", atomically: true, encoding: .utf8)
        switch script {
        case .debian:
            let original = "/etc/init.d/xendomains"
            let text = try #require(try? String(contentsOfFile: original, encoding: .utf8),
                                    "\(original) (Debian's xen-utils-common, installed by scripts/setup)")
            try install(fill(text), at: dir + "/init.d/xendomains")
        case .upstream:
            let fixtures = packageRoot.appendingPathComponent("Tests/EndToEndTests/Fixtures/xendomains").path + "/"
            try install(fill(String(contentsOfFile: fixtures + "xendomains.in", encoding: .utf8)), at: dir + "/libexec/xendomains")
            try install(fill(String(contentsOfFile: fixtures + "init.d-xendomains.in", encoding: .utf8)), at: dir + "/init.d/xendomains")
            // What Xen's build writes into hotplugpath.sh, for these directories.
            try """
                sbindir="\(dir)/bin"
                bindir="/usr/bin"
                LIBEXEC_BIN="\(dir)/libexec"
                XEN_LOCK_DIR="\(dir)/lock"
                XEN_RUN_DIR="\(dir)/run"

                """.write(toFile: dir + "/scripts/hotplugpath.sh", atomically: true, encoding: .utf8)
        }
        try settings(save: false)
    }

    /// The script's text with its paths pointed here: the build's `@...@`
    /// (upstream), the settings file (Debian's /etc/default/xendomains) and
    /// the privcmd device. Nothing else changes.
    func fill(_ text: String) -> String {
        text.replacingOccurrences(of: "@XEN_SCRIPT_DIR@", with: dir + "/scripts")
            .replacingOccurrences(of: "@CONFIG_DIR@/@CONFIG_LEAF_DIR@", with: dir + "/etc")
            .replacingOccurrences(of: "/etc/default/xendomains", with: dir + "/etc/xendomains")
            .replacingOccurrences(of: "/proc/xen/privcmd", with: dir + "/privcmd")
            .replacingOccurrences(of: "/dev/xen/privcmd", with: dir + "/privcmd")
    }

    func install(_ text: String, at path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
    }

    /// The settings file (upstream's sysconfig.xendomains defaults, Debian's
    /// /etc/default/xendomains), with this rig's directories; `save`: stop saves.
    func settings(save: Bool) throws {
        try """
            XENDOMAINS_SYSRQ=""
            XENDOMAINS_USLEEP=100000
            XENDOMAINS_CREATE_USLEEP=0
            XENDOMAINS_MIGRATE=""
            XENDOMAINS_SAVE=\(save ? dir + "/save" : "")
            XENDOMAINS_SHUTDOWN="--wait"
            XENDOMAINS_SHUTDOWN_ALL="--all --wait"
            XENDOMAINS_RESTORE=true
            XENDOMAINS_AUTO=\(dir)/auto
            XENDOMAINS_AUTO_ONLY=true
            XENDOMAINS_STOP_MAXWAIT=60

            """.write(toFile: dir + "/etc/xendomains", atomically: true, encoding: .utf8)
    }

    /// Runs the init script with `action`.
    func run(_ action: String) throws -> RunResult {
        var env = host.environment
        env["PATH"] = dir + "/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        env["XENSTORED_PATH"] = host.socket
        env["SWXL_XL_CONF"] = dir + "/xl.conf"
        return try EndToEndTests.run("/bin/bash", [dir + "/init.d/xendomains", action], environment: env)
    }

    /// The running domains' names, but Domain-0's, sorted.
    func names() throws -> [String] {
        try host.domains().filter { ($0["domid"] as? Int) != 0 }.compactMap { $0["name"] as? String }.sorted()
    }

    /// The files in the save directory.
    func saved() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/save")) ?? []).sorted()
    }

    func close() { host.close() }

    /// Whether this swxl has `save` and `restore` (issue 12 item 7's save
    /// steps need them; they come with the save/restore work).
    static let hasSaveRestore: Bool = {
        ["save", "restore"].allSatisfy { command in
            guard let r = try? EndToEndTests.run(swxlBinary, ["help", command]) else { return false }
            return r.status == 0 && !r.stdout.contains("not implemented")
        }
    }()
}

@Suite(.serialized) struct XendomainsTests {
    /// start creates the auto directory's domains, a second start leaves
    /// them be, status names them (upstream's), and stop without a save
    /// directory shuts down every domain, the one not started from the auto
    /// directory too (upstream's XENDOMAINS_SHUTDOWN_ALL, Debian's loop over all).
    @Test(arguments: XendomainsRig.Script.allCases)
    func startStatusAndStopShutsDownAll(script: XendomainsRig.Script) throws {
        let rig = try XendomainsRig(script)
        defer { rig.close() }
        let manual = try rig.host.config(name: "manual")
        let made = try rig.host.swxl(["create", "-q", manual])
        #expect(made.status == 0, "\(made.stderr)")

        let start = try rig.run("start")
        #expect(start.status == 0, "start: \(start.stdout)\(start.stderr)")
        #expect(try rig.names() == ["manual"] + XendomainsRig.autoNames, "\(start.stdout)\(start.stderr)")

        let again = try rig.run("start")
        #expect(again.status == 0, "start again: \(again.stdout)\(again.stderr)")
        #expect(try rig.names() == ["manual"] + XendomainsRig.autoNames)
        if script == .debian {
            #expect(again.stdout.contains("Xen domain xdg1 already running") && again.stdout.contains("Xen domain xdg2 already running"),
                    "\(again.stdout)")
        }

        if script == .upstream {
            let status = try rig.run("status")
            #expect(status.status == 0, "status: \(status.stdout)\(status.stderr)")
            #expect(status.stdout.hasPrefix("Checking for xendomains: xdg1 xdg2 "), "\(status.stdout)")
            #expect(!status.stdout.contains("MISS"), "\(status.stdout)")
        }

        let stop = try rig.run("stop")
        #expect(stop.status == 0, "stop: \(stop.stdout)\(stop.stderr)")
        #expect(try rig.names() == [], "stop: \(stop.stdout)\(stop.stderr)")
        if script == .upstream {
            // Not an auto domain: skipped by the loop, then shut down by SHUTDOWN_ALL.
            #expect(stop.stdout.contains(" manual(skip)"), "\(stop.stdout)")
            #expect(stop.stdout.contains(" xdg1(shut)") && stop.stdout.contains(" xdg2(shut)"), "\(stop.stdout)")
            #expect(stop.stdout.contains("SHUTDOWN_ALL"), "\(stop.stdout)")
            let status = try rig.run("status")
            #expect(status.status == 3, "status after stop: \(status.stdout)")
        }
        #expect(rig.saved() == [])
    }

    /// With a save directory, stop saves every domain (into files named
    /// after them) and start restores them and removes the files, before the
    /// auto directory's (which it then skips); a last stop without a save
    /// directory leaves none.
    @Test(.enabled(if: XendomainsRig.hasSaveRestore, "swxl has no save/restore yet (issue 12 item 7 waits for it)"),
          arguments: XendomainsRig.Script.allCases)
    func stopSavesAndStartRestores(script: XendomainsRig.Script) throws {
        let rig = try XendomainsRig(script)
        defer { rig.close() }
        // The host's xenstored up first (the other test's create starts it):
        // the scripts do nothing on a host whose xenstore does not answer.
        #expect(try rig.host.swxl(["list"]).status == 0)
        let start = try rig.run("start")
        #expect(start.status == 0, "start: \(start.stdout)\(start.stderr)")
        #expect(try rig.names() == XendomainsRig.autoNames, "start: \(start.stdout)\(start.stderr)")

        try rig.settings(save: true)
        let stop = try rig.run("stop")
        #expect(stop.status == 0, "stop: \(stop.stdout)\(stop.stderr)")
        #expect(try rig.names() == [], "stop: \(stop.stdout)\(stop.stderr)")
        #expect(rig.saved() == XendomainsRig.autoNames, "stop: \(stop.stdout)\(stop.stderr)")

        let restore = try rig.run("start")
        #expect(restore.status == 0, "start: \(restore.stdout)\(restore.stderr)")
        #expect(try rig.names() == XendomainsRig.autoNames, "start: \(restore.stdout)\(restore.stderr)")
        #expect(rig.saved() == [], "start: \(restore.stdout)\(restore.stderr)")

        try rig.settings(save: false)
        let last = try rig.run("stop")
        #expect(last.status == 0, "stop: \(last.stdout)\(last.stderr)")
        #expect(try rig.names() == [], "stop: \(last.stdout)\(last.stderr)")
    }
}
