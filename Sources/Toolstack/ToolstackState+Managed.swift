import DomainConfig

/// The managed domains' rows (`managed`: uuid, name, the resolved config as
/// the model's canonical JSON), as xend kept its managed domains: a
/// definition outlives the domain it starts, and only `delete` forgets it.
extension ToolstackState {
    /// The uuid of the managed domain named `name`.
    func managedUUID(named name: String) throws(ToolstackError) -> DomainUUID? {
        try sql("SELECT uuid FROM managed WHERE name = ?", .text(name)).first?[0].text.flatMap { DomainUUID($0) }
    }

    /// Every managed domain's uuid and name, without decoding a config.
    func managedNames() -> [(uuid: DomainUUID, name: String)] {
        ((try? sql("SELECT uuid, name FROM managed")) ?? []).compactMap { row in
            guard let uuid = row[0].text.flatMap({ DomainUUID($0) }), let name = row[1].text else { return nil }
            return (uuid, name)
        }
    }

    /// The definition of the managed domain named `name`.
    func managedConfig(named name: String) -> DomainConfiguration? {
        ((try? sql("SELECT config FROM managed WHERE name = ?", .text(name))) ?? []).first?[0].text
            .flatMap { decode($0, name) }
    }

    /// Every managed domain's definition, by name.
    func managedConfigs() -> [DomainConfiguration] {
        ((try? sql("SELECT name, config FROM managed ORDER BY name")) ?? []).compactMap { row in
            row[1].text.flatMap { decode($0, row[0].text ?? "?") }
        }
    }

    /// Whether any domain is defined (one cheap query).
    var hasManaged: Bool { !((try? sql("SELECT 1 FROM managed LIMIT 1")) ?? []).isEmpty }

    private func decode(_ json: String, _ name: String) -> DomainConfiguration? {
        decodeCached(json, fileName: "definition of domain \(name)")
    }

    /// Stores a definition, unless its name or uuid is taken: by another
    /// definition, or by a domain this toolstack runs or is creating (the
    /// check and the row in one transaction, so of two processes defining
    /// one name at once, one wins).
    func define(_ config: DomainConfiguration, domainExists: (UInt32) -> Bool) throws(ToolstackError) {
        let name = config.name_label
        try write { () throws(ToolstackError) in
            if try managedUUID(named: name) != nil { throw .nameDefined(name, domid: nil) }
            if let other = try sql("SELECT name FROM managed WHERE uuid = ?", .text(config.uuid.description)).first?[0].text {
                throw .invalid("a domain with uuid \(config.uuid) is already defined, as '\(other)'")
            }
            if let row = try sql("SELECT domid FROM name WHERE name = ?", .text(name)).first {
                if let holder = row[0].int.map({ UInt32(truncatingIfNeeded: $0) }) {
                    if domainExists(holder) { throw .nameDefined(name, domid: holder) }
                } else if try sql("SELECT pid, started FROM journal WHERE name = ?", .text(name)).contains(where: { row in
                    ProcessIdentity.isAlive(pid: Int32(truncatingIfNeeded: row[0].int ?? 0), started: row[1].int ?? -1)
                }) {
                    throw .nameDefined(name, domid: nil)
                }
            }
            try sql("INSERT INTO managed(uuid, name, config) VALUES(?, ?, ?)",
                    .text(config.uuid.description), .text(name), .text(config.jsonText()))
        }
    }

    /// Forgets the definition named `name` unless `running` says its domain
    /// runs (or a start of it is under way); gives what it was.
    func undefine(named name: String, running: (DomainUUID) throws(ToolstackError) -> Bool) throws(ToolstackError) -> DomainConfiguration {
        try write { () throws(ToolstackError) -> DomainConfiguration in
            guard let config = managedConfig(named: name) else { throw .noSuchDomain(name) }
            let starting = try sql("SELECT pid, started FROM journal WHERE name = ?", .text(name)).contains { row in
                ProcessIdentity.isAlive(pid: Int32(truncatingIfNeeded: row[0].int ?? 0), started: row[1].int ?? -1)
            }
            let runs = try running(config.uuid)
            // xend's domain_delete (XendDomain.py): VMBadState("Domain is not halted.").
            if starting || runs { throw .badPowerState("Domain is not halted.") }
            try sql("DELETE FROM managed WHERE name = ?", .text(name))
            return config
        }
    }

    /// A managed domain renamed while it runs keeps its new name.
    func renameManaged(_ uuid: DomainUUID, to newName: String) throws(ToolstackError) {
        guard let json = try sql("SELECT config FROM managed WHERE uuid = ?", .text(uuid.description)).first?[0].text,
              var config = decode(json, newName) else { return }
        config.name_label = newName
        try sql("UPDATE managed SET name = ?, config = ? WHERE uuid = ?",
                .text(newName), .text(config.jsonText()), .text(uuid.description))
    }
}
