import XenStoreProtocol

/// WATCH, UNWATCH and the delivery of watch events.
extension Store {
    // MARK: Watches

    /// (`event` is consumed: moved into the queue, not copied field by field.)
    func queueEvent(_ event: consuming Event, _ txn: Transaction?) {
        if let txn { txn.events.append(consume event) } else { pendingEvents.append(consume event) }
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
        countWatchedLength(path, 1)
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
        countWatchedLength(watch.path, -1)
        watchesPerDomain[domid, default: 1] -= 1
    }

    /// Counts a watch set (`delta` 1) or removed (-1) in ``watchedLengths``.
    func countWatchedLength(_ path: String, _ delta: Int) {
        let length = path.utf8.count
        if length >= watchedLengths.count {
            watchedLengths.append(contentsOf: repeatElement(0, count: length + 1 - watchedLengths.count))
        }
        watchedLengths[length] += delta
    }

    /// Whether some watch is set on a path of `length` bytes.
    func someWatchHasLength(_ length: Int) -> Bool {
        length < watchedLengths.count && watchedLengths[length] > 0
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
    ///
    /// Only a path as long as some watch's is looked up (``watchedLengths``),
    /// and the ancestors are cut from the event's path by their lengths: a
    /// change deep in the tree under a few watches elsewhere (dom0's kernel
    /// and xenconsoled always hold some) costs no string and no hashing per
    /// ancestor. (A lookup of a 40-byte path costs about 750 instructions, an
    /// ancestor's string an allocation; under QEMU's TCG, as in the harness,
    /// each instruction costs many.)
    func deliver(_ event: Event) {
        if watchesByPath.isEmpty { return }
        let path = event.path
        let total = path.utf8.count
        // A special path (`@...`) has no ancestors (and a set lookup costs a hash).
        if event.exact || path.utf8.first == UInt8(ascii: "@") {
            if someWatchHasLength(total) { deliver(event, toWatchesOn: path) }
            return
        }
        var length = total
        while true {
            if someWatchHasLength(length) {
                deliver(event, toWatchesOn: length == total ? path : String(path.utf8.prefix(length))!)
            }
            if length <= 1 { break }
            length = Self.parentLength(path, length)
        }
    }

    /// The length of the parent of `path`'s first `length` bytes (an
    /// absolute path other than `/`): up to its last slash, or 1 for `/`.
    static func parentLength(_ path: String, _ length: Int) -> Int {
        let slash = path.utf8.withContiguousStorageIfAvailable { bytes -> Int in
            var i = length - 1
            while i > 0 && bytes[i] != UInt8(ascii: "/") { i -= 1 }
            return i
        } ?? (path.utf8.prefix(length).lastIndex(of: UInt8(ascii: "/")).map { path.utf8.distance(from: path.utf8.startIndex, to: $0) } ?? 0)
        return max(slash, 1)
    }

    private func deliver(_ event: Event, toWatchesOn candidate: String) {
        #if DEBUG
        counters.watchLookups += 1
        #endif
        guard let watches = watchesByPath[candidate] else { return }
        for watch in watches { deliver(event, to: watch) }
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
