import XenStoreProtocol

/// WATCH, UNWATCH and the delivery of watch events.
extension Store {
    // MARK: Watches

    func queueEvent(_ event: Event, _ txn: Transaction?) {
        if let txn { txn.events.append(event) } else { pendingEvents.append(event) }
    }

    /// Parses a WATCH/UNWATCH path: absolute, relative to the domain, or special.
    func watchPath(_ text: String, _ conn: Connection) throws(XSError) -> (path: String, relativeBase: String?) {
        if text.utf8.first == UInt8(ascii: "@") {
            guard text.utf8.count <= XSPath.relativeMax else { throw .EINVAL }
            return (text, nil)
        }
        let absolute = try path(text, conn)
        return (absolute, text.utf8.first == UInt8(ascii: "/") ? nil : conn.base)
    }

    func watch(_ text: String, token: String, _ conn: Connection, _ after: inout [XSMessage]) throws(XSError) -> [UInt8] {
        let (path, relativeBase) = try watchPath(text, conn)
        if conn.watches.contains(where: { $0.path == path && $0.token == token }) { throw .EEXIST }
        if !conn.privileged && (watchesPerDomain[conn.domid] ?? 0) >= quotas.watchesPerDomain {
            throw quotaExceeded("watches", conn, .E2BIG)
        }
        let watch = Watch(connection: conn.id, path: path, token: token, relativeBase: relativeBase)
        conn.watches.append(watch)
        watchesByPath[path, default: []].append(watch)
        watchesPerDomain[conn.domid, default: 0] += 1
        // One event straight away, for the watched path itself.
        after.append(eventMessage(watch, path: path))
        return XSPayload.ok
    }

    func unwatch(_ text: String, token: String, _ conn: Connection) throws(XSError) -> [UInt8] {
        let (path, _) = try watchPath(text, conn)
        guard let index = conn.watches.firstIndex(where: { $0.path == path && $0.token == token }) else { throw .ENOENT }
        removeWatch(conn.watches.remove(at: index), domid: conn.domid)
        return XSPayload.ok
    }

    func dropWatches(of conn: Connection) {
        for watch in conn.watches { removeWatch(watch, domid: conn.domid) }
        conn.watches.removeAll()
    }

    func removeWatch(_ watch: Watch, domid: UInt32) {
        watchesByPath[watch.path]?.removeAll { $0 === watch }
        if watchesByPath[watch.path]?.isEmpty == true { watchesByPath[watch.path] = nil }
        watchesPerDomain[domid, default: 1] -= 1
    }

    func eventMessage(_ watch: Watch, path: String) -> XSMessage {
        var shown = path
        if let base = watch.relativeBase, path.utf8.count > base.utf8.count, path.hasPrefix(base) {
            shown = String(path.utf8.dropFirst(base.utf8.count + 1))!
        }
        return XSMessage(.watchEvent, payload: XSPayload.strings([shown, watch.token]))
    }

    /// Sends `event` to every watch it matches: watches on the path itself
    /// and, unless the event is exact, on any ancestor. Unprivileged watchers
    /// only hear of nodes they may read.
    func deliver(_ event: Event) {
        if watchesByPath.isEmpty { return }
        var candidate = event.path
        while true {
            if let watches = watchesByPath[candidate] {
                for watch in watches { deliver(event, to: watch) }
            }
            if event.exact || candidate == "/" || XSPath.isSpecial(candidate) { break }
            candidate = XSPath.parent(of: candidate)
        }
    }

    func deliver(_ event: Event, to watch: Watch) {
        guard let conn = connections[watch.connection] else { return }
        if !conn.privileged {
            let readable = rights(event.perms, conn).contains(.read)
                || (event.oldPerms.map { rights($0, conn).contains(.read) } ?? false)
            guard readable else { return }
        }
        outbox.append((conn.id, eventMessage(watch, path: event.path)))
    }

    func fireSpecial(_ path: String) {
        pendingEvents.append(Event(path: path, exact: true, perms: specialPerms[path]!))
    }
}
