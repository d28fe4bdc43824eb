#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SwxlSystem

/// How much of the daemon's memory limit the tree may take. Under a limit
/// (`ulimit -v`, or the memory.max of its cgroup) an allocation that fails
/// would end the daemon; instead, a request that would grow the tree past
/// its budget is refused with ENOMEM, and the daemon goes on serving.
/// The budget is half of what the limit leaves when the daemon starts: the
/// rest is for connections' buffers, transactions, SQLite's cache and the
/// allocator's slack.
public enum MemoryBudget {
    /// The budget from the limits in force now; nil when there are none.
    public static func current() -> (budget: Int, limit: String)? {
        var candidates: [(Int, String)] = []
        var rl = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &rl) == 0, rl.rlim_cur != rlim_t.max,
           let used = virtualSize() {
            let room = Int(clamping: rl.rlim_cur) - used
            candidates.append((room / 2, "address space limit \(rl.rlim_cur) bytes (ulimit -v)"))
        }
        if let (max, current, path) = cgroupMemory() {
            candidates.append(((max - current) / 2, "\(path)/memory.max \(max) bytes"))
        }
        return candidates.min { $0.0 < $1.0 }.map { (Swift.max(0, $0.0), $0.1) }
    }

    /// The process's virtual size, from /proc/self/statm (pages).
    static func virtualSize() -> Int? {
        guard let text = FileIO.read("/proc/self/statm"),
              let pages = text.split(separator: " ").first.flatMap({ Int($0) }) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The cgroup (v2) this process is in: its memory.max, if not "max",
    /// and memory.current.
    static func cgroupMemory() -> (Int, Int, String)? {
        guard let line = FileIO.read("/proc/self/cgroup")?.split(separator: "\n").first(where: { $0.hasPrefix("0::") })
        else { return nil }
        let path = "/sys/fs/cgroup" + line.dropFirst(3)
        guard let maxText = FileIO.read(path + "/memory.max")?.split(separator: "\n").first,
              let max = Int(maxText),
              let currentText = FileIO.read(path + "/memory.current")?.split(separator: "\n").first,
              let current = Int(currentText) else { return nil }
        return (max, current, path)
    }
}
