import DomainConfig
#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem

/// What the toolstack keeps of its own, in `<state>/toolstack/toolstack.db`
/// (SQLite, see ``StateDatabase``), on real Xen and on the embedded host:
///
/// - `name`: the domid holding each name, NULL while its create runs (the
///   primary key is what keeps two creates from taking one name);
/// - `record`: the resolved config each domain was created from, as the
///   model's canonical JSON (for `list -l`, restarts and the on_* actions);
/// - `journal`: creates in progress, each with its process (pid and start
///   time): one whose process is gone is a create that died midway, and
///   the next command undoes what it had done;
/// - `managed` (schema version 2): the domains defined with `swxl new`,
///   each its resolved config under its uuid and name, kept while it is
///   halted and while it runs (see ToolstackState+Managed.swift).
final class ToolstackState {
    let dir: String
    private var database: StateDatabase?
    /// Configs decoded, by their JSON text: listing many domains again
    /// (the XenAPI's records, `list -l`) decodes only what changed.
    private var decoded: [String: DomainConfiguration] = [:]
    static let decodedKept = 4096

    init(dir: String) { self.dir = dir }

    static let schema = """
        CREATE TABLE name(name TEXT PRIMARY KEY, domid INTEGER) WITHOUT ROWID;
        CREATE TABLE record(domid INTEGER PRIMARY KEY, config TEXT NOT NULL);
        CREATE TABLE journal(id INTEGER PRIMARY KEY, pid INTEGER NOT NULL, started INTEGER NOT NULL,
            name TEXT NOT NULL, domid INTEGER, uuid TEXT);
        """

    /// The schema's later versions (see ``StateDatabase``): 2 adds the managed domains.
    static let migrations = [
        "CREATE TABLE managed(uuid TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, config TEXT NOT NULL) WITHOUT ROWID",
    ]

    private func db() throws(ToolstackError) -> StateDatabase {
        if let database { return database }
        do { try FileIO.makeDirectories(dir) } catch { throw .system(error.description) }
        do {
            var imported = false
            let opened = try StateDatabase(path: dir + "/toolstack.db", schema: Self.schema, migrations: Self.migrations) { (db) throws(DatabaseError) in
                imported = try Self.importLegacyFiles(dir, into: db)
            }
            if imported { for old in ["names", "domains", "journal"] { FileIO.removeTree(dir + "/" + old) } }
            try Self.importPlanRecords(opened)
            database = opened
            return opened
        } catch {
            throw .system(error.description)
        }
    }

    /// An older swxl kept a file per name (`names/<name>`: the domid),
    /// per record (`domains/<domid>`: its plan, see ``LegacyRecord``) and per
    /// create in progress (`journal/<pid>-<n>`: `name=`, `domid=`, `uuid=`
    /// lines). Their contents become rows, so the domains they describe keep
    /// their names and configs; a journal becomes one whose process is gone,
    /// which the next command undoes.
    static func importLegacyFiles(_ dir: String, into db: StateDatabase) throws(DatabaseError) -> Bool {
        let names = FileIO.list(dir + "/names"), records = FileIO.list(dir + "/domains"), journals = FileIO.list(dir + "/journal")
        guard !(names.isEmpty && records.isEmpty && journals.isEmpty) else { return false }
        for name in names {
            let text = FileIO.read(dir + "/names/" + name) ?? ""
            let domid = Int64(text.split(separator: "\n").first ?? "")
            try db.query("INSERT OR REPLACE INTO name(name, domid) VALUES(?, ?)", .text(name), domid.map { .int($0) } ?? .null)
        }
        for entry in records {
            guard let domid = Int64(entry), let text = FileIO.read(dir + "/domains/" + entry),
                  let config = LegacyRecord.configuration(from: text) else { continue }
            try db.query("INSERT OR REPLACE INTO record(domid, config) VALUES(?, ?)", .int(domid), .text(config.jsonText()))
        }
        for entry in journals {
            let kv = parseKeyValues(FileIO.read(dir + "/journal/" + entry) ?? "")
            guard let name = kv["name"] else { continue }
            try db.query("INSERT INTO journal(pid, started, name, domid, uuid) VALUES(0, 0, ?, ?, ?)", .text(name),
                         kv["domid"].flatMap { Int64($0) }.map { .int($0) } ?? .null, kv["uuid"].map { .text($0) } ?? .null)
        }
        return true
    }

    /// The swxl before this one kept each record as its plan (`key=value`
    /// lines, see ``LegacyRecord``) in a `plan` column. Once, the column
    /// becomes `config` and each plan the config's JSON; a record that is no
    /// plan was never readable and goes. After that, one look at the
    /// table's columns per open.
    static func importPlanRecords(_ db: StateDatabase) throws(DatabaseError) {
        let planColumn = "SELECT 1 FROM pragma_table_info('record') WHERE name = 'plan'"
        guard try !db.query(planColumn).isEmpty else { return }
        try db.write { () throws(DatabaseError) in
            guard try !db.query(planColumn).isEmpty else { return }  // another process did it
            let rows = try db.query("SELECT domid, plan FROM record")
            try db.exec("ALTER TABLE record RENAME COLUMN plan TO config")
            for row in rows {
                guard let domid = row[0].int else { continue }
                if let config = row[1].text.flatMap({ LegacyRecord.configuration(from: $0) }) {
                    try db.query("UPDATE record SET config = ? WHERE domid = ?", .text(config.jsonText()), .int(domid))
                } else {
                    try db.query("DELETE FROM record WHERE domid = ?", .int(domid))
                }
            }
        }
    }

    @discardableResult
    func sql(_ text: String, _ arguments: SQLValue...) throws(ToolstackError) -> [[SQLValue]] {
        let db = try db()
        do { return try db.query(text, arguments) } catch { throw .system("\(db.path): \(error)") }
    }

    func write<T>(_ body: () throws(ToolstackError) -> T) throws(ToolstackError) -> T {
        let db = try db()
        return try db.write({ (e: DatabaseError) in ToolstackError.system("\(db.path): \(e)") }, body)
    }

    // MARK: names

    /// Takes `name` for `domid` (nil: for a create that has no domid yet).
    /// A name held by a domain that no longer exists, or by a create whose
    /// process is gone, is free again.
    /// A name a managed domain holds is free only to that domain (`uuid`).
    func reserveName(_ name: String, for domid: UInt32?, uuid: DomainUUID? = nil,
                     domainExists: (UInt32) -> Bool) throws(ToolstackError) {
        try write { () throws(ToolstackError) in try takeName(name, for: domid, uuid: uuid, domainExists: domainExists) }
    }

    private func takeName(_ name: String, for domid: UInt32?, uuid: DomainUUID?,
                          domainExists: (UInt32) -> Bool) throws(ToolstackError) {
        if let definer = try managedUUID(named: name), definer != uuid { throw .nameDefined(name, domid: nil) }
        if let row = try sql("SELECT domid FROM name WHERE name = ?", .text(name)).first {
            if let holder = row[0].int.map({ UInt32(truncatingIfNeeded: $0) }) {
                if domainExists(holder) { throw .nameInUse(name, domid: holder) }
            } else if try liveCreate(holding: name) {
                throw .nameInUse(name, domid: 0)
            }
        }
        try sql("INSERT OR REPLACE INTO name(name, domid) VALUES(?, ?)", .text(name), domid.map { .int(Int64($0)) } ?? .null)
    }

    /// Whether a create still running holds `name` (the journal row `except`, one being undone, aside).
    private func liveCreate(holding name: String, except: Int64 = -1) throws(ToolstackError) -> Bool {
        try sql("SELECT pid, started FROM journal WHERE name = ? AND id != ?", .text(name), .int(except)).contains { row in
            ProcessIdentity.isAlive(pid: pid_t(truncatingIfNeeded: row[0].int ?? 0), started: row[1].int ?? -1)
        }
    }

    /// Lets go of `name` if `domid` holds it (nil: whoever holds it).
    func releaseName(_ name: String, heldBy domid: UInt32? = nil) throws(ToolstackError) {
        if let domid {
            try sql("DELETE FROM name WHERE name = ? AND domid = ?", .text(name), .int(Int64(domid)))
        } else {
            try sql("DELETE FROM name WHERE name = ?", .text(name))
        }
    }

    /// The domid holding `name`, if a domain holds it.
    func domid(named name: String) -> UInt32? {
        ((try? sql("SELECT domid FROM name WHERE name = ?", .text(name))) ?? []).first?[0].int.map { UInt32(truncatingIfNeeded: $0) }
    }

    // MARK: records

    /// Keeps the resolved config of a created domain and gives it its name.
    func record(_ config: DomainConfiguration, domid: UInt32) throws(ToolstackError) {
        try write { () throws(ToolstackError) in
            try sql("INSERT OR REPLACE INTO record(domid, config) VALUES(?, ?)", .int(Int64(domid)), .text(config.jsonText()))
            try sql("UPDATE name SET domid = ? WHERE name = ?", .int(Int64(domid)), .text(config.name_label))
        }
    }

    /// The resolved config `domid` was created from.
    func config(_ domid: UInt32) -> DomainConfiguration? {
        guard let json = ((try? sql("SELECT config FROM record WHERE domid = ?", .int(Int64(domid)))) ?? []).first?[0].text
        else { return nil }
        return decodeCached(json, fileName: "record of domain \(domid)")
    }

    /// Every domain's resolved config, by domid (one query).
    func configs() -> [UInt32: DomainConfiguration] {
        var out: [UInt32: DomainConfiguration] = [:]
        for row in (try? sql("SELECT domid, config FROM record")) ?? [] {
            guard let domid = row[0].int.flatMap({ UInt32(exactly: $0) }), let json = row[1].text,
                  let config = decodeCached(json, fileName: "record of domain \(domid)") else { continue }
            out[domid] = config
        }
        return out
    }

    /// The model's JSON decoded, or the same text's earlier decoding.
    func decodeCached(_ json: String, fileName: @autoclosure () -> String) -> DomainConfiguration? {
        if let config = decoded[json] { return config }
        guard let config = DomainConfiguration.parse(text: json, fileName: fileName(), format: .json).configuration else { return nil }
        if decoded.count >= Self.decodedKept { decoded.removeAll(keepingCapacity: true) }
        decoded[json] = config
        return config
    }

    var hasRecords: Bool { !((try? sql("SELECT 1 FROM record LIMIT 1")) ?? []).isEmpty }

    /// Forgets a domain: its record, and its name if it still holds it.
    func forget(domid: UInt32, name: String?) throws(ToolstackError) {
        try write { () throws(ToolstackError) in
            try sql("DELETE FROM record WHERE domid = ?", .int(Int64(domid)))
            if let name { try releaseName(name, heldBy: domid) }
        }
    }

    /// Moves a domain to `newName` (already reserved for it): the old name
    /// goes and the record (`config`, already renamed) follows.
    func renamed(domid: UInt32, from oldName: String?, to newName: String, config: DomainConfiguration?) throws(ToolstackError) {
        try write { () throws(ToolstackError) in
            try sql("UPDATE name SET domid = ? WHERE name = ?", .int(Int64(domid)), .text(newName))
            if let oldName, oldName != newName { try releaseName(oldName, heldBy: domid) }
            if let config {
                try sql("UPDATE record SET config = ? WHERE domid = ?", .text(config.jsonText()), .int(Int64(domid)))
                try renameManaged(config.uuid, to: newName)
            }
        }
    }

    // MARK: the create journal

    /// Starts a create: reserves its name and opens its journal, at once.
    /// The journal belongs to this process (tests may name another).
    /// With `managed`, the managed domain `uuid` is started: the create
    /// goes ahead only if it is still defined (a `delete` may have come first).
    func beginCreate(name: String, uuid: DomainUUID? = nil, managed: Bool = false,
                     owner: (pid: pid_t, started: Int64)? = nil,
                     domainExists: (UInt32) -> Bool) throws(ToolstackError) -> Int64 {
        guard let owner = owner ?? ProcessIdentity.startTime(of: getpid()).map({ (getpid(), $0) }) else {
            throw .system("cannot read /proc/self/stat: \(String(cString: strerror(errno)))")
        }
        return try write { () throws(ToolstackError) -> Int64 in
            if managed, let uuid, try managedUUID(named: name) != uuid { throw .noSuchDomain(name) }
            // A definition's uuid is its own, as its name is.
            if let uuid, let definer = try sql("SELECT name FROM managed WHERE uuid = ?", .text(uuid.description)).first?[0].text,
               definer != name {
                throw .invalid("uuid \(uuid) is the uuid of the defined domain '\(definer)'")
            }
            try takeName(name, for: nil, uuid: uuid, domainExists: domainExists)
            let row = try sql("INSERT INTO journal(pid, started, name) VALUES(?, ?, ?) RETURNING id",
                              .int(Int64(owner.pid)), .int(owner.started), .text(name))
            guard let id = row.first?[0].int else { throw .system("the create journal gave no id") }
            return id
        }
    }

    /// The journal learns the domain it must destroy should the create die.
    func noteDomain(journal: Int64, domid: UInt32, uuid: DomainUUID) throws(ToolstackError) {
        try sql("UPDATE journal SET domid = ?, uuid = ? WHERE id = ?",
                .int(Int64(domid)), .text(uuid.description), .int(journal))
    }

    /// The create is over (done or undone).
    func endCreate(journal: Int64) {
        _ = try? sql("DELETE FROM journal WHERE id = ?", .int(journal))
    }

    /// A create whose process died: what it had reached.
    struct Interrupted {
        var journal: Int64
        /// The process the journal names (gone when it was looked at).
        var pid: Int64
        var started: Int64
        var name: String
        var domid: UInt32?
        var uuid: DomainUUID?
    }

    /// Creates whose process is gone (one query when there are none).
    func interruptedCreates() -> [Interrupted] {
        let rows = (try? sql("SELECT id, pid, started, name, domid, uuid FROM journal")) ?? []
        return rows.compactMap { row in
            guard let id = row[0].int, let pid = row[1].int, let started = row[2].int, let name = row[3].text,
                  !ProcessIdentity.isAlive(pid: pid_t(truncatingIfNeeded: pid), started: started) else { return nil }
            return Interrupted(journal: id, pid: pid, started: started, name: name,
                               domid: row[4].int.map { UInt32(truncatingIfNeeded: $0) },
                               uuid: row[5].text.flatMap { DomainUUID($0) })
        }
    }

    /// Takes over the journal of a create whose process was gone, so that
    /// one process undoes it, and only if the row is still as it was seen.
    /// A create that finished between the look at its row and the look at
    /// its process removed the row before it exited: it is left alone (undoing
    /// it would destroy a domain whose create succeeded). The row then names
    /// this process, so should it die while undoing, the next command takes over.
    func adopt(_ create: Interrupted) -> Bool {
        guard let started = ProcessIdentity.startTime(of: getpid()) else { return false }
        let rows = (try? write { () throws(ToolstackError) -> [[SQLValue]] in
            try sql("UPDATE journal SET pid = ?, started = ? WHERE id = ? AND pid = ? AND started = ? RETURNING id",
                    .int(Int64(getpid())), .int(started), .int(create.journal), .int(create.pid), .int(create.started))
        }) ?? []
        return !rows.isEmpty
    }

    /// Closes the journal of a create that died, and frees its name unless
    /// another domain or a live create has taken it since.
    func abandon(_ create: Interrupted) {
        _ = try? write { () throws(ToolstackError) in
            if let row = try sql("SELECT domid FROM name WHERE name = ?", .text(create.name)).first {
                let holder = row[0].int.map { UInt32(truncatingIfNeeded: $0) }
                let ours = holder == nil ? try !liveCreate(holding: create.name, except: create.journal) : holder == create.domid
                if ours { try releaseName(create.name) }
            }
            try sql("DELETE FROM journal WHERE id = ?", .int(create.journal))
        }
    }

    /// Every row, one line each (`name web 3`, `record 3`, `journal 7 web`):
    /// what tests look at to see that nothing was left behind.
    func rows() -> [String] {
        let names = ((try? sql("SELECT name, domid FROM name ORDER BY name")) ?? [])
            .map { "name \($0[0].text ?? "") \($0[1].int.map { String($0) } ?? "-")" }
        let records = ((try? sql("SELECT domid FROM record ORDER BY domid")) ?? []).map { "record \($0[0].int ?? -1)" }
        let journal = ((try? sql("SELECT id, name FROM journal ORDER BY id")) ?? [])
            .map { "journal \($0[0].int ?? -1) \($0[1].text ?? "")" }
        let managed = ((try? sql("SELECT name, uuid FROM managed ORDER BY name")) ?? [])
            .map { "managed \($0[0].text ?? "") \($0[1].text ?? "")" }
        return names + records + journal + managed
    }
}
