import Foundation
import Testing
import XenStoreProtocol

/// `swxl xenstored` started as Debian's /etc/init.d/xen starts a Xen host's
/// xenstored: Xen's options, fork, pid file, a fresh store as Xen's.
@Suite(.serialized) struct XenHostDaemon {
    static let toolsPresent = FileManager.default.isExecutableFile(atPath: "/usr/bin/xenstore-ls")

    @Test(.enabled(if: toolsPresent)) func startsAsDebiansInitScriptStartsXenstored() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swxl-xenhost-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let socket = dir + "/run/socket"
        let pidFile = dir + "/xenstore.pid"
        // What the init script passes (`$XENSTORED_ARGS --pid-file ...`), with
        // options of Xen's that do not apply here or are not enforced.
        let started = try run(XenStoreDaemon.swxlBinary,
                              ["xenstored", "--xen-host", "--no-domain-init", "-Q", "outstanding=7", "-Q", "memory=100", "--event", "3",
                               "--master-domid", "0", "-P", "--pid-file", pidFile], socket: socket)
        let pidText = try String(contentsOfFile: pidFile, encoding: .utf8)
        let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(pid, SIGTERM) }
        #expect(started == Output(status: 0, stdout: "\(pid)\n", stderr: """
            swxl xenstored: warning: quota memory is not enforced
            swxl xenstored: warning: --event 3 ignored (for a xenstore stub domain; dom0's port is read from /proc/xen/xsd_port)

            """))
        #expect(kill(pid, 0) == 0)
        // One socket, mode 0600, and nothing else beside it.
        let attributes = try FileManager.default.attributesOfItem(atPath: socket)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/run") == ["socket"])
        #expect(try run("xenstore-ls", ["-p", "/"], socket: socket) == Output(status: 0, stdout: """
            tool = ""  . . . . . . . . . . . . . . . . . . . . . . . . .  (n0)
             xenstored = ""  . . . . . . . . . . . . . . . . . . . . . .  (n0)

            """, stderr: ""))
        // -Q outstanding=N is the outstanding quota.
        #expect(try WireClient(socket).call(.control, ["quota"]).contains("outstanding: 7"))
        // In memory: a restart starts afresh.
        #expect(try run("xenstore-write", ["/x", "1"], socket: socket).status == 0)
        kill(pid, SIGTERM)
        var gone = false
        for _ in 0..<500 where !gone {
            gone = kill(pid, 0) != 0
            usleep(10_000)
        }
        #expect(gone)
        #expect(!FileManager.default.fileExists(atPath: pidFile))
        let again = try run(XenStoreDaemon.swxlBinary, ["xenstored", "--xen-host", "-D", "--pid-file", pidFile], socket: socket)
        #expect(again == Output(status: 0, stdout: "", stderr: ""))
        let pid2 = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(pid2, SIGTERM) }
        #expect(try run("xenstore-exists", ["/x"], socket: socket).status != 0)
        // A second one leaves the running daemon's socket alone.
        let third = try run(XenStoreDaemon.swxlBinary, ["xenstored", "--xen-host", "-D", "--pid-file", dir + "/other.pid"], socket: socket)
        #expect(third == Output(status: 1, stdout: "", stderr: "swxl xenstored: another xenstored answers on \(socket)\n"))
        #expect(try run("xenstore-ls", ["/"], socket: socket).status == 0)
        #expect(try run("xenstore-ls", ["/"], socket: socket).stdout == "tool = \"\"\n xenstored = \"\"\n")
    }

    /// Without the hypervisor's devices (Xen's domain_init() needs them) there
    /// is no ring to serve: it says so and does not start, leaving nothing.
    @Test(.enabled(if: !FileManager.default.fileExists(atPath: "/dev/xen/privcmd")))
    func withoutTheHypervisorItDoesNotStart() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swxl-xenhost-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try run(XenStoreDaemon.swxlBinary, ["xenstored", "--xen-host", "--pid-file", dir + "/pid"], socket: dir + "/socket")
        #expect(result == Output(status: 1, stdout: "", stderr: "swxl xenstored: cannot open the hypervisor interface (/dev/xen/privcmd): No such file or directory\n"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/socket"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/pid"))
    }

    @Test func refusesWhatItCannotHonour() throws {
        for (arguments, message) in [(["--live-update"], "live update is not supported"),
                                     (["--master-domid", "1"], "--master-domid 1: only domain 0 can be the master domain"),
                                     (["-Q", "nodes=3"], "unknown quota \"nodes\""),
                                     (["-w", "watch-event"], "'watch-event' must be <what>=<number>")] {
            let result = try run(XenStoreDaemon.swxlBinary, ["xenstored", "--xen-host"] + arguments, socket: "/nonexistent/socket")
            #expect(result.status != 0)
            #expect(result.stderr.hasPrefix("Error: \(message)\n"), "\(arguments)")
        }
    }
}
