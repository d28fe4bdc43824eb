import Foundation
import Testing
import XenStoreProtocol
@testable import XenStoreServer

/// A small deterministic generator (SplitMix64), so a failure repeats.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

@Suite struct RandomizedTests {
    static let names = ["a", "b", "c", "dev", "x-1", "y_2"]

    func randomPath(_ rng: inout SplitMix) -> String {
        "/" + (0..<Int.random(in: 1...4, using: &rng)).map { _ in Self.names.randomElement(using: &rng)! }.joined(separator: "/")
    }

    /// Random writes, removals, permission changes and transactions from
    /// dom0 and two guests: the tree stays consistent, quotas are counted
    /// right, and a reload from SQLite gives back exactly the same tree.
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func randomOperationsKeepTheTreeConsistentAndDurable(seed: UInt64) throws {
        let dir = try TemporaryDirectory()
        let db = dir.path + "/store.db"
        var rng = SplitMix(state: seed)
        let expected: [String]
        var counts: [UInt32: Int] = [:]
        do {
            let h = try Harness(storage: try SQLiteStorage(path: db))
            // Odd seeds commit each request, even ones in groups as the socket loop does.
            h.store.groupCommit = seed % 2 == 0
            let dom0 = h.connect()
            for d in [1, 2] as [UInt32] {
                h.write(dom0, "/local/domain/\(d)", "")
                h.setPerms(dom0, "/local/domain/\(d)", ["n\(d)", "r0"])
            }
            let conns = [dom0, h.connect(1), h.connect(2)]
            var open: [ConnectionID: UInt32] = [:]
            for _ in 0..<1500 {
                let conn = conns.randomElement(using: &rng)!
                let guest = conn != dom0
                let path = guest && Bool.random(using: &rng)
                    ? String(randomPath(&rng).dropFirst())  // relative, below the guest's home
                    : randomPath(&rng)
                let tx = open[conn] ?? 0
                switch Int.random(in: 0..<10, using: &rng) {
                case 0...3: h.write(conn, path, String(Int.random(in: 0..<1000, using: &rng)), tx: tx)
                case 4: h.send(conn, .mkdir, [path], tx: tx)
                case 5: h.send(conn, .rm, [path], tx: tx)
                case 6: h.setPerms(conn, path, [["n", "r", "b"].randomElement(using: &rng)! + (guest ? "\(h.store.domid(of: conn)!)" : "0")], tx: tx)
                case 7: _ = h.read(conn, path, tx: tx)
                case 8:
                    if tx == 0 { open[conn] = h.start(conn) }
                default:
                    if tx != 0 {
                        _ = h.end(conn, tx, commit: Bool.random(using: &rng))
                        open[conn] = nil
                    }
                }
                _ = h.takeEvents(conn)
                if Int.random(in: 0..<8, using: &rng) == 0 { #expect(h.store.commitBatch() == nil) }
            }
            for (conn, tx) in open { _ = h.end(conn, tx) }
            #expect(h.store.commitBatch() == nil)
            #expect(h.store.checkTree() == [])
            expected = h.tree()
            for node in h.store.nodes.values { counts[node.perms.owner, default: 0] += 1 }
            for (owner, count) in counts { #expect(h.store.entries(ownedBy: owner) == count) }
            #expect(h.store.nodeCount > 20)
        }
        let reloaded = try Harness(storage: try SQLiteStorage(path: db))
        #expect(reloaded.tree() == expected)
        for (owner, count) in counts { #expect(reloaded.store.entries(ownedBy: owner) == count) }
    }

    /// Random bytes as requests of every type: each gets exactly one reply
    /// (the harness checks that) and the tree stays consistent.
    @Test func garbageRequestsGetRepliesAndBreakNothing() throws {
        let h = try Harness()
        let dom0 = h.connect()
        let guest = h.connect(3)
        var rng = SplitMix(state: 42)
        let alphabet = Array("/ab@-_0\u{0}".utf8) + [0, 0, 255]
        for _ in 0..<5000 {
            let type = UInt32.random(in: 0...23, using: &rng)
            let payload = (0..<Int.random(in: 0..<24, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            h.send(Bool.random(using: &rng) ? dom0 : guest, type, payload: payload, tx: UInt32.random(in: 0...2, using: &rng))
            _ = h.takeEvents(dom0)
            _ = h.takeEvents(guest)
        }
        #expect(h.store.checkTree() == [])
    }
}
