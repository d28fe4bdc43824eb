import DomainConfig
import Synchronization

/// The transport's stand-in for the XenAPI surface, until the surface
/// built from a Toolstack is there: sessions only (`session.login_with_password`
/// and `session.logout`), and `MESSAGE_METHOD_UNKNOWN` for every other
/// method. It exists so that the server can be run and tested end to end;
/// the real surface replaces it in `swxl serve`.
public final class TransportFallbackDispatcher: XenAPIDispatching {
    /// Session reference to the user who logged in.
    private let sessions = Mutex<[String: String]>([:])

    public init() {}

    public func call(_ method: String, _ params: [XenAPIValue], context: XenAPICallContext) async -> XenAPIResult {
        switch method.replacingFirstUnderscore() {
        case "session.login_with_password":
            guard (2...4).contains(params.count) else {
                return .failure("MESSAGE_PARAMETER_COUNT_MISMATCH", "session.login_with_password", "2", "\(params.count)")
            }
            guard case .string(let user) = params[0], case .string(let password) = params[1] else {
                return .failure("FIELD_TYPE_ERROR", "uname")
            }
            guard context.verifyPassword(user, password) else {
                return .failure("SESSION_AUTHENTICATION_FAILED", user, "Authentication failure")
            }
            let reference = "OpaqueRef:" + DomainUUID.random().description
            sessions.withLock { $0[reference] = user }
            return .success(.string(reference))
        case "session.logout":
            guard params.count == 1 else {
                return .failure("MESSAGE_PARAMETER_COUNT_MISMATCH", "session.logout", "1", "\(params.count)")
            }
            guard case .string(let reference) = params[0], sessions.withLock({ $0.removeValue(forKey: reference) }) != nil else {
                return .failure("SESSION_INVALID", params.first.flatMap { if case .string(let s) = $0 { s } else { nil } } ?? "")
            }
            return .success(.string(""))
        default:
            return .failure("MESSAGE_METHOD_UNKNOWN", method)
        }
    }
}

extension String {
    /// `session_logout` to `session.logout` (XAPI takes either form); names
    /// already dotted are left alone.
    fileprivate func replacingFirstUnderscore() -> String {
        guard !contains("."), let underscore = firstIndex(of: "_") else { return self }
        return self[..<underscore] + "." + self[index(after: underscore)...]
    }
}
