import DomainConfig
import Foundation
import Testing
@testable import Toolstack

/// Managed domains in the toolstack (Toolstack+Managed.swift) and the
/// state database's migration that added them.
@Suite struct ManagedDomainTests {
    /// Every table's and index's SQL, by name: a database's schema, to compare whole.
    static func schema(_ db: StateDatabase) throws -> [[SQLValue]] {
        try db.query("SELECT type, name, sql FROM sqlite_master ORDER BY name")
    }

    @Test func migrationsRunOnceInOrderOnAnOlderDatabase() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/test.db"
        do {
            let v1 = try StateDatabase(path: path, schema: "CREATE TABLE a(x)")
            #expect(v1.version == 1)
            try v1.query("INSERT INTO a VALUES(7)")
        }
        let migrations = ["CREATE TABLE b(y)", "ALTER TABLE a ADD COLUMN z DEFAULT 'new'"]
        let v3 = try StateDatabase(path: path, schema: "CREATE TABLE a(x)", migrations: migrations)
        #expect(v3.version == 3)
        #expect(try v3.query("SELECT x, z FROM a") == [[.int(7), .text("new")]])
        // Opened again, nothing runs twice (a second CREATE TABLE b would fail).
        let again = try StateDatabase(path: path, schema: "CREATE TABLE a(x)", migrations: migrations)
        #expect(again.version == 3)
        // A new database gets the same schema as the migrated one.
        let fresh = try StateDatabase(path: dir + "/fresh.db", schema: "CREATE TABLE a(x)", migrations: migrations)
        #expect(fresh.version == 3)
        #expect(try Self.schema(fresh) == Self.schema(v3))
        // An older swxl's open (no migrations) leaves a newer database as it is.
        let older = try StateDatabase(path: path, schema: "CREATE TABLE a(x)")
        #expect(older.version == 3)
        #expect(try Self.schema(older) == Self.schema(v3))
    }

    @Test func aVersionOneToolstackDatabaseKeepsItsDomainsAndGainsManagedDomains() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let dir = rig.dir + "/toolstack"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // The database as the swxl before managed domains left it: version 1, a running domain.
        let running = rig.config("old")
        _ = try rig.sim.createDomain(DomainCreateSpec(uuid: running.uuid, type: .pv, maxVCPUs: 1, maxMemoryKiB: 1024))
        do {
            let old = try StateDatabase(path: dir + "/toolstack.db", schema: ToolstackState.schema)
            #expect(old.version == 1)
            try old.query("INSERT INTO name VALUES('old', 1)")
            try old.query("INSERT INTO record VALUES(1, ?)", .text(running.jsonText()))
        }
        let defined = try rig.toolstack.define(rig.config("new"))
        #expect(rig.toolstack.record(1) == running)
        #expect(rig.toolstack.state.rows() == ["name old 1", "record 1", "managed new \(defined.uuid)"])
        let db = try StateDatabase(path: dir + "/toolstack.db", schema: "")
        #expect(db.version == 2)
        let fresh = try StateDatabase(path: rig.dir + "/fresh.db", schema: ToolstackState.schema, migrations: ToolstackState.migrations)
        #expect(try ManagedDomainTests.schema(db) == ManagedDomainTests.schema(fresh))
    }

    @Test func defineStartHaltStartAgainUndefine() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let t = rig.toolstack
        var config = rig.config("web")
        config.actions_after_shutdown = .destroy
        let defined = try t.define(config)
        #expect(defined == (try config.resolved()))
        #expect(t.managedDomain(named: "web") == defined)
        #expect(Toolstack.managedDomain(named: "web", stateDir: rig.dir) == defined)
        #expect(t.haltedDomains(running: try t.list()) == [defined])
        #expect(rig.sim.domainIDs().isEmpty)

        // Its name is its own: another definition, a create and a rename are refused.
        #expect(throws: ToolstackError.nameDefined("web", domid: nil)) { try t.define(rig.config("web")) }
        #expect(throws: ToolstackError.nameDefined("web", domid: nil)) { _ = try t.create(rig.config("web")) }
        var sameUUID = rig.config("other")
        sameUUID.uuid = defined.uuid
        #expect(throws: ToolstackError.invalid("a domain with uuid \(defined.uuid) is already defined, as 'web'")) {
            try t.define(sameUUID)
        }
        #expect(throws: ToolstackError.invalid("uuid \(defined.uuid) is the uuid of the defined domain 'web'")) {
            _ = try t.create(sameUUID)
        }
        let other = try t.create(rig.config("other"))
        #expect(throws: ToolstackError.nameDefined("web", domid: nil)) { try t.rename(domid: other, to: "web") }
        try t.destroy(domid: other)

        let first = try t.start(named: "web")
        #expect(try t.info(first).info.uuid == defined.uuid)
        #expect(t.haltedDomains(running: try t.list()).isEmpty)
        #expect(throws: ToolstackError.badPowerState("Domain is already running")) { _ = try t.start(named: "web") }
        #expect(throws: ToolstackError.badPowerState("Domain is not halted.")) { try t.undefine(named: "web") }
        #expect(throws: ToolstackError.nameDefined("web", domid: first)) { try t.define(rig.config("web")) }

        // Its on_poweroff (destroy) ends the domain, not the definition.
        try rig.sim.shutdown(domid: first, reason: .poweroff)
        try t.applyShutdownAction(domid: first, reason: .poweroff)
        #expect(rig.sim.domainIDs().isEmpty)
        #expect(t.haltedDomains(running: try t.list()) == [defined])

        let second = try t.start(named: "web", paused: true)
        #expect(second != first)
        #expect(try t.info(second).info.uuid == defined.uuid)
        #expect(try t.info(second).info.paused)
        try t.destroy(domid: second)
        #expect(t.state.rows() == ["managed web \(defined.uuid)"])

        #expect(try t.undefine(named: "web") == defined)
        #expect(rig.leftovers().isEmpty)
        #expect(throws: ToolstackError.noSuchDomain("web")) { try t.undefine(named: "web") }
        #expect(throws: ToolstackError.noSuchDomain("web")) { _ = try t.start(named: "web") }
        // The name is free again.
        try t.destroy(domid: try t.create(rig.config("web")))
    }

    @Test func aRunningDomainsNameIsRefusedAndARenameCarriesTheDefinition() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let t = rig.toolstack
        let id = try t.create(rig.config("busy"))
        #expect(throws: ToolstackError.nameDefined("busy", domid: id)) { try t.define(rig.config("busy")) }
        #expect(throws: ToolstackError.nameDefined("Domain-0", domid: 0)) { try t.define(rig.config("Domain-0")) }
        try t.destroy(domid: id)

        let defined = try t.define(rig.config("old"))
        let running = try t.start(named: "old")
        try t.rename(domid: running, to: "renamed")
        var expected = defined
        expected.name_label = "renamed"
        #expect(t.managedDomain(named: "renamed") == expected)
        #expect(t.managedDomain(named: "old") == nil)
        try t.destroy(domid: running)
        #expect(t.haltedDomains(running: try t.list()) == [expected])
        try t.undefine(named: "renamed")
        #expect(rig.leftovers().isEmpty)
    }

    /// Whatever it shut down for, an action `destroy` (or `coredump-destroy`)
    /// ends the domain and leaves the definition halted; `restart` starts it
    /// again with its uuid.
    @Test(arguments: [ShutdownReason.poweroff, .reboot, .crash])
    func theOnActionsEndTheDomainNotTheDefinition(reason: ShutdownReason) throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let t = rig.toolstack
        var config = rig.config("web")
        config.actions_after_shutdown = .destroy
        config.actions_after_reboot = .destroy
        config.actions_after_crash = .coredumpDestroy
        let defined = try t.define(config)
        let id = try t.start(named: "web")
        try rig.sim.shutdown(domid: id, reason: reason)
        #expect(try t.applyShutdownAction(domid: id, reason: reason) == nil)
        #expect(rig.sim.domainIDs().isEmpty)
        #expect(t.haltedDomains(running: try t.list()) == [defined])

        var restarting = rig.config("again")
        restarting.actions_after_shutdown = .restart
        restarting.actions_after_reboot = .restart
        restarting.actions_after_crash = .restart
        let again = try t.define(restarting)
        let first = try t.start(named: "again")
        try rig.sim.shutdown(domid: first, reason: reason)
        let second = try #require(try t.applyShutdownAction(domid: first, reason: reason))
        #expect(try t.info(second).info.uuid == again.uuid)
        #expect(t.haltedDomains(running: try t.list()) == [defined])
        try t.destroy(domid: second)
    }

    /// A delete and a start at once: whichever takes the database first wins.
    @Test func aDeleteAndAStartDoNotCross() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let state = rig.toolstack.state
        let defined = try rig.toolstack.define(rig.config("web"))
        // A start under way (its journal, this live process's) holds the definition: no delete.
        let journal = try state.beginCreate(name: "web", uuid: defined.uuid, managed: true) { _ in false }
        #expect(throws: ToolstackError.badPowerState("Domain is not halted.")) { try rig.toolstack.undefine(named: "web") }
        try state.releaseName("web")  // as a create's rollback does
        state.endCreate(journal: journal)
        // Deleted first: the start's create does not begin.
        try rig.toolstack.undefine(named: "web")
        #expect(throws: ToolstackError.noSuchDomain("web")) {
            _ = try state.beginCreate(name: "web", uuid: defined.uuid, managed: true) { _ in false }
        }
        #expect(rig.leftovers().isEmpty)
    }

    @Test func aFailedStartLeavesTheDefinitionHalted() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        let defined = try rig.toolstack.define(rig.config("web"))
        rig.toolstack.faults = FaultInjection(step: .devices)
        #expect(throws: ToolstackError.injected(.devices)) { _ = try rig.toolstack.start(named: "web") }
        #expect(rig.leftovers() == ["managed web \(defined.uuid)"])
        rig.toolstack.faults = FaultInjection()
        try rig.toolstack.destroy(domid: try rig.toolstack.start(named: "web"))
    }
}
