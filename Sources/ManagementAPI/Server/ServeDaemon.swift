#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import SwxlSystem

/// `swxl serve` as a daemon: one per pid file, stopped by SIGTERM, SIGINT
/// or SIGHUP, started detached like `swxl xenstored`.
public enum ServeDaemon {
    /// Serves in the calling thread until a stop signal, then removes its
    /// socket and pid file. The surface is made by `makeDispatcher` once
    /// the pid file's lock is ours (so a second server starts nothing);
    /// `ready` runs once it listens and the pid file names it.
    public static func run(_ configuration: XenAPIServerConfiguration, pidFile: String, logger: Logger,
                           makeDispatcher: () throws(ServeError) -> any XenAPIDispatching,
                           ready: (XenAPIServer) -> Void = { _ in }) throws(ServeError) {
        if let path = configuration.unixSocketPath { try makeDirectory(parent(of: path)) }
        try makeDirectory(parent(of: pidFile))
        let acquired: LockFile?
        do throws(SystemError) {
            acquired = try LockFile.tryAcquire(pidFile, mode: 0o644)
        } catch {
            throw ServeError("cannot open \(pidFile): \(String(cString: strerror(error.errno)))")
        }
        guard let lock = acquired else {
            let other = LockFile.readPid(pidFile).map { " (pid \($0))" } ?? ""
            throw ServeError("another swxl serve is already running with the pid file \(pidFile)\(other)")
        }
        defer {
            unlink(pidFile)
            lock.release()
        }

        let stop: StopSignals
        do throws(SystemError) { stop = try StopSignals() } catch { throw ServeError("\(error)") }
        CurrentProcess.raiseDescriptorLimit()

        if let path = configuration.unixSocketPath, UnixSocket.canConnect(path) {
            throw ServeError("another server answers on \(path)")
        }
        let dispatcher = try makeDispatcher()
        let server = try XenAPIServer(configuration: configuration, dispatcher: dispatcher, logger: logger)
        do throws(SystemError) {
            try lock.recordPid()
        } catch {
            throw ServeError("cannot write \(pidFile): \(error)")
        }
        ready(server)
        server.run(stopWhenReadable: stop.readEnd)
        logger.notice("stopped")
    }

    /// Starts `executable arguments` (which must serve in the foreground)
    /// in its own session, and waits until it listens: its pid in
    /// `pidFile` and `socketPath` answering. Until then its stderr comes to
    /// us, so a server that fails to start is reported with its reason.
    public static func spawnDetached(executable: String, arguments: [String], socketPath: String, pidFile: String,
                                     timeoutSeconds: Double = 10) throws(ServeError) -> pid_t {
        let outcome: ServerStart
        do throws(SystemError) {
            outcome = try BackgroundProcess.startServer(executable: executable, arguments: arguments,
                                                        socketPath: socketPath, pidFile: pidFile, timeoutSeconds: timeoutSeconds)
        } catch {
            throw ServeError("cannot start \(executable): \(String(cString: strerror(error.errno)))")
        }
        switch outcome {
        case .listening(let pid): return pid
        case .exited(let reason, let status):
            throw ServeError(reason.isEmpty ? "swxl serve exited during start-up (status \(status))" : reason)
        case .timedOut:
            throw ServeError("swxl serve did not start listening on \(socketPath) within \(Int(timeoutSeconds)) s")
        }
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func makeDirectory(_ path: String) throws(ServeError) {
        do throws(SystemError) {
            try FileIO.makeDirectories(path, mode: 0o700)
        } catch {
            throw ServeError("cannot create \(error.path ?? path): \(String(cString: strerror(error.errno)))")
        }
    }
}
