import CXenStoreRing

/// One xenstore ring page (`struct xenstore_domain_interface`, xs_wire.h)
/// as the daemon sees it. Every access goes through the C shim, which reads
/// each index once, checks it and puts full barriers around the copies.
public struct RingPage: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer

    public init(_ base: UnsafeMutableRawPointer) { self.base = base }

    /// `XENSTORE_RING_SIZE`.
    public static let ringSize = Int(XSR_RING_SIZE)
    /// `XENSTORE_CONNECTED` / `XENSTORE_RECONNECT` (the `connection` field).
    public static let connected: UInt32 = 0
    public static let reconnect: UInt32 = 1
    /// `XENSTORE_SERVER_FEATURE_RECONNECTION`.
    public static let featureReconnection: UInt32 = 1

    /// The `error` field's values (`XENSTORE_ERROR_*`).
    public enum Failure: UInt32, Sendable, Equatable {
        /// `XENSTORE_ERROR_COMM`: communication problem.
        case communication = 1
        /// `XENSTORE_ERROR_RINGIDX`: invalid ring index.
        case ringIndex = 2
        /// `XENSTORE_ERROR_PROTO`: protocol violation (a payload over 4096 bytes).
        case protocolViolation = 3
    }

    /// Takes request bytes into `buffer`: the count, 0 if none, nil if the indices are corrupt.
    @inline(__always)
    func readRequests(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let n = xsr_read_requests(base, buffer.baseAddress, UInt32(buffer.count))
        return n < 0 ? nil : Int(n)
    }

    /// Puts reply bytes from `bytes`: the count taken (0 if the ring is full), nil if the indices are corrupt.
    @inline(__always)
    func writeReplies(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let n = xsr_write_replies(base, bytes.baseAddress, UInt32(bytes.count))
        return n < 0 ? nil : Int(n)
    }

    var requestsWaiting: Bool { xsr_requests_waiting(base) != 0 }

    /// Connected, and no request bytes in the ring (one call for both).
    var isQuiet: Bool { xsr_quiet(base) != 0 }

    /// What ``firstReady(_:looks:spins:)`` looks for in a page (`XSR_LOOK_*`).
    struct Looks: OptionSet {
        let rawValue: UInt8
        /// Bytes in the request ring.
        static let requests = Looks(rawValue: UInt8(XSR_LOOK_REQUESTS))
        /// Room in the reply ring (output waits for it).
        static let room = Looks(rawValue: UInt8(XSR_LOOK_ROOM))
    }

    /// Looks at the pages' indices `spins` times over: the index in `pages`
    /// of the first where what `looks` (one per page) asks for is there, nil if none.
    static func firstReady(_ pages: [UnsafeMutableRawPointer?], looks: [Looks], spins: UInt32) -> Int? {
        let i = pages.withUnsafeBufferPointer { p in
            looks.withUnsafeBufferPointer { l in
                l.withMemoryRebound(to: UInt8.self) { xsr_poll(p.baseAddress, $0.baseAddress, UInt32(p.count), spins) }
            }
        }
        return i < 0 ? nil : Int(i)
    }

    var connection: UInt32 {
        get { xsr_load(base, UInt32(XSR_CONNECTION)) }
        nonmutating set { xsr_store(base, UInt32(XSR_CONNECTION), newValue) }
    }

    var serverFeatures: UInt32 {
        get { xsr_load(base, UInt32(XSR_SERVER_FEATURES)) }
        nonmutating set { xsr_store(base, UInt32(XSR_SERVER_FEATURES), newValue) }
    }

    var error: UInt32 {
        get { xsr_load(base, UInt32(XSR_ERROR)) }
        nonmutating set { xsr_store(base, UInt32(XSR_ERROR), newValue) }
    }

    /// Empties both rings (the reconnection's reset).
    func reset() { xsr_reset(base) }
}
