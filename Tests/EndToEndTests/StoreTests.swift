import Foundation
import Glibc
import Testing

/// `swxl store` run as a user runs it, against the daemon it starts itself,
/// and side by side with Xen's own `xenstore-*` tools.
@Suite struct StoreTests {
    @Test func firstCommandStartsTheDaemonAndValuesRoundTrip() throws {
        let host = try StoreHost()
        #expect(host.daemonPid == nil)
        let write = try host.swxl(["write", "/a/b", "hello", "/a/c", #"x\ty"#])
        #expect(write.status == 0 && write.stdout.isEmpty && write.stderr.isEmpty)
        let pid = try #require(host.daemonPid)
        #expect(kill(pid, 0) == 0)

        #expect(try host.swxl(["read", "/a/b", "/a/c"]).stdout == "hello\nx\\ty\n")
        #expect(try host.swxl(["read", "-p", "/a/b"]).stdout == "/a/b: hello\n")
        #expect(try host.swxl(["read", "-R", "/a/c"]).stdout == "x\ty")
        #expect(try host.swxl(["read", "--json", "/a/b", "/a/c"]).stdout == #"{"/a/b":"hello","/a/c":"x\ty"}"# + "\n")
        #expect(try host.swxl(["list", "/a"]).stdout == "b\nc\n")
        #expect(try host.swxl(["list", "--json", "/a"]).stdout == #"{"/a":["b","c"]}"# + "\n")
        // The same daemon answers later commands: no second one was started.
        #expect(host.daemonPid == pid)
    }

    @Test func aKilledDaemonIsStartedAgainWithItsData() throws {
        let host = try StoreHost()
        try host.swxl(["write", "/durable/a", "1", "/durable/b", "2"])
        let first = try #require(host.daemonPid)
        kill(first, SIGKILL)
        for _ in 0..<400 where kill(first, 0) == 0 { usleep(5_000) }  // gone (or a zombie of init's)
        // The socket file is left behind, refusing connections: the next command starts a new daemon.
        let read = try host.swxl(["read", "/durable/a", "/durable/b"])
        #expect(read.status == 0 && read.stdout == "1\n2\n")
        let second = try #require(host.daemonPid)
        #expect(second != first)
    }

    /// The test runner's threads block signals; a daemon started from one
    /// must still stop on SIGTERM.
    @Test func theStartedDaemonStopsOnSIGTERM() throws {
        let host = try StoreHost()
        try host.swxl(["mkdir", "/x"])
        let pid = try #require(host.daemonPid)
        kill(pid, SIGTERM)
        var gone = false
        for _ in 0..<300 where !gone {
            usleep(10_000)
            gone = kill(pid, 0) != 0 || host.daemonPid == nil
        }
        #expect(gone)
    }

    @Test func manyFirstCommandsAtOnceStartOneDaemon() throws {
        let host = try StoreHost()
        // Six processes at once, none waiting for another.
        let processes = try (0..<6).map { i in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: swxlBinary)
            process.arguments = ["store", "write", "/race/\(i)", "v\(i)"]
            process.environment = ProcessInfo.processInfo.environment.merging(host.swxlEnvironment) { $1 }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        for process in processes { process.waitUntilExit() }
        #expect(processes.map(\.terminationStatus) == Array(repeating: 0, count: 6))
        let names = try host.swxl(["list", "/race"]).stdout.split(separator: "\n").sorted()
        #expect(names == ["0", "1", "2", "3", "4", "5"])
    }

    @Test func failuresExitOneWithXensMessages() throws {
        let host = try StoreHost()
        try host.swxl(["mkdir", "/here"])
        let read = try host.swxl(["read", "/nope"])
        #expect(read.status == 1 && read.stdout.isEmpty)
        #expect(read.stderr == "swxl store read: couldn't read path /nope: No such file or directory\n")
        let list = try host.swxl(["list", "/nope"])
        #expect(list.status == 1 && list.stderr == "swxl store list: could not list path /nope: No such file or directory\n")
        let rm = try host.swxl(["rm", "/no/such/child"])
        #expect(rm.status == 1 && rm.stderr == "swxl store rm: could not remove path /no/such/child: No such file or directory\n")
        let write = try host.swxl(["write", "bad//path", "v"])
        #expect(write.status == 1 && write.stderr == "swxl store write: could not write path bad//path: Invalid argument\n")
        let chmod = try host.swxl(["chmod", "/here", "x0"])
        #expect(chmod.status == 1 && chmod.stderr == "swxl store chmod: Invalid permission specification: 'x0'\n")
        #expect(try host.swxl(["exists", "/here"]).status == 0)
        let exists = try host.swxl(["exists", "/here", "/nope"])
        #expect(exists.status == 1 && exists.stdout.isEmpty && exists.stderr.isEmpty)
        // Usage errors exit 2, as xl's do.
        #expect(try host.swxl(["write", "/odd"]).status == 2)
        #expect(try host.swxl(["read"]).status == 2)
    }

    @Test func removeTidyDropsEmptyParents() throws {
        let host = try StoreHost()
        try host.swxl(["write", "/t/a/b/c", "1", "/t/keep", "2"])
        #expect(try host.swxl(["rm", "-t", "/t/a/b/c"]).status == 0)
        #expect(try host.swxl(["list", "/t"]).stdout == "keep\n")
        try host.swxl(["rm", "/t"])
        #expect(try host.swxl(["exists", "/t"]).status == 1)
    }

    @Test func permissionsAreSetAndShown() throws {
        let host = try StoreHost()
        try host.swxl(["write", "/p/a/x", "1", "/p/b", "2"])
        #expect(try host.swxl(["chmod", "-r", "/p/a", "n0", "r5"]).status == 0)
        #expect(try host.swxl(["getperms", "/p/a", "/p/a/x", "/p/b"]).stdout == "n0,r5\nn0,r5\nn0\n")
        #expect(try host.swxl(["getperms", "-p", "/p/a"]).stdout == "/p/a: n0,r5\n")
        #expect(try host.swxl(["getperms", "--json", "/p/a"]).stdout == #"{"/p/a":["n0","r5"]}"# + "\n")
        #expect(try host.swxl(["chmod", "-u", "/p/b", "b7"]).status == 0)
        #expect(try host.swxl(["getperms", "/p/b", "/p"]).stdout == "b7\nb7\n")
        #expect(try host.swxl(["ls", "--json", "-p", "/p/a"]).stdout == #"[{"path":"/p/a/x","value":"1","perms":["n0","r5"]}]"# + "\n")
    }

    @Test func transactionRunsABatchAtomically() throws {
        let host = try StoreHost()
        let batch = try host.swxl(["transaction"], stdin: """
            # set up a device
            write /dev/0/state 1
            write /dev/0/name a disk\\tone
            read /dev/0/name
            list /dev/0
            getperms /dev/0
            """)
        #expect(batch.status == 0)
        #expect(batch.stdout == "a disk\\tone\nstate\nname\nn0\n")
        #expect(try host.swxl(["read", "-R", "/dev/0/name"]).stdout == "a disk\tone")

        let failing = try host.swxl(["transaction", "write /dev/1/state 1", "exists /dev/missing", "write /dev/2/state 1"])
        #expect(failing.status == 1)
        #expect(failing.stderr == "swxl store transaction: line 2: path /dev/missing does not exist: No such file or directory\n")
        #expect(try host.swxl(["list", "/dev"]).stdout == "0\n")

        let json = try host.swxl(["transaction", "--json", "read /dev/0/state", "rm /dev/0/state"])
        #expect(json.stdout == #"[{"op":"read","path":"/dev/0/state","value":"1"},{"op":"rm","path":"/dev/0/state"}]"# + "\n")

        let syntax = try host.swxl(["transaction", "frob /x"])
        #expect(syntax.status == 1 && syntax.stderr == "swxl store transaction: line 1: unknown operation 'frob'\n")
    }

    @Test func watchPrintsPathAndTokenPerEvent() throws {
        let host = try StoreHost()
        try host.swxl(["mkdir", "/w"])
        let watcher = Process()
        watcher.executableURL = URL(fileURLWithPath: swxlBinary)
        watcher.arguments = ["store", "watch", "-n", "3", "/w"]
        watcher.environment = ProcessInfo.processInfo.environment.merging(host.swxlEnvironment) { $1 }
        let out = Pipe()
        watcher.standardOutput = out
        try watcher.run()
        defer { if watcher.isRunning { watcher.terminate() } }
        var lines = LineReader(out.fileHandleForReading)
        // The first event is the watch being set: after it, changes are seen.
        #expect(lines.next() == "/w /w")
        try host.swxl(["write", "/w/x", "1"])
        #expect(lines.next() == "/w/x /w")
        try host.swxl(["rm", "/w"])
        #expect(lines.next() == "/w /w")
        watcher.waitUntilExit()
        #expect(watcher.terminationStatus == 0)
    }

    @Test func watchJSONLines() throws {
        let host = try StoreHost()
        let result = try host.swxl(["watch", "--json", "-n", "1", "@introduceDomain"])
        #expect(result.status == 0)
        #expect(result.stdout == #"{"path":"@introduceDomain","token":"@introduceDomain"}"# + "\n")
    }

    @Test func xenstoredPathIsUsedAsIs() throws {
        let host = try StoreHost()
        try host.swxl(["write", "/x", "1"])
        let direct = try run(swxlBinary, ["store", "read", "/x"], environment: ["XENSTORED_PATH": host.socket, "SWXL_STATE_DIR": "/nonexistent"])
        #expect(direct.status == 0 && direct.stdout == "1\n")
        let missing = try run(swxlBinary, ["store", "read", "/x"], environment: ["XENSTORED_PATH": host.stateDir + "/none"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "swxl store read: xs_open: stat \(host.stateDir)/none: No such file or directory\n")
    }
}

/// `swxl store read`, `write` and `exists` have a fast path past argument-parser: every form must
/// give what argument-parser's path gives, byte for byte and status for status.
@Suite struct StoreReadFastPathTests {
    @Test func fastPathAndArgumentParserAgree() throws {
        let host = try StoreHost()
        try host.swxl(["write", "/k", "v", "/k2", #"a\tb"#, "/-dash", "d"])
        let forms: [[String]] = [
            ["/k"], ["/k", "/k2"], ["-p", "/k"], ["/k", "--prefix"], ["-R", "/k2"], ["--raw", "/k", "/k2"],
            ["--json", "/k", "/k2"], ["-p", "-R", "--json", "/k"], ["/missing"], ["/k", "/missing"], ["relative"],
            [], ["-pR", "/k"], ["-p", "-p", "/k"], ["--", "/-dash"], ["-x", "/k"], ["-h"], ["--help"], ["help"],
            ["/k", "--version"], ["bad//path"],
        ]
        for form in forms {
            let fast = try host.swxl(["read"] + form)
            let slow = try run(swxlBinary, ["store", "read"] + form,
                               environment: host.swxlEnvironment.merging(["SWXL_NO_FAST_PATH": "1"]) { $1 })
            #expect(fast.status == slow.status, "\(form)")
            #expect(fast.stdout == slow.stdout, "\(form)")
            #expect(fast.stderr == slow.stderr, "\(form)")
        }
    }

    @Test func writeAndExistsAgreeToo() throws {
        let host = try StoreHost()
        try host.swxl(["write", "/k", "v"])
        let slowPath = host.swxlEnvironment.merging(["SWXL_NO_FAST_PATH": "1"]) { $1 }
        let writes: [[String]] = [
            ["/w/a", "1"], ["/w/a", #"x\ty"#, "/w/b", "2"], ["-R", "/w/c", #"a\tb"#], ["/w/d", "--raw", "v"], ["/w/odd"],
            ["-R", "-R", "/w/e", "v"], ["--", "/w/f", "-v"], ["bad//p", "v"], ["/w/g", "-x"], [],
        ]
        for form in writes {
            // Each way from an empty /w; compare what each printed and what each left.
            try host.swxl(["rm", "/w"])
            let fast = try host.swxl(["write"] + form)
            let fastTree = try host.swxl(["ls", "-f", "/w"])
            try host.swxl(["rm", "/w"])
            let slow = try run(swxlBinary, ["store", "write"] + form, environment: slowPath)
            let slowTree = try host.swxl(["ls", "-f", "/w"])
            #expect(fast.status == slow.status, "\(form)")
            #expect(fast.stdout == slow.stdout && fast.stderr == slow.stderr, "\(form)")
            #expect(fastTree.stdout == slowTree.stdout, "\(form)")
        }
        for form: [String] in [["/k"], ["/k", "/missing"], ["/missing"], ["-x"], ["--", "/k"], ["bad//p"], []] {
            let fast = try host.swxl(["exists"] + form)
            let slow = try run(swxlBinary, ["store", "exists"] + form, environment: slowPath)
            #expect(fast.status == slow.status, "\(form)")
            #expect(fast.stdout == slow.stdout && fast.stderr == slow.stderr, "\(form)")
        }
    }
}

/// Output compared byte for byte with Xen's `xenstore-*` tools on one daemon.
@Suite(.enabled(if: xenToolsInstalled)) struct StoreMatchesXenToolsTests {
    func seeded() throws -> StoreHost {
        let host = try StoreHost()
        try host.swxl(["mkdir", "/seed"])
        let long = String(repeating: "0123456789", count: 12)
        #expect(try host.xen("write", [
            "/local/domain/0/name", "Domain-0", "/local/domain/0/device/vif/0/mac", "00:16:3e:00:00:01",
            "/vm/00000000-0000-0000-0000-000000000000/description", long,
            "/escapes/tab", #"a\tb"#, "/escapes/bin", #"\001\x7f\xff"#, "/empty", "",
            "/a-very-long-directory-name-that-goes-on-and-on-and-on/and-a-long-child-name-too-yes", long,
        ]).status == 0)
        #expect(try host.xen("chmod", ["/local/domain/0/name", "n0", "r1", "b2"]).status == 0)
        return host
    }

    @Test(arguments: [[], ["-f"], ["-p"], ["-f", "-p"], ["/local"], ["-p", "/vm"]])
    func lsMatches(arguments: [String]) throws {
        let host = try seeded()
        let ours = try host.swxl(["ls"] + arguments)
        let theirs = try host.xen("ls", arguments)
        #expect(ours.status == theirs.status)
        #expect(ours.stdout == theirs.stdout)
    }

    @Test(arguments: [["/local/domain/0/name"], ["/escapes/tab", "/escapes/bin"], ["-p", "/empty", "/local/domain/0/name"], ["-R", "/escapes/bin"]])
    func readMatches(arguments: [String]) throws {
        let host = try seeded()
        let ours = try host.swxl(["read"] + arguments)
        let theirs = try host.xen("read", arguments)
        #expect(ours.status == 0 && theirs.status == 0)
        #expect(ours.stdout == theirs.stdout)
    }

    @Test(arguments: [["/"], ["/local/domain/0"], ["-p", "/"], ["-p", "/local/domain/0", "/escapes"]])
    func listMatches(arguments: [String]) throws {
        let host = try seeded()
        let ours = try host.swxl(["list"] + arguments)
        let theirs = try host.xen("list", arguments)
        #expect(ours.status == 0 && theirs.status == 0)
        // Xen 4.17's `xenstore-list -p /` prints `//name`; later Xen (and swxl) print `/name`.
        let expected = arguments == ["-p", "/"] ? theirs.stdout.replacingOccurrences(of: "//", with: "/") : theirs.stdout
        #expect(ours.stdout == expected)
    }

    @Test func failuresMatchInStatus() throws {
        let host = try seeded()
        for (tool, arguments) in [("read", ["/nope"]), ("list", ["/nope"]), ("exists", ["/nope"]), ("ls", ["/nope"]),
                                  ("rm", ["/no/such"]), ("exists", ["/empty"])] {
            let ours = try host.swxl([tool] + arguments)
            let theirs = try host.xen(tool, arguments)
            #expect(ours.status == theirs.status, "\(tool) \(arguments)")
            #expect(ours.stdout == theirs.stdout, "\(tool) \(arguments)")
        }
    }

    @Test func writesByEitherAreTheSame() throws {
        let host = try seeded()
        try host.swxl(["write", "/ours", #"q\x41\101\\z"#])
        try host.xen("write", ["/theirs", #"q\x41\101\\z"#])
        #expect(try host.swxl(["read", "-R", "/ours"]).stdout == "qAA\\z")
        #expect(try host.xen("read", ["-R", "/theirs"]).stdout == "qAA\\z")
        try host.swxl(["rm", "-t", "/a-very-long-directory-name-that-goes-on-and-on-and-on/and-a-long-child-name-too-yes"])
        #expect(try host.xen("exists", ["/a-very-long-directory-name-that-goes-on-and-on-and-on"]).status == 1)
    }
}

/// Lines from a pipe as they come.
struct LineReader {
    let handle: FileHandle
    var buffer = Data()

    init(_ handle: FileHandle) { self.handle = handle }

    mutating func next() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer = Data(buffer[(newline + 1)...])
                return line
            }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }
}
