import Foundation
import Testing
import XenStoreProtocol

/// swxl's xenstored driven by Xen's own C clients (xenstore-utils,
/// test-xenstore) through XENSTORED_PATH, plus raw-protocol checks.
@Suite(.serialized) struct XenStoreInterop {
    static let toolsPresent = FileManager.default.isExecutableFile(atPath: "/usr/bin/xenstore-read")
    static let testXenstore = "/usr/lib/xen-4.17/bin/test-xenstore"

    @Test(.enabled(if: toolsPresent)) func xenToolsReadWriteListRemove() throws {
        let d = try XenStoreDaemon()
        let s = d.socket
        #expect(try run("xenstore-write", ["/vm/a", "one", "/vm/b/c", "two words"], socket: s) == Output(status: 0, stdout: "", stderr: ""))
        #expect(try run("xenstore-read", ["/vm/a", "/vm/b/c"], socket: s).stdout == "one\ntwo words\n")
        #expect(try run("xenstore-list", ["/vm"], socket: s).stdout == "a\nb\n")
        #expect(try run("xenstore-ls", ["/vm"], socket: s).stdout == "a = \"one\"\nb = \"\"\n c = \"two words\"\n")
        #expect(try run("xenstore-ls", ["-f", "/vm"], socket: s).stdout == "/vm/a = \"one\"\n/vm/b = \"\"\n/vm/b/c = \"two words\"\n")
        #expect(try run("xenstore-exists", ["/vm/b/c"], socket: s).status == 0)
        #expect(try run("xenstore-exists", ["/vm/zz"], socket: s).status != 0)
        #expect(try run("xenstore-chmod", ["/vm/a", "r0", "b3"], socket: s).status == 0)
        #expect(try run("xenstore-chmod", ["-r", "/vm/b", "n0", "r4"], socket: s).status == 0)
        let perms = try run("xenstore-ls", ["-p", "/vm"], socket: s).stdout
        #expect(perms.split(separator: "\n").map { $0.hasSuffix("(r0,b3)") || $0.hasSuffix("(n0,r4)") } == [true, true, true])
        #expect(try run("xenstore-rm", ["/vm/b"], socket: s).status == 0)
        #expect(try run("xenstore-list", ["/vm"], socket: s).stdout == "a\n")
        let missing = try run("xenstore-read", ["/vm/nothing"], socket: s)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("couldn't read path /vm/nothing"))
    }

    @Test(.enabled(if: toolsPresent)) func longChildListsComeThroughDirectoryPart() throws {
        let d = try XenStoreDaemon()
        let c = try WireClient(d.socket)
        let names = (0..<600).map { "a-rather-long-child-name-\($0)" }
        for name in names { #expect(c.write("/many/\(name)", "") == "OK") }
        // Too long for one DIRECTORY reply: libxenstore falls back to DIRECTORY_PART.
        #expect(c.call(.directory, ["/many"]) == "ERROR:E2BIG")
        let listed = try run("xenstore-list", ["/many"], socket: d.socket)
        #expect(listed.status == 0)
        #expect(listed.stdout == names.map { $0 + "\n" }.joined())
    }

    @Test(.enabled(if: toolsPresent)) func xenstoreWatchSeesChanges() throws {
        let d = try XenStoreDaemon()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/xenstore-watch")
        p.arguments = ["-n", "3", "/w"]
        var env = ProcessInfo.processInfo.environment
        env["XENSTORED_PATH"] = d.socket
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        // The first event (the registration) arrives as soon as the watch is set.
        let handle = out.fileHandleForReading
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("\n") { seen.append(handle.availableData) }
        let writer = try WireClient(d.socket)
        #expect(writer.write("/w/x", "1") == "OK")
        #expect(writer.write("/elsewhere", "1") == "OK")
        #expect(writer.call(.rm, ["/w"]) == "OK")
        seen.append(handle.readDataToEndOfFile())
        p.waitUntilExit()
        #expect(String(decoding: seen, as: UTF8.self) == "/w\n/w/x\n/w\n")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: testXenstore))) func testXenstorePassesAllTwelve() throws {
        let d = try XenStoreDaemon()
        let list = try run(Self.testXenstore, ["-l"], socket: d.socket)
        let names = list.stdout.split(separator: "\n").map { String($0.prefix(10)).trimmingCharacters(in: .whitespaces) }
        #expect(names.count == 12)
        let result = try run(Self.testXenstore, ["-i", "20"], socket: d.socket)
        #expect(result.status == 0, "\(result)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 12)
        #expect(lines.allSatisfy { $0.contains("avg:") && !$0.contains("failed") }, "\(result.stdout)")
    }

    @Test(.enabled(if: toolsPresent)) func aDomainSocketCannotReachAnotherDomain() throws {
        let d = try XenStoreDaemon()
        let dom0 = try WireClient(d.socket)
        for domid in ["5", "6"] {
            #expect(dom0.write("/local/domain/\(domid)/name", "guest\(domid)") == "OK")
            #expect(dom0.call(.setPerms, ["/local/domain/\(domid)", "n\(domid)"]) == "OK")
            #expect(dom0.call(.setPerms, ["/local/domain/\(domid)/name", "n\(domid)"]) == "OK")
            #expect(dom0.call(.introduce, [domid, "0", "0"]) == "OK")
        }
        let five = d.domainSocket(5)
        #expect(FileManager.default.fileExists(atPath: five))
        #expect(try run("xenstore-read", ["name"], socket: five).stdout == "guest5\n")
        #expect(try run("xenstore-write", ["data/x", "1"], socket: five).status == 0)
        #expect(try run("xenstore-read", ["/local/domain/5/data/x"], socket: d.socket).stdout == "1\n")
        let denied = try run("xenstore-read", ["/local/domain/6/name"], socket: five)
        #expect(denied.status == 1)
        #expect(denied.stderr.contains("couldn't read path"))
        #expect(try run("xenstore-write", ["/local/domain/6/name", "pwned"], socket: five).status != 0)
        #expect(try run("xenstore-rm", ["/local/domain/6/name"], socket: five).status != 0)
        #expect(try run("xenstore-read", ["/local/domain/6/name"], socket: d.socket).stdout == "guest6\n")
        // Release closes the socket.
        #expect(dom0.call(.release, ["5"]) == "OK")
        #expect(!FileManager.default.fileExists(atPath: five))
        #expect(dom0.call(.isDomainIntroduced, ["5"]) == "F")
    }

    @Test(.enabled(if: toolsPresent)) func quotasBite() throws {
        let d = try XenStoreDaemon(["--entry-nb", "5", "-W", "2"])
        let dom0 = try WireClient(d.socket)
        #expect(dom0.write("/local/domain/8", "") == "OK")
        #expect(dom0.call(.setPerms, ["/local/domain/8", "n8"]) == "OK")
        #expect(dom0.call(.introduce, ["8", "0", "0"]) == "OK")
        let guest = try WireClient(d.domainSocket(8))
        for i in 0..<4 { #expect(guest.write("n\(i)", "") == "OK") }
        #expect(guest.write("n4", "") == "ERROR:ENOSPC")
        let tool = try run("xenstore-write", ["n5", "x"], socket: d.domainSocket(8))
        #expect(tool.status != 0)
        #expect(guest.call(.watch, ["a", "1"]) == "OK")
        #expect(guest.call(.watch, ["a", "2"]) == "OK")
        #expect(guest.call(.watch, ["a", "3"]) == "ERROR:E2BIG")
        // dom0 is not limited.
        #expect(dom0.write("/local/domain/8/n9", "") == "OK")
    }

    @Test func outstandingRequestsArePausedNotLost() throws {
        let d = try XenStoreDaemon(["--outstanding", "3"])
        let dom0 = try WireClient(d.socket)
        #expect(dom0.write("/local/domain/4/v", "x") == "OK")
        #expect(dom0.call(.setPerms, ["/local/domain/4", "n4"]) == "OK")
        #expect(dom0.call(.setPerms, ["/local/domain/4/v", "n4"]) == "OK")
        #expect(dom0.call(.introduce, ["4", "0", "0"]) == "OK")
        let guest = try WireClient(d.domainSocket(4))
        var burst: [UInt8] = []
        for i in 0..<200 { burst += XSMessage(.read, requestID: UInt32(100 + i), payload: XSPayload.strings(["v"])).encoded() }
        guest.sendRaw(burst)
        #expect(dom0.call(.read, ["/local/domain/4/v"]) == "x")
        var ids: [UInt32] = []
        for _ in 0..<200 {
            guard let m = guest.receive() else { break }
            #expect(m.payload == Array("x".utf8))
            ids.append(m.requestID)
        }
        #expect(ids == (0..<200).map { UInt32(100 + $0) })
    }

    @Test func aWatcherThatDoesNotReadLosesEventsNotTheDaemon() throws {
        let d = try XenStoreDaemon()
        let token = String(repeating: "t", count: 3000)
        let lazy = try WireClient(d.socket, timeoutSeconds: 2)
        #expect(lazy.call(.watch, ["/", token]) == "OK")
        let writer = try WireClient(d.socket)
        let writes = 2500
        for i in 0..<writes { #expect(writer.write("/spam", "\(i)") == "OK") }
        #expect(writer.call(.read, ["/spam"]) == "\(writes - 1)")
        // Every event that did arrive is whole (the first is the registration's); some were dropped.
        #expect(lazy.receive().map { XSPayload.split($0.payload) } == ["/", token])
        var received = 0
        while let m = lazy.receive() {
            #expect(m.kind == .watchEvent && XSPayload.split(m.payload) == ["/spam", token])
            received += 1
        }
        #expect(received > 100)
        #expect(received < writes)
    }

    @Test func runningOutOfDescriptorsPausesAcceptingOnly() throws {
        let d = try XenStoreDaemon(descriptorLimit: 40)
        let first = try WireClient(d.socket)
        #expect(first.write("/fd", "1") == "OK")
        // Far more connections than descriptors: the kernel queues them, the daemon takes what it can.
        var extra: [WireClient] = []
        for _ in 0..<60 { if let c = try? WireClient(d.socket, timeoutSeconds: 1) { extra.append(c) } }
        #expect(first.call(.read, ["/fd"]) == "1")
        // Let the daemon spin if it would, then measure its CPU time over a quiet second.
        let pid = d.process!.processIdentifier
        func cpuTicks() throws -> Int {
            let fields = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8).split(separator: ")").last!.split(separator: " ")
            return Int(fields[11])! + Int(fields[12])!
        }
        let before = try cpuTicks()
        sleep(1)
        #expect(try cpuTicks() - before < 20)
        // Once connections close, waiting ones are served.
        extra.removeAll()
        let late = try WireClient(d.socket)
        #expect(late.call(.read, ["/fd"]) == "1")
    }

    @Test func racingTransactionsGetEAGAIN() throws {
        let d = try XenStoreDaemon()
        let a = try WireClient(d.socket)
        let b = try WireClient(d.socket)
        #expect(a.write("/race", "0") == "OK")
        let ta = UInt32(a.call(.transactionStart, [""]))!
        let tb = UInt32(b.call(.transactionStart, [""]))!
        #expect(a.call(.read, ["/race"], tx: ta) == "0")
        #expect(b.call(.read, ["/race"], tx: tb) == "0")
        #expect(a.write("/race", "a", tx: ta) == "OK")
        #expect(b.write("/race", "b", tx: tb) == "OK")
        #expect(b.call(.transactionEnd, ["T"], tx: tb) == "OK")
        #expect(a.call(.transactionEnd, ["T"], tx: ta) == "ERROR:EAGAIN")
        #expect(a.call(.read, ["/race"]) == "b")
    }

    @Test func everyAcknowledgedWriteSurvivesKill9() throws {
        let d = try XenStoreDaemon()
        let c = try WireClient(d.socket)
        for i in 0..<300 { #expect(c.write("/durable/n\(i)", "value-\(i)") == "OK") }
        #expect(c.call(.rm, ["/durable/n7"]) == "OK")
        #expect(c.call(.setPerms, ["/durable/n8", "r0", "b2"]) == "OK")
        let tx = UInt32(c.call(.transactionStart, [""]))!
        #expect(c.write("/durable/tx", "in-tx", tx: tx) == "OK")
        #expect(c.call(.transactionEnd, ["T"], tx: tx) == "OK")
        #expect(c.call(.introduce, ["12", "0", "0"]) == "OK")
        d.kill9()
        try d.start()
        let after = try WireClient(d.socket)
        for i in 0..<300 where i != 7 { #expect(after.call(.read, ["/durable/n\(i)"]) == "value-\(i)") }
        #expect(after.call(.read, ["/durable/n7"]) == "ERROR:ENOENT")
        #expect(after.call(.getPerms, ["/durable/n8"]) == "r0,b2")
        #expect(after.call(.read, ["/durable/tx"]) == "in-tx")
        #expect(after.call(.isDomainIntroduced, ["12"]) == "T")
        #expect(FileManager.default.fileExists(atPath: d.domainSocket(12)))
    }

    @Test func memoryOnlyKeepsNothing() throws {
        let d = try XenStoreDaemon(["--memory-only"])
        let c = try WireClient(d.socket)
        #expect(c.write("/gone", "soon") == "OK")
        d.stop()
        try d.start()
        #expect(try WireClient(d.socket).call(.read, ["/gone"]) == "ERROR:ENOENT")
        #expect(!FileManager.default.fileExists(atPath: d.stateDir + "/xenstored/store.db"))
    }

    @Test func badInputIsAnsweredAndOthersAreStillServed() throws {
        let d = try XenStoreDaemon()
        let good = try WireClient(d.socket)
        #expect(good.write("/ok", "1") == "OK")

        // Missing NUL, invalid path, unknown type, unknown transaction.
        let c = try WireClient(d.socket)
        #expect(c.call(.read, [], payload: Array("/ok".utf8)) == "ERROR:EINVAL")
        #expect(c.call(.read, ["/bad//path"]) == "ERROR:EINVAL")
        #expect(c.call(.read, ["/ok"], tx: 4242) == "ERROR:ENOENT")
        c.sendRaw(XSMessage(type: 99, requestID: 5).encoded())
        #expect(c.receive().map { XSError(payload: $0.payload) } == .ENOSYS)

        // An oversized frame: Xen drops the connection.
        let big = try WireClient(d.socket)
        var header: [UInt8] = []
        XSHeader(type: XSType.write.rawValue, requestID: 1, transactionID: 0, length: 5000).encode(into: &header)
        big.sendRaw(header)
        #expect(big.receive() == nil)

        // A client that vanishes mid-frame changes nothing.
        do {
            let half = try WireClient(d.socket)
            let frame = XSMessage(.write, requestID: 1, payload: Array("/half\0value".utf8)).encoded()
            half.sendRaw(Array(frame.prefix(20)))
        }
        // A short header, then gone.
        do {
            let short = try WireClient(d.socket)
            short.sendRaw([1, 2, 3])
        }
        #expect(good.call(.read, ["/ok"]) == "1")
        #expect(good.call(.read, ["/half"]) == "ERROR:ENOENT")
        #expect(d.isRunning)
    }

    @Test(.enabled(if: toolsPresent)) func readOnlySocketRefusesWrites() throws {
        let d = try XenStoreDaemon()
        #expect(try run("xenstore-write", ["/x", "1"], socket: d.socket).status == 0)
        #expect(try run("xenstore-read", ["/x"], socket: d.readOnlySocket).stdout == "1\n")
        let refused = try run("xenstore-write", ["/x", "2"], socket: d.readOnlySocket)
        #expect(refused.status != 0)
        let ro = try WireClient(d.readOnlySocket)
        #expect(ro.write("/x", "3") == "ERROR:EROFS")
        #expect(try run("xenstore-read", ["/x"], socket: d.socket).stdout == "1\n")
    }

    @Test func withoutForegroundItDetachesAndWritesAPidFile() throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("swxl-detach-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let started = try run(XenStoreDaemon.swxlBinary, ["xenstored", "--state-dir", state], socket: "")
        #expect(started == Output(status: 0, stdout: "", stderr: ""))
        let pidText = try String(contentsOfFile: state + "/xenstored/xenstored.pid", encoding: .utf8)
        let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, 0) == 0)
        #expect(try WireClient(state + "/xenstored/socket").write("/detached", "yes") == "OK")
        // A second one is refused, with the detached child's reason.
        let again = try run(XenStoreDaemon.swxlBinary, ["xenstored", "--state-dir", state], socket: "")
        #expect(again == Output(status: 1, stdout: "", stderr: "swxl xenstored: another xenstored is already running for this state directory (pid \(pid))\n"))
        kill(pid, SIGTERM)
        var gone = false
        for _ in 0..<500 where !gone {
            gone = kill(pid, 0) != 0
            usleep(10_000)
        }
        #expect(gone)
        #expect(!FileManager.default.fileExists(atPath: state + "/xenstored/socket"))
        #expect(!FileManager.default.fileExists(atPath: state + "/xenstored/xenstored.pid"))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/lib/xen-4.17/bin/xenstore-control")))
    func xenstoreControlCommands() throws {
        let d = try XenStoreDaemon()
        let control = "/usr/lib/xen-4.17/bin/xenstore-control"
        #expect(try run(control, ["quota", "watches", "64"], socket: d.socket) == Output(status: 0, stdout: "OK\n", stderr: ""))
        #expect(try run(control, ["quota"], socket: d.socket).stdout ==
            "entries: 1000\nwatches: 64\nnode-size: 2048\ntransactions: 10\npermissions: 5\noutstanding: 20\n")
        #expect(try run(control, ["check"], socket: d.socket).stdout == "OK\n")
        #expect(try run(control, ["no-such-command"], socket: d.socket).status != 0)
    }

    @Test func aSecondDaemonOnTheSameStateIsRefused() throws {
        let d = try XenStoreDaemon()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: XenStoreDaemon.swxlBinary)
        p.arguments = ["xenstored", "--foreground", "--state-dir", d.stateDir]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 1)
        #expect(message.contains("already running"))
        #expect(try WireClient(d.socket).call(.getDomainPath, ["3"]) == "/local/domain/3")
    }
}
