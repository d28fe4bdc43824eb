import DomainConfig
import EmbeddedHost
import SwxlSystem
import Toolstack

/// The XenAPI surface (docs/api.md): sessions, the classes and their
/// methods, tasks and events, over the same toolstack the command line
/// drives. The transport hands it each call (``call(_:_:context:)``); every
/// call runs on a thread of its own, so a blocking one (event.from, a clean
/// shutdown waited for) holds no thread of Swift's cooperative pool, and
/// the toolstack (not thread-safe) is used by one call at a time.
public final class XenAPISurface: XenAPIDispatching, @unchecked Sendable {
    let host: ToolstackHost
    var toolstack: Toolstack { host.toolstack }
    /// What `host.get_software_version` says as `product_version` (swxl's version).
    let productVersion: String
    /// Held around every use of the toolstack.
    let toolstackLock = PlainLock()
    var methods: [String: XenAPIMethod] = [:]
    let sessions = Sessions()
    let tasks = Tasks()
    var events: EventHub!
    /// VM references seen, to their uuids.
    let vmRefs = Locked<[String: String]>([:])
    /// The names of the halted VMs last seen, by uuid (their definitions are looked up by name).
    let vmNames = Locked<[String: String]>([:])
    /// This host's and its pool's uuids: made once, kept in `<state>/xapi`.
    let hostUUID: String
    let poolUUID: String
    /// The VMs' other_config and dynamic_min (what the domain model has no place for).
    let extras: VMExtras

    /// The surface over `host`'s toolstack. Starts the event hub's watch of
    /// xenstore unless `watchStore` is false (tests of records alone).
    public convenience init(host: ToolstackHost, productVersion: String = "0.1.0", watchStore: Bool = true) {
        self.init(host: host, productVersion: productVersion, watchStore: watchStore, eventLooks: EventHub.Looks())
    }

    /// `eventLooks`: how often the event hub looks on a timer (tests turn them off).
    init(host: ToolstackHost, productVersion: String, watchStore: Bool, eventLooks: EventHub.Looks) {
        self.host = host
        self.productVersion = productVersion
        let dir = host.paths.stateDir + "/xapi"
        hostUUID = Self.persistentUUID(dir + "/host-uuid")
        poolUUID = Self.persistentUUID(dir + "/pool-uuid")
        extras = VMExtras(path: dir + "/vm-extras.json")
        events = EventHub(surface: self, looks: eventLooks)
        registerSession()
        registerHostAndPool()
        registerVM()
        registerVMLifecycle()
        registerDevices()
        registerTasks()
        registerEvents()
        if watchStore { events.startWatching(storeSocket: host.storeSocket) }
    }

    /// Stops the event hub's watcher (the server is going away).
    public func stop() { events.stop() }

    /// A uuid kept in `path`, made (and the directory with it) the first time.
    static func persistentUUID(_ path: String) -> String {
        if let text = FileIO.read(path)?.split(separator: "\n").first.map(String.init), DomainUUID(text) != nil {
            return text
        }
        let uuid = DomainUUID.random().description
        try? FileIO.makeDirectories(String(path[..<path.lastIndex(of: "/")!]), mode: 0o700)
        try? FileIO.writeAtomically(path, uuid + "\n", mode: 0o600)
        return uuid
    }

    // MARK: calls

    public func call(_ method: String, _ params: [XenAPIValue], context: XenAPICallContext) async -> XenAPIResult {
        await withCheckedContinuation { (continuation: CheckedContinuation<XenAPIResult, Never>) in
            DetachedThread.start { continuation.resume(returning: self.callSynchronously(method, params, context: context)) }
        }
    }

    /// The call on the calling thread (tests and the benchmark; the
    /// transport uses ``call(_:_:context:)``).
    public func callSynchronously(_ method: String, _ params: [XenAPIValue], context: XenAPICallContext) -> XenAPIResult {
        do {
            return .success(try dispatch(method, params, context: context))
        } catch {
            return .failure(error.description)
        }
    }

    func dispatch(_ sent: String, _ params: [XenAPIValue], context: XenAPICallContext) throws(XenAPIError) -> XenAPIValue {
        var name = sent
        let isAsync = name.hasPrefix("Async.") || name.hasPrefix("Async_")
        if isAsync { name.removeFirst(6) }
        name = Self.canonical(name)
        guard let method = methods[name], !isAsync || method.asyncAllowed else { throw .methodUnknown(sent) }
        let received = params.count
        let taken = received - (method.session ? 1 : 0)
        guard taken >= 0, method.arities.contains(taken) else {
            throw .countMismatch(name, expected: method.params.count + (method.session ? 1 : 0), received: received)
        }
        var sessionRef = ""
        if method.session {
            guard case .string(let ref) = params[0] else { throw .fieldType("session_id") }
            guard sessions.touch(ref) else { throw .sessionInvalid(ref) }
            sessionRef = ref
        }
        var call = Call(args: Arguments(method: name, values: Array(params.dropFirst(method.session ? 1 : 0))),
                        context: context, session: sessionRef)
        if isAsync {
            let task = tasks.create(name: "Async." + name, session: sessionRef, hostRef: hostRef)
            call.task = task
            DetachedThread.start { [self, call] in
                let result: Result<XenAPIValue, XenAPIError>
                do throws(XenAPIError) { result = .success(try run(method, call)) } catch { result = .failure(error) }
                tasks.finish(task, result)
                events.taskChanged(task)
            }
            events.taskChanged(task)
            return .string(task)
        }
        return try run(method, call)
    }

    private func run(_ method: XenAPIMethod, _ call: Call) throws(XenAPIError) -> XenAPIValue {
        let value: XenAPIValue
        switch method.locking {
        case .toolstack: value = try exclusive(call) { () throws(XenAPIError) in try method.body(call) }
        case .none: value = try method.body(call)
        }
        if method.changes {
            // The VM the call named, and whatever the hypervisor and the definitions now say.
            var uuids = Set<String>()
            if case .string(let ref)? = call.args.values.first, let uuid = vmRefs.withLock({ $0[ref] }) { uuids.insert(uuid) }
            events.poke(uuids)
        }
        return value
    }

    /// Runs `body` holding the toolstack's lock. An Async call's task may be
    /// cancelled until the lock is its own (TASK_CANCELLED, nothing done);
    /// from then on it is not interrupted.
    func exclusive<R>(_ call: Call, _ body: () throws(XenAPIError) -> R) throws(XenAPIError) -> R {
        guard let task = call.task else { return try toolstackLock.withLock { () throws(XenAPIError) in try body() } }
        let result = try toolstackLock.withLock(abandoningWhen: { tasks.isCancelling(task) }) { () throws(XenAPIError) -> R in
            guard tasks.enterUncancellable(task) else { throw .taskCancelled(task) }
            return try body()
        }
        guard let result else { throw .taskCancelled(task) }
        return result
    }

    /// `VM_get_record` → `VM.get_record`; names with a dot are kept as sent.
    static func canonical(_ name: String) -> String {
        if name.contains(".") { return name }
        for cls in classesLongestFirst where name.hasPrefix(cls + "_") {
            return cls + "." + name.dropFirst(cls.count + 1)
        }
        return name
    }

    static let classes = ["session", "pool", "host", "host_metrics", "VM", "VM_metrics", "VM_guest_metrics",
                          "VBD", "VDI", "SR", "VIF", "network", "console", "task", "event"]
    static let classesLongestFirst = classes.sorted { $0.count > $1.count }

    /// Adds a method. `params` names the parameters after the session;
    /// `alsoTaking` lists other counts it accepts (XAPI's optional ones).
    func register(_ name: String, _ params: [String], alsoTaking: [Int] = [], session: Bool = true,
                  async: Bool = true, locking: XenAPIMethod.Locking = .toolstack, changes: Bool = false,
                  _ body: @escaping (Call) throws(XenAPIError) -> XenAPIValue) {
        methods[name] = XenAPIMethod(params: params, arities: Set([params.count] + alsoTaking), session: session,
                                     asyncAllowed: async, locking: locking, changes: changes, body: body)
    }

    /// The method names this surface answers (docs and tests).
    public var methodNames: [String] { methods.keys.sorted() }

    var hostRef: String { ObjectIDs.ref("host", hostUUID) }
    var poolRef: String { ObjectIDs.ref("pool", poolUUID) }
}

struct XenAPIMethod: @unchecked Sendable {
    enum Locking {
        /// Runs holding the toolstack's lock.
        case toolstack
        /// Takes the lock itself, when and as long as it needs it.
        case none
    }
    var params: [String]
    var arities: Set<Int>
    var session: Bool
    var asyncAllowed: Bool
    var locking: Locking
    /// Whether it may change what the records show (the event hub then looks at once).
    var changes: Bool
    var body: (Call) throws(XenAPIError) -> XenAPIValue
}

struct Call: Sendable {
    let args: Arguments
    let context: XenAPICallContext
    /// The caller's session reference ("" for login).
    let session: String
    /// The task of an `Async.` call.
    var task: String? = nil
}
