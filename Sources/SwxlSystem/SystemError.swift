#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call: what was attempted and its `errno`, read as soon
/// as the call failed (anything in between may change `errno`).
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The call and what it was about, as in `mkdir /var/lib/swxl`.
    public var what: String
    public var errno: Int32
    /// The file the call was about, when a caller words its own message.
    public var path: String?

    public init(_ what: String, errno code: Int32 = Glibc.errno, path: String? = nil) {
        self.what = what
        self.errno = code
        self.path = path
    }

    public var description: String { "\(what): \(String(cString: strerror(errno)))" }
}

/// Runs the system call `body` again while it fails with EINTR, and throws
/// its failure (a result of -1) as `what` with the errno of that failure.
@inlinable
public func retryingOnInterrupt<Result: BinaryInteger>(_ what: @autoclosure () -> String,
                                                       _ body: () -> Result) throws(SystemError) -> Result {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code != EINTR { throw SystemError(what(), errno: code) }
    }
}
