#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SwxlSystem

/// Thin wrappers over the C calls the client needs. All retry on EINTR.
enum Transport {
    /// Connects a Unix stream socket to `path`. A daemon that is stopped
    /// (or wedged) but still has its socket leaves connections in its
    /// listen queue; once the queue is full, connect(2) would block until
    /// the daemon accepts. Here it is tried without blocking, again and
    /// again, until `timeoutMs` passes (< 0: forever), then fails with
    /// ``XenStoreError/timedOut(_:)``. The socket returned blocks.
    static func connectSocket(_ path: String, timeoutMs: Int32 = -1) throws(XenStoreError) -> Int32 {
        guard let address = UnixSocketAddress(path: path) else { throw .system("connect \(path)", ENAMETOOLONG) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno) }
        let deadline = timeoutMs < 0 ? nil : SystemClock.monotonicNanoseconds() + UInt64(timeoutMs) * 1_000_000
        var pause: UInt32 = 200
        while true {
            if address.withSockaddr({ Glibc.connect(fd, $0, $1) }) == 0 { break }
            let err = errno
            if err == EINTR { continue }
            // A Unix socket's connect never completes later (no
            // EINPROGRESS): EAGAIN means the listen queue is full.
            guard err == EAGAIN else {
                Glibc.close(fd)
                throw .system("connect \(path)", err)
            }
            if let deadline, SystemClock.monotonicNanoseconds() >= deadline {
                Glibc.close(fd)
                throw .timedOut(XenStoreClient.noAnswer(path, timeoutMs, what: "accepted no connection"))
            }
            usleep(pause)
            pause = min(pause * 2, 50_000)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    /// Opens a character device (the xenbus device) read-write.
    static func openDevice(_ path: String) throws(XenStoreError) -> Int32 {
        do throws(SystemError) {
            return try FileIO.open(path, O_RDWR)
        } catch {
            throw .system(error.what, error.errno)
        }
    }

    /// Whether `path` is a socket (nil if it does not exist).
    static func isSocket(_ path: String) -> Bool? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return (st.st_mode & S_IFMT) == S_IFSOCK
    }

    /// Writes all of `bytes`. Sockets use `send` with MSG_NOSIGNAL so a
    /// vanished daemon is an error, not a SIGPIPE, and MSG_DONTWAIT: when
    /// the socket's buffer is full (a daemon that reads nothing), it waits
    /// for room at most `timeoutMs` (< 0: forever), then fails with
    /// ``XenStoreError/timedOut(_:)`` naming `peer`.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], socket: Bool, peer: String = "", timeoutMs: Int32 = -1) throws(XenStoreError) {
        // 0 when all was written, ETIMEDOUT when the time ran out, else the errno.
        let err: Int32 = bytes.withUnsafeBytes { buf in
            var offset = 0
            while offset < buf.count {
                let base = buf.baseAddress! + offset
                let n = socket
                    ? send(fd, base, buf.count - offset, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                    : write(fd, base, buf.count - offset)
                if n > 0 {
                    offset += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else if n < 0 && socket && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    let rc = poll(&pfd, 1, timeoutMs)
                    if rc == 0 { return ETIMEDOUT }
                    if rc < 0 && errno != EINTR { return errno }
                } else {
                    return n < 0 ? errno : EIO
                }
            }
            return 0
        }
        switch err {
        case 0: return
        case EPIPE, ECONNRESET: throw .disconnected
        case ETIMEDOUT: throw .timedOut(XenStoreClient.noAnswer(peer, timeoutMs, what: "read no request"))
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
}
