/// A request with its arguments, each operation's wire layout declared
/// once: the client encodes with ``type`` and ``payload``, the daemon
/// decodes with ``init(_:payload:)``.
///
/// Paths are carried as sent (relative, absolute or special); what they
/// mean for a connection is the daemon's business.
public enum XSRequest: Sendable, Equatable {
    case read(String)
    /// The value is the raw bytes after the path's NUL, with no terminator.
    case write(String, [UInt8])
    case mkdir(String)
    case rm(String)
    case directory(String)
    /// The children listed from byte `offset` of the child list on.
    case directoryPart(String, offset: Int)
    case getPerms(String)
    case setPerms(String, XSPermissions)
    case watch(String, token: String)
    case unwatch(String, token: String)
    case transactionStart
    /// Sent in the transaction it ends.
    case transactionEnd(commit: Bool)
    case introduce(domid: UInt32, mfn: UInt64, port: UInt32)
    case release(domid: UInt32)
    case resume(domid: UInt32)
    case getDomainPath(domid: UInt32)
    case isDomainIntroduced(domid: UInt32)
    /// Gives device-model domain `domid` the rights of `target`.
    case setTarget(domid: UInt32, target: UInt32)
    case resetWatches
    case control(String, [String])

    public var type: XSType {
        switch self {
        case .read: .read
        case .write: .write
        case .mkdir: .mkdir
        case .rm: .rm
        case .directory: .directory
        case .directoryPart: .directoryPart
        case .getPerms: .getPerms
        case .setPerms: .setPerms
        case .watch: .watch
        case .unwatch: .unwatch
        case .transactionStart: .transactionStart
        case .transactionEnd: .transactionEnd
        case .introduce: .introduce
        case .release: .release
        case .resume: .resume
        case .getDomainPath: .getDomainPath
        case .isDomainIntroduced: .isDomainIntroduced
        case .setTarget: .setTarget
        case .resetWatches: .resetWatches
        case .control: .control
        }
    }

    /// The arguments as libxenstore sends them: each NUL-terminated, but a
    /// WRITE's value raw after its path.
    public var payload: [UInt8] {
        switch self {
        case .read(let path), .mkdir(let path), .rm(let path), .directory(let path), .getPerms(let path):
            return Self.encode(path)
        case .write(let path, let value):
            var out = Self.encode(path, reserving: value.count)
            out.append(contentsOf: value)
            return out
        case .directoryPart(let path, let offset): return XSPayload.strings([path, String(offset)])
        case .setPerms(let path, let perms): return XSPayload.strings([path] + perms.entries.map(\.description))
        case .watch(let path, let token), .unwatch(let path, let token): return XSPayload.strings([path, token])
        case .transactionStart, .resetWatches: return XSPayload.strings([""])
        case .transactionEnd(let commit): return XSPayload.strings([commit ? "T" : "F"])
        case .introduce(let domid, let mfn, let port): return XSPayload.strings([String(domid), String(mfn), String(port)])
        case .release(let domid), .resume(let domid), .getDomainPath(let domid), .isDomainIntroduced(let domid):
            return XSPayload.strings([String(domid)])
        case .setTarget(let domid, let target): return XSPayload.strings([String(domid), String(target)])
        case .control(let command, let arguments): return XSPayload.strings([command] + arguments)
        }
    }

    /// `text` and its NUL, with room for `extra` bytes more.
    private static func encode(_ text: String, reserving extra: Int = 0) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 1 + extra)
        out.append(contentsOf: text.utf8)
        out.append(0)
        return out
    }

    /// Reads a request's arguments as Xen 4.17's xenstored does: arguments
    /// beyond those an operation takes are ignored, an offset is read as
    /// `atoi` reads it, and an operation of one argument wants exactly one
    /// NUL, at the end. EINVAL when they do not fit; ENOSYS for a type that
    /// is not a request. Inlinable: the daemon decodes every request with
    /// it, and a call into this module would cost READ and WRITE.
    @inlinable
    public init(_ type: XSType, payload: [UInt8]) throws(XSError) {
        self = try payload.withUnsafeBufferPointer { bytes throws(XSError) in try XSRequest(type, payload: bytes) }
    }

    /// ``init(_:payload:)`` from the payload's bytes in place (the daemon
    /// decodes frames from its buffers without a payload array).
    @inlinable
    public init(_ type: XSType, payload: UnsafeBufferPointer<UInt8>) throws(XSError) {
        switch type {
        case .read: self = .read(try Self.oneArgument(payload))
        case .write:
            // The path, then everything after its NUL: no general split.
            guard let (path, value) = XSPayload.firstStringAndRest(payload) else { throw .EINVAL }
            self = .write(path, value)
        case .mkdir: self = .mkdir(try Self.oneArgument(payload))
        case .rm: self = .rm(try Self.oneArgument(payload))
        case .directory: self = .directory(try Self.oneArgument(payload))
        case .directoryPart:
            let args = try Self.arguments(payload, atLeast: 2)
            self = .directoryPart(args[0], offset: Self.atoi(args[1]))
        case .getPerms: self = .getPerms(try Self.oneArgument(payload))
        case .setPerms:
            guard let nul = payload.firstIndex(of: 0) else { throw .EINVAL }
            let path = String(decoding: UnsafeBufferPointer(rebasing: payload[..<nul]), as: UTF8.self)
            let rest = UnsafeBufferPointer(rebasing: payload[(nul + 1)...])
            // Domain ids in a permission are 16 bits on the wire's other end (Xen's `domid_t`).
            guard let perms = XSPermissions(parsing: XSPayload.split(rest)),
                  perms.entries.allSatisfy({ $0.domid <= UInt32(UInt16.max) }) else { throw .EINVAL }
            self = .setPerms(path, perms)
        case .watch:
            let args = try Self.arguments(payload, atLeast: 2)
            self = .watch(args[0], token: args[1])
        case .unwatch:
            let args = try Self.arguments(payload, atLeast: 2)
            self = .unwatch(args[0], token: args[1])
        case .transactionStart: self = .transactionStart
        case .transactionEnd:
            switch try Self.oneArgument(payload) {
            case "T": self = .transactionEnd(commit: true)
            case "F": self = .transactionEnd(commit: false)
            default: throw .EINVAL
            }
        case .introduce:
            let args = try Self.arguments(payload, atLeast: 3)
            self = .introduce(domid: try Self.domid(args[0]), mfn: Self.atoi(args[1], digits: 19), port: Self.atoi(args[2]))
        // These five read their domain ids as Xen 4.17's daemon does, with
        // C's atoi() into an unsigned int: no digits is 0, "-1" is
        // 4294967295, and a reserved id (DOMID_SELF, ...) is passed on; what
        // an id means is the daemon's business (ENOENT, EINVAL, "T" or "F").
        // The first four take exactly one argument (Xen's onearg()).
        case .release: self = .release(domid: Self.cDomid(try Self.oneArgument(payload)))
        case .resume: self = .resume(domid: Self.cDomid(try Self.oneArgument(payload)))
        case .getDomainPath: self = .getDomainPath(domid: Self.cDomid(try Self.oneArgument(payload)))
        case .isDomainIntroduced: self = .isDomainIntroduced(domid: Self.cDomid(try Self.oneArgument(payload)))
        case .setTarget:
            let args = try Self.arguments(payload, atLeast: 2)
            self = .setTarget(domid: Self.cDomid(args[0]), target: Self.cDomid(args[1]))
        case .resetWatches: self = .resetWatches
        case .control:
            let args = XSPayload.split(payload)
            guard let command = args.first else { throw .EINVAL }
            self = .control(command, Array(args.dropFirst()))
        case .watchEvent, .error: throw .ENOSYS
        }
    }

    /// The single NUL-terminated argument of READ, MKDIR, RM, ...
    @usableFromInline
    static func oneArgument(_ payload: UnsafeBufferPointer<UInt8>) throws(XSError) -> String {
        // One NUL, the last byte, checked in place: the most frequent
        // requests skip a general split.
        guard payload.last == 0, payload.firstIndex(of: 0) == payload.count - 1 else { throw .EINVAL }
        return String(decoding: UnsafeBufferPointer(rebasing: payload.dropLast()), as: UTF8.self)
    }

    /// The first `count` NUL-terminated strings (more are ignored, as Xen does).
    @usableFromInline
    static func arguments(_ payload: UnsafeBufferPointer<UInt8>, atLeast count: Int) throws(XSError) -> [String] {
        var items: [String] = []
        var rest = payload[...]
        while items.count < count {
            guard let nul = rest.firstIndex(of: 0) else { throw .EINVAL }
            items.append(String(decoding: UnsafeBufferPointer(rebasing: rest[..<nul]), as: UTF8.self))
            rest = rest[(nul + 1)...]
        }
        return items
    }

    /// A domain id in decimal, below ``XSDomid/firstReserved``.
    @usableFromInline
    static func domid(_ text: String) throws(XSError) -> UInt32 {
        guard let domid = UInt32(text), domid < XSDomid.firstReserved else { throw .EINVAL }
        return domid
    }

    /// What `unsigned int domid = atoi(text)` gives in Xen's daemon (glibc's
    /// atoi is `(int)strtol(text, NULL, 10)`): leading white space, a sign,
    /// the digits (saturating at the limits of a 64-bit long), then the low
    /// 32 bits.
    @usableFromInline
    static func cDomid(_ text: String) -> UInt32 {
        var bytes = Substring(text).utf8.drop { $0 == 0x20 || (0x09...0x0d).contains($0) }
        var negative = false
        if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        var magnitude: UInt64 = 0
        var saturated = false
        for byte in bytes {
            guard (0x30...0x39).contains(byte) else { break }
            let (times, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(UInt64(byte - 0x30))
            if o1 || o2 || sum > UInt64(Int64.max) + (negative ? 1 : 0) { saturated = true; break }
            magnitude = sum
        }
        let long: Int64 = saturated ? (negative ? Int64.min : Int64.max)
            : negative ? (magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)) : Int64(magnitude)
        return UInt32(truncatingIfNeeded: long)
    }

    /// As C's `atoi`: the leading digits (at most `digits`, so that they
    /// fit), and 0 when there are none.
    @usableFromInline
    static func atoi<T: FixedWidthInteger>(_ text: String, digits: Int = 9) -> T {
        T(text.prefix(while: \.isNumber).prefix(digits)) ?? 0
    }
}
