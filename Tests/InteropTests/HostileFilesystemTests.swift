import Foundation
import Testing
import XenStoreProtocol

/// The daemon's state directory on a filesystem that fills up: writes are
/// refused with ENOSPC (what Xen's tools report), reads go on from memory,
/// nothing half-written is left, and everything acknowledged survives once
/// space is back (a kill -9 and a restart included).
@Suite(.serialized) struct HostileFilesystemTests {
    /// A small tmpfs of the test's own, unmounted at the end.
    final class SmallFilesystem {
        let path: String
        init(megabytes: Int) throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("swxl-fullfs-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let out = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path], socket: "")
            guard out.status == 0 else { throw DaemonError("mount tmpfs on \(path): \(out.stderr)") }
        }
        deinit {
            _ = try? run("/bin/umount", ["-l", path], socket: "")
            try? FileManager.default.removeItem(atPath: path)
        }

        /// Fills what is left with one file (removed by ``makeRoom()``).
        func fill() {
            let fd = open(path + "/filler", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            let block = [UInt8](repeating: 0x55, count: 64 << 10)
            while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
            close(fd)
        }

        func makeRoom() { unlink(path + "/filler") }
    }

    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func aFullFilesystemRefusesWritesWithENOSPCAndLosesNothing() throws {
        let fs = try SmallFilesystem(megabytes: 4)
        let d = try XenStoreDaemon(stateDir: fs.path + "/state")
        let c = try WireClient(d.socket)
        var acknowledged: [String: String] = [:]
        for i in 0..<50 {
            #expect(c.write("/kept/n\(i)", "value-\(i)") == "OK")
            acknowledged["/kept/n\(i)"] = "value-\(i)"
        }

        fs.fill()
        // SQLite's log may still hold a little room: write until refused.
        let big = String(repeating: "x", count: 2000)
        var refused: [String] = []
        for i in 0..<2000 where refused.isEmpty {
            let path = "/full/n\(i)"
            switch c.write(path, big) {
            case "OK": acknowledged[path] = big
            case let other:
                #expect(other == "ERROR:ENOSPC")
                refused.append(path)
            }
        }
        #expect(refused.count == 1)
        // A refused write leaves nothing; transactions and reads go on.
        for path in refused { #expect(c.call(.read, [path]) == "ERROR:ENOENT") }
        #expect(c.call(.rm, ["/kept/n0"]) == "ERROR:ENOSPC")
        for (path, value) in acknowledged { #expect(c.call(.read, [path]) == value) }
        #expect(c.call(.directory, ["/kept"]).split(separator: ",").count == 50)

        fs.makeRoom()
        #expect(c.write("/after", "room again") == "OK")
        acknowledged["/after"] = "room again"
        d.kill9()
        try d.start()
        let after = try WireClient(d.socket)
        for (path, value) in acknowledged { #expect(after.call(.read, [path]) == value) }
        for path in refused { #expect(after.call(.read, [path]) == "ERROR:ENOENT") }
        d.stop()
        withExtendedLifetime(fs) {}
    }
}

/// The daemon's files removed behind its back while it runs: it notices,
/// writes the tree it holds into a new database, and nothing acknowledged
/// (before or after) is lost across a kill -9.
@Suite struct RemovedStateTests {
    @Test(arguments: ["xenstored/store.db", "xenstored"])
    func theDatabaseIsMadeAgainFromMemory(removed: String) throws {
        let d = try XenStoreDaemon()
        let c = try WireClient(d.socket)
        for i in 0..<50 { #expect(c.write("/before/n\(i)", "\(i)") == "OK") }
        #expect(c.call(.introduce, ["7", "0", "0"]) == "OK")
        let target = d.stateDir + "/" + removed
        for path in [target, target + "-wal", target + "-shm"] { try? FileManager.default.removeItem(atPath: path) }
        // The daemon looks at its file at most every 100 ms.
        usleep(150_000)
        for i in 0..<50 { #expect(c.write("/after/n\(i)", "\(i)") == "OK") }
        #expect(FileManager.default.fileExists(atPath: d.stateDir + "/xenstored/store.db"))
        d.kill9()
        if removed == "xenstored" { try? FileManager.default.removeItem(atPath: d.socket) }
        try d.start()
        let again = try WireClient(d.socket)
        for i in 0..<50 {
            #expect(again.call(.read, ["/before/n\(i)"]) == "\(i)")
            #expect(again.call(.read, ["/after/n\(i)"]) == "\(i)")
        }
        #expect(again.call(.isDomainIntroduced, ["7"]) == "T")
    }
}

/// The daemon under a memory limit (`ulimit -v`): a tree that would grow
/// past what the limit leaves it is refused with ENOMEM, and the daemon
/// goes on serving (without the budget, an allocation fails and it dies).
@Suite struct MemoryLimitTests {
    @Test func writesPastTheBudgetGetENOMEMAndTheDaemonServesOn() throws {
        let d = try XenStoreDaemon(addressSpaceLimitKiB: 120_000)
        let c = try WireClient(d.socket)
        let value = String(repeating: "m", count: 4000)
        var written = 0
        var refusal = ""
        while refusal.isEmpty && written < 100_000 {
            let reply = c.write("/mem/n\(written)", value)
            if reply == "OK" { written += 1 } else { refusal = reply }
        }
        // Some megabytes went in before the refusal, and it was ENOMEM.
        #expect(written > 1000)
        #expect(refusal == "ERROR:ENOMEM")
        #expect(d.isRunning)
        #expect(c.call(.read, ["/mem/n\(written - 1)"]) == value)
        #expect(c.call(.read, ["/mem/n\(written)"]) == "ERROR:ENOENT")
        // Room again once some goes.
        #expect(c.call(.rm, ["/mem"]) == "OK")
        #expect(c.write("/after", "1") == "OK")
        #expect(d.isRunning)
    }
}
