extension DomainUUID {
    /// Parses `8-4-4-4-12` hex (either case); also accepts the 32 digits without dashes.
    public init?(_ text: String) {
        var digits: [UInt8] = []
        let utf8 = Array(text.utf8)
        let dashed = utf8.count == 36
        guard dashed || utf8.count == 32 else { return nil }
        for (i, c) in utf8.enumerated() {
            if dashed, i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == UInt8(ascii: "-") else { return nil }
                continue
            }
            guard let v = hexDigitValue(c) else { return nil }
            digits.append(v)
        }
        var bytes: [UInt8] = []
        for i in stride(from: 0, to: 32, by: 2) { bytes.append(digits[i] << 4 | digits[i + 1]) }
        self.init(bytes: bytes)
    }

    /// A random (version 4) UUID from the kernel's random source.
    public static func random() -> DomainUUID {
        var bytes = [UInt8](repeating: 0, count: 16)
        fillRandom(&bytes)
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return DomainUUID(bytes: bytes)!
    }

    public var description: String {
        // Written byte by byte: listings format thousands of these.
        String(unsafeUninitializedCapacity: 36) { out in
            let digits: StaticString = "0123456789abcdef"
            var n = 0
            for (i, b) in bytes.enumerated() {
                if i == 4 || i == 6 || i == 8 || i == 10 {
                    out[n] = UInt8(ascii: "-")
                    n += 1
                }
                out[n] = digits.utf8Start[Int(b >> 4)]
                out[n + 1] = digits.utf8Start[Int(b & 0x0F)]
                n += 2
            }
            return n
        }
    }
}

extension MACAddress {
    /// Parses six `:`- (or `-`-) separated hex octets.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let groups = parts.count == 6 ? parts : text.split(separator: "-", omittingEmptySubsequences: false)
        guard groups.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for g in groups {
            guard (1...2).contains(g.utf8.count), let v = UInt8(g, radix: 16) else { return nil }
            bytes.append(v)
        }
        self.init(bytes: bytes)
    }

    /// A random MAC in Xen's OUI 00:16:3e.
    public static func randomXen() -> MACAddress {
        var tail = [UInt8](repeating: 0, count: 3)
        fillRandom(&tail)
        return MACAddress(bytes: [0x00, 0x16, 0x3e, tail[0] & 0x7f, tail[1], tail[2]])!
    }

    public var isMulticast: Bool { bytes[0] & 1 == 1 }

    public var description: String {
        bytes.map { hex(Int($0), 2) }.joined(separator: ":")
    }
}

func hexDigitValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
}

/// Random bytes from the system generator (the kernel's getrandom on Linux).
func fillRandom(_ bytes: inout [UInt8]) {
    var generator = SystemRandomNumberGenerator()
    for i in bytes.indices { bytes[i] = generator.next() }
}
