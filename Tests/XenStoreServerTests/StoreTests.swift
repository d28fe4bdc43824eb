import Testing
import XenStoreProtocol
@testable import XenStoreServer

@Suite struct NodeOperations {
    @Test func removingAChildTakesOnlyThatName() {
        var node = Node(perms: XSPermissions(owner: 0), children: ["ab", "a", "b", "a2"])
        node.removeChild("a")
        #expect(node.children == ["ab", "b", "a2"])
        node.removeChild("a2")
        #expect(node.children == ["ab", "b"])
        node.removeChild("missing")
        #expect(node.children == ["ab", "b"])
        node.removeChild("ab")
        node.removeChild("b")
        #expect(node.children == [])
        #expect(node.childList == [])
    }

    @Test func removingChildrenAgreesWithAListOfNames() {
        // Names that are prefixes, suffixes and middles of each other, in
        // random orders, removed at random (and some never there).
        var rng = SystemRandomNumberGenerator()
        let pool = ["1", "11", "111", "21", "12", "2", "121", "a", "ab", "ba", "b1a", "1b"]
        for _ in 0..<200 {
            var names = pool.shuffled(using: &rng).prefix(Int.random(in: 0...pool.count, using: &rng)).map { $0 }
            var node = Node(perms: XSPermissions(owner: 0), children: names)
            for name in pool.shuffled(using: &rng) {
                node.removeChild(name)
                names.removeAll { $0 == name }
                #expect(node.children == names)
                #expect(node.childList == XSPayload.strings(names))
            }
        }
    }

    @Test func aLongChildListInChunksAgreesWithAListOfNames() {
        // 3000 names (about 20 kB: several chunks), then removals and
        // appends at random; the bytes, and any window of them, as the
        // model's; removing the last name of a chunk drops the chunk.
        var rng = SystemRandomNumberGenerator()
        var names = (0..<3000).map { "\($0 * 7919 % 100_003)" }
        var list = ChildList(names)
        #expect(list.chunks.count > 4 && list.chunks.allSatisfy { $0.count <= ChildList.chunkBytes && $0.last == 0 })
        var next = 200_000
        for step in 0..<2000 {
            if step % 3 == 0 {
                let name = "\(next)"
                next += 1
                list.append(name)
                names.append(name)
            } else if let name = names.randomElement(using: &rng) {
                list.remove(name)
                names.removeAll { $0 == name }
            }
        }
        let model = XSPayload.strings(names)
        #expect(list.bytes == model)
        #expect(list.count == model.count)
        #expect(list == ChildList(names))
        #expect(!list.chunks.contains { $0.isEmpty })
        for _ in 0..<200 {
            let offset = Int.random(in: 0...model.count, using: &rng), limit = Int.random(in: 0...5000, using: &rng)
            #expect(list.bytes(from: offset, limit: limit) == Array(model[offset..<min(model.count, offset + limit)]))
        }
    }

    @Test func theIndexOfWhatEachDomainOwnsFollowsEveryChange() throws {
        let h = try Harness()
        let dom0 = h.connect()
        for domid in [3, 4] {
            h.write(dom0, "/local/domain/\(domid)", "")
            h.setPerms(dom0, "/local/domain/\(domid)", ["n\(domid)"])
            h.send(dom0, .introduce, ["\(domid)", "0", "0"])
        }
        let guest = h.connect(3)
        h.write(guest, "data/a/b", "x")
        // In a transaction: counted when it commits, not before.
        let tx = h.start(guest)
        h.write(guest, "data/c", "y", tx: tx)
        #expect(h.store.ownedPaths[3] == ["/local/domain/3", "/local/domain/3/data", "/local/domain/3/data/a",
                                          "/local/domain/3/data/a/b"])
        #expect(h.end(guest, tx) == .ok)
        // Given to another domain, and back to dom0.
        h.setPerms(dom0, "/local/domain/3/data/a", ["n4"])
        h.setPerms(dom0, "/local/domain/3/data/c", ["n0"])
        // A refused request (the node-size quota) changes nothing.
        #expect(h.write(guest, "data/big", String(repeating: "z", count: 3000)) == .error(.ENOSPC))
        h.write(dom0, "/local/domain/4/x", "")
        #expect(h.store.ownedPaths == [3: ["/local/domain/3", "/local/domain/3/data", "/local/domain/3/data/a/b"],
                                       4: ["/local/domain/4", "/local/domain/4/x", "/local/domain/3/data/a"]])
        #expect(h.store.checkTree() == [])
        // Released: its nodes go (what lies below them too), found through the index.
        #expect(h.send(dom0, .release, ["3"]) == .ok)
        #expect(h.store.ownedPaths == [4: ["/local/domain/4", "/local/domain/4/x"]])
        #expect(h.tree("/local") == ["/local= n0", "/local/domain= n0", "/local/domain/4= n4", "/local/domain/4/x= n4"])
        #expect(h.store.checkTree() == [])
        #expect(h.send(dom0, .release, ["4"]) == .ok)
        #expect(h.store.ownedPaths == [:])
        #expect(h.tree("/local") == ["/local= n0", "/local/domain= n0"])
    }

    @Test func writeCreatesParentsWithInheritedPermissions() throws {
        let h = try Harness()
        let dom0 = h.connect()
        #expect(h.write(dom0, "/vm", "") == .ok)
        #expect(h.setPerms(dom0, "/vm", ["n0", "r3"]) == .ok)
        #expect(h.write(dom0, "/vm/a/b/c", "hello") == .ok)
        #expect(h.read(dom0, "/vm/a/b/c") == .text("hello"))
        #expect(h.tree() == ["/= n0", "/vm= n0,r3", "/vm/a= n0,r3", "/vm/a/b= n0,r3", "/vm/a/b/c=hello n0,r3"])
    }

    @Test func aWriteOfAnExistingNodeIsTheSameInOrOutOfATransaction() throws {
        // Outside a transaction the write of an existing node takes its own
        // way (one position in the dictionary); in one, the general way.
        // Both must leave the same node: new value and generation; perms,
        // children and creation kept; the same accounting and the same event.
        var nodes: [Node] = []
        for inTransaction in [false, true] {
            let h = try Harness()
            let dom0 = h.connect()
            h.write(dom0, "/local/domain/5/data/a", "1")
            h.setPerms(dom0, "/local/domain/5/data", ["n5", "r0"])
            let guest = h.connect(5)
            #expect(h.send(guest, .watch, ["data", "w"]) == .ok)
            let before = try #require(h.store.node(at: "/local/domain/5/data"))
            let tx = inTransaction ? h.start(guest) : 0
            #expect(h.write(guest, "data", "new value", tx: tx) == .ok)
            if inTransaction { #expect(h.end(guest, tx) == .ok) }
            var after = try #require(h.store.node(at: "/local/domain/5/data"))
            #expect(after.generation > before.generation)
            after.generation = before.generation
            var expected = before
            expected.value = Array("new value".utf8)
            #expect(after == expected)
            #expect(h.store.entries(ownedBy: 5) == 1)
            #expect(h.store.checkTree() == [])
            #expect(h.tree("/local/domain/5") == ["/local/domain/5= n0", "/local/domain/5/data=new value n5,r0",
                                                  "/local/domain/5/data/a=1 n0"])
            nodes.append(after)
            // An unprivileged writer without write permission is refused, either way.
            h.setPerms(dom0, "/local/domain/5/data", ["n0", "r5"])
            let tx2 = inTransaction ? h.start(guest) : 0
            #expect(h.write(guest, "data", "refused", tx: tx2) == .error(.EACCES))
            #expect(h.read(dom0, "/local/domain/5/data") == .text("new value"))
        }
        #expect(nodes[0] == nodes[1])
    }

    @Test func domainsOwnWhatTheyCreate() throws {
        let h = try Harness()
        let dom0 = h.connect()
        h.write(dom0, "/local/domain/5", "")
        h.setPerms(dom0, "/local/domain/5", ["n5", "r0"])
        let guest = h.connect(5)
        #expect(h.write(guest, "data/x", "1") == .ok)
        #expect(h.read(guest, "data/x") == .text("1"))
        #expect(h.read(dom0, "/local/domain/5/data/x") == .text("1"))
        #expect(h.tree("/local/domain/5") == ["/local/domain/5= n5,r0", "/local/domain/5/data= n5,r0", "/local/domain/5/data/x=1 n5,r0"])
        #expect(h.store.entries(ownedBy: 5) == 3)
    }

    @Test func mkdirKeepsExistingValues() throws {
        let h = try Harness()
        let dom0 = h.connect()
        h.write(dom0, "/a", "v")
        #expect(h.send(dom0, .mkdir, ["/a"]) == .ok)
        #expect(h.send(dom0, .mkdir, ["/a/b/c"]) == .ok)
        #expect(h.tree("/a") == ["/a=v n0", "/a/b= n0", "/a/b/c= n0"])
    }

    @Test func rmRemovesSubtreesAndFollowsXenRules() throws {
        let h = try Harness()
        let dom0 = h.connect()
        h.write(dom0, "/a/b/c", "1")
        h.write(dom0, "/a/d", "2")
        #expect(h.send(dom0, .rm, ["/a/b"]) == .ok)
        #expect(h.tree("/a") == ["/a= n0", "/a/d=2 n0"])
        #expect(h.read(dom0, "/a/b/c") == .error(.ENOENT))
        // Missing but its parent exists: fine. Missing parent: ENOENT. The root: EINVAL.
        #expect(h.send(dom0, .rm, ["/a/nothing"]) == .ok)
        #expect(h.send(dom0, .rm, ["/nothing/at/all"]) == .error(.ENOENT))
        #expect(h.send(dom0, .rm, ["/"]) == .error(.EINVAL))
        #expect(h.store.checkTree() == [])
    }

    @Test func directoryListsChildrenInCreationOrder() throws {
        let h = try Harness()
        let dom0 = h.connect()
        for name in ["z", "a", "m"] { h.write(dom0, "/d/\(name)", "") }
        #expect(h.send(dom0, .directory, ["/d"]) == .strings(["z", "a", "m"]))
        #expect(h.send(dom0, .directory, ["/d/z"]) == .value([]))
        #expect(h.send(dom0, .directory, ["/nope"]) == .error(.ENOENT))
    }

    @Test func directoryPartPagesThroughLongLists() throws {
        let h = try Harness()
        let dom0 = h.connect()
        let names = (0..<500).map { "child-number-\($0)" }
        for name in names { h.write(dom0, "/big/\(name)", "") }
        #expect(h.send(dom0, .directory, ["/big"]) == .error(.E2BIG))
        var collected: [String] = []
        var generation: String?
        var offset = 0
        var rounds = 0
        while true {
            guard case .value(let bytes) = h.send(dom0, .directoryPart, ["/big", String(offset)]) else {
                Issue.record("DIRECTORY_PART failed")
                return
            }
            #expect(bytes.count <= XSMessage.maxPayload)
            let gen = XSPayload.firstString(bytes)!
            if let generation { #expect(gen.0 == generation) }
            generation = gen.0
            let rest = Array(gen.1)
            rounds += 1
            // The last part ends with an extra NUL (an empty name).
            if rest.last == 0 && (rest.count == 1 || rest[rest.count - 2] == 0) {
                collected += XSPayload.split(rest.dropLast())
                break
            }
            collected += XSPayload.split(rest)
            offset += rest.count
        }
        #expect(collected == names)
        #expect(rounds > 1)
        #expect(h.send(dom0, .directoryPart, ["/big", "999999"]) == .value(XSPayload.strings([generation!]) + [0]))
    }

    @Test func getPermsAndSetPerms() throws {
        let h = try Harness()
        let dom0 = h.connect()
        h.write(dom0, "/p", "")
        #expect(h.send(dom0, .getPerms, ["/p"]) == .strings(["n0"]))
        #expect(h.setPerms(dom0, "/p", ["r7", "b3", "w4"]) == .ok)
        #expect(h.send(dom0, .getPerms, ["/p"]) == .strings(["r7", "b3", "w4"]))
        #expect(h.setPerms(dom0, "/p", ["x7"]) == .error(.EINVAL))
        #expect(h.setPerms(dom0, "/p", []) == .error(.EINVAL))
        #expect(h.setPerms(dom0, "/missing", ["n0"]) == .error(.ENOENT))
        #expect(h.send(dom0, .getPerms, [XSPath.introduceDomain]) == .strings(["n0"]))
    }
}

@Suite struct Permissions {
    /// dom0 makes /local/domain/1 and /local/domain/2, each owned by its domain.
    func twoDomains() throws -> (Harness, dom0: ConnectionID, d1: ConnectionID, d2: ConnectionID) {
        let h = try Harness()
        let dom0 = h.connect()
        for d in [1, 2] {
            h.write(dom0, "/local/domain/\(d)/secret", "s\(d)")
            h.setPerms(dom0, "/local/domain/\(d)", ["n\(d)"])
            h.setPerms(dom0, "/local/domain/\(d)/secret", ["n\(d)"])
        }
        return (h, dom0, h.connect(1), h.connect(2))
    }

    @Test func aDomainCannotTouchAnothersNodes() throws {
        let (h, _, d1, d2) = try twoDomains()
        #expect(h.read(d1, "secret") == .text("s1"))
        #expect(h.read(d1, "/local/domain/2/secret") == .error(.EACCES))
        #expect(h.write(d1, "/local/domain/2/secret", "x") == .error(.EACCES))
        #expect(h.write(d1, "/local/domain/2/new", "x") == .error(.EACCES))
        #expect(h.send(d1, .rm, ["/local/domain/2/secret"]) == .error(.EACCES))
        #expect(h.send(d1, .directory, ["/local/domain/2"]) == .error(.EACCES))
        // A node that does not exist below an unreadable one looks the same as one that does.
        #expect(h.read(d1, "/local/domain/2/nothing") == .error(.EACCES))
        #expect(h.read(d2, "secret") == .text("s2"))
    }

    @Test func firstEntryIsEveryoneElsesDefault() throws {
        let (h, dom0, d1, d2) = try twoDomains()
        h.write(dom0, "/shared", "v")
        h.setPerms(dom0, "/shared", ["r0", "b2"])
        #expect(h.read(d1, "/shared") == .text("v"))
        #expect(h.write(d1, "/shared", "x") == .error(.EACCES))
        #expect(h.write(d2, "/shared", "y") == .ok)
        #expect(h.read(dom0, "/shared") == .text("y"))
        // Creating needs write on the nearest existing ancestor.
        #expect(h.write(d1, "/shared/sub", "z") == .error(.EACCES))
        #expect(h.write(d2, "/shared/sub", "z") == .ok)
        #expect(h.send(d2, .getPerms, ["/shared/sub"]) == .strings(["r2", "b2"]))
    }

    @Test func onlyPrivilegedDomainsChangeOwners() throws {
        let (h, dom0, d1, _) = try twoDomains()
        #expect(h.setPerms(d1, "secret", ["n1", "r2"]) == .ok)
        #expect(h.setPerms(d1, "secret", ["n2"]) == .error(.EPERM))
        #expect(h.setPerms(d1, "/local/domain/2/secret", ["n2"]) == .error(.EACCES))
        #expect(h.setPerms(dom0, "/local/domain/1/secret", ["n2"]) == .ok)
        #expect(h.store.entries(ownedBy: 2) == 3)
        #expect(h.read(d1, "secret") == .error(.EACCES))
    }

    @Test func setTargetGivesTheTargetsRights() throws {
        let (h, dom0, _, _) = try twoDomains()
        for d in ["1", "2"] { #expect(h.send(dom0, .introduce, [d, "0", "0"]) == .ok) }
        let d2 = h.connect(2)
        #expect(h.read(d2, "/local/domain/1/secret") == .error(.EACCES))
        #expect(h.send(dom0, .setTarget, ["2", "1"]) == .ok)
        #expect(h.read(d2, "/local/domain/1/secret") == .text("s1"))
        #expect(h.write(d2, "/local/domain/1/secret", "dm") == .ok)
        #expect(h.send(d2, .setTarget, ["2", "1"]) == .error(.EACCES))
        #expect(h.send(dom0, .setTarget, ["2", "9"]) == .error(.ENOENT))
        #expect(h.send(dom0, .setTarget, ["9", "1"]) == .error(.ENOENT))
    }

    /// SET_TARGET with domain 0, as Xen 4.17's `do_set_target()`: dom0 is a
    /// domain its daemon has from the start, so either side may name it.
    @Test func setTargetTakesDomainZero() throws {
        let (h, dom0, _, _) = try twoDomains()
        for d in ["1", "2"] { #expect(h.send(dom0, .introduce, [d, "0", "0"]) == .ok) }
        h.write(dom0, "/tool/private", "p")
        let d2 = h.connect(2)
        #expect(h.read(d2, "/tool/private") == .error(.EACCES))
        #expect(h.send(dom0, .setTarget, ["0", "1"]) == .ok)
        #expect(h.send(dom0, .setTarget, ["0", "0"]) == .ok)
        // A guest whose target is dom0 has dom0's rights on dom0's nodes, as under Xen.
        #expect(h.send(dom0, .setTarget, ["2", "0"]) == .ok)
        #expect(h.read(d2, "/tool/private") == .text("p"))
        #expect(h.send(dom0, .setTarget, ["0", "9"]) == .error(.ENOENT))
        #expect(h.send(dom0, .setTarget, ["", "1"]) == .ok)   // atoi(""): domain 0
    }

    @Test func readOnlyConnectionsGetEROFS() throws {
        let h = try Harness()
        let dom0 = h.connect()
        h.write(dom0, "/a", "1")
        let ro = h.connect(0, readOnly: true)
        #expect(h.read(ro, "/a") == .text("1"))
        #expect(h.write(ro, "/a", "2") == .error(.EROFS))
        #expect(h.send(ro, .mkdir, ["/b"]) == .error(.EROFS))
        #expect(h.send(ro, .rm, ["/a"]) == .error(.EROFS))
        #expect(h.setPerms(ro, "/a", ["r0"]) == .error(.EROFS))
        #expect(h.send(ro, .introduce, ["3", "0", "0"]) == .error(.EROFS))
        #expect(h.read(dom0, "/a") == .text("1"))
    }
}

@Suite struct Watches {
    @Test func firesOnceAtRegistrationAndOnChangesBelow() throws {
        let h = try Harness()
        let dom0 = h.connect()
        let watcher = h.connect()
        #expect(h.send(watcher, .watch, ["/w", "tok"]) == .ok)
        #expect(h.takeEvents(watcher) == [["/w", "tok"]])
        h.write(dom0, "/w/a/b", "1")
        h.write(dom0, "/other", "1")
        h.write(dom0, "/w", "2")
        h.setPerms(dom0, "/w/a", ["r0"])
        #expect(h.takeEvents(watcher) == [["/w/a/b", "tok"], ["/w", "tok"], ["/w/a", "tok"]])
        #expect(h.send(watcher, .watch, ["/w", "tok"]) == .error(.EEXIST))
        #expect(h.send(watcher, .unwatch, ["/w", "tok"]) == .ok)
        #expect(h.send(watcher, .unwatch, ["/w", "tok"]) == .error(.ENOENT))
        h.write(dom0, "/w", "3")
        #expect(h.takeEvents(watcher) == [])
    }

    @Test func removingAnAncestorFiresWithTheWatchedPath() throws {
        let h = try Harness()
        let dom0 = h.connect()
        h.write(dom0, "/top/mid/leaf", "1")
        let watcher = h.connect()
        h.send(watcher, .watch, ["/top/mid/leaf", "leaf"])
        h.send(watcher, .watch, ["/", "root"])
        _ = h.takeEvents(watcher)
        #expect(h.send(dom0, .rm, ["/top"]) == .ok)
        #expect(h.takeEvents(watcher) == [["/top/mid/leaf", "leaf"], ["/top", "root"]])
    }

    @Test func relativeWatchesGetRelativePaths() throws {
        let h = try Harness()
        let dom0 = h.connect()
        h.write(dom0, "/local/domain/4", "")
        h.setPerms(dom0, "/local/domain/4", ["n4"])
        let guest = h.connect(4)
        #expect(h.send(guest, .watch, ["device", "d"]) == .ok)
        h.write(dom0, "/local/domain/4/device/vif/0", "x")
        #expect(h.takeEvents(guest) == [["device", "d"], ["device/vif/0", "d"]])
    }

    @Test func unprivilegedWatchersOnlyHearOfWhatTheyMayRead() throws {
        let h = try Harness()
        let dom0 = h.connect()
        let guest = h.connect(6)
        h.write(dom0, "/pub", "")
        h.setPerms(dom0, "/pub", ["r0"])
        h.send(guest, .watch, ["/", "all"])
        _ = h.takeEvents(guest)
        h.write(dom0, "/pub/x", "1")
        h.write(dom0, "/private", "1")
        #expect(h.takeEvents(guest) == [["/pub/x", "all"]])
    }

    @Test func specialWatchesFireOnIntroduceAndRelease() throws {
        let h = try Harness()
        let dom0 = h.connect()
        let watcher = h.connect()
        h.send(watcher, .watch, [XSPath.introduceDomain, "in"])
        h.send(watcher, .watch, [XSPath.releaseDomain, "out"])
        #expect(h.takeEvents(watcher) == [[XSPath.introduceDomain, "in"], [XSPath.releaseDomain, "out"]])
        #expect(h.send(dom0, .introduce, ["3", "1234", "5"]) == .ok)
        #expect(h.send(dom0, .release, ["3"]) == .ok)
        #expect(h.takeEvents(watcher) == [[XSPath.introduceDomain, "in"], [XSPath.releaseDomain, "out"]])
    }

    @Test func resetWatchesDropsWatchesAndTransactions() throws {
        let h = try Harness()
        let dom0 = h.connect()
        let c = h.connect()
        h.send(c, .watch, ["/x", "t"])
        let tx = h.start(c)
        #expect(h.send(c, .resetWatches, [""]) == .ok)
        _ = h.takeEvents(c)
        h.write(dom0, "/x", "1")
        #expect(h.takeEvents(c) == [])
        #expect(h.end(c, tx) == .error(.ENOENT))
    }
}

@Suite struct Transactions {
    @Test func seesItsOwnWritesAndCommitsAtomically() throws {
        let h = try Harness()
        let dom0 = h.connect()
        let watcher = h.connect()
        h.write(dom0, "/t/a", "old")
        h.send(watcher, .watch, ["/t", "w"])
        _ = h.takeEvents(watcher)
        let tx = h.start(dom0)
        #expect(h.write(dom0, "/t/a", "new", tx: tx) == .ok)
        #expect(h.write(dom0, "/t/b/c", "created", tx: tx) == .ok)
        #expect(h.read(dom0, "/t/a", tx: tx) == .text("new"))
        #expect(h.read(dom0, "/t/a") == .text("old"))
        #expect(h.read(dom0, "/t/b/c") == .error(.ENOENT))
        #expect(h.takeEvents(watcher) == [])
        #expect(h.end(dom0, tx) == .ok)
        #expect(h.tree("/t") == ["/t= n0", "/t/a=new n0", "/t/b= n0", "/t/b/c=created n0"])
        #expect(h.takeEvents(watcher) == [["/t/a", "w"], ["/t/b/c", "w"]])
    }

    @Test func abortDiscards() throws {
        let h = try Harness()
        let dom0 = h.connect()
        h.write(dom0, "/t", "old")
        let tx = h.start(dom0)
        h.write(dom0, "/t", "new", tx: tx)
        h.send(dom0, .rm, ["/t"], tx: tx)
        #expect(h.read(dom0, "/t", tx: tx) == .error(.ENOENT))
        #expect(h.end(dom0, tx, commit: false) == .ok)
        #expect(h.read(dom0, "/t") == .text("old"))
        #expect(h.end(dom0, tx) == .error(.ENOENT))
    }

    @Test func racingTransactionsGetEAGAIN() throws {
        let h = try Harness()
        let a = h.connect()
        let b = h.connect()
        h.write(a, "/counter", "0")
        let ta = h.start(a)
        let tb = h.start(b)
        #expect(h.read(a, "/counter", tx: ta) == .text("0"))
        #expect(h.read(b, "/counter", tx: tb) == .text("0"))
        h.write(a, "/counter", "1", tx: ta)
        h.write(b, "/counter", "1", tx: tb)
        #expect(h.end(a, ta) == .ok)
        #expect(h.end(b, tb) == .error(.EAGAIN))
        #expect(h.read(a, "/counter") == .text("1"))
    }

    @Test func keepsSeeingWhatItFirstRead() throws {
        let h = try Harness()
        let dom0 = h.connect()
        h.write(dom0, "/v", "a")
        let tx = h.start(dom0)
        #expect(h.read(dom0, "/v", tx: tx) == .text("a"))
        h.write(dom0, "/v", "b")
        #expect(h.read(dom0, "/v", tx: tx) == .text("a"))
        h.write(dom0, "/v", "c", tx: tx)
        #expect(h.end(dom0, tx) == .error(.EAGAIN))
        #expect(h.read(dom0, "/v") == .text("b"))
    }

    @Test func creatingASiblingConflictsWithAListing() throws {
        let h = try Harness()
        let dom0 = h.connect()
        h.write(dom0, "/dir/a", "")
        let tx = h.start(dom0)
        #expect(h.send(dom0, .directory, ["/dir"], tx: tx) == .strings(["a"]))
        h.write(dom0, "/dir/b", "")
        h.write(dom0, "/elsewhere", "", tx: tx)
        #expect(h.end(dom0, tx) == .error(.EAGAIN))
    }

    @Test func protocolErrors() throws {
        let h = try Harness()
        let dom0 = h.connect()
        #expect(h.read(dom0, "/", tx: 77) == .error(.ENOENT))
        let tx = h.start(dom0)
        #expect(h.send(dom0, .transactionStart, [""], tx: tx) == .error(.EBUSY))
        #expect(h.send(dom0, .transactionEnd, ["X"], tx: tx) == .error(.EINVAL))
        #expect(h.end(dom0, tx) == .ok)
        let other = h.connect()
        let tx2 = h.start(dom0)
        #expect(h.read(other, "/", tx: tx2) == .error(.ENOENT))
        // As in Xen: an unknown id fails every request but WATCH and UNWATCH, after the privilege check.
        #expect(h.send(dom0, .transactionStart, [""], tx: 99) == .error(.ENOENT))
        #expect(h.send(dom0, .getDomainPath, ["1"], tx: 99) == .error(.ENOENT))
        #expect(h.send(dom0, .watch, ["/w", "t"], tx: 99) == .ok)
        #expect(h.send(h.connect(4), .introduce, ["5", "0", "0"], tx: 99) == .error(.EACCES))
    }
}

@Suite struct QuotaTests {
    func guest(_ quotas: Quotas) throws -> (Harness, ConnectionID) {
        let h = try Harness(quotas: quotas)
        let dom0 = h.connect()
        h.write(dom0, "/local/domain/9", "")
        h.setPerms(dom0, "/local/domain/9", ["n9"])
        return (h, h.connect(9))
    }

    @Test func entries() throws {
        var q = Quotas()
        q.entriesPerDomain = 4
        let (h, g) = try guest(q)
        // /local/domain/9 is already owned by 9.
        #expect(h.write(g, "a", "") == .ok)
        #expect(h.write(g, "b/c/d", "") == .error(.ENOSPC))
        #expect(h.write(g, "b/c", "") == .ok)
        #expect(h.write(g, "d", "") == .error(.ENOSPC))
        #expect(h.store.entries(ownedBy: 9) == 4)
        #expect(h.send(g, .rm, ["a"]) == .ok)
        #expect(h.write(g, "d", "") == .ok)
        // dom0 is not limited.
        #expect(h.write(h.connect(), "/local/domain/9/e", "") == .ok)
        // Each refusal logs one line naming the quota.
        #expect(h.log.lines == ["warning domain 9 over quota 'entries' (4): ENOSPC", "warning domain 9 over quota 'entries' (4): ENOSPC"])
    }

    @Test func nodeSize() throws {
        var q = Quotas()
        q.nodeSize = 10
        let (h, g) = try guest(q)
        #expect(h.write(g, "a", "0123456789") == .ok)
        #expect(h.write(g, "a", "01234567890") == .error(.ENOSPC))
        #expect(h.read(g, "a") == .text("0123456789"))
    }

    @Test func watches() throws {
        var q = Quotas()
        q.watchesPerDomain = 2
        let (h, g) = try guest(q)
        #expect(h.send(g, .watch, ["a", "1"]) == .ok)
        #expect(h.send(g, .watch, ["a", "2"]) == .ok)
        #expect(h.send(g, .watch, ["a", "3"]) == .error(.E2BIG))
        #expect(h.log.lines == ["warning domain 9 over quota 'watches' (2): E2BIG"])
    }

    @Test func transactionsAndPermissions() throws {
        var q = Quotas()
        q.transactionsPerConnection = 1
        q.permsPerNode = 2
        let (h, g) = try guest(q)
        _ = h.start(g)
        #expect(h.send(g, .transactionStart, [""]) == .error(.ENOSPC))
        h.write(g, "p", "")
        #expect(h.setPerms(g, "p", ["n9", "r1"]) == .ok)
        #expect(h.setPerms(g, "p", ["n9", "r1", "r2"]) == .error(.ENOSPC))
    }

    @Test func controlShowsAndSetsQuotas() throws {
        let h = try Harness()
        let dom0 = h.connect()
        #expect(h.send(dom0, .control, ["quota", "watches", "7"]) == .ok)
        #expect(h.store.quotas.watchesPerDomain == 7)
        guard case .value(let text) = h.send(dom0, .control, ["quota"]) else { Issue.record("no quota list"); return }
        #expect(String(decoding: text.dropLast(), as: UTF8.self) ==
            "entries: 1000\nwatches: 7\nnode-size: 2048\ntransactions: 10\npermissions: 5\noutstanding: 20")
        #expect(h.send(h.connect(3), .control, ["quota"]) == .error(.EACCES))
        #expect(h.send(dom0, .control, ["bogus"]) == .error(.EINVAL))
    }
}

@Suite struct BadInputAndDomains {
    @Test func malformedRequests() throws {
        let h = try Harness()
        let dom0 = h.connect()
        #expect(h.send(dom0, XSType.read.rawValue, payload: Array("/a".utf8)) == .error(.EINVAL))
        #expect(h.send(dom0, XSType.write.rawValue, payload: Array("/a".utf8)) == .error(.EINVAL))
        #expect(h.send(dom0, 20, payload: []) == .error(.ENOSYS))
        #expect(h.send(dom0, 999, payload: []) == .error(.ENOSYS))
        #expect(h.send(dom0, .watchEvent, ["/a", "b"]) == .error(.ENOSYS))
        for bad in ["", "/a/", "/a//b", "/a b", "/ü", String(repeating: "x", count: 3100)] {
            #expect(h.write(dom0, bad.hasPrefix("/") || bad.isEmpty ? bad : "/" + bad, "v") == .error(.EINVAL))
        }
        #expect(h.store.nodeCount == 1)
    }

    @Test func releaseRemovesWhatTheDomainOwned() throws {
        for keep in [false, true] {
            let h = try Harness()
            h.store.keepOrphans = keep
            let dom0 = h.connect()
            h.write(dom0, "/local/domain/4/data", "")
            h.setPerms(dom0, "/local/domain/4", ["n4"])
            h.setPerms(dom0, "/local/domain/4/data", ["n4"])
            h.write(dom0, "/backend/vif/4/0/state", "1")
            h.setPerms(dom0, "/backend/vif/4/0/state", ["n0", "r4"])
            h.send(dom0, .introduce, ["4", "0", "0"])
            let guest = h.connect(4)
            h.write(guest, "data/mine", "x")
            let watcher = h.connect()
            h.send(watcher, .watch, ["/local/domain/4/data", "w"])
            _ = h.takeEvents(watcher)
            #expect(h.send(dom0, .release, ["4"]) == .ok)
            if keep {
                // Xen's -K: they stay, given to dom0, the rest of their permissions kept; no watch fires.
                #expect(h.tree() == ["/= n0", "/local= n0", "/local/domain= n0", "/local/domain/4= n0",
                                     "/local/domain/4/data= n0", "/local/domain/4/data/mine=x n0",
                                     "/backend= n0", "/backend/vif= n0", "/backend/vif/4= n0", "/backend/vif/4/0= n0",
                                     "/backend/vif/4/0/state=1 n0,r4"])
                #expect(h.store.entries(ownedBy: 4) == 0)
                #expect(h.store.entries(ownedBy: 0) == 11)
                #expect(h.takeEvents(watcher) == [])
                // A new domain 4 owns none of them.
                h.send(dom0, .introduce, ["4", "0", "0"])
                #expect(h.write(h.connect(4), "/local/domain/4/data/mine", "y") == .error(.EACCES))
            } else {
                #expect(h.tree() == ["/= n0", "/local= n0", "/local/domain= n0", "/backend= n0", "/backend/vif= n0",
                                     "/backend/vif/4= n0", "/backend/vif/4/0= n0", "/backend/vif/4/0/state=1 n0,r4"])
                #expect(h.store.entries(ownedBy: 4) == 0)
                #expect(h.takeEvents(watcher) == [["/local/domain/4/data", "w"]])
            }
            #expect(h.store.checkTree() == [])
        }
    }

    /// Xen 4.17's `XS_PERM_IGNORE`: when a domain goes, the entries that
    /// granted it something grant nothing any more, so a later domain with
    /// its id inherits no access; they stay in the list as `GET_PERMS`
    /// shows it, and survive a restart. A transaction that saw the node
    /// with the entry live must try again rather than write it back live.
    @Test func aGoneDomainsEntriesGrantALaterDomainWithItsIdNothing() throws {
        let dir = try TemporaryDirectory()
        let db = dir.path + "/store.db"
        do {
            let h = try Harness(storage: try SQLiteStorage(path: db))
            let dom0 = h.connect()
            h.write(dom0, "/shared", "s")
            h.setPerms(dom0, "/shared", ["n0", "r4", "b5"])
            h.send(dom0, .introduce, ["4", "0", "0"])
            h.send(dom0, .introduce, ["5", "0", "0"])
            #expect(h.read(h.connect(4), "/shared") == .text("s"))
            let tx = h.start(dom0)
            #expect(h.read(dom0, "/shared", tx: tx) == .text("s"))

            #expect(h.send(dom0, .release, ["4"]) == .ok)
            #expect(h.send(dom0, .getPerms, ["/shared"]) == .strings(["n0", "r4", "b5"]))
            #expect(h.store.node(at: "/shared")?.perms.entries.map(\.ignored) == [false, true, false])
            h.write(dom0, "/shared", "t", tx: tx)
            #expect(h.end(dom0, tx) == .error(.EAGAIN))
            h.send(dom0, .introduce, ["4", "0", "0"])
            #expect(h.read(h.connect(4), "/shared") == .error(.EACCES))
            #expect(h.read(h.connect(5), "/shared") == .text("s"))
            // Setting the list again (as a toolstack would for the new domain) makes it live.
            h.setPerms(dom0, "/shared", ["n0", "r4"])
            #expect(h.read(h.connect(4), "/shared") == .text("s"))
            #expect(h.send(dom0, .release, ["4"]) == .ok)
            #expect(h.store.checkTree() == [])
        }
        let reloaded = try Harness(storage: try SQLiteStorage(path: db))
        #expect(reloaded.store.node(at: "/shared")?.perms == XSPermissions([XSPermission(.none, 0), XSPermission(.read, 4, ignored: true)]))
        reloaded.send(reloaded.connect(), .introduce, ["4", "0", "0"])
        #expect(reloaded.read(reloaded.connect(4), "/shared") == .error(.EACCES))
    }

    @Test func domainManagement() throws {
        let h = try Harness()
        let dom0 = h.connect()
        let guest = h.connect(3)
        #expect(h.send(guest, .introduce, ["4", "1", "1"]) == .error(.EACCES))
        #expect(h.send(dom0, .introduce, ["0", "1", "1"]) == .error(.EINVAL))
        #expect(h.send(dom0, .introduce, ["4", "1"]) == .error(.EINVAL))
        #expect(h.send(dom0, .isDomainIntroduced, ["4"]) == .strings(["F"]))
        #expect(h.send(dom0, .introduce, ["4", "1", "1"]) == .ok)
        #expect(h.store.domainChanges == [.introduced(4)])
        #expect(h.send(dom0, .isDomainIntroduced, ["4"]) == .strings(["T"]))
        #expect(h.send(dom0, .isDomainIntroduced, ["0"]) == .strings(["T"]))
        // As Xen 4.17: DOMID_SELF is "T" without a look, other reserved or
        // wrapped ids are no domain, no digits are atoi's 0.
        #expect(h.send(dom0, .isDomainIntroduced, ["\(XSDomid.firstReserved)"]) == .strings(["T"]))
        #expect(h.send(dom0, .isDomainIntroduced, ["\(XSDomid.firstReserved + 1)"]) == .strings(["F"]))
        #expect(h.send(dom0, .isDomainIntroduced, ["-1"]) == .strings(["F"]))
        #expect(h.send(dom0, .isDomainIntroduced, ["x"]) == .strings(["T"]))
        #expect(h.send(dom0, .isDomainIntroduced, ["4294967300"]) == .strings(["T"]))
        #expect(h.send(guest, .isDomainIntroduced, ["\(XSDomid.firstReserved)"]) == .error(.EACCES))
        #expect(h.send(guest, .getDomainPath, ["4"]) == .strings(["/local/domain/4"]))
        #expect(h.send(guest, .getDomainPath, ["32752"]) == .strings(["/local/domain/32752"]))
        #expect(h.send(guest, .getDomainPath, ["-1"]) == .strings(["/local/domain/4294967295"]))
        #expect(h.send(dom0, .release, ["\(XSDomid.firstReserved)"]) == .error(.ENOENT))
        #expect(h.send(dom0, .release, [""]) == .error(.EINVAL))
        #expect(h.send(dom0, .resume, ["-1"]) == .error(.ENOENT))
        #expect(h.send(dom0, .resume, ["4"]) == .ok)
        let four = h.connect(4)
        h.send(four, .watch, ["/", "t"])
        #expect(h.send(dom0, .release, ["4"]) == .ok)
        #expect(h.store.domainChanges == [.introduced(4), .released(4)])
        #expect(h.store.domid(of: four) == nil)
        #expect(h.send(dom0, .release, ["4"]) == .error(.ENOENT))
        #expect(h.send(dom0, .resume, ["4"]) == .error(.ENOENT))
    }
}

@Suite struct LogFloodTests {
    /// A guest over its quota a thousand times in an instant: the burst of
    /// lines, then one line saying how many were left out when it goes.
    @Test func aDomainsLinesAreBoundedAndCounted() throws {
        var q = Quotas()
        q.entriesPerDomain = 1
        let h = try Harness(quotas: q)
        h.store.logClock = { 42 }
        let dom0 = h.connect()
        #expect(h.send(dom0, .introduce, ["9", "0", "0"]) == .ok)
        h.write(dom0, "/local/domain/9", "")
        h.setPerms(dom0, "/local/domain/9", ["n9"])
        // Each refusal on its own connection, as a guest that reconnects would.
        for i in 0..<1000 { #expect(h.write(h.connect(9), "n\(i)", "") == .error(.ENOSPC)) }
        #expect(h.send(dom0, .release, ["9"]) == .ok)
        let burst = LogLimiter().burst
        let quotaLine = "warning domain 9 over quota 'entries' (1): ENOSPC"
        #expect(h.log.lines.filter { !$0.hasPrefix("info ") }
                == Array(repeating: quotaLine, count: burst)
                + ["warning \(1000 - burst) log line(s) from domain 9 suppressed"])
    }
}
