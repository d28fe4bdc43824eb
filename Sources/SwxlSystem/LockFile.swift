#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An exclusive `flock` on a file: one daemon per state directory, one
/// starter of a daemon at a time. The kernel drops the lock when the
/// holder exits, however it exits, so a stale file never blocks anyone.
public struct LockFile: Sendable {
    public let path: String
    /// The open file that holds the lock.
    public let descriptor: Int32

    /// Takes the lock at `path` (the file is created with `mode`), waiting
    /// while another process holds it.
    public static func acquire(_ path: String, mode: mode_t = 0o600) throws(SystemError) -> LockFile {
        let fd = try FileIO.open(path, O_RDWR | O_CREAT, mode: mode)
        do throws(SystemError) {
            _ = try retryingOnInterrupt("flock \(path)") { flock(fd, LOCK_EX) }
        } catch {
            close(fd)
            throw error
        }
        return LockFile(path: path, descriptor: fd)
    }

    /// Takes the lock at `path` (the file is created with `mode`) if no
    /// other process holds it; nil if one does.
    public static func tryAcquire(_ path: String, mode: mode_t = 0o644) throws(SystemError) -> LockFile? {
        let fd = try FileIO.open(path, O_RDWR | O_CREAT, mode: mode)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK { return nil }
            throw SystemError("flock \(path)", errno: code)
        }
        return LockFile(path: path, descriptor: fd)
    }

    /// Whether some process holds the lock at `path` (false if there is no such file).
    public static func isHeld(_ path: String) -> Bool {
        guard let fd = try? FileIO.open(path, O_RDWR) else { return false }
        defer { close(fd) }
        return flock(fd, LOCK_EX | LOCK_NB) != 0
    }

    /// Replaces the file's content with our pid and a newline, so others
    /// can name the holder (``readPid(_:)``).
    public func recordPid() throws(SystemError) {
        let text = Array("\(getpid())\n".utf8)
        guard ftruncate(descriptor, 0) == 0 else { throw SystemError("ftruncate \(path)") }
        let written = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        guard written == text.count else { throw SystemError("write \(path)", errno: written < 0 ? errno : EIO) }
    }

    /// Lets go of the lock (closes the file; it stays where it is).
    public func release() {
        close(descriptor)
    }

    /// The pid a lock or pid file records, if any.
    public static func readPid(_ path: String) -> pid_t? {
        guard let fd = try? FileIO.open(path, O_RDONLY) else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { (try? FileIO.read(fd, into: $0)) ?? -1 }
        guard n > 0 else { return nil }
        var text = Substring(String(decoding: buffer[0..<n], as: UTF8.self))
        while let last = text.last, last == "\n" || last == " " { text = text.dropLast() }
        return pid_t(text)
    }
}
