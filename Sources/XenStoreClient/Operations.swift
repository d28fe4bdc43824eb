import XenStoreProtocol

/// The node operations, alike outside and inside a transaction: a conformer
/// only says how one request is sent (``XenStoreClient`` outside any
/// transaction, ``XenStoreTransaction`` inside one).
public protocol XenStoreOperations {
    func request(_ type: XSType, _ payload: [UInt8]) throws(XenStoreError) -> [UInt8]
}

extension XenStoreOperations {
    /// Sends `request` (see ``XSRequest``) and returns its reply's payload.
    public func request(_ request: XSRequest) throws(XenStoreError) -> [UInt8] {
        try self.request(request.type, request.payload)
    }

    /// The value at `path`, raw bytes.
    public func read(_ path: String) throws(XenStoreError) -> [UInt8] {
        try request(.read(path))
    }

    /// The value at `path` as text (invalid UTF-8 repaired).
    public func readString(_ path: String) throws(XenStoreError) -> String {
        String(decoding: try read(path), as: UTF8.self)
    }

    /// The value, or nil when the node does not exist.
    public func readIfPresent(_ path: String) throws(XenStoreError) -> [UInt8]? {
        do { return try read(path) } catch .xs(.ENOENT) { return nil }
    }

    /// Whether `path` exists (and is readable).
    public func exists(_ path: String) throws(XenStoreError) -> Bool {
        try readIfPresent(path) != nil
    }

    /// Writes `value` at `path`; the daemon creates missing parents.
    public func write(_ path: String, _ value: some Collection<UInt8>) throws(XenStoreError) {
        _ = try request(.write(path, Array(value)))
    }

    public func write(_ path: String, _ value: String) throws(XenStoreError) {
        try write(path, value.utf8)
    }

    /// Creates `path` (and missing parents) with empty values; no error if it exists.
    public func mkdir(_ path: String) throws(XenStoreError) {
        _ = try request(.mkdir(path))
    }

    /// Removes `path` and everything below it; no error if it does not exist.
    public func rm(_ path: String) throws(XenStoreError) {
        _ = try request(.rm(path))
    }

    /// The names of `path`'s children. A list too long for one reply
    /// (E2BIG) is fetched in parts with DIRECTORY_PART, as libxenstore does.
    public func directory(_ path: String) throws(XenStoreError) -> [String] {
        do {
            return XSPayload.split(try request(.directory(path)))
        } catch .xs(.E2BIG) {
            return try directoryInParts(path)
        }
    }

    /// DIRECTORY_PART: each reply is the node's generation, then children
    /// from the byte offset asked; the last part ends with an empty name.
    /// If the generation changes between parts, start again.
    func directoryInParts(_ path: String) throws(XenStoreError) -> [String] {
        var restarts = 0
        var generation = ""
        var names: [UInt8] = []
        while true {
            let reply: [UInt8]
            do {
                reply = try request(.directoryPart(path, offset: names.count))
            } catch .xs(.ENOSYS) {
                throw .xs(.E2BIG)
            }
            guard let nul = reply.firstIndex(of: 0) else { throw .protocolViolation("DIRECTORY_PART reply without generation") }
            let gen = String(decoding: reply[..<nul], as: UTF8.self)
            if names.isEmpty {
                generation = gen
            } else if gen != generation {
                restarts += 1
                guard restarts < 100 else { throw .xs(.EAGAIN) }
                names.removeAll()
                generation = ""
                continue
            }
            let part = reply[(nul + 1)...]
            names.append(contentsOf: part)
            // The final part ends with an empty string: two NULs in a row
            // (or a single NUL when there are no children at all).
            if part.isEmpty || names.count <= 1 || names[names.count - 2] == 0 {
                if !names.isEmpty { names.removeLast() }
                return XSPayload.split(names)
            }
        }
    }

    public func getPermissions(_ path: String) throws(XenStoreError) -> XSPermissions {
        let reply = try request(.getPerms(path))
        guard let perms = XSPermissions(parsing: XSPayload.split(reply)) else {
            throw .protocolViolation("malformed permissions for \(path)")
        }
        return perms
    }

    /// Sets `path`'s permission list (the first entry is the owner).
    public func setPermissions(_ path: String, _ permissions: XSPermissions) throws(XenStoreError) {
        _ = try request(.setPerms(path, permissions))
    }
}
