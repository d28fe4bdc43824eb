import Logging

/// Log lines a client causes, through the ``LogLimiter``: a guest that
/// sends garbage gets a bounded number of lines in dom0's log, and a count
/// of the rest.
extension Store {
    /// Whom a connection's lines count against: its domain, or for dom0's
    /// own clients the connection itself.
    func logSource(_ id: ConnectionID) -> LogLimiter.Source {
        if let domid = connections[id]?.domid, domid != 0 { return .domain(domid) }
        return .connection(id)
    }

    /// Writes `message` unless `source` has used up its lines for now.
    func log(_ level: Logger.Level, by source: LogLimiter.Source, _ message: @autoclosure () -> String) {
        guard logger.logLevel <= level else { return }
        let (allowed, suppressed) = logLimiter.admit(source, now: logClock())
        guard allowed else { return }
        if suppressed > 0 {
            logger.log(level: level, "\(message()) (\(suppressed) earlier line(s) from \(source) suppressed)")
        } else {
            logger.log(level: level, "\(message())")
        }
    }

    /// Says how many of `source`'s lines went unsaid, and forgets it.
    func flushLog(_ source: LogLimiter.Source) {
        let suppressed = logLimiter.flush(source)
        if suppressed > 0 {
            logger.warning("\(suppressed) log line(s) from \(source) suppressed")
        }
    }
}
