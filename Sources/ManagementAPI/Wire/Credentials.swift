// The users who may log in over TCP: a file of `user:hash` lines, the hash
// in crypt(3)'s SHA-512 form (`$6$salt$...`, as `openssl passwd -6` prints).
// A password in plain text (or any other hash) is refused when read, so a
// file that would be checked weakly never serves.

public struct Credentials: Equatable, Sendable {
    /// User name to its `$6$` string.
    public private(set) var users: [String: String]

    public init(users: [String: String]) { self.users = users }

    /// Reads the file's text. Blank lines and lines starting with `#` are
    /// skipped; every other line must be `user:$6$...`. `source` names the
    /// file in errors.
    public init(text: String, source: String) throws(WireError) {
        var users: [String: String] = [:]
        // Split on bytes: as Characters, "\r\n" is one and would not split on "\n".
        for (number, rawLine) in Array(text.utf8).split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let line = String(decoding: rawLine.last == 0x0D ? rawLine.dropLast() : rawLine, as: UTF8.self)
            let trimmed = line.trimmingSpaces()
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let at = "\(source):\(number + 1)"
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw WireError("\(at): expected user:hash")
            }
            let user = trimmed[..<colon].trimmingSpaces()
            let hash = trimmed[trimmed.index(after: colon)...].trimmingSpaces()
            guard !user.isEmpty else { throw WireError("\(at): the user name is empty") }
            guard hash.hasPrefix("$") else {
                throw WireError("\(at): user '\(user)' has a password in plain text; give its SHA-512 crypt hash instead (openssl passwd -6)")
            }
            guard let setting = SHA512Crypt.parse(hash), setting.hash != nil else {
                throw WireError("\(at): user '\(user)' has a hash that is not crypt's SHA-512 form ($6$salt$..., as openssl passwd -6 prints)")
            }
            guard users.updateValue(hash, forKey: user) == nil else {
                throw WireError("\(at): user '\(user)' is listed twice")
            }
        }
        self.users = users
    }

    /// Whether `password` is `user`'s. An unknown user costs the same work
    /// as a known one, so timing does not tell which users exist.
    public func verify(user: String, password: String) -> Bool {
        guard let stored = users[user] else {
            _ = SHA512Crypt.verify(password: password, against: Credentials.decoy)
            return false
        }
        return SHA512Crypt.verify(password: password, against: stored)
    }

    /// A hash no password is checked for real against (default rounds).
    private static let decoy = "$6$swxldecoysalt$" + String(repeating: "a", count: 86)
}
