import Foundation
import Testing
@testable import ManagementAPI

/// SHA-512 and crypt's `$6$` method against OpenSSL and glibc (through
/// `openssl dgst`, `openssl passwd -6` and perl's crypt), on inputs drawn
/// at random (the seed is in the test's name of the case).
@Suite struct WireCryptTests {
    @Test func sha512AgreesWithOpenSSLAcrossBlockBoundaries() throws {
        var random = SeededGenerator(seed: 0x5EED_0512)
        // Lengths around the padding boundaries (111, 112, 128, 239, 240, 256) and a few others.
        for length in [0, 1, 55, 56, 63, 64, 111, 112, 113, 127, 128, 129, 239, 240, 255, 256, 257, 1000] {
            let input = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            let openssl = try runTool("/usr/bin/openssl", ["dgst", "-sha512", "-r"], stdin: input)
            #expect(openssl.status == 0)
            let expected = String(openssl.output.prefix(128))
            #expect(hex(SHA512.hash(input)) == expected, "length \(length)")
        }
    }

    @Test func sha512IncrementalUpdatesMatchOneShot() {
        var random = SeededGenerator(seed: 42)
        let input = (0..<700).map { _ in UInt8.random(in: 0...255, using: &random) }
        for split in [0, 1, 100, 127, 128, 129, 350, 699, 700] {
            var hasher = SHA512()
            hasher.update(input[0..<split])
            hasher.update(input[split...])
            #expect(hasher.finish() == SHA512.hash(input), "split at \(split)")
        }
    }

    @Test func cryptMatchesOpenSSLPasswd6() throws {
        var random = SeededGenerator(seed: 0xC4_7970)
        let saltAlphabet = Array("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        let passwordAlphabet = Array("abcXYZ019 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~éü€")
        for round in 0..<12 {
            let saltLength = [1, 2, 8, 15, 16, 16, 3, 12, 16, 5, 9, 16][round]
            let salt = String((0..<saltLength).map { _ in saltAlphabet.randomElement(using: &random)! })
            let passwordLength = [0, 1, 7, 8, 15, 16, 31, 32, 63, 64, 65, 120][round]
            let password = String((0..<passwordLength).map { _ in passwordAlphabet.randomElement(using: &random)! })
            let openssl = try runTool("/usr/bin/openssl", ["passwd", "-6", "-salt", salt, "-stdin"], stdin: Array((password + "\n").utf8))
            // openssl reads a line; an empty one is no password at all there.
            guard openssl.status == 0, openssl.output.hasPrefix("$6$") else {
                #expect(password.isEmpty, "openssl refused password #\(round)")
                continue
            }
            #expect(SHA512Crypt.hash(password: password, salt: salt) == openssl.output, "salt \(salt) password #\(round)")
            #expect(SHA512Crypt.verify(password: password, against: openssl.output))
            #expect(!SHA512Crypt.verify(password: password + "x", against: openssl.output))
        }
    }

    /// Rounds (which `openssl passwd` does not take) against glibc's crypt through perl.
    @Test(arguments: ["1000", "1001", "5000", "12345"])
    func cryptRoundsMatchGlibc(rounds: String) throws {
        for (password, salt) in [("Hello world!", "saltstringsaltstring"), ("", "s"), ("p4ss", "a.b/c")] {
            let setting = "$6$rounds=\(rounds)$\(salt)"
            let perl = try runTool("/usr/bin/perl", ["-e", "print crypt($ARGV[0], $ARGV[1])", password, setting])
            #expect(perl.status == 0)
            let ours = SHA512Crypt.hash(password: password, salt: salt, rounds: Int(rounds)!)
            #expect(ours == perl.output, "rounds=\(rounds) salt \(salt)")
            #expect(SHA512Crypt.verify(password: password, against: perl.output))
        }
    }

    /// The specification clamps rounds below 1000 to 1000 (libxcrypt, Debian's
    /// crypt, refuses such settings instead; no tool writes them).
    @Test func roundsBelowTheMinimumCountAsTheMinimum() {
        #expect(SHA512Crypt.hash(password: "pw", salt: "s", rounds: 10) == SHA512Crypt.hash(password: "pw", salt: "s", rounds: 1000))
        #expect(SHA512Crypt.hash(password: "pw", salt: "s", rounds: 10).hasPrefix("$6$rounds=1000$s$"))
        #expect(SHA512Crypt.parse("$6$rounds=10$s")?.rounds == 1000)
    }

    @Test func parseRefusesWhatIsNotSHA512Crypt() {
        let hash = String(repeating: "a", count: 86)
        #expect(SHA512Crypt.parse("$6$salt$" + hash) == .init(rounds: 5000, roundsGiven: false, salt: "salt", hash: hash))
        #expect(SHA512Crypt.parse("$6$rounds=99999999999999999999$s$" + hash)?.rounds == SHA512Crypt.maximumRounds)
        for bad in ["", "plain", "$5$salt$" + hash, "$6$salt$short", "$6$salt$" + hash + "a", "$6$rounds=$s$" + hash,
                    "$6$rounds=-5$s$" + hash, "$6$rounds=12x$s$" + hash, "$6$salt$" + String(repeating: "!", count: 86),
                    "$1$salt$abc", "$6$rounds=5000"] {
            #expect(SHA512Crypt.parse(bad) == nil || SHA512Crypt.parse(bad)?.hash == nil, "\(bad)")
            #expect(!SHA512Crypt.verify(password: "", against: bad), "\(bad)")
        }
    }
}

@Suite struct WireCredentialsTests {
    static let hash = "$6$saltsalt$8iYtNHxjWRl.NF6oNZ5tF.iKFlQREaXBLlSmZKP6dy9l5z3vsooWNW0/GZ6Nej73/TFug6pIPSqbJoCT6dfnj."

    @Test func readsUsersSkippingCommentsAndBlankLines() throws {
        let text = "# who may log in\n\nroot:\(Self.hash)\r\n  admin : \(Self.hash)\n"
        let credentials = try Credentials(text: text, source: "creds")
        #expect(credentials == Credentials(users: ["root": Self.hash, "admin": Self.hash]))
        #expect(credentials.verify(user: "root", password: "hunter2"))
        #expect(!credentials.verify(user: "root", password: "hunter3"))
        #expect(!credentials.verify(user: "nobody", password: "hunter2"))
    }

    @Test(arguments: [
        ("root:hunter2", "creds:1: user 'root' has a password in plain text; give its SHA-512 crypt hash instead (openssl passwd -6)"),
        ("root:$1$abc$def", "creds:1: user 'root' has a hash that is not crypt's SHA-512 form ($6$salt$..., as openssl passwd -6 prints)"),
        ("\nnocolon", "creds:2: expected user:hash"),
        (":\(hash)", "creds:1: the user name is empty"),
        ("a:\(hash)\na:\(hash)", "creds:2: user 'a' is listed twice"),
    ])
    func refusesBadLines(text: String, message: String) {
        #expect(throws: WireError(message)) { try Credentials(text: text, source: "creds") }
    }
}
