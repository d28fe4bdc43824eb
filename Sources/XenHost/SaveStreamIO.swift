import Glibc
import Toolstack

/// What a save or restore on real Xen needs of the process around libxc's
/// blocking calls: libxc reads and writes the stream with plain
/// `read`/`write` loops that treat EAGAIN as an error, and a migration's
/// stream is a pipe to a command (`ssh`) that may go away.
enum SaveStreamIO {
    /// Runs `body` with `fd` in blocking mode (libxc's loops cannot wait
    /// on a non-blocking descriptor), then puts its flags back as they
    /// were. A descriptor that cannot be read or changed is an error.
    static func withBlocking<R>(_ fd: Int32, _ operation: String,
                                _ body: () throws(HypervisorError) -> R) throws(HypervisorError) -> R {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0 else {
            throw HypervisorError(operation, errno: errno, "the stream's descriptor \(fd): \(String(cString: strerror(errno)))")
        }
        if flags & O_NONBLOCK != 0 {
            guard fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 else {
                throw HypervisorError(operation, errno: errno, "making descriptor \(fd) blocking: \(String(cString: strerror(errno)))")
            }
        }
        defer { if flags & O_NONBLOCK != 0 { _ = fcntl(fd, F_SETFL, flags) } }
        return try body()
    }

    /// Runs `body` with SIGPIPE ignored, so that a reader that went away
    /// makes libxc's write fail with EPIPE (and the save fail cleanly,
    /// the guest resumed) instead of killing swxl half-way; then puts the
    /// previous disposition back. (An ignored signal is discarded, so
    /// none is left pending.)
    static func withSIGPIPEIgnored<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        var ignore = sigaction()
        ignore.__sigaction_handler.sa_handler = SIG_IGN
        sigemptyset(&ignore.sa_mask)
        var previous = sigaction()
        let changed = sigaction(SIGPIPE, &ignore, &previous) == 0
        defer { if changed { sigaction(SIGPIPE, &previous, nil) } }
        return try body()
    }
}
