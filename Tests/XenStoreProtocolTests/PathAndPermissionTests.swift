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
