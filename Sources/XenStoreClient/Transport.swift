#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Thin wrappers over the C calls the client needs. All retry on EINTR.
enum Transport {
    /// Connects a Unix stream socket to `path`.
    static func connectSocket(_ path: String) throws(XenStoreError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else {
            close(fd)
            throw .system("connect \(path)", ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in
            buf.copyBytes(from: bytes)
            buf[bytes.count] = 0
        }
        while true {
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if rc == 0 { return fd }
            let err = errno
            if err == EINTR { continue }
            close(fd)
            throw .system("connect \(path)", err)
        }
    }

    /// Opens a character device (the xenbus device) read-write.
    static func openDevice(_ path: String) throws(XenStoreError) -> Int32 {
        while true {
            let fd = open(path, O_RDWR | O_CLOEXEC)
            if fd >= 0 { return fd }
            let err = errno
            if err != EINTR { throw .system("open \(path)", err) }
        }
    }

    /// Whether `path` is a socket (nil if it does not exist).
    static func isSocket(_ path: String) -> Bool? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return (st.st_mode & S_IFMT) == S_IFSOCK
    }

    /// Writes all of `bytes`. Sockets use `send` with MSG_NOSIGNAL so a
    /// vanished daemon is an error, not a SIGPIPE.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], socket: Bool) throws(XenStoreError) {
        // 0 when all was written, else the errno.
        let err: Int32 = bytes.withUnsafeBytes { buf in
            var offset = 0
            while offset < buf.count {
                let base = buf.baseAddress! + offset
                let n = socket
                    ? send(fd, base, buf.count - offset, Int32(MSG_NOSIGNAL))
                    : write(fd, base, buf.count - offset)
                if n > 0 {
                    offset += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return n < 0 ? errno : EIO
                }
            }
            return 0
        }
        switch err {
        case 0: return
        case EPIPE, ECONNRESET: throw .disconnected
        default: throw .system("write", err)
        }
    }

    /// Waits until `fd` is readable. `milliseconds` < 0 waits forever.
    /// Returns false on timeout.
    static func waitReadable(_ fd: Int32, milliseconds: Int32) throws(XenStoreError) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let rc = poll(&pfd, 1, milliseconds)
            if rc > 0 { return true }
            if rc == 0 { return false }
            let err = errno
            if err != EINTR { throw .system("poll", err) }
        }
    }

    /// Monotonic clock in nanoseconds.
    static func nowNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
