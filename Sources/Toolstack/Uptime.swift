import SwxlSystem

extension Toolstack {
    /// How long `domid` has been up at `now` (seconds since the epoch), in
    /// whole seconds: Domain-0 as long as this machine, another domain
    /// since its `start_time`. Nil when that is unknown (a domain swxl
    /// did not create).
    public func uptimeSeconds(domid: UInt32, now: Double) -> Int? {
        if domid == 0 { return Self.machineUptimeSeconds() }
        guard let start = startTime(domid: domid) else { return nil }
        return max(0, Int(now - start))
    }

    /// This machine's uptime in whole seconds: the first number of
    /// `/proc/uptime` (0 when it cannot be read).
    public static func machineUptimeSeconds(procUptime path: String = "/proc/uptime") -> Int {
        let text = FileIO.read(path) ?? ""
        return Int(Double(text.split(separator: " ").first ?? "0") ?? 0)
    }
}
