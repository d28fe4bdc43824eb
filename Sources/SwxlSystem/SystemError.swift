#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call: what was attempted and its `errno`, read as soon
/// as the call failed (anything in between may change `errno`).
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public var what: String
    public var errno: Int32
    public init(_ what: String, errno code: Int32 = Glibc.errno) {
        self.what = what
        self.errno = code
    }
    public var description: String { "\(what): \(String(cString: strerror(errno)))" }
}
