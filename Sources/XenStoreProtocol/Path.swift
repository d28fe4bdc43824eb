#if canImport(Glibc)
import Glibc
#endif

/// Path rules of xenstore.
///
/// Absolute paths start with `/`, use only `[A-Za-z0-9-/_@]`, have no
/// trailing slash (except `/` itself) and no empty component. A relative
/// path is taken from the connection's domain path, `/local/domain/<domid>`.
/// Limits: an absolute path is at most ``absoluteMax`` bytes, and the part
/// below a domain's own directory at most ``relativeMax``. Watches (and
/// permissions) may also name the special paths ``introduceDomain`` and
/// ``releaseDomain``.
public enum XSPath {
    /// `XENSTORE_ABS_PATH_MAX`.
    public static let absoluteMax = 3072
    /// `XENSTORE_REL_PATH_MAX`.
    public static let relativeMax = 2048

    public static let introduceDomain = "@introduceDomain"
    public static let releaseDomain = "@releaseDomain"
    public static let specialPaths: Set<String> = [introduceDomain, releaseDomain]

    /// `body` over the UTF-8 bytes of `text`, in place. (`withUTF8` needs a
    /// `var` copy of the string, a retain and a release: runtime calls,
    /// several a request on the daemon's hot path, and dear under QEMU's
    /// TCG. Native strings, as every path the daemon makes or decodes is,
    /// are contiguous; any other is copied as before.)
    @inlinable
    public static func withBytes<R>(of text: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if let result = try text.utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = text
        return try copy.withUTF8(body)
    }

    /// `/local/domain/<domid>`.
    public static func domainPath(_ domid: UInt32) -> String { "/local/domain/\(domid)" }

    public static func isSpecial(_ path: String) -> Bool { specialPaths.contains(path) }

    /// Makes `path` absolute for a connection whose domain path is `base`
    /// and checks it. Returns nil for an invalid path (Xen's EINVAL).
    /// A path starting with `@` is never relative: it is refused unless
    /// `allowSpecial` (watches take any `@` name up to ``relativeMax``, as
    /// Xen 4.17 does; only ``specialPaths`` ever fire).
    public static func resolve(_ path: String, base: String, allowSpecial: Bool = false) -> String? {
        if path.utf8.first == UInt8(ascii: "@") {
            return allowSpecial && path.utf8.count <= relativeMax ? path : nil
        }
        if path.utf8.first == UInt8(ascii: "/") { return isValidAbsolute(path) ? path : nil }
        // Relative: `base` is valid (a domain's path), so only the part
        // joined to it is checked byte by byte, then the lengths of the whole.
        guard withBytes(of: path, isValidTail(bytes:)) else { return nil }
        let absolute = concatenate(base, path)
        return withBytes(of: absolute) { $0.count <= absoluteMax && relativeLength($0) <= relativeMax } ? absolute : nil
    }

    /// Whether `bytes` may follow an absolute path and its slash: names
    /// joined by single slashes, no slash first or last.
    static func isValidTail(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = bytes.first, first != slash, bytes.count <= absoluteMax else { return false }
        var previousSlash = false
        for b in bytes {
            let isSlash = b == slash
            if isSlash && previousSlash { return false }
            guard isPathByte(b) else { return false }
            previousSlash = isSlash
        }
        return !previousSlash
    }

    /// `a + "/" + b` in one allocation (this runs for most requests, and
    /// `+` twice costs two appends and a copy).
    static func concatenate(_ a: String, _ b: String) -> String {
        withBytes(of: a) { x in
            withBytes(of: b) { y in
                String(unsafeUninitializedCapacity: x.count + 1 + y.count) { out in
                    _ = out.initialize(from: x)
                    out[x.count] = slash
                    _ = UnsafeMutableBufferPointer(rebasing: out[(x.count + 1)...]).initialize(from: y)
                    return x.count + 1 + y.count
                }
            }
        }
    }

    /// The bytes of `path` in `range`, as a String (no UTF-8 check: cut at a
    /// `/` of valid UTF-8, the pieces are valid too).
    private static func piece(_ path: String, from start: Int, to end: Int) -> String {
        withBytes(of: path) { bytes in
            String(unsafeUninitializedCapacity: end - start) { out in
                _ = out.initialize(from: UnsafeBufferPointer(rebasing: bytes[start..<end]))
                return end - start
            }
        }
    }

    /// The offset of the last `/` in `path`, if any.
    private static func lastSlash(_ path: String) -> Int? {
        withBytes(of: path) { bytes in
            var i = bytes.count
            while i > 0 {
                i -= 1
                if bytes[i] == slash { return i }
            }
            return nil
        }
    }

    /// Whether `path` is a valid absolute node name.
    public static func isValidAbsolute(_ path: String) -> Bool {
        // One pass over the contiguous UTF-8 (native strings always are):
        // this runs for every request, so no String slicing or Unicode-aware
        // comparison here.
        withBytes(of: path, isValidAbsolute(bytes:))
    }

    static func isValidAbsolute(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = bytes.first, first == slash, bytes.count <= absoluteMax else { return false }
        if bytes.count == 1 { return true }
        // Each byte checked against two 64-bit masks of the allowed bytes
        // (no branch per character class), and a slash right after a slash
        // (or at the end) refused: this runs for every request with a path,
        // and under QEMU's TCG each instruction is dear.
        var previousSlash = false
        for b in bytes {
            let isSlash = b == slash
            if isSlash && previousSlash { return false }
            guard isPathByte(b) else { return false }
            previousSlash = isSlash
        }
        if previousSlash { return false }
        return relativeLength(bytes) <= relativeMax
    }

    /// Bits of the bytes 0-63 and 64-127 allowed in a path: `-`, `/`,
    /// digits; `@`, letters, `_`.
    private static let pathBytesLow: UInt64 = (1 << 0x2d) | (1 << 0x2f) | (0x3ff << 0x30)
    private static let pathBytesHigh: UInt64 = 0x7ff_ffff | (1 << (0x5f - 0x40)) | (0x3ff_ffff << (0x61 - 0x40))

    /// Whether `b` may appear in an absolute path: a name byte or `/`.
    @inline(__always)
    static func isPathByte(_ b: UInt8) -> Bool {
        let mask = b < 64 ? pathBytesLow : b < 128 ? pathBytesHigh : 0
        return mask >> UInt64(b & 63) & 1 != 0
    }

    /// The length of `path` below `/local/domain/<domid>/`, or its whole length elsewhere.
    static func relativeLength(_ path: String) -> Int {
        withBytes(of: path, relativeLength)
    }

    static func relativeLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let prefix: StaticString = "/local/domain/"
        let n = prefix.utf8CodeUnitCount
        guard bytes.count > n, memcmp(bytes.baseAddress!, prefix.utf8Start, n) == 0 else { return bytes.count }
        var i = n
        while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") { i += 1 }
        guard i > n, i < bytes.count, bytes[i] == slash else { return bytes.count }
        return bytes.count - i - 1
    }

    private static let slash = UInt8(ascii: "/")

    static func isNameByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "@"):
            true
        default:
            false
        }
    }

    /// The parent of an absolute path; `/` is its own parent.
    public static func parent(of path: String) -> String {
        guard let slash = lastSlash(path), slash > 0 else { return "/" }
        return piece(path, from: 0, to: slash)
    }

    /// The last component of an absolute path ("" for `/`).
    public static func name(of path: String) -> String {
        guard let slash = lastSlash(path) else { return path }
        return piece(path, from: slash + 1, to: path.utf8.count)
    }

    /// `child` below `parent`.
    public static func join(_ parent: String, _ child: String) -> String {
        parent == "/" ? "/" + child : concatenate(parent, child)
    }

    /// `parent` and a child's name given as its bytes (valid UTF-8, such
    /// as a name cut from a child list), in one allocation.
    public static func join(_ parent: String, name: UnsafeBufferPointer<UInt8>) -> String {
        withBytes(of: parent) { x in
            // Below "/" no second slash.
            let head = x.count == 1 ? 0 : x.count
            return String(unsafeUninitializedCapacity: head + 1 + name.count) { out in
                _ = UnsafeMutableBufferPointer(rebasing: out[..<head]).initialize(from: UnsafeBufferPointer(rebasing: x[..<head]))
                out[head] = slash
                _ = UnsafeMutableBufferPointer(rebasing: out[(head + 1)...]).initialize(from: name)
                return head + 1 + name.count
            }
        }
    }

    /// Whether `path` is `ancestor` or lies below it.
    public static func isWithin(_ path: String, _ ancestor: String) -> Bool {
        if ancestor == "/" { return path.utf8.first == slash }
        if ancestor.isEmpty || path.isEmpty { return false }
        return withBytes(of: path) { p in
            withBytes(of: ancestor) { a in
                p.count >= a.count && memcmp(p.baseAddress!, a.baseAddress!, a.count) == 0
                    && (p.count == a.count || p[a.count] == slash)
            }
        }
    }
}
