#if canImport(Glibc)
import Glibc
#endif

/// Where the stop signals' handler writes: a handler can reach nothing else.
nonisolated(unsafe) private var stopSignalWriteEnd: Int32 = -1

/// A daemon's stop signals (SIGTERM, SIGINT, SIGHUP) as a byte on a pipe,
/// so that its event loop, which watches ``readEnd``, stops at its next
/// wake-up instead of being cut off mid-request. Also ignores SIGPIPE (a
/// client gone mid-reply is an error of that write, not the daemon's end)
/// and unblocks the stop signals whatever mask the thread started with.
/// One at a time per process; the handlers stay installed after it is
/// closed, writing nowhere.
public final class StopSignals {
    public let readEnd: Int32
    private let writeEnd: Int32
    public static let signals = [SIGTERM, SIGINT, SIGHUP]

    public init() throws(SystemError) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw SystemError("pipe") }
        for fd in ends {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        readEnd = ends[0]
        writeEnd = ends[1]
        stopSignalWriteEnd = writeEnd
        signal(SIGPIPE, SIG_IGN)
        var set = sigset_t()
        sigemptyset(&set)
        for sig in Self.signals { sigaddset(&set, sig) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        for sig in Self.signals {
            signal(sig) { _ in
                var byte: UInt8 = 1
                _ = write(stopSignalWriteEnd, &byte, 1)
            }
        }
    }

    deinit {
        if stopSignalWriteEnd == writeEnd { stopSignalWriteEnd = -1 }
        close(readEnd)
        close(writeEnd)
    }
}
