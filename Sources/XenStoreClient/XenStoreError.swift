#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import XenStoreProtocol

/// Why a xenstore operation failed.
public enum XenStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The daemon answered `XS_ERROR` with this name.
    case xs(XSError)
    /// An operating-system call failed: its name and `errno`.
    case system(String, Int32)
    /// The daemon closed the connection (or it was closed after an earlier failure).
    case disconnected
    /// The daemon sent something that breaks the protocol; the connection is closed.
    case protocolViolation(String)
    /// A request over `XENSTORE_PAYLOAD_MAX` bytes: not sent (libxenstore's E2BIG).
    case payloadTooLarge(Int)
    /// No daemon answers, and none could be started.
    case daemonUnavailable(String)
    /// The daemon took no connection or sent no reply within the client's
    /// time limit (``XenStoreClient/replyTimeout``); the message names it.
    case timedOut(String)

    /// The closest C `errno`, as libxenstore would set it.
    public var errno: Int32 {
        switch self {
        case .xs(let e): e.errno
        case .system(_, let code): code
        case .disconnected: EBADF
        case .protocolViolation: EBADF
        case .payloadTooLarge: E2BIG
        case .daemonUnavailable: ENOENT
        case .timedOut: ETIMEDOUT
        }
    }

    /// The daemon's error name, if the daemon answered with one.
    public var xsError: XSError? {
        if case .xs(let e) = self { return e }
        return nil
    }

    public var description: String {
        switch self {
        case .xs(let e): "\(e.message) (\(e.rawValue))"
        case .system(let call, let code): "\(call): \(String(cString: strerror(code)))"
        case .disconnected: "the xenstore daemon closed the connection"
        case .protocolViolation(let what): "protocol violation from the xenstore daemon: \(what)"
        case .payloadTooLarge(let n): "request of \(n) bytes exceeds the \(XSMessage.maxPayload)-byte payload limit"
        case .daemonUnavailable(let why): why
        case .timedOut(let why): why
        }
    }
}
