#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import SwxlSystem
import XenStoreClient

/// Set by SIGTERM: the attached console lets go, as xenconsole does.
private let consoleStopRequested = Atomic<Bool>(false)

/// The key that detaches: Ctrl-] (xenconsole's ESCAPE_CHARACTER).
public let consoleEscapeByte: UInt8 = 0x1d

/// Why an attached console ended.
public enum ConsoleEnd: Sendable, Equatable {
    /// The user pressed Ctrl-].
    case detached
    /// The console's pty went away from xenstore: the domain died.
    case consoleGone
    /// Standard input closed or failed.
    case inputEnded
    /// SIGTERM.
    case stopped
}

/// Why a console could not be attached, with what xenconsole prints and
/// its exit status (it exits through err(3): the message, then strerror of
/// errno, and errno as the status).
public enum ConsoleError: Error, Sendable, Equatable {
    /// xenconsole refuses domain 0: no data ever shows up on its console.
    case domain0
    /// The console lock's file cannot be opened (its directory is missing).
    case lockUnavailable(path: String, errno: Int32)
    /// Another client holds the domain's console lock.
    case locked(path: String, errno: Int32)
    /// The pty never appeared under the key (or could not be opened) in
    /// the time allowed.
    case noTTY(key: String, errno: Int32)
    /// xenstore failed.
    case store(String)

    /// xenconsole's line on stderr (without its `xenconsole: ` prefix).
    public var message: String {
        switch self {
        case .domain0: return "Can't specify Domain-0"
        case .lockUnavailable(let path, let code): return "Could not open \(path): \(String(cString: strerror(code)))"
        case .locked(let path, let code): return "Could not lock \(path): \(String(cString: strerror(code)))"
        case .noTTY(_, let code): return "Could not read tty from store: \(String(cString: strerror(code)))"
        case .store(let what): return what
        }
    }

    /// xenconsole's exit status.
    public var exitStatus: Int32 {
        switch self {
        case .domain0: return EINVAL
        case .lockUnavailable(_, let code), .locked(_, let code), .noTTY(_, let code): return code
        case .store: return 1
        }
    }
}

/// A terminal attached to a guest's console, as xenconsole attaches one
/// (tools/console/client/main.c, Xen 4.17), on real Xen and on the
/// embedded host alike: both publish the console's pseudo-terminal under
/// its xenstore `tty` key (xenconsoled on Xen, the simulated guests' host
/// on the embedded host).
///
/// It takes the domain's console lock (one client per domain), watches the
/// `tty` key and waits for a path in it, opens that pty and puts it in raw
/// mode; if standard input and output are both terminals, puts standard
/// input in raw mode too and passes keys to the guest (Ctrl-] alone
/// detaches); guest output goes to standard output. It ends when the key
/// empties or goes (the domain died), and always puts the terminal back.
public final class ConsoleSession {
    let store: XenStoreClient
    let target: ConsoleTarget
    let lockPath: String
    /// How long to wait for the pty to appear (xenconsole: 5 s; xenconsoled
    /// may not have seen a new domain yet).
    public var ttyWaitSeconds: Int = 5

    /// A session over `store` (a connection of its own: it holds a watch),
    /// locking `<lockDirectory>/xenconsole.<domid>` (xenconsole's lock, so
    /// swxl and xl's consoles exclude each other on Xen).
    public init(store: XenStoreClient, target: ConsoleTarget, lockDirectory: String) {
        self.store = store
        self.target = target
        self.lockPath = lockDirectory + "/xenconsole.\(target.domid)"
    }

    /// Attaches `input` and `output` to the console until it ends;
    /// `attached` is called once the pty is open and the terminals are set
    /// (`create -c` unpauses the domain then, so nothing it prints is lost).
    public func run(input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO,
                    attached: () -> Void = {}) throws(ConsoleError) -> ConsoleEnd {
        guard target.domid != 0 else { throw .domain0 }
        let domainPath: String
        let serialExists: Bool
        do {
            domainPath = try store.getDomainPath(domid: target.domid)
            let serial = target.kind == .serial ? try store.readIfPresent(target.serialKey(domainPath: domainPath)) : nil
            serialExists = serial != nil
        } catch { throw .store("\(error)") }
        let key = target.ttyKey(domainPath: domainPath, serialExists: serialExists)

        let lock = try takeLock()
        defer {
            unlink(lockPath)
            close(lock)
        }

        do { try store.watch(key, token: "") } catch { throw .store("Can't set watch for console pty: \(error)") }
        var pty = openTTY(key, waitSeconds: ttyWaitSeconds)
        guard pty >= 0 else { throw .noTTY(key: key, errno: ETIMEDOUT) }
        defer { if pty >= 0 { close(pty) } }
        _ = TerminalMode.makeRaw(pty)
        let interactive = isatty(input) == 1 && isatty(output) == 1
        let saved = interactive ? TerminalMode.makeRaw(input) : nil
        defer { saved?.restore() }

        consoleStopRequested.store(false, ordering: .relaxed)
        let previous = signal(SIGTERM) { _ in consoleStopRequested.store(true, ordering: .relaxed) }
        defer { signal(SIGTERM, previous) }
        attached()
        return loop(&pty, key: key, input: interactive ? input : -1, output: output)
    }

    /// The two-way copy, until the user detaches, input ends, the pty goes
    /// from xenstore or SIGTERM comes.
    private func loop(_ pty: inout Int32, key: String, input: Int32, output: Int32) -> ConsoleEnd {
        var keys = [UInt8](repeating: 0, count: 60)
        var guestOutput = [UInt8](repeating: 0, count: 512)
        while !consoleStopRequested.load(ordering: .relaxed) {
            var fds = [pollfd(fd: store.fileDescriptor, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: input, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: pty, events: Int16(POLLIN), revents: 0)]
            let pending = store.hasBufferedEvents
            let n = poll(&fds, nfds_t(fds.count), pending ? 0 : -1)
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return .inputEnded
            }
            if pending || fds[0].revents != 0 {
                // The key changed (or went): the pty to use now, if any.
                while (try? store.nextWatchEvent(timeout: .zero)) ?? nil != nil {}
                let next = openTTY(key, waitSeconds: 0)
                if pty >= 0 { close(pty) }
                pty = next
                if pty < 0 { return .consoleGone }
                continue
            }
            if input >= 0 && fds[1].revents != 0 {
                let count = keys.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                if count == 1 && keys[0] == consoleEscapeByte { return .detached }
                if count <= 0 {
                    if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                    return .inputEnded
                }
                if pty >= 0 && !Self.writeAll(pty, keys[0..<count]) {
                    close(pty)
                    pty = -1
                    continue
                }
            }
            if pty >= 0 && fds[2].revents != 0 {
                let count = guestOutput.withUnsafeMutableBytes { read(pty, $0.baseAddress, $0.count) }
                if count <= 0 {
                    if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                    // The other side went; wait for xenstore to say what now.
                    close(pty)
                    pty = -1
                    continue
                }
                if !Self.writeAll(output, guestOutput[0..<count]) { return .inputEnded }
            }
        }
        return .stopped
    }

    /// xenconsole's lock (console_lock): the lock file, created if
    /// missing, locked without waiting; taken again if the file was
    /// replaced meanwhile (a client leaving unlinks it), so that two
    /// clients never hold locks on two different files of one path.
    private func takeLock() throws(ConsoleError) -> Int32 {
        while true {
            let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw .lockUnavailable(path: lockPath, errno: errno) }
            while flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                if code == EINTR { continue }
                close(fd)
                throw .locked(path: lockPath, errno: code)
            }
            var held = stat(), named = stat()
            if fstat(fd, &held) == 0 && stat(lockPath, &named) == 0
                && held.st_dev == named.st_dev && held.st_ino == named.st_ino {
                return fd
            }
            close(fd)
        }
    }

    /// The pty the key names, opened: waits up to `waitSeconds` for the key
    /// to hold a path (the watch fires at once, then on each change), or
    /// looks once when 0. -1 if there is none.
    private func openTTY(_ key: String, waitSeconds: Int) -> Int32 {
        let deadline = SystemClock.monotonicNanoseconds() + UInt64(waitSeconds) * 1_000_000_000
        repeat {
            let left = deadline > SystemClock.monotonicNanoseconds() ? deadline - SystemClock.monotonicNanoseconds() : 0
            let event = (try? store.nextWatchEvent(timeout: .nanoseconds(Int64(left)))) ?? nil
            if event != nil || waitSeconds == 0 {
                if let bytes = (try? store.readIfPresent(key)) ?? nil, !bytes.isEmpty {
                    let path = String(decoding: bytes, as: UTF8.self)
                    let fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC)
                    if fd >= 0 { return fd }
                }
            }
        } while SystemClock.monotonicNanoseconds() < deadline
        return -1
    }

    private static func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Bool {
        var done = bytes.startIndex
        while done < bytes.endIndex {
            let n = bytes[done...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }
}
