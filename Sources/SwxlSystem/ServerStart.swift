#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How a server that ``BackgroundProcess/startServer(executable:arguments:socketPath:pidFile:timeoutSeconds:)``
/// started came out.
public enum ServerStart: Equatable, Sendable {
    /// Its pid is in the pid file and its socket answers.
    case listening(pid_t)
    /// It exited first: what it wrote to stderr (trailing newlines
    /// trimmed) and its exit status.
    case exited(reason: String, status: Int32)
    /// Neither within the time; it has been sent SIGTERM.
    case timedOut
}

extension BackgroundProcess {
    /// Starts `executable arguments`, a server that serves in the
    /// foreground, in its own session, and waits until it listens: its pid
    /// in `pidFile` and `socketPath` answering. Until then its stderr comes
    /// to us, so that a server that fails to start is reported with its own
    /// reason; after that its stderr leads nowhere. (swxl starts its
    /// xenstored and `swxl serve` so.)
    public static func startServer(executable: String, arguments: [String], socketPath: String, pidFile: String,
                                   timeoutSeconds: Double = 10) throws(SystemError) -> ServerStart {
        let (pid, errorPipe) = try spawnWithErrorPipe(executable: executable, arguments: arguments)
        defer { close(errorPipe) }
        var errorText: [UInt8] = []
        func collectErrors() {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(errorPipe, $0.baseAddress, $0.count) }
                guard n > 0 else { return }
                errorText += buffer[0..<n]
            }
        }
        let deadline = SystemClock.monotonicNanoseconds() + UInt64(timeoutSeconds * 1e9)
        while SystemClock.monotonicNanoseconds() < deadline {
            collectErrors()
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                collectErrors()
                while errorText.last == UInt8(ascii: "\n") { errorText.removeLast() }
                return .exited(reason: String(decoding: errorText, as: UTF8.self), status: status >> 8)
            }
            if LockFile.readPid(pidFile) == pid && UnixSocket.canConnect(socketPath) { return .listening(pid) }
            usleep(5000)
        }
        kill(pid, SIGTERM)
        return .timedOut
    }
}
