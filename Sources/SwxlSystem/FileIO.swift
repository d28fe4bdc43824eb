#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Small file helpers on libc (no Foundation in Sources/). Every call
/// retries on EINTR; failures carry the errno of the failed call.
public enum FileIO {
    // MARK: descriptors

    /// Opens `path` (close-on-exec added).
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(SystemError) -> Int32 {
        try retryingOnInterrupt("open \(path)") { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// Reads at most `buffer.count` bytes; 0 at end of file.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        try retryingOnInterrupt("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Writes all of `bytes`.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let n = try retryingOnInterrupt("write") { Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done) }
            guard n > 0 else { throw SystemError("write", errno: EIO) }
            done += n
        }
    }

    // MARK: whole files

    /// The whole file, or nil when it does not exist or cannot be read.
    public static func read(_ path: String) -> String? {
        readBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The whole file's bytes, or nil when it does not exist or cannot be read.
    public static func readBytes(_ path: String) -> [UInt8]? {
        guard let fd = try? open(path, O_RDONLY) else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { (try? read(fd, into: $0)) ?? -1 }
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
            if n < chunk.count { break }  // a short read of a regular file: its end
        }
        return out
    }

    /// Writes `text` to `path` atomically: a temporary file renamed over it.
    public static func writeAtomically(_ path: String, _ text: String, mode: mode_t = 0o644) throws(SystemError) {
        let tmp = path + ".tmp.\(getpid())"
        let fd = try open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        let bytes = Array(text.utf8)
        var failure: SystemError? = bytes.withUnsafeBytes { raw in
            do throws(SystemError) {
                try writeAll(fd, raw)
                return nil
            } catch {
                return SystemError("write \(path)", errno: error.errno)
            }
        }
        close(fd)
        if failure == nil && rename(tmp, path) != 0 { failure = SystemError("write \(path)") }
        if let failure {
            unlink(tmp)
            throw failure
        }
    }

    /// Appends a line-oriented text to a file, creating it.
    public static func append(_ path: String, _ text: String) {
        guard let fd = try? open(path, O_WRONLY | O_CREAT | O_APPEND, mode: 0o644) else { return }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    // MARK: directories

    /// `mkdir -p`, `mode` for what it creates. The error names the
    /// directory that could not be made (also in its `path`).
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        if path.isEmpty { return }
        var st = stat()
        if stat(path, &st) == 0 { return }
        let parent = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !parent.isEmpty && parent != path { try makeDirectories(parent, mode: mode) }
        if mkdir(path, mode) != 0 && errno != EEXIST { throw SystemError("mkdir \(path)", path: path) }
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The names in a directory, without `.` and `..`; empty if it does not exist.
    public static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// `rm -rf`.
    public static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in list(path) { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
