import Foundation
import Glibc
import Testing

/// The number of domains on the embedded host is not bounded by the
/// daemon's descriptors: with the daemon limited to 32 descriptors, more
/// domains than that run (each used to cost it two: its socket's listener
/// and the simulated guest's connection). And when the daemon does run out
/// (idle clients holding every descriptor), a create fails with an error
/// naming the daemon's socket and leaves nothing, instead of hanging.
@Suite(.serialized) struct DescriptorLimitTests {
    /// The children of `path` in the host's xenstore.
    func children(_ host: EmbeddedHost, _ path: String) throws -> [String] {
        let r = try host.xenstore("xenstore-list", [path])
        return r.status == 0 ? r.stdout.split(separator: "\n").map(String.init).sorted() : []
    }

    @Test(.timeLimit(.minutes(5)), .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/xenstore-list")))
    func moreDomainsThanTheDaemonHasDescriptorsAndACleanFailurePastIt() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        // The daemon as the toolstack would start it, but with 32 descriptors at most.
        let started = try run("/bin/sh", ["-c", "ulimit -n 32 && exec \"$0\" xenstored --domain-sockets request", swxlBinary],
                              environment: host.environment)
        #expect(started.status == 0, "\(started.stderr)")
        let pidText = try String(contentsOfFile: host.stateDir + "/xenstored/xenstored.pid", encoding: .utf8)
        let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        #expect(limits.split(separator: "\n").contains { $0.hasPrefix("Max open files") && $0.split(separator: " ").contains("32") })

        let count = 40
        var fdsWithOne = 0
        for i in 0..<count {
            let r = try host.swxl(["create", "-q", try host.config(name: "d\(i)", "memory = 16")])
            try #require(r.status == 0, "create d\(i): \(r.stderr)")
            if i == 0 { fdsWithOne = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count }
        }
        // Every one runs, and its guest is served (its feature flags written).
        let names = try host.domains().compactMap { $0["name"] as? String }
        #expect(names.sorted() == (["Domain-0"] + (0..<count).map { "d\($0)" }).sorted())
        let ids = try children(host, "/local/domain").filter { $0 != "0" }
        #expect(ids.count == count)
        #expect(host.waitUntil {
            ids.allSatisfy { (try? host.xenstore("xenstore-read", ["/local/domain/\($0)/control/feature-poweroff"]))?.stdout == "1\n" }
        })
        // The daemon holds no descriptor per domain (clients' connections come and go).
        let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
        #expect(fds <= fdsWithOne + 4, "\(fds) descriptors with \(count) domains, \(fdsWithOne) with one")

        // Now take every descriptor the daemon has left with idle clients.
        let before = (host.domainStateFiles(), try children(host, "/local/domain"), try children(host, "/vm"), try children(host, "/libxl"))
        var idle: [Int32] = []
        defer { for fd in idle { close(fd) } }
        for _ in 0..<40 {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, byte) in host.socket.utf8.enumerated() { raw[i] = byte }
            }
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            #expect(rc == 0)
            idle.append(fd)
        }
        #expect(host.waitUntil { ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0) >= 32 })
        let failed = try host.swxl(["create", "-q", try host.config(name: "one-more", "memory = 16")],
                                   environment: ["SWXL_XENSTORE_TIMEOUT": "1"])
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("no answer from the xenstore daemon at \(host.socket): it sent no reply within 1 s (SWXL_XENSTORE_TIMEOUT sets the limit)"),
                "\(failed.stderr)")

        // With the descriptors back, nothing of the failed create is left.
        for fd in idle { close(fd) }
        idle = []
        #expect(host.waitUntil { (try? host.swxl(["list"]))?.status == 0 })
        let after = (host.domainStateFiles(), try children(host, "/local/domain"), try children(host, "/vm"), try children(host, "/libxl"))
        #expect(after.0 == before.0)
        #expect(after.1 == before.1)
        #expect(after.2 == before.2)
        #expect(after.3 == before.3)
        #expect(try host.swxl(["create", "-q", try host.config(name: "one-more", "memory = 16")]).status == 0)
    }

    /// Console ptys are bounded (each is a descriptor of the guests' host
    /// and one of the machine's few ptys): past `SWXL_SIM_CONSOLES` a domain
    /// runs without one and its console log says why.
    @Test(.timeLimit(.minutes(2)), .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/xenstore-read")))
    func consolePtysAreBoundedAndADomainPastTheBoundSaysSo() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let limit = ["SWXL_SIM_CONSOLES": "2"]
        for name in ["c0", "c1", "c2"] {
            let r = try host.swxl(["create", "-q", try host.config(name: name, "memory = 16")], environment: limit)
            try #require(r.status == 0, "create \(name): \(r.stderr)")
        }
        let ids = try children(host, "/local/domain").filter { $0 != "0" }.compactMap { Int($0) }.sorted()
        try #require(ids.count == 3)
        func tty(_ id: Int) -> String? {
            guard let r = try? host.xenstore("xenstore-read", ["/local/domain/\(id)/console/tty"]), r.status == 0 else { return nil }
            return r.stdout.trimmingCharacters(in: .newlines)
        }
        #expect(host.waitUntil { tty(ids[0])?.hasPrefix("/dev/pts/") == true && tty(ids[1])?.hasPrefix("/dev/pts/") == true })
        let log = host.stateDir + "/toolstack/console/\(ids[2]).log"
        let refusal = "swxl: no console pty for domain \(ids[2]): at most 2 domains have one at a time (SWXL_SIM_CONSOLES)\n"
        #expect(host.waitUntil { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains(refusal) })
        #expect(tty(ids[2]) == nil || tty(ids[2]) == "")
        // Said once, not at every look at the domains.
        usleep(1_200_000)
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(text.components(separatedBy: refusal).count == 2)
        // Without a terminal `swxl console` prints the log, which says why there is no pty.
        let console = try host.swxl(["console", "c2"])
        #expect(console.status == 0)
        #expect(console.stdout.contains(refusal), "\(console.stdout)")
    }
}
