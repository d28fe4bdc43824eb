#if canImport(Glibc)
import Glibc
#endif

/// Where a save stream's bytes come from. Reads are exact and never read
/// ahead: libxl, libxc and xl's migration protocol share one descriptor,
/// and whoever reads next must find its bytes still there.
public protocol ExactReader: AnyObject {
    /// Exactly `count` bytes, or `SaveFormatError.truncated` naming `what`
    /// when the input ends first.
    func read(exactly count: Int, _ what: String) throws(SaveFormatError) -> [UInt8]
    /// Bytes consumed so far.
    var offset: UInt64 { get }
}

/// Where a save stream's bytes go: unbuffered, so that whatever writes
/// the same descriptor next (libxc on real Xen) comes after them.
public protocol ByteWriter: AnyObject {
    func write(_ bytes: [UInt8], _ what: String) throws(SaveFormatError)
    /// Bytes written so far.
    var offset: UInt64 { get }
}

/// Reads from a file descriptor, one `read(2)` loop per request.
public final class DescriptorReader: ExactReader {
    public let fd: Int32
    /// Names the source in messages ("<incoming migration stream>" or a path).
    public let source: String
    public private(set) var offset: UInt64 = 0

    public init(fd: Int32, source: String) {
        self.fd = fd
        self.source = source
    }

    public func read(exactly count: Int, _ what: String) throws(SaveFormatError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + got, count - got) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                throw SaveFormatError(.io(e), "failed to read \(what) from \(source): \(String(cString: strerror(e)))")
            }
            if n == 0 {
                throw SaveFormatError(.truncated, "file/stream truncated reading \(what) from \(source)")
            }
            got += n
        }
        offset += UInt64(count)
        return bytes
    }
}

/// Writes to a file descriptor, all bytes or an error.
public final class DescriptorWriter: ByteWriter {
    public let fd: Int32
    public let destination: String
    public private(set) var offset: UInt64 = 0

    public init(fd: Int32, destination: String) {
        self.fd = fd
        self.destination = destination
    }

    public func write(_ bytes: [UInt8], _ what: String) throws(SaveFormatError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                throw SaveFormatError(.io(e), "failed to write \(what) to \(destination): \(String(cString: strerror(e)))")
            }
            done += n
        }
        offset += UInt64(bytes.count)
    }
}

/// Reads from bytes in memory (tests, and parsing a record's body).
public final class BytesReader: ExactReader {
    public let bytes: [UInt8]
    public let source: String
    public private(set) var position = 0
    public var offset: UInt64 { UInt64(position) }

    public init(_ bytes: [UInt8], source: String = "<memory>") {
        self.bytes = bytes
        self.source = source
    }

    public var remaining: Int { bytes.count - position }

    public func read(exactly count: Int, _ what: String) throws(SaveFormatError) -> [UInt8] {
        guard count <= remaining else {
            throw SaveFormatError(.truncated, "file/stream truncated reading \(what) from \(source)")
        }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }
}

/// Collects bytes in memory.
public final class BytesWriter: ByteWriter {
    public private(set) var bytes: [UInt8] = []
    public var offset: UInt64 { UInt64(bytes.count) }
    public init() {}
    public func write(_ bytes: [UInt8], _ what: String) throws(SaveFormatError) { self.bytes += bytes }
}

// MARK: integers

extension Array where Element == UInt8 {
    mutating func appendLE32(_ v: UInt32) { for i in 0..<4 { append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func appendLE64(_ v: UInt64) { for i in 0..<8 { append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func appendBE32(_ v: UInt32) { for i in (0..<4).reversed() { append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func appendBE64(_ v: UInt64) { for i in (0..<8).reversed() { append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }

    func le32(at i: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(self[i + $1]) << (8 * $1) } }
    func le64(at i: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(self[i + $1]) << (8 * $1) } }
    func be32(at i: Int) -> UInt32 { (0..<4).reduce(0) { $0 << 8 | UInt32(self[i + $1]) } }
    func be64(at i: Int) -> UInt64 { (0..<8).reduce(0) { $0 << 8 | UInt64(self[i + $1]) } }
}

/// Little-endian helpers for other modules' record bodies.
public enum LittleEndian {
    public static func u32(_ v: UInt32) -> [UInt8] { var b: [UInt8] = []; b.appendLE32(v); return b }
    public static func u64(_ v: UInt64) -> [UInt8] { var b: [UInt8] = []; b.appendLE64(v); return b }
    public static func u32(_ bytes: [UInt8], at i: Int) -> UInt32 { bytes.le32(at: i) }
    public static func u64(_ bytes: [UInt8], at i: Int) -> UInt64 { bytes.le64(at: i) }
}
