import Testing
import XenStoreProtocol
@testable import XenStoreServer

/// The work a write, a create and a removal do in the store: each path is
/// looked up and stored once, and only paths some watch could be on are
/// looked for among the watches (under QEMU's TCG every instruction of the
/// daemon's costs many; see docs/xenstored.md). The counters exist in debug
/// builds only.
@Suite struct HotPaths {
    @Test func anOverwriteStoresTheNodeOnceAndKeepsItsCreation() throws {
        let h = try Harness()
        let dom0 = h.connect()
        h.write(dom0, "/t/a", "1")
        let before = try #require(h.store.node(at: "/t/a"))
        let stores = h.store.counters.nodeStores
        #expect(h.write(dom0, "/t/a", "2") == .ok)
        #expect(h.store.counters.nodeStores - stores == 1)
        let after = try #require(h.store.node(at: "/t/a"))
        #expect(after.creation == before.creation)
        #expect(after.generation > before.generation)
        #expect(after.value == Array("2".utf8))
    }

    @Test func inMemoryOnlyAChangedNodeIsNotComparedWithWhatItWas() throws {
        let h = try Harness()
        let dom0 = h.connect()
        h.write(dom0, "/t/a", String(repeating: "x", count: 2000))
        h.write(dom0, "/t/a", String(repeating: "y", count: 2000))
        h.send(dom0, .rm, ["/t/a"])
        #expect(h.store.counters.storedComparisons == 0)
        #expect(h.store.node(at: "/t/a") == nil && h.store.node(at: "/t")?.children == [])
    }

    @Test func aCreateLooksUpAndStoresEachNodeOnce() throws {
        let h = try Harness()
        let dom0 = h.connect()
        h.write(dom0, "/t", "")
        let parentBefore = try #require(h.store.node(at: "/t"))
        let (lookups, stores) = (h.store.counters.nodeLookups, h.store.counters.nodeStores)
        #expect(h.write(dom0, "/t/new", "x") == .ok)
        // The new path (missing), its parent (found); the parent and the new node stored.
        #expect(h.store.counters.nodeLookups - lookups == 2)
        #expect(h.store.counters.nodeStores - stores == 2)
        let parent = try #require(h.store.node(at: "/t"))
        let made = try #require(h.store.node(at: "/t/new"))
        #expect(parent.creation == parentBefore.creation && parent.children == ["new"])
        #expect(made.creation == made.generation && made.creation > parent.generation - 1)
        // Missing parents: the lookup's four (three missing, "/t" found),
        // then the missing parents once more to make them; "/t" not again.
        let lookups2 = h.store.counters.nodeLookups
        #expect(h.send(dom0, .mkdir, ["/t/x/y/z"]) == .ok)
        #expect(h.store.counters.nodeLookups - lookups2 == 4 + 2)
        #expect(h.store.node(at: "/t/x/y")?.children == ["z"])
        #expect(h.store.node(at: "/t")?.children == ["new", "x"])
    }

    /// A removal finds each node below the removed one by taking it out of
    /// the tree (one hash of its path), not by a lookup and then a removal;
    /// the events and the tree are as before: every node fires its exact
    /// watches, the top one those above it too.
    @Test func aRemovalTakesEachNodeOutWithOneDictionaryOperation() throws {
        let h = try Harness()
        let dom0 = h.connect()
        let watcher = h.connect()
        for path in ["/t/d/a", "/t/d/b/c", "/t/d/b/e", "/t/d/f"] { h.write(dom0, path, "1") }
        for path in ["/t/d", "/t/d/b", "/t/d/b/c", "/t/d/f", "/t"] { h.send(watcher, .watch, [path, path]) }
        _ = h.takeEvents(watcher)
        let (lookups, removals) = (h.store.counters.nodeLookups, h.store.counters.nodeRemovals)
        let before = h.store.nodeCount
        #expect(h.send(dom0, .rm, ["/t/d"]) == .ok)
        // The removed path and its parent looked up; six nodes taken out, one operation each.
        #expect(h.store.counters.nodeLookups - lookups == 2)
        #expect(h.store.counters.nodeRemovals - removals == 6)
        #expect(h.store.nodeCount == before - 6)
        #expect(h.store.node(at: "/t")?.children == [])
        let events = h.takeEvents(watcher)
        #expect(Set(events.map { $0[1] }) == ["/t/d", "/t/d/b", "/t/d/b/c", "/t/d/f", "/t"])
        #expect(events.count == 5)
        #expect(events.last == ["/t/d", "/t"])
        #expect(h.store.checkTree().isEmpty)
    }

    @Test func aNodeThatKeepsItsOwnerLeavesTheOwnersCountsAlone() throws {
        let h = try Harness()
        let dom0 = h.connect()
        h.write(dom0, "/local/domain/3", "")
        h.setPerms(dom0, "/local/domain/3", ["n3"])
        let guest = h.connect(3)
        #expect(h.write(guest, "data", "1") == .ok)
        #expect(h.store.entries(ownedBy: 3) == 2)
        let changes = h.store.counters.ownerCountChanges
        #expect(h.write(guest, "data", "2") == .ok)
        #expect(h.store.counters.ownerCountChanges == changes)
        #expect(h.store.entries(ownedBy: 3) == 2)
        // A new owner still moves the node between the counts.
        h.setPerms(dom0, "/local/domain/3/data", ["n0"])
        #expect(h.store.entries(ownedBy: 3) == 1)
        #expect(h.store.counters.ownerCountChanges == changes + 2)
        #expect(h.send(dom0, .rm, ["/local/domain/3"]) == .ok)
        #expect(h.store.entries(ownedBy: 3) == 0)
    }

    @Test func onlyPathsAsLongAsAWatchsAreLookedForAmongTheWatches() throws {
        let h = try Harness()
        let dom0 = h.connect()
        let watcher = h.connect()
        h.write(dom0, "/local/domain/1/data/x", "0")
        // "/ab/cd" is as long as "/local", an ancestor of the write: one lookup, no event.
        #expect(h.send(watcher, .watch, ["/ab/cd", "t"]) == .ok)
        _ = h.takeEvents(watcher)
        var lookups = h.store.counters.watchLookups
        h.write(dom0, "/local/domain/1/data/x", "1")
        #expect(h.store.counters.watchLookups - lookups == 1)
        #expect(h.takeEvents(watcher) == [])
        // Watches on two ancestors: those two looked up as well, fired deepest first.
        h.send(watcher, .watch, ["/", "root"])
        h.send(watcher, .watch, ["/local/domain/1", "dom"])
        _ = h.takeEvents(watcher)
        lookups = h.store.counters.watchLookups
        h.write(dom0, "/local/domain/1/data/x", "2")
        #expect(h.store.counters.watchLookups - lookups == 3)
        #expect(h.takeEvents(watcher) == [["/local/domain/1/data/x", "dom"], ["/local/domain/1/data/x", "root"]])
        // Unwatched, the lengths no longer count.
        h.send(watcher, .unwatch, ["/", "root"])
        h.send(watcher, .unwatch, ["/ab/cd", "t"])
        lookups = h.store.counters.watchLookups
        h.write(dom0, "/local/domain/1/data/x", "3")
        #expect(h.store.counters.watchLookups - lookups == 1)
        #expect(h.takeEvents(watcher) == [["/local/domain/1/data/x", "dom"]])
        h.send(watcher, .unwatch, ["/local/domain/1", "dom"])
        #expect(h.store.watchedLengths.allSatisfy { $0 == 0 })
    }

    @Test func parentLengthsWalkUpToTheRoot() {
        let path = "/local/domain/12/x"
        var lengths = [path.utf8.count]
        while lengths.last! > 1 { lengths.append(Store.parentLength(path, lengths.last!)) }
        #expect(lengths.map { String(path.utf8.prefix($0))! } == ["/local/domain/12/x", "/local/domain/12", "/local/domain", "/local", "/"])
        #expect(Store.parentLength("/a", 2) == 1)
    }

    /// Seeded random watches (absolute, relative, on `/`, set and removed by
    /// several connections) and changes: the events each connection gets
    /// are those of a plain model (every watch on the changed path or an
    /// ancestor, deepest first, in the order the watches were set).
    @Test func eventsAgreeWithAModelOfEveryAncestor() throws {
        var rng = SplitMix(state: 14)
        let h = try Harness()
        let dom0 = h.connect()
        let watchers = (0..<3).map { _ in h.connect() }
        let names = ["a", "b", "ab", "local", "x1"]
        func randomPath() -> String {
            "/" + (0..<Int.random(in: 1...4, using: &rng)).map { _ in names.randomElement(using: &rng)! }.joined(separator: "/")
        }
        var model: [(conn: ConnectionID, path: String, token: String)] = []
        for step in 0..<600 {
            let conn = watchers.randomElement(using: &rng)!
            switch Int.random(in: 0..<10, using: &rng) {
            case 0, 1:
                let path = Bool.random(using: &rng) && step % 7 == 0 ? "/" : randomPath()
                let token = "t\(step)"
                #expect(h.send(conn, .watch, [path, token]) == .ok)
                model.append((conn, path, token))
            case 2:
                guard let i = model.indices.randomElement(using: &rng) else { continue }
                let w = model.remove(at: i)
                #expect(h.send(w.conn, .unwatch, [w.path, w.token]) == .ok)
            default:
                let path = randomPath()
                h.write(dom0, path, "\(step)")
            }
            // Events so far against the model, for the last change only.
            for c in watchers { _ = h.takeEvents(c) }
            let target = randomPath()
            h.write(dom0, target, "v")
            for c in watchers {
                var expected: [[String]] = []
                var candidate = target
                while true {
                    for w in model where w.conn == c && w.path == candidate { expected.append([target, w.token]) }
                    if candidate == "/" { break }
                    candidate = XSPath.parent(of: candidate)
                }
                #expect(h.takeEvents(c) == expected)
            }
        }
    }
}
