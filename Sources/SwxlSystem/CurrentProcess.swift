#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSwxlSystem

/// Facts about this process that several commands and daemons need.
public enum CurrentProcess {
    /// The environment as a dictionary (for a name set twice, the last wins).
    public static func environment() -> [String: String] {
        var env: [String: String] = [:]
        for entry in environmentEntries() {
            if let eq = entry.firstIndex(of: "=") { env[String(entry[..<eq])] = String(entry[entry.index(after: eq)...]) }
        }
        return env
    }

    /// The environment's `name=value` entries, in their order.
    public static func environmentEntries() -> [String] {
        var entries: [String] = []
        var index = 0
        while let entry = environ[index] {
            entries.append(String(cString: entry))
            index += 1
        }
        return entries
    }

    /// This program's own file (from /proc/self/exe), to start another copy
    /// of it or find files beside it; `argv[0]` if the link cannot be read.
    public static func executablePath() -> String {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = buffer.withUnsafeMutableBytes { readlink("/proc/self/exe", $0.baseAddress!, $0.count - 1) }
        guard n > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[..<n], as: UTF8.self)
    }

    /// Raises the soft limit on open descriptors to the hard limit: a
    /// server holds one per connection. Failing leaves the limit as it was.
    public static func raiseDescriptorLimit() {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        if getrlimit(resource, &limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(resource, &limit)
        }
    }
}

/// glibc's malloc, tuned for a command (see `swxl_malloc_keep_large_blocks`).
public enum ProcessMemory {
    /// Large blocks (up to 64 MiB) from the heap, kept there when freed
    /// (up to 128 MiB): for a command that exits soon after allocating and
    /// freeing the same large buffers again and again (libxc's restore).
    public static func keepLargeBlocks() { swxl_malloc_keep_large_blocks() }
    /// What malloc holds in blocks mapped on their own.
    public static var mappedBytes: Int { Int(swxl_malloc_mapped_bytes()) }
    /// After ``keepLargeBlocks()``: `bytes` of the heap where the calling
    /// thread's next large blocks will come from, populated in one system
    /// call instead of a page fault at each page's first touch (see
    /// `swxl_malloc_prefault`). The pages populated; 0 without
    /// ``keepLargeBlocks()``; -errno when the kernel refused.
    @discardableResult
    public static func prefaultHeap(bytes: Int) -> Int { Int(swxl_malloc_prefault(max(bytes, 0))) }
}
