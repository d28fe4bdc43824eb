import DomainConfig

/// The tasks of `Async.*` calls, in the server's memory, each its
/// session's: gone when it is destroyed or its session logs out.
final class Tasks: @unchecked Sendable {
    struct Task {
        var uuid: String
        var name: String
        var session: String
        var host: String
        var created: UInt64
        var finished: UInt64?
        /// pending, success, failure, cancelling, cancelled (XAPI's task_status_type).
        var status: String
        var result: XenAPIValue?
        var error: [String]
        /// Whether a cancel would be honoured now: while the call waits for
        /// the toolstack, or for a guest (a clean shutdown's wait).
        var cancellable: Bool
    }

    private let lock = PlainLock()
    private var byRef: [String: Task] = [:]

    func create(name: String, session: String, hostRef: String) -> String {
        let ref = ObjectIDs.randomRef()
        let task = Task(uuid: DomainUUID.random().description, name: name, session: session, host: hostRef,
                        created: SystemClockSeconds.now(), finished: nil, status: "pending", result: nil, error: [],
                        cancellable: true)
        lock.withLock { byRef[ref] = task }
        return ref
    }

    /// Records how the call ended: `cancelled` if it stopped at a cancel
    /// point, else as it ended (a cancel asked for while the call was past
    /// its cancel points does not undo what it did).
    func finish(_ ref: String, _ result: Result<XenAPIValue, XenAPIError>) {
        lock.withLock {
            guard byRef[ref] != nil else { return }
            byRef[ref]!.finished = SystemClockSeconds.now()
            byRef[ref]!.cancellable = false
            switch result {
            case .success(let value):
                byRef[ref]!.status = "success"
                byRef[ref]!.result = value
            case .failure(let error):
                byRef[ref]!.status = error == .taskCancelled(ref) ? "cancelled" : "failure"
                byRef[ref]!.error = error.description
            }
        }
    }

    enum CancelOutcome: Equatable {
        case cancelling
        /// Finished, or in a part that is not interrupted: the status.
        case refused(String)
    }

    /// Asks for the task's cancel: honoured at its call's next cancel point.
    func requestCancel(_ ref: String) -> CancelOutcome? {
        lock.withLock {
            guard let task = byRef[ref] else { return nil }
            if task.status == "cancelling" { return .cancelling }
            guard task.status == "pending", task.cancellable else { return .refused(task.status) }
            byRef[ref]!.status = "cancelling"
            return .cancelling
        }
    }

    func isCancelling(_ ref: String) -> Bool { lock.withLock { byRef[ref]?.status == "cancelling" } }

    /// Enters a part of the call that is not interrupted; false if a cancel came first.
    func enterUncancellable(_ ref: String) -> Bool {
        lock.withLock {
            guard byRef[ref]?.status != "cancelling" else { return false }
            byRef[ref]?.cancellable = false
            return true
        }
    }

    /// The call waits again where it may be cancelled.
    func leaveUncancellable(_ ref: String) { lock.withLock { byRef[ref]?.cancellable = true } }

    func task(_ ref: String) -> Task? { lock.withLock { byRef[ref] } }
    func all() -> [(ref: String, task: Task)] { lock.withLock { byRef.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 } } }
    @discardableResult
    func update(_ ref: String, _ body: (inout Task) -> Void) -> Task? {
        lock.withLock {
            guard byRef[ref] != nil else { return nil }
            body(&byRef[ref]!)
            return byRef[ref]
        }
    }
    func remove(_ ref: String) -> Task? { lock.withLock { byRef.removeValue(forKey: ref) } }
    func removeAll(session: String) { lock.withLock { byRef = byRef.filter { $0.value.session != session } } }
}

extension XenAPISurface {
    static let taskFields = [
        "uuid", "name_label", "name_description", "allowed_operations", "current_operations", "created", "finished",
        "status", "resident_on", "progress", "type", "result", "error_info", "other_config", "subtask_of",
        "subtasks", "backtrace",
    ]

    /// XAPI's task result: the call's value as XML-RPC `<value>` text (what
    /// XAPI stores); for a reference, `<value>OpaqueRef:...</value>`.
    static func resultText(_ value: XenAPIValue?) -> String {
        switch value {
        case .string(let s)?: s.isEmpty ? "" : "<value>\(escape(s))</value>"
        case nil: ""
        case let other?: "<value>\(escape(plain(other)))</value>"
        }
    }

    private static func plain(_ value: XenAPIValue) -> String {
        switch value {
        case .string(let s), .dateTime(let s): s
        case .int(let i): String(i)
        case .bool(let b): b ? "true" : "false"
        case .double(let d): String(d)
        case .array(let a): a.map(plain).joined(separator: ",")
        case .struct(let m): m.keys.sorted().map { "\($0)=\(plain(m[$0]!))" }.joined(separator: ",")
        case .null: ""
        }
    }

    private static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.append(c)
            }
        }
        return out
    }

    func taskRecord(_ t: Tasks.Task) -> [String: XenAPIValue] {
        let done = t.status != "pending" && t.status != "cancelling"
        return [
            "uuid": .str(t.uuid), "name_label": .str(t.name), "name_description": .str(""),
            "allowed_operations": .strings(t.status == "pending" && t.cancellable ? ["cancel"] : []),
            "current_operations": t.status == "cancelling" ? .stringMap([ObjectIDs.ref("task_operation", "cancel/" + t.uuid): "cancel"]) : .emptyMap,
            "created": .date(unixSeconds: t.created), "finished": t.finished.map { .date(unixSeconds: $0) } ?? .epoch,
            "status": .str(t.status), "resident_on": .str(t.host), "progress": .double(done ? 1 : 0),
            "type": .str(""), "result": .str(Self.resultText(t.result)), "error_info": .strings(t.error),
            "other_config": .emptyMap, "subtask_of": .nullRef, "subtasks": .emptyList, "backtrace": .str("()"),
        ]
    }

    func registerTasks() {
        func task(_ call: Call) throws(XenAPIError) -> (String, Tasks.Task) {
            let ref = try call.args.string(0, "task")
            guard let t = tasks.task(ref) else { throw .handleInvalid("task", ref) }
            return (ref, t)
        }
        registerClass(ClassSpec(name: "task", fields: Self.taskFields, all: { [self] () throws(XenAPIError) in
            tasks.all().map { ($0.ref, taskRecord($0.task)) }
        }, one: { [self] ref throws(XenAPIError) in tasks.task(ref).map(taskRecord) }))
        // The task's own calls need not wait for the toolstack.
        for name in Self.taskFields.map({ "task.get_" + $0 }) + ["task.get_record", "task.get_all", "task.get_all_records", "task.get_by_uuid", "task.get_by_name_label"] {
            methods[name]?.locking = .none
        }
        register("task.get_result", ["task"], async: false, locking: .none) { call throws(XenAPIError) in
            .str(Self.resultText(try task(call).1.result))
        }
        register("task.destroy", ["task"], async: false, locking: .none) { [self] call throws(XenAPIError) in
            let (ref, _) = try task(call)
            _ = tasks.remove(ref)
            events.taskChanged(ref, deleted: true)
            return .str("")
        }
        // XAPI's cancel: honoured at the call's next cancel point (while it
        // waits for the toolstack, or for a guest to shut down), where the
        // task ends `cancelled` with TASK_CANCELLED; a call past them (the
        // toolstack's all-or-nothing operations) is not interrupted.
        register("task.cancel", ["task"], async: false, locking: .none) { [self] call throws(XenAPIError) in
            let (ref, _) = try task(call)
            switch tasks.requestCancel(ref) {
            case nil: throw .handleInvalid("task", ref)
            case .cancelling?:
                events.taskChanged(ref)
                return .str("")
            case .refused(let status)?:
                throw .notAllowed(status == "pending"
                    ? "task \(ref) cannot be cancelled now: its operation has started and is not interrupted"
                    : "task \(ref) has finished (\(status))")
            }
        }
    }
}
