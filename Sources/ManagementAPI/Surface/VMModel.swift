import DomainConfig
import SwxlSystem
import Toolstack
import XenStoreProtocol

/// One VM as the surface sees it: a domain on this host (swxl's, with its
/// record; Domain-0; or another toolstack's, known only from the
/// hypervisor and xenstore), or a managed domain's definition while it is
/// not running. Every VM record and every device record comes from this.
struct VMView {
    var uuid: String
    var name: String
    var info: DomainInfo?
    /// The resolved config: the domain's record, else its managed definition.
    var config: DomainConfiguration?
    var managed: Bool
    /// What xenstore says of a running domain (KiB figures as xenstore keeps them).
    var targetKiB: UInt64?
    var staticMaxKiB: UInt64?
    var consoleTTY: String?
    var startTime: Double?
    /// A defined VM not running whose image VM.suspend keeps.
    var suspended = false

    var domid: UInt32? { info?.domid }
    var ref: String { ObjectIDs.ref("VM", uuid) }
    var isControlDomain: Bool { info?.domid == 0 }

    /// XAPI's four power states. A domain that has shut down (not for a
    /// suspend) or is dying is on its way out: Halted.
    var powerState: String {
        guard let info else { return suspended ? "Suspended" : "Halted" }
        if info.shutdown && info.shutdownReason == .suspend { return "Suspended" }
        if info.dying || info.shutdown { return "Halted" }
        if info.paused { return "Paused" }
        return "Running"
    }
}

extension XenAPISurface {
    /// xenstore keys read for each running domain, relative to its path.
    static let domainKeys = ["memory/target", "memory/static-max", "console/tty"]

    /// Every VM: the domains by domid, then the managed domains that are
    /// not running, by name. Called with the toolstack's lock held.
    /// `memoryOnly`: of xenstore, only what VM records show (the memory
    /// keys; not the console's tty or the start time, which devices and
    /// metrics show): listing every VM record reads half as much.
    func vmViews(memoryOnly: Bool = false) throws(XenAPIError) -> [VMView] {
        let running: [DomainSummary]
        do { running = try toolstack.list() } catch { throw .toolstack(error) }
        var managed: [String: DomainConfiguration] = [:]
        for config in toolstack.managedDomains() { managed[config.uuid.description] = config }
        var views = try domainViews(running, managed: managed, memoryOnly: memoryOnly)
        let runningUUIDs = Set(running.map { $0.info.uuid.description })
        for config in managed.values.sorted(by: { $0.name_label < $1.name_label })
        where !runningUUIDs.contains(config.uuid.description) {
            views.append(VMView(uuid: config.uuid.description, name: config.name_label, info: nil, config: config, managed: true,
                                suspended: FileIO.exists(suspendImage(config.uuid.description))))
        }
        vmRefs.withLock { refs in
            for view in views { refs[view.ref] = view.uuid }
        }
        vmNames.withLock { names in
            names = [:]
            for view in views where view.info == nil { names[view.uuid] = view.name }
        }
        extras.keepOnly(Set(views.map(\.uuid)))
        return views
    }

    private func domainViews(_ running: [DomainSummary], managed: [String: DomainConfiguration],
                             memoryOnly: Bool = false) throws(XenAPIError) -> [VMView] {
        let keys = memoryOnly ? Array(Self.domainKeys.prefix(2)) : Self.domainKeys
        var paths: [String] = []
        paths.reserveCapacity(running.count * (keys.count + 1))
        for domain in running {
            let dom = XSPath.domainPath(domain.info.domid)
            for key in keys { paths.append(dom + "/" + key) }
            if !memoryOnly { paths.append("/vm/\(domain.info.uuid)/start_time") }
        }
        let read: [String?]
        do { read = try toolstack.store.readMany(paths) } catch { throw .internalError(error.description) }
        // Laid out as the full set of keys, what was not read nil.
        let values = memoryOnly
            ? (0..<running.count).flatMap { [read[$0 * 2], read[$0 * 2 + 1], nil, nil] as [String?] } : read
        let per = Self.domainKeys.count + 1
        // Many: every record in one query (each decoded once while it does not change).
        let records = running.count > 8 ? toolstack.records() : nil
        return running.enumerated().map { index, domain in
            let v = Array(values[index * per ..< (index + 1) * per])
            let uuid = domain.info.uuid.description
            let record = domain.info.domid == 0 ? nil : (records.map { $0[domain.info.domid] } ?? toolstack.record(domain.info.domid))
            return VMView(uuid: uuid, name: domain.name, info: domain.info, config: record ?? managed[uuid],
                          managed: managed[uuid] != nil, targetKiB: v[0].flatMap { UInt64($0) },
                          staticMaxKiB: v[1].flatMap { UInt64($0) }, consoleTTY: v[2], startTime: v[3].flatMap { Double($0) })
        }
    }

    /// The VM `ref` names; HANDLE_INVALID when none. Lock held.
    func vmView(_ ref: String) throws(XenAPIError) -> VMView {
        if let uuid = vmRefs.withLock({ $0[ref] }), let view = try vmView(uuid: uuid) { return view }
        // Not seen yet (or gone): look at everything once.
        if let view = try vmViews().first(where: { $0.ref == ref }) { return view }
        throw .handleInvalid("VM", ref)
    }

    /// The VMs with `uuids` that exist, looked up together (the domains
    /// listed once, the definitions read once): what the event hub
    /// computes again when many changed at once. Lock held.
    func vmViews(uuids: Set<String>) throws(XenAPIError) -> [String: VMView] {
        if uuids.count == 1, let uuid = uuids.first { return try vmView(uuid: uuid).map { [uuid: $0] } ?? [:] }
        let domains: [DomainInfo]
        do { domains = try toolstack.hypervisor.listDomains() } catch { throw .internalError(error.description) }
        let wanted = domains.filter { uuids.contains($0.uuid.description) }
        let names: [String?]
        do { names = try toolstack.store.readMany(wanted.map { XSPath.domainPath($0.domid) + "/name" }) } catch {
            throw .internalError(error.description)
        }
        let summaries = zip(wanted, names).map { info, name in
            DomainSummary(info: info, name: name ?? (info.domid == 0 ? "Domain-0" : "(null)"))
        }
        var managed: [String: DomainConfiguration] = [:]
        for config in toolstack.managedDomains() where uuids.contains(config.uuid.description) {
            managed[config.uuid.description] = config
        }
        var out: [String: VMView] = [:]
        for view in try domainViews(summaries, managed: managed, memoryOnly: true) { out[view.uuid] = view }
        for (uuid, config) in managed where out[uuid] == nil {
            out[uuid] = VMView(uuid: uuid, name: config.name_label, info: nil, config: config, managed: true,
                               suspended: FileIO.exists(suspendImage(uuid)))
        }
        return out
    }

    /// The VM with `uuid`, if there is one. Lock held.
    func vmView(uuid: String) throws(XenAPIError) -> VMView? {
        // The domain with that uuid, asked for alone (not every domain listed).
        var running: DomainInfo?
        if let parsed = DomainUUID(uuid) {
            do {
                if let domid = try toolstack.hypervisor.domainIDs(withUUID: parsed).first {
                    running = try toolstack.hypervisor.domainInfo(domid: domid)
                }
            } catch { throw .internalError(error.description) }
        }
        if let info = running, info.uuid.description == uuid {
            let summary: DomainSummary
            do { summary = try toolstack.info(info.domid) } catch { return nil }
            var managed = toolstack.managedDomain(named: summary.name)
            if managed?.uuid.description != uuid { managed = nil }
            return try domainViews([summary], managed: managed.map { [uuid: $0] } ?? [:]).first
        }
        // A halted VM: its definition by the name it had (one row), else by looking at them all.
        var found = vmNames.withLock { $0[uuid] }.flatMap { toolstack.managedDomain(named: $0) }
        if found?.uuid.description != uuid { found = toolstack.managedDomains().first { $0.uuid.description == uuid } }
        guard let config = found else { return nil }
        return VMView(uuid: uuid, name: config.name_label, info: nil, config: config, managed: true,
                      suspended: FileIO.exists(suspendImage(uuid)))
    }
}
