// The seam between the transport (HTTP, the envelopes, who is calling)
// and the XenAPI surface (sessions, classes, methods, tasks, events).

/// Where a call came from, as the transport knows it.
public enum XenAPICallOrigin: Equatable, Sendable {
    /// The local Unix socket; the peer's uid from SO_PEERCRED.
    case unixSocket(uid: UInt32)
    /// TCP; the peer's address as text (`127.0.0.1:40312`).
    case tcp(peer: String)
}

/// What a password check found.
public enum PasswordCheck: Equatable, Sendable {
    case accepted
    case rejected
    /// Not checked: too many failed logins lately (``LoginThrottle``).
    case throttled(retryAfterSeconds: Int)
}

/// What the surface knows of the call besides its method and parameters.
public struct XenAPICallContext: Sendable {
    public var origin: XenAPICallOrigin
    /// Checks a user's password for `session.login_with_password`. The
    /// transport supplies it: on the Unix socket every login is accepted
    /// (the socket is root-only); on TCP it checks the credentials file,
    /// within the limits of its ``LoginThrottle``.
    public var checkPassword: @Sendable (_ user: String, _ password: String) -> PasswordCheck

    public init(origin: XenAPICallOrigin,
                checkPassword: @escaping @Sendable (_ user: String, _ password: String) -> PasswordCheck) {
        self.origin = origin
        self.checkPassword = checkPassword
    }

    /// A context whose checks are never throttled.
    public init(origin: XenAPICallOrigin,
                verifyPassword: @escaping @Sendable (_ user: String, _ password: String) -> Bool) {
        self.init(origin: origin, checkPassword: { verifyPassword($0, $1) ? .accepted : .rejected })
    }
}

/// The XenAPI surface as the transport sees it: one call in, one result out.
/// `method` is as the client sent it (`VM.get_record`, `VM_get_record`,
/// `Async.VM.start`); the surface normalises it.
public protocol XenAPIDispatching: Sendable {
    func call(_ method: String, _ params: [XenAPIValue], context: XenAPICallContext) async -> XenAPIResult
}
