import DomainConfig

/// References and uuids of the objects the surface shows.
///
/// XAPI keeps a database of objects, each with a random `OpaqueRef:` and
/// uuid. swxl keeps no such database: every object is derived from the
/// domain model (a VM from its domain or definition, a VBD from one of its
/// disks), so its reference is derived too, from the class and the
/// object's uuid, and stays the same for as long as the object exists and
/// across restarts of the server. Objects without a uuid of their own (a
/// VBD, a VDI, a network) get one derived from what identifies them (the
/// VM's uuid and the device's number, the image's path, the bridge's name).
enum ObjectIDs {
    static let null = "OpaqueRef:NULL"

    /// The reference of the object of class `cls` with uuid `uuid`.
    static func ref(_ cls: String, _ uuid: String) -> String {
        "OpaqueRef:" + derivedUUID("ref/\(cls)/\(uuid)")
    }

    /// A uuid (in uuid text form, version 5's layout) derived from `name`:
    /// the same name always gives the same uuid.
    static func derivedUUID(_ name: String) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325, b: UInt64 = 0x8422_2325_cbf2_9ce4
        for byte in name.utf8 {
            a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            b = b &+ (a >> 29)
        }
        let hi = mix(a ^ (b << 7)), lo = mix(b ^ hi)
        var bytes = (0..<8).map { UInt8(truncatingIfNeeded: hi >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: lo >> (56 - 8 * $0)) }
        bytes[6] = (bytes[6] & 0x0f) | 0x50  // version 5: name-based
        bytes[8] = (bytes[8] & 0x3f) | 0x80  // RFC 4122 variant
        return DomainUUID(bytes: bytes)!.description
    }

    /// splitmix64's finaliser: every input bit reaches every output bit.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A fresh random reference (sessions and tasks, which live in the server's memory).
    static func randomRef() -> String { "OpaqueRef:" + DomainUUID.random().description }
}
