// crypt(3)'s SHA-512 method ("$6$"), as Ulrich Drepper's specification
// ("Unix crypt using SHA-256 and SHA-512", 2008) defines it: what
// `openssl passwd -6` and `mkpasswd -m sha-512` print, and glibc checks.
// Written here over our SHA512 so that the static binary needs no libcrypt.

public enum SHA512Crypt {
    public static let defaultRounds = 5000
    public static let minimumRounds = 1000
    public static let maximumRounds = 999_999_999
    /// Salt beyond 16 characters is ignored, as the specification says.
    public static let maximumSaltLength = 16

    /// A parsed `$6$[rounds=N$]salt$hash` string.
    public struct Setting: Equatable, Sendable {
        /// The rounds after clamping to 1000...999999999.
        public var rounds: Int
        /// Whether `rounds=` was given (it is then written back).
        public var roundsGiven: Bool
        /// At most 16 characters, without `$`.
        public var salt: String
        /// The 86 characters after the salt; nil in a setting without a hash.
        public var hash: String?
    }

    /// Parses `$6$[rounds=N$]salt[$hash]`; nil if it is not of that form.
    public static func parse(_ text: String) -> Setting? {
        guard text.hasPrefix("$6$") else { return nil }
        var rest = Substring(text.dropFirst(3))
        var rounds = defaultRounds
        var roundsGiven = false
        if rest.hasPrefix("rounds=") {
            let afterKey = rest.dropFirst("rounds=".count)
            guard let end = afterKey.firstIndex(of: "$") else { return nil }
            let digits = afterKey[..<end]
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            // Beyond Int: the maximum, as glibc's strtoul saturates and then clamps.
            rounds = Int(digits).map { min(max($0, minimumRounds), maximumRounds) } ?? maximumRounds
            roundsGiven = true
            rest = afterKey[afterKey.index(after: end)...]
        }
        let saltEnd = rest.firstIndex(of: "$") ?? rest.endIndex
        let salt = String(rest[..<saltEnd].prefix(maximumSaltLength))
        var hash: String? = nil
        if saltEnd < rest.endIndex {
            let text = rest[rest.index(after: saltEnd)...]
            guard text.utf8.count == 86, text.utf8.allSatisfy({ alphabet.contains($0) }) else { return nil }
            hash = String(text)
        }
        return Setting(rounds: rounds, roundsGiven: roundsGiven, salt: salt, hash: hash)
    }

    /// The full `$6$...` string for `password` with the given salt and rounds.
    public static func hash(password: String, salt: String, rounds: Int? = nil) -> String {
        let clamped = rounds.map { min(max($0, minimumRounds), maximumRounds) } ?? defaultRounds
        let saltText = String(salt.prefix(while: { $0 != "$" }).prefix(maximumSaltLength))
        let digest = digest(password: Array(password.utf8), salt: Array(saltText.utf8), rounds: clamped)
        let prefix = rounds == nil ? "$6$" : "$6$rounds=\(clamped)$"
        return prefix + saltText + "$" + encode(digest)
    }

    /// Whether `password` matches `stored` (a `$6$` string with its hash).
    /// The comparison takes the same time wherever the strings differ.
    public static func verify(password: String, against stored: String) -> Bool {
        guard let setting = parse(stored), let expected = setting.hash else { return false }
        let computed = encode(digest(password: Array(password.utf8), salt: Array(setting.salt.utf8), rounds: setting.rounds))
        return constantTimeEqual(Array(computed.utf8), Array(expected.utf8))
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    /// The specification's steps 1-21: the 64 bytes before encoding.
    static func digest(password p: [UInt8], salt s: [UInt8], rounds: Int) -> [UInt8] {
        // B = SHA512(P S P)
        let b = SHA512.hash(p + s + p)
        // A = SHA512(P S, then B for each byte of P, then B or P per bit of len(P))
        var a = SHA512()
        a.update(p)
        a.update(s)
        a.update(repeated(b, toLength: p.count))
        var bits = p.count
        while bits > 0 {
            if bits & 1 == 1 { a.update(b) } else { a.update(p) }
            bits >>= 1
        }
        var result = a.finish()
        // P' from SHA512(P repeated len(P) times), S' from SHA512(S repeated 16 + A[0] times)
        var dp = SHA512()
        for _ in 0..<p.count { dp.update(p) }
        let pSequence = repeated(dp.finish(), toLength: p.count)
        var ds = SHA512()
        for _ in 0..<(16 + Int(result[0])) { ds.update(s) }
        let sSequence = repeated(ds.finish(), toLength: s.count)
        // The rounds.
        for round in 0..<rounds {
            var c = SHA512()
            if round & 1 == 1 { c.update(pSequence) } else { c.update(result) }
            if round % 3 != 0 { c.update(sSequence) }
            if round % 7 != 0 { c.update(pSequence) }
            if round & 1 == 1 { c.update(result) } else { c.update(pSequence) }
            result = c.finish()
        }
        return result
    }

    /// `block` repeated and cut to `length` bytes.
    private static func repeated(_ block: [UInt8], toLength length: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(length)
        while out.count + block.count <= length { out += block }
        out += block.prefix(length - out.count)
        return out
    }

    static let alphabet: [UInt8] = Array("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// The specification's byte order for SHA-512: 21 groups of three
    /// bytes, four characters each, then the last byte in two.
    private static let groups: [(Int, Int, Int)] = [
        (0, 21, 42), (22, 43, 1), (44, 2, 23), (3, 24, 45), (25, 46, 4), (47, 5, 26), (6, 27, 48),
        (28, 49, 7), (50, 8, 29), (9, 30, 51), (31, 52, 10), (53, 11, 32), (12, 33, 54), (34, 55, 13),
        (56, 14, 35), (15, 36, 57), (37, 58, 16), (59, 17, 38), (18, 39, 60), (40, 61, 19), (62, 20, 41),
    ]

    static func encode(_ digest: [UInt8]) -> String {
        var out: [UInt8] = []
        func emit(_ b2: UInt8, _ b1: UInt8, _ b0: UInt8, _ count: Int) {
            var word = UInt32(b2) << 16 | UInt32(b1) << 8 | UInt32(b0)
            for _ in 0..<count {
                out.append(alphabet[Int(word & 0x3f)])
                word >>= 6
            }
        }
        for (x, y, z) in groups { emit(digest[x], digest[y], digest[z], 4) }
        emit(0, 0, digest[63], 2)
        return String(decoding: out, as: UTF8.self)
    }
}
