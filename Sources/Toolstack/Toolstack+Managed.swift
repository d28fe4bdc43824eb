import DomainConfig
import SwxlSystem

/// Managed domains, as xend's `xm new`, `start` and `delete`: a domain
/// defined (its config read, resolved and stored in the toolstack's state)
/// without running; started from its definition through ``create(_:paused:)``,
/// always with the same uuid; halted again when it is destroyed or shuts down
/// (its on_* action `destroy` ends the running domain, not the definition);
/// forgotten only by ``undefine(named:)``.
extension Toolstack {
    /// Defines a domain from `config`: resolved as create resolves it (the
    /// uuid and MACs fixed from now on), its disks checked as far as they
    /// can be without the host (a backend swxl cannot serve), and stored.
    /// Refuses a name or uuid that a defined domain or a domain on this host
    /// has. Gives the definition as stored.
    @discardableResult
    public func define(_ config: DomainConfiguration) throws(ToolstackError) -> DomainConfiguration {
        let config = try config.resolved()
        do {
            for (index, disk) in config.disks.enumerated() { try DiskBackendChoice.checkServed(disk, index: index) }
        } catch { throw .hypervisor(error) }
        let name = config.name_label
        if name == "Domain-0" { throw .nameDefined(name, domid: 0) }
        // Domains this toolstack did not create (xl's) have their names in xenstore only.
        for domain in try list() {
            if domain.name == name { throw .nameDefined(name, domid: domain.info.domid) }
            if domain.info.uuid == config.uuid {
                throw .invalid("uuid \(config.uuid) is the uuid of domain \(domain.info.domid) ('\(domain.name)')")
            }
        }
        try state.define(config) { [self] in (try? hypervisor.domainInfo(domid: $0)) ?? nil != nil }
        return config
    }

    /// The definition of the managed domain `name`, running or halted.
    public func managedDomain(named name: String) -> DomainConfiguration? { state.managedConfig(named: name) }

    /// The definition of the managed domain `name` kept in the state dir
    /// `stateDir`, read without a host (no hypervisor, no xenstore); nil
    /// when there is none, or no state yet (nothing is created).
    public static func managedDomain(named name: String, stateDir: String) -> DomainConfiguration? {
        let dir = stateDir + "/toolstack"
        guard FileIO.exists(dir + "/toolstack.db") else { return nil }
        return ToolstackState(dir: dir).managedConfig(named: name)
    }

    /// Every managed domain's name by its uuid (one query, no config
    /// decoded: for a caller that looks often, as the XenAPI's events do).
    public func managedDomainNames() -> [DomainUUID: String] {
        guard FileIO.exists(toolstackDir + "/toolstack.db") else { return [:] }
        var out: [DomainUUID: String] = [:]
        for (uuid, name) in state.managedNames() { out[uuid] = name }
        return out
    }

    /// Every managed domain's definition, by name.
    public func managedDomains() -> [DomainConfiguration] { state.managedConfigs() }

    /// The managed domains that are not running: those whose uuid no domain
    /// in `running` has. Nothing is opened when no state database exists yet.
    public func haltedDomains(running: [DomainSummary]) -> [DomainConfiguration] {
        guard FileIO.exists(toolstackDir + "/toolstack.db"), state.hasManaged else { return [] }
        let uuids = Set(running.map(\.info.uuid))
        return state.managedConfigs().filter { !uuids.contains($0.uuid) }
    }

    /// Starts the managed domain `name` from its definition (create's steps,
    /// all or nothing), paused if asked. Refuses one that runs, in xend's
    /// words ("Domain is already running").
    public func start(named name: String, paused: Bool = false) throws(ToolstackError) -> UInt32 {
        guard let config = state.managedConfig(named: name) else { throw .noSuchDomain(name) }
        if try isRunning(config.uuid) { throw .badPowerState("Domain is already running") }
        return try create(config, paused: paused, image: nil, managed: true)
    }

    /// Forgets the managed domain `name`, which must be halted (xend's
    /// "Domain is not halted." otherwise). Gives its definition.
    @discardableResult
    public func undefine(named name: String) throws(ToolstackError) -> DomainConfiguration {
        try state.undefine(named: name) { [self] (uuid) throws(ToolstackError) in try isRunning(uuid) }
    }

    /// Whether a domain with `uuid` exists on this host.
    func isRunning(_ uuid: DomainUUID) throws(ToolstackError) -> Bool {
        do { return try hypervisor.listDomains().contains { $0.uuid == uuid } } catch { throw .hypervisor(error) }
    }
}
