import CSwxlSystem
import XenStoreProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A node's child names as DIRECTORY sends them (each NUL-terminated, in
/// creation order), kept in chunks of at most ``chunkBytes`` bytes, each
/// holding whole names. A node with few children has one chunk, which
/// DIRECTORY returns as it is. A change copies only the chunk it touches
/// (and the small array of chunks), not the whole list: a transaction
/// works on its own copy of a parent, and adding a domain under `/vm`
/// (10,000 uuids, 370 kB) or `/local/domain` copied the whole list at every
/// create and destroy. Two lists are equal when their bytes are.
public struct ChildList: Sendable, Equatable {
    /// Bytes past which a new chunk is begun.
    static let chunkBytes = 4096

    private(set) var chunks: [[UInt8]] = []
    /// Bytes of the whole list.
    public private(set) var count = 0

    public init(_ names: [String] = []) {
        for name in names { append(name) }
    }

    /// The whole list, encoded (one chunk: no copy).
    public var bytes: [UInt8] {
        switch chunks.count {
        case 0: []
        case 1: chunks[0]
        default: Array(chunks.joined())
        }
    }

    /// The bytes from `offset` up to at most `limit` of them (fewer at the end).
    func bytes(from offset: Int, limit: Int) -> [UInt8] {
        var out: [UInt8] = []
        var start = 0
        let end = min(count, offset + limit)
        guard offset < end else { return out }
        out.reserveCapacity(end - offset)
        for chunk in chunks {
            let chunkEnd = start + chunk.count
            if chunkEnd > offset {
                let from = max(offset, start) - start, to = min(end, chunkEnd) - start
                out.append(contentsOf: chunk[from..<to])
            }
            start = chunkEnd
            if start >= end { break }
        }
        return out
    }

    /// Calls `body` with each name's bytes (without its NUL), in order.
    func forEachName(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        for chunk in chunks {
            chunk.withUnsafeBufferPointer { list in
                var start = 0
                for i in list.indices where list[i] == 0 {
                    body(UnsafeBufferPointer(rebasing: list[start..<i]))
                    start = i + 1
                }
            }
        }
    }

    /// Adds a name at the end.
    mutating func append(_ name: String) {
        XSPath.withBytes(of: name) { append($0) }
    }

    /// Adds a name, given as its bytes, at the end.
    mutating func append(_ name: UnsafeBufferPointer<UInt8>) {
        let size = name.count + 1
        if chunks.isEmpty || chunks[chunks.count - 1].count + size > Self.chunkBytes {
            var chunk: [UInt8] = []
            chunk.reserveCapacity(Swift.max(size, 64))
            chunks.append(chunk)
        }
        chunks[chunks.count - 1].append(contentsOf: name)
        chunks[chunks.count - 1].append(0)
        count += size
    }

    /// Removes a name, if there. Each chunk is searched with `memmem`
    /// (``swxl_memmem``) for NUL, name, NUL (or, at its start, name and NUL).
    mutating func remove(_ name: String) {
        let length = name.utf8.count
        guard length > 0 else { return }
        // NUL, name, NUL, in a buffer on the stack (no array per removal).
        let found: (chunk: Int, start: Int)? = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length + 2) { entry in
            entry[0] = 0
            _ = UnsafeMutableBufferPointer(rebasing: entry[1...]).initialize(from: name.utf8)
            entry[length + 1] = 0
            let wanted = UnsafeRawBufferPointer(entry)
            for i in chunks.indices {
                if let start = Self.find(wanted, length: length, in: chunks[i]) { return (i, start) }
            }
            return nil
        }
        guard let (i, start) = found else { return }
        if chunks[i].count == length + 1 {
            chunks.remove(at: i)
        } else {
            chunks[i].removeSubrange(start..<(start + length + 1))
        }
        count -= length + 1
    }

    /// Where the name in `wanted` (NUL, name, NUL) starts in `chunk`.
    private static func find(_ wanted: UnsafeRawBufferPointer, length: Int, in chunk: [UInt8]) -> Int? {
        guard chunk.count > length else { return nil }
        return chunk.withUnsafeBytes { list in
            // The first name has no NUL before it.
            if memcmp(list.baseAddress!, wanted.baseAddress! + 1, length + 1) == 0 { return 0 }
            guard let hit = swxl_memmem(list.baseAddress!, list.count, wanted.baseAddress!, wanted.count) else { return nil }
            return list.baseAddress!.distance(to: UnsafeRawPointer(hit)) + 1
        }
    }

    public static func == (a: ChildList, b: ChildList) -> Bool {
        a.count == b.count && (a.chunks == b.chunks || a.bytes == b.bytes)
    }
}
