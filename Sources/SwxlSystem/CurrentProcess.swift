#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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
