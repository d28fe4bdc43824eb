// What the XML-RPC and JSON-RPC writers share: bytes appended straight to
// one buffer, and struct members in sorted key order without sorting every
// struct of a shape already met.
//
// A thousand VM records are a thousand structs of the same ninety keys:
// sorting each one's keys was most of the time a response took. A writer
// remembers the sorted keys of each struct shape it has sorted (for one
// response) and reuses them for the next struct of as many members that
// holds the same keys. The order is the same as sorting each struct (the
// keys compared as Swift strings), so the bytes are too.

/// The sorted key orders of the struct shapes one writer has met, each
/// key with the bytes its writer puts before the member's value.
struct StructKeyOrders {
    struct Shape {
        var keys: [String]
        /// Per key: what comes before its value (`<member><name>key</name>`, `"key":`).
        var heads: [[UInt8]]
    }

    /// Structs smaller than this are simply sorted.
    static let minimumCount = 6
    /// Shapes kept per member count.
    static let shapesPerCount = 8

    private var byCount: [Int: [Shape]] = [:]

    /// Shapes of `count` members met before, most recent first.
    func candidates(_ count: Int) -> [Shape] {
        count < Self.minimumCount ? [] : byCount[count] ?? []
    }

    /// The shape of `members`, its keys sorted; remembered.
    mutating func shape(_ members: [String: XenAPIValue], head: (String) -> [UInt8]) -> Shape {
        let keys = members.keys.sorted()
        let shape = Shape(keys: keys, heads: keys.map(head))
        if keys.count >= Self.minimumCount {
            var shapes = byCount[keys.count] ?? []
            shapes.insert(shape, at: 0)
            if shapes.count > Self.shapesPerCount { shapes.removeLast() }
            byCount[keys.count] = shapes
        }
        return shape
    }
}

/// Writes a struct's members in sorted key order: in the order of a shape
/// met before when the struct has exactly its keys, else sorted (and the
/// shape remembered). `member` writes one value.
@inline(__always)
func writeMembers(_ members: [String: XenAPIValue], orders: inout StructKeyOrders, out: inout [UInt8],
                  separator: UInt8?, head: (String) -> [UInt8], member: (XenAPIValue, inout StructKeyOrders, inout [UInt8]) -> Void) {
    for shape in orders.candidates(members.count)
    where members[shape.keys[0]] != nil && members[shape.keys[shape.keys.count - 1]] != nil {
        let mark = out.count
        var complete = true
        for (i, key) in shape.keys.enumerated() {
            guard let value = members[key] else { complete = false; break }
            if i > 0, let separator { out.append(separator) }
            out.append(contentsOf: shape.heads[i])
            member(value, &orders, &out)
        }
        if complete { return }
        out.removeSubrange(mark...)
    }
    let shape = orders.shape(members, head: head)
    for (i, key) in shape.keys.enumerated() {
        if i > 0, let separator { out.append(separator) }
        out.append(contentsOf: shape.heads[i])
        member(members[key]!, &orders, &out)
    }
}

/// Appending to a byte buffer without intermediate Strings.
extension Array where Element == UInt8 {
    @inline(__always)
    mutating func append(_ text: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// `value` in decimal.
    mutating func appendDecimal(_ value: Int64) {
        if value == 0 { append(UInt8(ascii: "0")); return }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        var magnitude = value.magnitude
        var count = 0
        Swift.withUnsafeMutableBytes(of: &digits) { raw in
            while magnitude > 0 {
                raw[23 - count] = UInt8(truncatingIfNeeded: magnitude % 10) + UInt8(ascii: "0")
                magnitude /= 10
                count += 1
            }
        }
        if value < 0 { append(UInt8(ascii: "-")) }
        Swift.withUnsafeBytes(of: &digits) { raw in
            append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[(24 - count)...]))
        }
    }
}

extension String {
    /// The text's UTF-8 bytes, without a copy for a native string.
    @inline(__always)
    func withUTF8Bytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var text = self
        return text.withUTF8(body)
    }
}
