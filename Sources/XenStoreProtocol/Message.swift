/// The xenstore wire format of Xen 4.17 (`xen/io/xs_wire.h`).
///
/// A message is a 16-byte header of four little-endian `UInt32`s
/// (type, request id, transaction id, payload length) followed by a
/// payload of at most ``XSMessage/maxPayload`` bytes. Payloads are
/// NUL-separated strings; see ``XSPayload``.

/// Message types, numbered as in `enum xsd_sockmsg_type`.
public enum XSType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case control = 0          // formerly XS_DEBUG
    case directory = 1
    case read = 2
    case getPerms = 3
    case watch = 4
    case unwatch = 5
    case transactionStart = 6
    case transactionEnd = 7
    case introduce = 8
    case release = 9
    case getDomainPath = 10
    case write = 11
    case mkdir = 12
    case rm = 13
    case setPerms = 14
    case watchEvent = 15
    case error = 16
    case isDomainIntroduced = 17
    case resume = 18
    case setTarget = 19
    // 20 was XS_RESTRICT, removed.
    case resetWatches = 21
    case directoryPart = 22

    /// `XS_INVALID`: guaranteed never to be a valid type.
    public static let invalidRawValue: UInt32 = 0xffff

    /// The name Xen's headers use, e.g. `XS_READ`.
    public var description: String {
        switch self {
        case .control: "XS_CONTROL"
        case .directory: "XS_DIRECTORY"
        case .read: "XS_READ"
        case .getPerms: "XS_GET_PERMS"
        case .watch: "XS_WATCH"
        case .unwatch: "XS_UNWATCH"
        case .transactionStart: "XS_TRANSACTION_START"
        case .transactionEnd: "XS_TRANSACTION_END"
        case .introduce: "XS_INTRODUCE"
        case .release: "XS_RELEASE"
        case .getDomainPath: "XS_GET_DOMAIN_PATH"
        case .write: "XS_WRITE"
        case .mkdir: "XS_MKDIR"
        case .rm: "XS_RM"
        case .setPerms: "XS_SET_PERMS"
        case .watchEvent: "XS_WATCH_EVENT"
        case .error: "XS_ERROR"
        case .isDomainIntroduced: "XS_IS_DOMAIN_INTRODUCED"
        case .resume: "XS_RESUME"
        case .setTarget: "XS_SET_TARGET"
        case .resetWatches: "XS_RESET_WATCHES"
        case .directoryPart: "XS_DIRECTORY_PART"
        }
    }
}

/// The fixed 16-byte message header.
public struct XSHeader: Sendable, Equatable {
    public static let size = 16

    /// Raw type: a request may carry a type that ``XSType`` does not know.
    public var type: UInt32
    public var requestID: UInt32
    public var transactionID: UInt32
    public var length: UInt32

    @inlinable
    public init(type: UInt32, requestID: UInt32, transactionID: UInt32, length: UInt32) {
        self.type = type
        self.requestID = requestID
        self.transactionID = transactionID
        self.length = length
    }

    /// Decodes a header from the first 16 bytes of `bytes`, or nil if there are fewer.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.size else { return nil }
        func word(_ i: Int) -> UInt32 { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)) }
        self.init(type: word(0), requestID: word(1), transactionID: word(2), length: word(3))
    }

    public init?(_ bytes: [UInt8]) {
        guard let h = bytes.withUnsafeBytes({ XSHeader($0) }) else { return nil }
        self = h
    }

    /// The known type, or nil for an unknown one.
    public var kind: XSType? { XSType(rawValue: type) }

    /// A reply of this request's type with `payload`.
    @inlinable
    public func reply(_ payload: [UInt8]) -> XSMessage {
        XSMessage(type: type, requestID: requestID, transactionID: transactionID, payload: payload)
    }

    /// An `XS_ERROR` reply to this request.
    public func errorReply(_ error: XSError) -> XSMessage {
        XSMessage(.error, requestID: requestID, transactionID: transactionID, payload: XSPayload.strings([error.rawValue]))
    }

    /// Appends the 16 little-endian bytes to `out` (inlinable: the daemon
    /// writes every message with it).
    @inlinable
    public func encode(into out: inout [UInt8]) {
        // One append of the four words (an array of them was a heap allocation per message).
        withUnsafeBytes(of: (type.littleEndian, requestID.littleEndian, transactionID.littleEndian, length.littleEndian)) {
            out.append(contentsOf: $0)
        }
    }
}

/// One whole message: header fields and payload.
public struct XSMessage: Sendable, Equatable {
    /// `XENSTORE_PAYLOAD_MAX`.
    public static let maxPayload = 4096

    public var type: UInt32
    public var requestID: UInt32
    public var transactionID: UInt32
    public var payload: [UInt8]

    public init(type: UInt32, requestID: UInt32 = 0, transactionID: UInt32 = 0, payload: [UInt8] = []) {
        self.type = type
        self.requestID = requestID
        self.transactionID = transactionID
        self.payload = payload
    }

    public init(_ type: XSType, requestID: UInt32 = 0, transactionID: UInt32 = 0, payload: [UInt8] = []) {
        self.init(type: type.rawValue, requestID: requestID, transactionID: transactionID, payload: payload)
    }

    public var kind: XSType? { XSType(rawValue: type) }

    public var header: XSHeader {
        XSHeader(type: type, requestID: requestID, transactionID: transactionID, length: UInt32(payload.count))
    }

    /// Header and payload, ready for the wire.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(XSHeader.size + payload.count)
        header.encode(into: &out)
        out.append(contentsOf: payload)
        return out
    }

    /// An `XS_ERROR` reply to this request.
    public func errorReply(_ error: XSError) -> XSMessage {
        XSMessage(.error, requestID: requestID, transactionID: transactionID, payload: XSPayload.strings([error.rawValue]))
    }

    /// A reply of this request's type with `payload`.
    public func reply(_ payload: [UInt8]) -> XSMessage {
        XSMessage(type: type, requestID: requestID, transactionID: transactionID, payload: payload)
    }
}

/// Splits a byte stream into messages. Pure: feed it bytes, take messages.
public struct XSFrameDecoder: Sendable {
    public enum Failure: Error, Equatable, Sendable {
        /// The header announces a payload over ``XSMessage/maxPayload``: Xen drops such a connection.
        case payloadTooLarge(UInt32)
    }

    @usableFromInline var buffer: [UInt8] = []
    /// Where the bytes not yet taken begin: those before it are emptied out
    /// only once they are over ``reuseBytes`` (or all of the buffer).
    @usableFromInline var start = 0
    /// Taken bytes kept in the buffer before it is emptied: emptying it after
    /// every message cost two runtime calls a request (dear under QEMU's
    /// TCG); this way it is one in every hundred or so small requests. (A
    /// buffer whose last message is not yet whole is cut past 64 KiB, as before.)
    static let reuseBytes = 4096

    public init() {}

    /// Bytes received but not yet part of a whole message. (Inlinable: the
    /// daemon asks twice a request.)
    @inlinable
    public var pendingByteCount: Int { buffer.count - start }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// The same for raw memory: one copy, not a generic walk byte by byte
    /// (a caller in another module gets no specialized generic).
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// The next whole message, nil if more bytes are needed. (Its payload
    /// copied into an array of its own: the daemon takes ``nextFrame()``.)
    public mutating func next() throws(Failure) -> XSMessage? {
        guard let frame = try nextFrame() else { return nil }
        return XSMessage(type: frame.header.type, requestID: frame.header.requestID,
                         transactionID: frame.header.transactionID, payload: frame.payload)
    }

    /// The next whole message as it lies in the buffer, nil if more bytes
    /// are needed. No payload array is made (its allocation and freeing
    /// were a dozen runtime calls a request in the daemon, dear under
    /// QEMU's TCG): the frame shares the buffer, which copy-on-write keeps
    /// as it is while the frame lives, and the buffer is compacted only at
    /// the next ``append(_:)``, once the frame is gone (compacting a buffer
    /// still shared would copy it).
    public mutating func nextFrame() throws(Failure) -> XSFrame? {
        guard pendingByteCount >= XSHeader.size else { return nil }
        let header = buffer.withUnsafeBytes { XSHeader(UnsafeRawBufferPointer(rebasing: $0[start...]))! }
        guard header.length <= UInt32(XSMessage.maxPayload) else { throw .payloadTooLarge(header.length) }
        let end = start + XSHeader.size + Int(header.length)
        guard buffer.count >= end else { return nil }
        let frame = XSFrame(header: header, storage: buffer, payloadStart: start + XSHeader.size)
        start = end
        return frame
    }

    /// Empties out the bytes already taken: all of them once over
    /// ``reuseBytes`` when none are left to take, or past 64 KiB when the
    /// last message is not yet whole. Called before bytes are added (see
    /// ``nextFrame()``).
    mutating func compact() {
        if start == buffer.count {
            if start > Self.reuseBytes {
                buffer.removeAll(keepingCapacity: true)
                start = 0
            }
        } else if start > 65536 {
            buffer.removeFirst(start)
            start = 0
        }
    }
}

/// One whole message in a decoder's buffer (``XSFrameDecoder/nextFrame()``):
/// its header, and its payload read in place.
public struct XSFrame: Sendable {
    public let header: XSHeader
    /// The decoder's buffer when the frame was taken (shared, not copied).
    @usableFromInline let storage: [UInt8]
    @usableFromInline let payloadStart: Int

    @usableFromInline
    init(header: XSHeader, storage: [UInt8], payloadStart: Int) {
        self.header = header
        self.storage = storage
        self.payloadStart = payloadStart
    }

    /// `body` over the payload's bytes, in place.
    @inlinable
    public func withPayload<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { all in
            try body(UnsafeBufferPointer(rebasing: all[payloadStart..<(payloadStart + Int(header.length))]))
        }
    }

    /// A copy of the payload.
    public var payload: [UInt8] { withPayload { Array($0) } }
}
