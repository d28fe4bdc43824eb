#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The errors xenstore sends, by the names of `xsd_errors` in `xs_wire.h`.
/// An `XS_ERROR` reply carries the name NUL-terminated.
public enum XSError: String, Error, Sendable, CaseIterable {
    case EINVAL, EACCES, EEXIST, EISDIR, ENOENT, ENOMEM, ENOSPC, EIO
    case ENOTEMPTY, ENOSYS, EROFS, EBUSY, EAGAIN, EISCONN, E2BIG, EPERM

    /// The C errno value with the same name.
    public var errno: Int32 {
        switch self {
        case .EINVAL: Glibc.EINVAL
        case .EACCES: Glibc.EACCES
        case .EEXIST: Glibc.EEXIST
        case .EISDIR: Glibc.EISDIR
        case .ENOENT: Glibc.ENOENT
        case .ENOMEM: Glibc.ENOMEM
        case .ENOSPC: Glibc.ENOSPC
        case .EIO: Glibc.EIO
        case .ENOTEMPTY: Glibc.ENOTEMPTY
        case .ENOSYS: Glibc.ENOSYS
        case .EROFS: Glibc.EROFS
        case .EBUSY: Glibc.EBUSY
        case .EAGAIN: Glibc.EAGAIN
        case .EISCONN: Glibc.EISCONN
        case .E2BIG: Glibc.E2BIG
        case .EPERM: Glibc.EPERM
        }
    }

    /// Parses an `XS_ERROR` payload. Unknown names map to EINVAL, as libxenstore does.
    public init(payload: [UInt8]) {
        let name = XSPayload.split(payload).first ?? ""
        self = XSError(rawValue: name) ?? .EINVAL
    }

    /// The C library's message for this errno, e.g. "No such file or directory".
    public var message: String { String(cString: strerror(errno)) }
}
