#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The address of a Unix socket, for `connect` and `bind`.
public struct UnixSocketAddress {
    public private(set) var storage = sockaddr_un()

    /// The longest path a `sockaddr_un` holds (its terminating NUL aside).
    public static let maxPathLength = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// nil when `path` is longer than ``maxPathLength`` bytes.
    public init?(path: String) {
        guard path.utf8.count <= Self.maxPathLength else { return nil }
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
    }

    /// Calls `body` with the address as the socket calls take it.
    public func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}

/// Client ends of Unix stream sockets.
public enum UnixSocket {
    /// A blocking, close-on-exec stream socket connected to `path`.
    /// A path too long for a socket address fails as ENAMETOOLONG.
    public static func connect(_ path: String) throws(SystemError) -> Int32 {
        guard let address = UnixSocketAddress(path: path) else { throw SystemError("connect \(path)", errno: ENAMETOOLONG) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket") }
        do throws(SystemError) {
            _ = try retryingOnInterrupt("connect \(path)") { address.withSockaddr { Glibc.connect(fd, $0, $1) } }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Whether something accepts connections on the Unix socket at `path`.
    public static func canConnect(_ path: String) -> Bool {
        guard let fd = try? connect(path) else { return false }
        close(fd)
        return true
    }
}
