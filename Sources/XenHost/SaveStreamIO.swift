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

extension SaveStreamIO {
    /// Runs `body` (a save or restore blocked in libxc) so that SIGINT,
    /// SIGTERM and SIGHUP end the stream instead of swxl: the handler puts
    /// a read-only `/dev/null` in place of `fd` (as libxl's save helper
    /// does on SIGTERM), so libxc's next write fails (EBADF) or its next
    /// read finds the end, and the operation fails through its own cleanup:
    /// the toolstack then resumes the guest (save) or destroys the half-made
    /// domain (restore), and nothing is left half done. Returns what `body`
    /// returned and the signal that came (0: none). The previous handlers
    /// come back afterwards.
    static func withInterruptsEndingStream<R, E: Error>(_ fd: Int32, _ body: () throws(E) -> R) throws(E) -> (R, Int32) {
        interruptedStream = fd
        interruptSignal = 0
        let signals = [SIGINT, SIGTERM, SIGHUP]
        var previous = Array(repeating: sigaction(), count: signals.count)
        var handler = sigaction()
        handler.__sigaction_handler.sa_handler = endStreamOnSignal
        sigemptyset(&handler.sa_mask)
        for (i, s) in signals.enumerated() { sigaction(s, &handler, &previous[i]) }
        defer {
            for (i, s) in signals.enumerated() { sigaction(s, &previous[i], nil) }
            interruptedStream = -1
        }
        let result = try body()
        return (result, interruptSignal)
    }
}

/// The descriptor the signal handler ends, and the signal that came
/// (written by the handler; one operation at a time).
nonisolated(unsafe) private var interruptedStream: Int32 = -1
nonisolated(unsafe) private var interruptSignal: Int32 = 0

/// Async-signal-safe: open, dup2 and close only.
private func endStreamOnSignal(_ signal: Int32) {
    interruptSignal = signal
    let target = interruptedStream
    guard target >= 0 else { return }
    let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
    guard null >= 0 else { return }
    dup2(null, target)
    close(null)
}
