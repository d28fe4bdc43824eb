#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SwxlSystem

/// Thin wrappers over the C calls the client needs. All retry on EINTR.
enum Transport {
    /// Connects a Unix stream socket to `path`.
    static func connectSocket(_ path: String) throws(XenStoreError) -> Int32 {
        do throws(SystemError) {
            return try UnixSocket.connect(path)
        } catch {
            throw .system(error.what, error.errno)
        }
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
}
