#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import Toolstack
import XenStoreProtocol

/// XenAPI events: what changed in the VM and task records, in order.
///
/// The hub keeps the VM records it last saw and, whenever something may
/// have changed, computes them again and logs an `add`, `mod` or `del`
/// event for each that differs. It looks after every call of the surface
/// that changes something, when xenstore says a domain was introduced or
/// released or a domain's control, memory or name nodes changed (a watch
/// on its own connection: creates, shutdowns and destroys by swxl, by
/// another toolstack or by the guest), and at least every half second
/// (what xenstore does not show, a pause by another process). Tasks log
/// their own events.
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
    private var stopping = false
    private var watcherRunning = false
    /// event.register's subscriptions: session → (classes, the last id it has seen).
    private var subscriptions: [String: (classes: Set<String>, seen: Int64)] = [:]

    /// Events kept; a token older than the oldest is EVENTS_LOST.
    static let capacity = 20_000
    static let pollSeconds = 0.5

    init(surface: XenAPISurface) { self.surface = surface }

    // MARK: what feeds it

    /// Looks at the VM records now (after a call that changed something).
    func poke() { refresh() }

    /// Computes the VM records again and logs what differs.
    func refresh() {
        let records: [String: [String: XenAPIValue]]
        do {
            records = try surface.toolstackLock.withLock { () throws(XenAPIError) in
                var out: [String: [String: XenAPIValue]] = [:]
                for view in try surface.vmViews() { out[view.ref] = surface.vmRecord(view) }
                return out
            }
        } catch {
            return
        }
        condition.withLock {
            let before = vmRecords
            vmRecords = records
            guard primed else {
                primed = true
                return
            }
            var added = false
            for (ref, record) in records.sorted(by: { $0.key < $1.key }) {
                if let old = before[ref] {
                    if old != record { append("vm", "mod", ref, .struct(record)); added = true }
                } else {
                    append("vm", "add", ref, .struct(record)); added = true
                }
            }
            for (ref, record) in before.sorted(by: { $0.key < $1.key }) where records[ref] == nil {
                append("vm", "del", ref, .struct(record)); added = true
            }
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

    /// The xenstore paths whose change may change a VM record.
    static func matters(_ path: String) -> Bool {
        if path.hasPrefix("@") { return true }
        let parts = path.split(separator: "/")
        // /local/domain/N/{control,memory,name}...
        return parts.count >= 4 && parts[0] == "local" && parts[1] == "domain"
            && (parts[3] == "control" || parts[3] == "memory" || parts[3] == "name")
    }

    func startWatching(storeSocket: String) {
        refresh()
        condition.withLock { watcherRunning = true }
        DetachedThread.start { [self] in
            var connection: XenStoreAccess?
            var lastRefresh = SystemClock.monotonicNanoseconds()
            while !condition.withLock({ stopping }) {
                if connection == nil {
                    do {
                        let fresh = try XenStoreAccess(socketPath: storeSocket)
                        try fresh.watch(XSPath.introduceDomain, token: "swxl-api")
                        try fresh.watch(XSPath.releaseDomain, token: "swxl-api")
                        try fresh.watch("/local/domain", token: "swxl-api")
                        connection = fresh
                        // Watches fire once when set: taken below.
                    } catch {
                        usleep(200_000)
                    }
                }
                var changed = false
                if let c = connection {
                    do {
                        if let event = try c.nextEvent(timeoutMs: Int32(Self.pollSeconds * 1000)) {
                            changed = Self.matters(event.path)
                            // Take what came with it (a create writes many nodes).
                            while let more = try c.nextEvent(timeoutMs: changed ? 2 : 0) {
                                changed = changed || Self.matters(more.path)
                            }
                        }
                    } catch {
                        connection = nil
                    }
                }
                let now = SystemClock.monotonicNanoseconds()
                if changed || now - lastRefresh >= UInt64(Self.pollSeconds * 1e9) {
                    refresh()
                    lastRefresh = SystemClock.monotonicNanoseconds()
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
            refresh()
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
