import Foundation
import Testing

/// `swxl migrate` and `swxl migrate-receive` between two embedded hosts on
/// this machine (two state dirs), and to the same host, over the pipes of
/// xl's rune (`-s`), with a guest that counts.
@Suite(.serialized) struct MigrateTests {
    static let env = SaveRestoreTests.env
    /// `swxl` found on the PATH, as the rune runs it.
    static var path: String { swxlBinary.deletingLastPathComponentPath + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") }

    /// xl's `-s` for a receiver on `target`: `exec env SWXL_STATE_DIR=... HOST swxl migrate-receive`,
    /// where HOST is one more environment word.
    static func transport(_ target: EmbeddedHost, bridges: Bool = true) -> [String] {
        let words = "env SWXL_STATE_DIR=\(target.stateDir) XENSTORED_PATH= PATH=\(path)" + (bridges ? " SWXL_EMBEDDED_BRIDGES=xenbr0" : " SWXL_EMBEDDED_BRIDGES=")
        return ["-s", words]
    }

    func uuid(_ host: EmbeddedHost, _ domid: Int) throws -> String? {
        try host.domains().first { $0["domid"] as? Int == domid }?["uuid"] as? String
    }

    @Test func migratesBetweenTwoHostsAndTheGuestCountsOn() throws {
        let a = try EmbeddedHost(), b = try EmbeddedHost()
        defer { a.close(); b.close() }
        try #require(try a.swxl(["create", "-q", try SaveRestoreTests.counterConfig(a, name: "mover")], environment: Self.env).status == 0)
        let from = try #require(try SaveRestoreTests.domid(a, "mover"))
        #expect(a.waitUntil { (SaveRestoreTests.count(a, from) ?? 0) >= 3 })
        let uuid = try self.uuid(a, from)
        let before = SaveRestoreTests.count(a, from) ?? 0

        let r = try a.swxl(["migrate"] + Self.transport(b) + ["mover", "SWXL_HOST=embedded"], environment: Self.env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("migration sender: Migrating live"), "\(r.stderr)")
        for line in ["migration target: Ready to receive domain.", "Saving to migration stream new xl format (info 0x3/0x0/",
                     "Loading new save file <incoming migration stream> (new xl fmt info 0x3/0x0/",
                     "migration target: Transfer complete, requesting permission to start domain.",
                     "migration sender: Target has acknowledged transfer.", "migration sender: Giving target permission to start.",
                     "migration target: Got permission, starting domain.", "migration target: Domain started successsfully.",
                     "migration sender: Target reports successful startup.", "Migration successful."] {
            #expect(r.stderr.contains(line), "\(line)\n\(r.stderr)")
        }
        // Gone here, nothing kept; there with the same uuid, counting on.
        #expect(try SaveRestoreTests.domid(a, "mover") == nil)
        #expect(a.domainStateFiles() == [])
        let to = try #require(try SaveRestoreTests.domid(b, "mover"))
        #expect(try self.uuid(b, to) == uuid)
        var seen: [Int] = []
        #expect(b.waitUntil {
            if let n = SaveRestoreTests.count(b, to) { seen.append(n) }
            return (seen.last ?? 0) >= before + 3
        })
        #expect(seen.allSatisfy { $0 >= before }, "\(seen)")
        #expect(try b.domains().first { $0["domid"] as? Int == to }?["state"] as? String != "paused")
    }

    /// A host without shadow paging (as Debian's Xen 4.17.7) cannot save
    /// live: the guest is suspended for the copy, and the user is told.
    @Test func withoutShadowPagingTheGuestMovesSuspended() throws {
        let a = try EmbeddedHost(), b = try EmbeddedHost()
        defer { a.close(); b.close() }
        try #require(try a.swxl(["create", "-q", try SaveRestoreTests.counterConfig(a, name: "still")], environment: Self.env).status == 0)
        let from = try #require(try SaveRestoreTests.domid(a, "still"))
        #expect(a.waitUntil { (SaveRestoreTests.count(a, from) ?? 0) >= 2 })
        let info = try a.swxl(["info"], environment: ["SWXL_SIM_SHADOW": "0"])
        #expect(info.stdout.contains("virt_caps              : pv hvm hap gnttab-v1 gnttab-v2\n"), "\(info.stdout)")
        let r = try a.swxl(["migrate"] + Self.transport(b) + ["still", "SWXL_HOST=embedded"],
                           environment: Self.env.merging(["SWXL_SIM_SHADOW": "0"]) { $1 })
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("migration sender: This host cannot track the domain's dirty pages (no shadow paging): "
                                   + "migrating it suspended, its memory sent once (not live).\n"), "\(r.stderr)")
        #expect(!r.stderr.contains("Migrating live"))
        let to = try #require(try SaveRestoreTests.domid(b, "still"))
        let atMove = SaveRestoreTests.count(b, to) ?? 0
        #expect(atMove >= 2)
        #expect(b.waitUntil { (SaveRestoreTests.count(b, to) ?? 0) >= atMove + 2 })
    }

    @Test func migratesToTheSameHost() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        try #require(try host.swxl(["create", "-q", try SaveRestoreTests.counterConfig(host, name: "local")], environment: Self.env).status == 0)
        let from = try #require(try SaveRestoreTests.domid(host, "local"))
        #expect(host.waitUntil { (SaveRestoreTests.count(host, from) ?? 0) >= 2 })
        let uuid = try #require(try self.uuid(host, from))
        // xl's -s '': HOST is the whole command.
        let r = try host.swxl(["migrate", "-p", "-s", "", "local", "exec swxl migrate-receive -p"],
                              environment: Self.env.merging(["PATH": Self.path]) { $1 })
        #expect(r.status == 0, "\(r.stderr)")
        let names = try host.domains().compactMap { $0["name"] as? String }
        #expect(names == ["Domain-0", "local"])
        let to = try #require(try SaveRestoreTests.domid(host, "local"))
        #expect(to != from)
        #expect(try self.uuid(host, to) == uuid)
        // -p: left paused; /vm/<uuid> is the new domain's, whole.
        #expect(try host.domains().first { $0["domid"] as? Int == to }?["state"] as? String == "paused")
        #expect(try host.xenstore("xenstore-read", ["/vm/\(uuid)/name"]).stdout == "local\n")
        #expect(try host.xenstore("xenstore-read", ["/local/domain/\(to)/vm"]).stdout == "/vm/\(uuid)\n")
        #expect(try host.swxl(["unpause", "local"]).status == 0)
        let atMove = SaveRestoreTests.count(host, to) ?? 0
        #expect(host.waitUntil { (SaveRestoreTests.count(host, to) ?? 0) >= atMove + 2 })
    }

    @Test func aTargetThatCannotCreateLeavesNothingAndTheGuestRunsOn() throws {
        let a = try EmbeddedHost(), b = try EmbeddedHost()
        defer { a.close(); b.close() }
        try #require(try a.swxl(["create", "-q", try SaveRestoreTests.counterConfig(a, name: "stay")], environment: Self.env).status == 0)
        let id = try #require(try SaveRestoreTests.domid(a, "stay"))
        #expect(a.waitUntil { SaveRestoreTests.count(a, id) != nil })
        _ = try b.swxl(["list"])
        let storeB = try b.storeSnapshot()
        // The target has no bridge xenbr0: the vif is refused there.
        let r = try a.swxl(["migrate"] + Self.transport(b, bridges: false) + ["stay", "SWXL_HOST=embedded"], environment: Self.env)
        #expect(r.status == 1)
        #expect(r.stderr.contains("Could not find bridge device xenbr0"), "\(r.stderr)")
        #expect(r.stderr.contains("migration target: Domain creation failed (code -3)."), "\(r.stderr)")
        #expect(r.stderr.contains("Migration failed, resuming at sender."), "\(r.stderr)")
        // Here: the same domain, its name, running and counting on.
        #expect(try SaveRestoreTests.domid(a, "stay") == id)
        let now = SaveRestoreTests.count(a, id) ?? 0
        #expect(a.waitUntil { (SaveRestoreTests.count(a, id) ?? 0) >= now + 2 })
        // There: nothing.
        #expect(try b.domains().count == 1)
        #expect(b.domainStateFiles() == [])
        // (Nothing but the empty directories a first create makes for good.)
        let after = try b.storeSnapshot()
        let leftovers = Set(after.keys).symmetricDifference(storeB.keys)
            .filter { after[$0] != " (n0)" && after[$0] != " (n0,r0)" || !DomainLifecycleTests.isSkeleton($0) }
        #expect(leftovers.isEmpty, "\(leftovers.sorted().map { "\($0) = \(after[$0] ?? "-")" })")
    }

    @Test func aTargetThatFailsAfterGoDestroysItsCopyAndTheSenderResumes() throws {
        let a = try EmbeddedHost(), b = try EmbeddedHost()
        defer { a.close(); b.close() }
        try #require(try a.swxl(["create", "-q", try SaveRestoreTests.counterConfig(a, name: "twin")], environment: Self.env).status == 0)
        let id = try #require(try SaveRestoreTests.domid(a, "twin"))
        #expect(a.waitUntil { SaveRestoreTests.count(a, id) != nil })
        // The target already has a "twin": the incoming one cannot take its name.
        try #require(try b.swxl(["create", "-q", try b.config(name: "twin")]).status == 0)
        let r = try a.swxl(["migrate"] + Self.transport(b) + ["twin", "SWXL_HOST=embedded"], environment: Self.env)
        #expect(r.status == 1)
        for line in ["migration target: Got permission, starting domain.",
                     "migration sender: Target reports startup failure (status code 3).",
                     "migration target: Failure, destroying our copy.",
                     "migration target: Cleanup OK, granting sender permission to resume.",
                     "migration sender: Trying to resume at our end.", "migration sender: Resumed OK.",
                     "Migration failed due to problems at target."] {
            #expect(r.stderr.contains(line), "\(line)\n\(r.stderr)")
        }
        #expect(try SaveRestoreTests.domid(a, "twin") == id)
        let now = SaveRestoreTests.count(a, id) ?? 0
        #expect(a.waitUntil { (SaveRestoreTests.count(a, id) ?? 0) >= now + 2 })
        #expect(try b.domains().compactMap { $0["name"] as? String } == ["Domain-0", "twin"])
    }

    /// A receiver that takes the whole stream and goes away: the guest,
    /// suspended by then, is resumed where it is and counts on.
    @Test func aReceiverThatVanishesAfterTheStreamGivesTheGuestBack() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        try #require(try host.swxl(["create", "-q", try SaveRestoreTests.counterConfig(host, name: "back")], environment: Self.env).status == 0)
        let id = try #require(try SaveRestoreTests.domid(host, "back"))
        #expect(host.waitUntil { SaveRestoreTests.count(host, id) != nil })
        // (It stops without reading: the stream fits in the pipe, so the sender finishes it.)
        let rune = #"printf 'xl migration receiver ready, send binary domain data.\n'; sleep 1"#
        let r = try host.swxl(["migrate", "-s", "", "back", rune], environment: Self.env)
        #expect(r.status == 1)
        #expect(r.stderr.contains("file/stream truncated reading ready message from migration receiver stream"), "\(r.stderr)")
        #expect(r.stderr.hasSuffix("Migration failed, resuming at sender.\n"), "\(r.stderr)")
        #expect(try SaveRestoreTests.domid(host, "back") == id)
        let now = SaveRestoreTests.count(host, id) ?? 0
        #expect(host.waitUntil { (SaveRestoreTests.count(host, id) ?? 0) >= now + 2 })
        let state = try host.domains().first { $0["domid"] as? Int == id }?["state"] as? String
        #expect(state == "running" || state == "blocked")
    }

    @Test func aReceiverThatIsNotThereFailsBeforeAnythingIsSent() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        try #require(try host.swxl(["create", "-q", try SaveRestoreTests.counterConfig(host, name: "alone")], environment: Self.env).status == 0)
        let id = try #require(try SaveRestoreTests.domid(host, "alone"))
        let r = try host.swxl(["migrate", "-s", "", "alone", "printf %060d 0"], environment: Self.env)
        #expect(r.status == 1)
        #expect(r.stderr.contains("migration receiver stream contained unexpected data instead of banner"), "\(r.stderr)")
        #expect(r.stderr.contains("(command run was: printf %060d 0 )"), "\(r.stderr)")
        #expect(try SaveRestoreTests.domid(host, "alone") == id)
        #expect(try host.domains().first { $0["domid"] as? Int == id }?["state"] as? String != "paused")
    }
}

extension String {
    /// The directory part of a path.
    var deletingLastPathComponentPath: String {
        guard let slash = lastIndex(of: "/") else { return "." }
        return String(self[..<slash])
    }
}
