#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import Toolstack
import XenStoreProtocol

/// XenAPI events: what changed in the VM and task records, in order.
///
/// The hub keeps the VM records it last saw and, whenever something may
/// have changed, computes again the records of the VMs that may have and
/// logs an `add`, `mod` or `del` event for each that differs. It learns of
/// changes from the surface's own calls that change something, and from
/// xenstore watches on its own connection: `@introduceDomain` and
/// `@releaseDomain` (domains created, shut down, destroyed), a domain's
/// control, memory, name, device and console nodes, and the run state the
/// toolstack announces after a pause or an unpause (``Toolstack/runStatePath(domid:)``,
/// which `swxl create` writes when it starts its domain): so by swxl in
/// any process, by another toolstack or by the guest. Two looks on a
/// timer catch what nothing announces: the hypervisor's list and the
/// definitions every half second (a pause by `xl`, a definition changed
/// by another process), and every record computed again, a slice at a
/// time, every five seconds. Tasks log their own events.
final class EventHub: @unchecked Sendable {
    struct Event {
        var id: Int64
        var timestamp: Double
        /// XAPI's lower-case class name (`vm`, `task`).
        var cls: String
        var operation: String
        var ref: String
        var snapshot: XenAPIValue
    }

    unowned let surface: XenAPISurface
    private let condition = Condition()
    // Guarded by `condition`:
    private var log: [Event] = []
    private var nextID: Int64 = 1
    private var vmRecords: [String: [String: XenAPIValue]] = [:]
    private var primed = false
    private var primedNow: Bool { condition.withLock { primed } }
    private var stopping = false
    private var watcherRunning = false
    /// event.register's subscriptions: session → (classes, the last id it has seen).
    private var subscriptions: [String: (classes: Set<String>, seen: Int64)] = [:]

    /// Events kept; a token older than the oldest is EVENTS_LOST.
    static let capacity = 20_000

    /// The looks on a timer, for what no watch announces.
    struct Looks {
        /// The hypervisor's list and the definitions compared this often.
        var pollSeconds = 0.5
        /// Every VM record computed again within this (a slice at a time).
        var sweepSeconds = 5.0
        /// The records computed again at once.
        var sweepSlice = 100

        /// Between slices: a sweep of `count` records in `sweepSeconds`.
        func sweepPause(_ count: Int) -> UInt64 {
            let slices = max(1, (count + sweepSlice - 1) / sweepSlice)
            return UInt64(sweepSeconds / Double(slices) * 1e9)
        }
    }

    let looks: Looks

    init(surface: XenAPISurface, looks: Looks = Looks()) {
        self.surface = surface
        self.looks = looks
    }

    // MARK: what feeds it

    /// What the hypervisor says of a domain that a VM record shows.
    struct DomainSignature: Equatable {
        var uuid: String
        var paused, shutdown, dying: Bool
        var reason: ShutdownReason?
        init(_ info: DomainInfo) {
            uuid = info.uuid.description
            paused = info.paused
            shutdown = info.shutdown
            dying = info.dying
            reason = info.shutdownReason
        }
    }

    // Guarded by the surface's toolstack lock (only the refreshes use them):
    private var signatures: [UInt32: DomainSignature] = [:]
    private var managedNames: [String: String] = [:]

    /// Looks again after a call that changed something: what the
    /// hypervisor and the definitions say, and the VMs the call named.
    func poke(_ uuids: Set<String> = []) {
        try? surface.toolstackLock.withLock { () throws(XenAPIError) in
            var dirty = uuids
            dirty.formUnion(try diffDomains())
            dirty.formUnion(diffManaged())
            try update(dirty)
        }
    }

    /// Computes every VM record again and logs what differs.
    func refresh() {
        try? surface.toolstackLock.withLock { () throws(XenAPIError) in
            let views = try surface.vmViews(memoryOnly: true)
            var infos: [UInt32: DomainSignature] = [:]
            for view in views { if let info = view.info { infos[info.domid] = DomainSignature(info) } }
            signatures = infos
            managedNames = [:]
            for (uuid, name) in surface.toolstack.managedDomainNames() { managedNames[uuid.description] = name }
            var records: [String: [String: XenAPIValue]] = [:]
            for view in views { records[view.ref] = surface.vmRecord(view) }
            publish(records, complete: true)
        }
    }

    /// The uuids of the VMs whose domains changed since the last look. Lock held.
    private func diffDomains() throws(XenAPIError) -> Set<String> {
        let infos: [DomainInfo]
        do { infos = try surface.toolstack.hypervisor.listDomains() } catch { throw .internalError(error.description) }
        var now: [UInt32: DomainSignature] = [:]
        for info in infos { now[info.domid] = DomainSignature(info) }
        var dirty = Set<String>()
        for (domid, sig) in now where signatures[domid] != sig {
            dirty.insert(sig.uuid)
            if let old = signatures[domid] { dirty.insert(old.uuid) }
        }
        for (domid, old) in signatures where now[domid] == nil { dirty.insert(old.uuid) }
        signatures = now
        return dirty
    }

    /// The VMs defined or forgotten (or renamed) since the last look. Lock held.
    private func diffManaged() -> Set<String> {
        var now: [String: String] = [:]
        for (uuid, name) in surface.toolstack.managedDomainNames() { now[uuid.description] = name }
        var dirty = Set<String>()
        for (uuid, name) in now where managedNames[uuid] != name { dirty.insert(uuid) }
        for uuid in managedNames.keys where now[uuid] == nil { dirty.insert(uuid) }
        managedNames = now
        return dirty
    }

    /// Computes the records of the VMs `uuids` again and logs what differs. Lock held.
    private func update(_ uuids: Set<String>) throws(XenAPIError) {
        guard !uuids.isEmpty else { return }
        var records: [String: [String: XenAPIValue]] = [:]
        var gone: [String] = []
        let views = try surface.vmViews(uuids: uuids)
        for uuid in uuids {
            let ref = ObjectIDs.ref("VM", uuid)
            if let view = views[uuid] {
                surface.vmRefs.withLock { $0[ref] = uuid }
                records[ref] = surface.vmRecord(view)
            } else {
                gone.append(ref)
            }
        }
        publish(records, complete: false, gone: gone)
    }

    /// Logs an event for each record that differs from the one last seen;
    /// `complete`: `records` is every VM (those missing are gone).
    private func publish(_ records: [String: [String: XenAPIValue]], complete: Bool, gone: [String] = []) {
        condition.withLock {
            let before = vmRecords
            var added = false
            for (ref, record) in records.sorted(by: { $0.key < $1.key }) {
                vmRecords[ref] = record
                guard primed else { continue }
                if let old = before[ref] {
                    if old != record { append("vm", "mod", ref, .struct(record)); added = true }
                } else {
                    append("vm", "add", ref, .struct(record)); added = true
                }
            }
            let removed = complete ? before.keys.filter { records[$0] == nil } : gone.filter { before[$0] != nil }
            for ref in removed.sorted() {
                if primed, let record = before[ref] { append("vm", "del", ref, .struct(record)); added = true }
                vmRecords[ref] = nil
            }
            if complete { primed = true }
            if added { condition.broadcast() }
        }
    }

    /// A task was created, finished or destroyed.
    func taskChanged(_ ref: String, deleted: Bool = false) {
        let record = surface.tasks.task(ref).map { XenAPIValue.struct(surface.taskRecord($0)) } ?? .struct([:])
        condition.withLock {
            let known = log.contains { $0.cls == "task" && $0.ref == ref }
            append("task", deleted ? "del" : (known ? "mod" : "add"), ref, record)
            condition.broadcast()
        }
    }

    /// Called with the condition's lock held.
    private func append(_ cls: String, _ operation: String, _ ref: String, _ snapshot: XenAPIValue) {
        let now = Double(SystemClock.realtimeNanoseconds()) / 1e9
        log.append(Event(id: nextID, timestamp: now, cls: cls, operation: operation, ref: ref, snapshot: snapshot))
        nextID += 1
        if log.count > Self.capacity { log.removeFirst(log.count - Self.capacity) }
    }

    /// The domain a xenstore path's change may change the VM record of:
    /// `/local/domain/N/{control,memory,name,device,console}...` and the
    /// run state the toolstack announces, `/libxl/N/run-state`; nil for
    /// others. `@introduceDomain` and `@releaseDomain` are looked at apart.
    static func domain(of path: String) -> UInt32? {
        let parts = path.split(separator: "/")
        if parts.count == 3, parts[0] == "libxl", parts[2] == "run-state" { return UInt32(parts[1]) }
        guard parts.count >= 4, parts[0] == "local", parts[1] == "domain",
              ["control", "memory", "name", "device", "console"].contains(parts[3]) else { return nil }
        return UInt32(parts[2])
    }

    /// The watches: what they are set on.
    static let watchedPaths = [XSPath.introduceDomain, XSPath.releaseDomain, "/local/domain", "/libxl"]

    /// The VMs whose records the sweep computes again next, after `cursor`
    /// (a reference; "" from the start), and where it goes on from.
    private func sweepSlice(after cursor: String, count: Int) -> (uuids: Set<String>, next: String) {
        condition.withLock {
            let refs = vmRecords.keys.sorted()
            let start = refs.firstIndex { $0 > cursor } ?? refs.endIndex
            let slice = refs[start..<min(refs.endIndex, start + count)]
            var uuids = Set<String>()
            for ref in slice { if case .string(let uuid)? = vmRecords[ref]?["uuid"] { uuids.insert(uuid) } }
            return (uuids, slice.last ?? "")
        }
    }

    /// A connection of its own with the watches set; nil if xenstored cannot be reached.
    static func watchingConnection(_ storeSocket: String) -> XenStoreAccess? {
        do {
            let fresh = try XenStoreAccess(socketPath: storeSocket)
            for path in watchedPaths { try fresh.watch(path, token: "swxl-api") }
            return fresh
        } catch {
            return nil
        }
    }

    func startWatching(storeSocket: String) {
        // The watches first, then every record: a change made once this
        // returns is seen however soon it comes.
        let first = UncheckedBox(Self.watchingConnection(storeSocket))
        refresh()
        condition.withLock { watcherRunning = true }
        DetachedThread.start { [self] in
            var connection = first.value
            let clock = { SystemClock.monotonicNanoseconds() }
            var nextDiff = clock() + UInt64(looks.pollSeconds * 1e9), nextSweep = clock() + looks.sweepPause(condition.withLock { vmRecords.count })
            var cursor = ""
            while !condition.withLock({ stopping }) {
                if connection == nil {
                    connection = Self.watchingConnection(storeSocket)
                    if connection == nil { usleep(200_000) }
                }
                // Wait for a watch to fire, until the next look on the timer at the latest.
                let untilLook = Int32(clamping: (Int64(min(nextDiff, nextSweep)) - Int64(clock())) / 1_000_000)
                var domids = Set<UInt32>(), special = false
                if let c = connection {
                    do {
                        var event = try c.nextEvent(timeoutMs: max(0, min(untilLook, 100)))
                        while let e = event {
                            if e.path.hasPrefix("@") { special = true } else if let d = Self.domain(of: e.path) { domids.insert(d) }
                            event = try c.nextEvent(timeoutMs: 0)
                        }
                    } catch {
                        connection = nil
                    }
                } else {
                    usleep(UInt32(max(0, min(untilLook, 100))) * 1000)
                }
                let now = clock()
                try? surface.toolstackLock.withLock { () throws(XenAPIError) in
                    var dirty = Set(domids.compactMap { signatures[$0]?.uuid })
                    if special || now >= nextDiff || domids.contains(where: { signatures[$0] == nil }) {
                        dirty.formUnion(try diffDomains())
                        dirty.formUnion(diffManaged())
                        nextDiff = now + UInt64(looks.pollSeconds * 1e9)
                    }
                    try update(dirty)
                }
                // A slice of every record computed again: what nothing
                // announced is seen within a sweep, and no look holds the
                // toolstack for as long as every record takes.
                if now >= nextSweep {
                    let (uuids, next) = sweepSlice(after: cursor, count: looks.sweepSlice)
                    cursor = next
                    try? surface.toolstackLock.withLock { () throws(XenAPIError) in try update(uuids) }
                    nextSweep = clock() + looks.sweepPause(condition.withLock { vmRecords.count })
                }
            }
            condition.withLock {
                watcherRunning = false
                condition.broadcast()
            }
        }
    }

    func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
        // The watcher leaves within a poll.
        let deadline = SystemClock.monotonicNanoseconds() + 3_000_000_000
        condition.withLock {
            while watcherRunning && SystemClock.monotonicNanoseconds() < deadline { _ = condition.wait(until: deadline) }
        }
    }

    // MARK: what clients ask

    /// Whether `event` is one `classes` asks for: `*`, a class (`vm`), or
    /// one object (`vm/OpaqueRef:...`), case aside.
    static func wanted(_ event: Event, _ classes: Set<String>) -> Bool {
        classes.contains("*") || classes.contains(event.cls) || classes.contains(event.cls + "/" + event.ref.lowercased())
    }

    static func normalise(_ classes: [String]) -> Set<String> {
        Set(classes.map { $0.lowercased() })
    }

    func value(_ e: Event) -> XenAPIValue {
        .struct(["id": .num(e.id), "timestamp": .str(String(e.timestamp)), "class": .str(e.cls),
                 "operation": .str(e.operation), "ref": .str(e.ref), "snapshot": e.snapshot])
    }

    /// event.from: the events after `token` (none yet: wait up to
    /// `timeout` seconds for one); an empty token: every object of the
    /// classes now, as `add` events.
    func from(classes: [String], token: String, timeout: Double) throws(XenAPIError) -> XenAPIValue {
        let wanted = Self.normalise(classes)
        if token.isEmpty {
            if primedNow { poke() } else { refresh() }
            return condition.withLock {
                var events: [XenAPIValue] = []
                for (ref, record) in vmRecords.sorted(by: { $0.key < $1.key }) {
                    let e = Event(id: nextID - 1, timestamp: Double(SystemClock.realtimeNanoseconds()) / 1e9, cls: "vm",
                                  operation: "add", ref: ref, snapshot: .struct(record))
                    if Self.wanted(e, wanted) { events.append(value(e)) }
                }
                for (ref, task) in surface.tasks.all() {
                    let e = Event(id: nextID - 1, timestamp: Double(task.created), cls: "task", operation: "add", ref: ref,
                                  snapshot: .struct(surface.taskRecord(task)))
                    if Self.wanted(e, wanted) { events.append(value(e)) }
                }
                return result(events, wanted, token: nextID - 1)
            }
        }
        guard let since = Int64(token), since >= 0 else { throw XenAPIError("EVENT_FROM_TOKEN_PARSE_FAILURE", [token]) }
        let deadline = SystemClock.monotonicNanoseconds() + UInt64(max(0, min(timeout, 3600)) * 1e9)
        return try condition.withLock { () throws(XenAPIError) in
            while true {
                if let first = log.first, since < first.id - 1 { throw XenAPIError("EVENTS_LOST") }
                let events = log.filter { $0.id > since && Self.wanted($0, wanted) }
                if !events.isEmpty || stopping { return result(events.map(value), wanted, token: nextID - 1) }
                if !condition.wait(until: deadline), SystemClock.monotonicNanoseconds() >= deadline {
                    return result([], wanted, token: nextID - 1)
                }
            }
        }
    }

    /// Lock held.
    private func result(_ events: [XenAPIValue], _ wanted: Set<String>, token: Int64) -> XenAPIValue {
        var counts: [String: XenAPIValue] = [:]
        if wanted.contains("*") || wanted.contains("vm") { counts["vm"] = .num(vmRecords.count) }
        if wanted.contains("*") || wanted.contains("task") { counts["task"] = .num(surface.tasks.all().count) }
        return .struct(["events": .array(events), "valid_ref_counts": .struct(counts), "token": .str(String(token))])
    }

    // MARK: the older event.register / next

    func register(session: String, classes: [String]) {
        condition.withLock {
            var sub = subscriptions[session] ?? (classes: [], seen: nextID - 1)
            sub.classes.formUnion(Self.normalise(classes))
            subscriptions[session] = sub
        }
    }

    func unregister(session: String, classes: [String]) {
        condition.withLock {
            guard var sub = subscriptions[session] else { return }
            sub.classes.subtract(Self.normalise(classes))
            subscriptions[session] = sub.classes.isEmpty ? nil : sub
        }
    }

    /// event.next: the registered classes' events since the last call,
    /// waiting (up to `wait` seconds) for one.
    func next(session: String, wait: Double = 60) throws(XenAPIError) -> XenAPIValue {
        let deadline = SystemClock.monotonicNanoseconds() + UInt64(wait * 1e9)
        return try condition.withLock { () throws(XenAPIError) in
            while true {
                guard let sub = subscriptions[session] else { throw XenAPIError("SESSION_NOT_REGISTERED", [session]) }
                if let first = log.first, sub.seen < first.id - 1 {
                    subscriptions[session]!.seen = nextID - 1
                    throw XenAPIError("EVENTS_LOST")
                }
                let events = log.filter { $0.id > sub.seen && Self.wanted($0, sub.classes) }
                subscriptions[session]!.seen = nextID - 1
                if !events.isEmpty || stopping { return .array(events.map(value)) }
                if !condition.wait(until: deadline), SystemClock.monotonicNanoseconds() >= deadline { return .array([]) }
            }
        }
    }

    func forget(session: String) { condition.withLock { subscriptions[session] = nil } }
}

extension XenAPISurface {
    func registerEvents() {
        register("event.from", ["classes", "token", "timeout"], async: false, locking: .none) { [self] call throws(XenAPIError) in
            try events.from(classes: try call.args.stringList(0, "classes"), token: try call.args.string(1, "token"),
                            timeout: try call.args.double(2, "timeout"))
        }
        register("event.register", ["classes"], async: false, locking: .none) { [self] call throws(XenAPIError) in
            events.register(session: call.session, classes: try call.args.stringList(0, "classes"))
            return .str("")
        }
        register("event.unregister", ["classes"], async: false, locking: .none) { [self] call throws(XenAPIError) in
            events.unregister(session: call.session, classes: try call.args.stringList(0, "classes"))
            return .str("")
        }
        register("event.next", [], async: false, locking: .none) { [self] call throws(XenAPIError) in
            try events.next(session: call.session)
        }
        register("event.get_current_id", [], async: false, locking: .none) { [self] _ throws(XenAPIError) in
            .num(events.currentID)
        }
    }
}

extension EventHub {
    var currentID: Int64 { condition.withLock { nextID - 1 } }
}

/// Hands a value that is not Sendable to the one thread that uses it next.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
