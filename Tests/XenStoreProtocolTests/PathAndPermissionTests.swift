import Testing
@testable import XenStoreProtocol

@Suite struct PathTests {
    @Test(arguments: [
        ("/", true), ("/local/domain/0", true), ("/a-b_c@d/E9", true),
        ("", false), ("local", false), ("/a/", false), ("//a", false), ("/a//b", false),
        ("/a b", false), ("/a.b", false), ("/ä", false), ("/a\0b", false),
    ])
    func absoluteValidity(path: String, valid: Bool) {
        #expect(XSPath.isValidAbsolute(path) == valid)
    }

    /// The masks of allowed bytes agree with the rule, byte by byte
    /// (letters, digits, `-`, `_`, `@`, `/`; nothing else, nothing over 127).
    @Test func everyByteIsJudgedAsTheRuleSays() {
        for b in 0...255 {
            let byte = UInt8(b)
            let allowed = byte == UInt8(ascii: "/") || XSPath.isNameByte(byte)
            #expect(XSPath.isPathByte(byte) == allowed, "byte \(b)")
            #expect(XSPath.isValidAbsolute(String(decoding: [UInt8(ascii: "/"), UInt8(ascii: "a"), byte, UInt8(ascii: "b")], as: UTF8.self))
                    == (allowed && byte != UInt8(ascii: "/") || byte == UInt8(ascii: "/")), "byte \(b)")
        }
    }

    /// A relative path is checked as the tail of its absolute one, and
    /// resolves exactly when the whole absolute path is valid.
    @Test(arguments: ["a", "data/ip", "a-b_c@d/E9", "a/", "a//b", "a b", "a.b", "ä", "a\0b", "@x", "9", "x/@/y",
                      String(repeating: "b", count: XSPath.relativeMax), String(repeating: "b", count: XSPath.relativeMax + 1),
                      String(repeating: "c/", count: 1100) + "c"])
    func relativePathsResolveAsTheirAbsolutePathsAreValid(_ path: String) {
        for base in ["/local/domain/3", "/local/domain/0", "/local/domain/4294967295"] {
            let whole = base + "/" + path
            let expected = path.utf8.first == UInt8(ascii: "@") ? nil : XSPath.isValidAbsolute(whole) ? whole : nil
            #expect(XSPath.resolve(path, base: base) == expected, "\(base) + \(path.prefix(20))")
        }
    }

    @Test func joinsANameGivenAsBytes() {
        for (parent, name, joined) in [("/", "a", "/a"), ("/local/domain/3", "data", "/local/domain/3/data"), ("/x", "y-z_@1", "/x/y-z_@1")] {
            let bytes = Array(name.utf8)
            #expect(bytes.withUnsafeBufferPointer { XSPath.join(parent, name: $0) } == joined)
            #expect(XSPath.join(parent, name) == joined)
        }
    }

    /// As in Xen 4.17's xenstored: the part of a path below
    /// `/local/domain/<domid>/` (or a whole path elsewhere) is at most 2048 bytes.
    @Test func lengthLimits() {
        let longest = "/" + String(repeating: "a", count: XSPath.relativeMax - 1)
        #expect(XSPath.isValidAbsolute(longest))
        #expect(!XSPath.isValidAbsolute(longest + "a"))
        let base = "/local/domain/7/"
        let relOK = base + String(repeating: "b", count: XSPath.relativeMax)
        #expect(XSPath.isValidAbsolute(relOK))
        #expect(!XSPath.isValidAbsolute(relOK + "b"))
    }

    @Test func resolvesRelativePathsAgainstTheDomain() {
        #expect(XSPath.resolve("data/ip", base: "/local/domain/3") == "/local/domain/3/data/ip")
        #expect(XSPath.resolve("/vm", base: "/local/domain/3") == "/vm")
        #expect(XSPath.resolve("data/", base: "/local/domain/3") == nil)
        #expect(XSPath.resolve("@releaseDomain", base: "/local/domain/0") == nil)
        #expect(XSPath.resolve("@releaseDomain", base: "/local/domain/0", allowSpecial: true) == "@releaseDomain")
        #expect(XSPath.resolve("@other", base: "/local/domain/0", allowSpecial: true) == "@other")
        #expect(XSPath.resolve("@" + String(repeating: "x", count: 2048), base: "/", allowSpecial: true) == nil)
    }

    @Test func treeHelpers() {
        #expect(XSPath.parent(of: "/a/b/c") == "/a/b")
        #expect(XSPath.parent(of: "/a") == "/")
        #expect(XSPath.parent(of: "/") == "/")
        #expect(XSPath.name(of: "/a/b") == "b")
        #expect(XSPath.join("/", "a") == "/a")
        #expect(XSPath.join("/a", "b") == "/a/b")
        #expect(XSPath.isWithin("/a/b", "/a"))
        #expect(XSPath.isWithin("/a", "/a"))
        #expect(!XSPath.isWithin("/ab", "/a"))
        #expect(XSPath.isWithin("/x", "/"))
        #expect(!XSPath.isWithin("/a", "/a/b"))
        #expect(!XSPath.isWithin("/a", ""))
        #expect(!XSPath.isWithin("", "/a"))
        #expect(XSPath.relativeLength("/local/domain/12/ab") == 2)
        #expect(XSPath.relativeLength("/local/domain/12") == 16)
        #expect(XSPath.relativeLength("/local/domain//ab") == 17)
        #expect(XSPath.relativeLength("/local/domain/x/ab") == 18)
        #expect(XSPath.relativeLength("/vm/ab") == 6)
        #expect(XSPath.domainPath(12) == "/local/domain/12")
    }
}

@Suite struct PermissionTests {
    @Test func parsesAndPrints() throws {
        let perms = try #require(XSPermissions(parsing: ["n0", "r1", "b7", "w3"]))
        #expect(perms.entries == [XSPermission(.none, 0), XSPermission(.read, 1), XSPermission(.both, 7), XSPermission(.write, 3)])
        #expect(perms.description == "n0,r1,b7,w3")
        #expect(perms.payload == Array("n0\0r1\0b7\0w3\0".utf8))
        #expect(perms.owner == 0)
    }

    @Test(arguments: ["", "x1", "r", "r-1", "r1a", "r 1", "r4294967296"])
    func refusesMalformedEntries(text: String) {
        #expect(XSPermission(text) == nil)
    }

    @Test func emptyListIsRefused() {
        #expect(XSPermissions(parsing: []) == nil)
    }

    @Test func accessFollowsOwnerListAndDefault() throws {
        let perms = try #require(XSPermissions(parsing: ["r5", "n1", "w2"]))
        #expect(perms.access(for: 5) == .both)   // owner
        #expect(perms.access(for: 1) == .none)   // listed
        #expect(perms.access(for: 2) == .write)
        #expect(perms.access(for: 9) == .read)   // everyone else: the first entry's letter
        #expect(XSPermission.Access.both.canRead && XSPermission.Access.both.canWrite)
        #expect(!XSPermission.Access.write.canRead)
    }
}
