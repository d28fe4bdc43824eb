/// Payload conventions: strings separated (and usually terminated) by NUL.
///
/// Requests name their arguments NUL-terminated (`path\0`, `path\0token\0`);
/// a WRITE is `path\0` followed by the raw value with no terminator; a READ
/// reply is the raw value; DIRECTORY replies list children each with a NUL;
/// simple acknowledgements are `OK\0`.
public enum XSPayload {
    public static let ok: [UInt8] = Array("OK".utf8) + [0]

    /// Each string followed by a NUL.
    public static func strings(_ items: [String]) -> [UInt8] {
        var out: [UInt8] = []
        for item in items {
            out.append(contentsOf: item.utf8)
            out.append(0)
        }
        return out
    }

    /// Splits at NULs. A final NUL terminates the last item rather than
    /// starting an empty one; an empty payload has no items.
    public static func split(_ payload: some Collection<UInt8>) -> [String] {
        // Contiguous bytes (arrays and their slices, i.e. every caller) are
        // cut where the NULs are, each item decoded straight from memory.
        if let items = payload.withContiguousStorageIfAvailable({ buffer -> [String] in
            var items: [String] = []
            var start = 0
            for i in buffer.indices where buffer[i] == 0 {
                items.append(String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<i]), as: UTF8.self))
                start = i + 1
            }
            if start < buffer.count {
                items.append(String(decoding: UnsafeBufferPointer(rebasing: buffer[start...]), as: UTF8.self))
            }
            return items
        }) {
            return items
        }
        var items: [String] = []
        var current: [UInt8] = []
        for byte in payload {
            if byte == 0 {
                items.append(String(decoding: current, as: UTF8.self))
                current.removeAll(keepingCapacity: true)
            } else {
                current.append(byte)
            }
        }
        if !current.isEmpty { items.append(String(decoding: current, as: UTF8.self)) }
        return items
    }

    /// `split` for an array: what callers in other modules use, specialized here.
    public static func split(_ payload: [UInt8]) -> [String] {
        split(payload[...])
    }

    /// `split` for bytes in place, specialized here.
    public static func split(_ payload: UnsafeBufferPointer<UInt8>) -> [String] {
        split(payload[...])
    }

    /// ``firstString(_:)`` with the bytes after the NUL copied out as an array.
    @inlinable
    public static func firstStringAndRest(_ payload: [UInt8]) -> (String, [UInt8])? {
        payload.withUnsafeBufferPointer { firstStringAndRest($0) }
    }

    /// The same from bytes in place (a WRITE, the most frequent change,
    /// decodes with this; slices of arrays went through generic copies).
    @inlinable
    public static func firstStringAndRest(_ bytes: UnsafeBufferPointer<UInt8>) -> (String, [UInt8])? {
        guard let nul = bytes.firstIndex(of: 0) else { return nil }
        return (String(decoding: UnsafeBufferPointer(rebasing: bytes[..<nul]), as: UTF8.self),
                Array(UnsafeBufferPointer(rebasing: bytes[(nul + 1)...])))
    }

    /// The first NUL-terminated string and the bytes after its NUL,
    /// or nil when there is no NUL (Xen answers EINVAL).
    @inlinable
    public static func firstString(_ payload: [UInt8]) -> (String, ArraySlice<UInt8>)? {
        guard let nul = payload.firstIndex(of: 0) else { return nil }
        return (String(decoding: payload[..<nul], as: UTF8.self), payload[(nul + 1)...])
    }
}
