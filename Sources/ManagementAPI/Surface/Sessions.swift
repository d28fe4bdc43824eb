import DomainConfig

/// The sessions logged in, in the server's memory (XAPI keeps them in its
/// database; they do not outlive the server here either way for a client,
/// which logs in again). At most ``limit``: the one idle longest goes first.
final class Sessions: @unchecked Sendable {
    struct Session {
        var uuid: String
        var user: String
        var originator: String
        var created: UInt64
        var lastActive: UInt64
    }

    static let limit = 500
    private let lock = PlainLock()
    private var byRef: [String: Session] = [:]

    func create(user: String, originator: String) -> String {
        let ref = ObjectIDs.randomRef()
        let now = SystemClockSeconds.now()
        lock.withLock {
            if byRef.count >= Self.limit, let idle = byRef.min(by: { $0.value.lastActive < $1.value.lastActive })?.key {
                byRef[idle] = nil
            }
            byRef[ref] = Session(uuid: DomainUUID.random().description, user: user, originator: originator,
                                 created: now, lastActive: now)
        }
        return ref
    }

    /// Whether `ref` is a session; marks it active.
    func touch(_ ref: String) -> Bool {
        lock.withLock {
            guard byRef[ref] != nil else { return false }
            byRef[ref]!.lastActive = SystemClockSeconds.now()
            return true
        }
    }

    func remove(_ ref: String) { lock.withLock { byRef[ref] = nil } }

    func session(_ ref: String) -> Session? { lock.withLock { byRef[ref] } }

    func all() -> [(String, Session)] { lock.withLock { byRef.map { ($0.key, $0.value) } } }
}

extension XenAPISurface {
    func registerSession() {
        register("session.login_with_password", ["uname", "pwd", "version", "originator"], alsoTaking: [2, 3],
                 session: false, async: false, locking: .none) { [self] call throws(XenAPIError) in
            let user = try call.args.string(0, "uname"), password = try call.args.string(1, "pwd")
            let originator = call.args.count > 3 ? try call.args.string(3, "originator") : ""
            switch call.context.checkPassword(user, password) {
            case .accepted: break
            case .rejected: throw XenAPIError("SESSION_AUTHENTICATION_FAILED", [user, "Authentication failure"])
            case .throttled(let seconds):
                throw XenAPIError("SESSION_AUTHENTICATION_FAILED",
                                  [user, "Too many failed logins; not checked: try again in \(seconds) s"])
            }
            return .string(sessions.create(user: user, originator: originator))
        }
        register("session.logout", [], async: false, locking: .none) { [self] call throws(XenAPIError) in
            sessions.remove(call.session)
            events.forget(session: call.session)
            tasks.removeAll(session: call.session)
            return .string("")
        }
        register("session.get_this_host", ["session_id"], async: false, locking: .none) { [self] call throws(XenAPIError) in
            _ = try session(call, 0)
            return .string(hostRef)
        }
        register("session.get_record", ["session_id"], async: false, locking: .none) { [self] call throws(XenAPIError) in
            .struct(sessionRecord(try session(call, 0)))
        }
        register("session.get_uuid", ["session_id"], async: false, locking: .none) { [self] call throws(XenAPIError) in
            .string(try session(call, 0).uuid)
        }
        register("session.get_this_user", ["session_id"], async: false, locking: .none) { [self] call throws(XenAPIError) in
            _ = try session(call, 0)
            return .nullRef
        }
    }

    private func session(_ call: Call, _ index: Int) throws(XenAPIError) -> Sessions.Session {
        let ref = try call.args.string(index, "session_id")
        guard let session = sessions.session(ref) else { throw .handleInvalid("session", ref) }
        return session
    }

    func sessionRecord(_ s: Sessions.Session) -> [String: XenAPIValue] {
        [
            "uuid": .str(s.uuid), "this_host": .str(hostRef), "this_user": .nullRef,
            "last_active": .date(unixSeconds: s.lastActive), "pool": .bool(false), "other_config": .emptyMap,
            "is_local_superuser": .bool(true), "subject": .nullRef, "validation_time": .date(unixSeconds: s.created),
            "auth_user_sid": .str(""), "auth_user_name": .str(s.user), "rbac_permissions": .emptyList,
            "tasks": .emptyList, "parent": .nullRef, "originator": .str(s.originator), "client_certificate": .bool(false),
        ]
    }
}
