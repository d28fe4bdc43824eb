import Foundation
import Testing

/// Two network namespaces joined by a veth pair, for a migration that
/// crosses a real network link (TCP through socat) rather than pipes.
struct NetworkNamespaces {
    let sender: String, receiver: String
    let receiverAddress = "10.199.0.2"

    /// Whether this machine can do it: root, `ip netns`, and socat (scripts/setup installs it).
    static let available: Bool = {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/socat"),
              FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") else { return false }
        let probe = "swxlprobe\(getpid())"
        guard (try? run("/usr/sbin/ip", ["netns", "add", probe]))?.status == 0 else { return false }
        _ = try? run("/usr/sbin/ip", ["netns", "del", probe])
        return true
    }()

    init() throws {
        let tag = "\(getpid() % 100_000)"
        sender = "swxlA" + tag
        receiver = "swxlB" + tag
        let steps: [[String]] = [
            ["netns", "add", sender], ["netns", "add", receiver],
            ["link", "add", "vA" + tag, "netns", sender, "type", "veth", "peer", "name", "vB" + tag, "netns", receiver],
            ["-n", sender, "addr", "add", "10.199.0.1/30", "dev", "vA" + tag],
            ["-n", receiver, "addr", "add", receiverAddress + "/30", "dev", "vB" + tag],
            ["-n", sender, "link", "set", "vA" + tag, "up"], ["-n", receiver, "link", "set", "vB" + tag, "up"],
            ["-n", sender, "link", "set", "lo", "up"], ["-n", receiver, "link", "set", "lo", "up"],
        ]
        for step in steps {
            let r = try run("/usr/sbin/ip", step)
            guard r.status == 0 else {
                close()
                throw NSError(domain: "ip \(step.joined(separator: " ")): \(r.stderr)", code: Int(r.status))
            }
        }
    }

    /// Removes both namespaces (and with them the veth pair).
    func close() {
        for ns in [sender, receiver] { _ = try? run("/usr/sbin/ip", ["netns", "del", ns]) }
    }
}

@Suite(.serialized) struct MigrateAcrossNamespacesTests {
    /// The receiver listens in its namespace with socat, which runs
    /// `swxl migrate-receive` for the connection; the sender, in the other
    /// namespace, uses xl's `-s` form for such a transport
    /// (`socat - TCP:host:port #`: the `#` comments out the host and
    /// command xl appends after it). The guest counts on at the receiver.
    @Test(.enabled(if: NetworkNamespaces.available, "needs root, ip netns and socat"))
    func migratesOverTCPBetweenTwoNamespaces() throws {
        let net = try NetworkNamespaces()
        defer { net.close() }
        let a = try EmbeddedHost(), b = try EmbeddedHost()
        defer { a.close(); b.close() }
        try #require(try a.swxl(["create", "-q", try SaveRestoreTests.counterConfig(a, name: "far")], environment: MigrateTests.env).status == 0)
        let from = try #require(try SaveRestoreTests.domid(a, "far"))
        #expect(a.waitUntil { (SaveRestoreTests.count(a, from) ?? 0) >= 3 })
        let before = SaveRestoreTests.count(a, from) ?? 0

        // One connection, then socat exits; its child is the receiver (a
        // script: socat's EXEC address splits its command at colons).
        let port = 40_000 + Int(getpid() % 20_000)
        let receive = b.stateDir + "/receive"
        try """
            #!/bin/sh
            exec env SWXL_STATE_DIR=\(b.stateDir) SWXL_HOST=embedded XENSTORED_PATH= SWXL_XL_CONF=\(b.xlConf) \\
                SWXL_EMBEDDED_BRIDGES=xenbr0 PATH=\(MigrateTests.path) \(swxlBinary) migrate-receive

            """.write(toFile: receive, atomically: true, encoding: .utf8)
        chmod(receive, 0o755)
        let listener = Process()
        listener.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        listener.arguments = ["netns", "exec", net.receiver, "/usr/bin/socat", "TCP-LISTEN:\(port),reuseaddr", "EXEC:\(receive)"]
        listener.standardOutput = FileHandle.nullDevice
        let listenerErrors = Pipe()
        listener.standardError = listenerErrors
        try listener.run()
        defer { if listener.isRunning { listener.terminate() } }

        // xl puts `exec` before SSHCMD itself, so the command is given without one.
        let rune = "/usr/bin/socat - TCP:\(net.receiverAddress):\(port),retry=100,interval=0.1 #"
        let r = try run("/usr/sbin/ip", ["netns", "exec", net.sender, swxlBinary, "migrate", "-s", rune, "far", net.receiverAddress],
                        environment: a.environment.merging(MigrateTests.env) { $1 })
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("Migration successful."), "\(r.stderr)")
        if r.status != 0 { listener.terminate() }  // no connection may have come: do not wait for one
        listener.waitUntilExit()
        let received = String(decoding: listenerErrors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(received.contains("migration target: Domain started successsfully."), "\(received)")

        #expect(try SaveRestoreTests.domid(a, "far") == nil)
        let to = try #require(try SaveRestoreTests.domid(b, "far"))
        var seen: [Int] = []
        #expect(b.waitUntil {
            if let n = SaveRestoreTests.count(b, to) { seen.append(n) }
            return (seen.last ?? 0) >= before + 3
        })
        #expect(seen.allSatisfy { $0 >= before }, "\(seen)")
    }
}
