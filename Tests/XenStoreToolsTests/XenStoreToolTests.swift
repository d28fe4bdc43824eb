import Testing
import XenStoreClient
import XenStoreProtocol
import XenStoreTools

/// Each command against swxl's own store: what it does and how it fails.
@Suite struct XenStoreToolTests {
    let perms = XSPermissions([XSPermission(.none, 0), XSPermission(.read, 5)])!

    @Test func operationsRunInOrderAndGiveTheirOutputs() throws {
        let daemon = StoreOnSocket()
        let outputs = try XenStoreTool.run([.write("/t/a", Array("1".utf8)), .mkdir("/t/b"), .read("/t/a"), .list("/t"),
                                            .chmod("/t/a", perms), .getperms("/t/a"), .exists("/t/b"), .rm("/t/b")],
                                           on: daemon.client, atomically: true)
        #expect(outputs == [.none, .none, .value(Array("1".utf8)), .children(["a", "b"]), .none, .permissions(perms), .none, .none])
        #expect(try daemon.client.directory("/t") == ["a"])
    }

    @Test func aFailingOperationFailsTheBatchWithItsMessage() throws {
        let daemon = StoreOnSocket()
        #expect(throws: XenStoreToolFailure("couldn't read path /none: No such file or directory")) {
            try XenStoreTool.run([.read("/none")], on: daemon.client, atomically: false)
        }
        #expect(throws: XenStoreToolFailure("line 7: could not remove path /no/parent: No such file or directory")) {
            try XenStoreTool.run([.write("/kept", []), .rm("/no/parent")], on: daemon.client, atomically: true, lines: [3, 7])
        }
        // Atomically: the first write went with the second.
        #expect(try daemon.client.readIfPresent("/kept") == nil)
    }

    @Test func existsIsFalseForAnyMissingPath() throws {
        let daemon = StoreOnSocket()
        try daemon.client.write("/e", "x")
        #expect(try XenStoreTool.allExist(["/e"], on: daemon.client))
        #expect(try !XenStoreTool.allExist(["/e", "/missing"], on: daemon.client))
    }

    @Test func tidyRemovalGoesUpWhileParentsAreEmpty() throws {
        let daemon = StoreOnSocket()
        try daemon.client.write("/r/keep", "v")
        try daemon.client.mkdir("/r/x/y/z")
        try XenStoreTool.remove(["/r/x/y/z"], tidy: true, on: daemon.client)
        #expect(try daemon.client.directory("/r") == ["keep"])
        try XenStoreTool.remove(["/r/keep"], tidy: false, on: daemon.client)
        #expect(try daemon.client.directory("/r") == [])
    }

    @Test func permissionsGoDownAndUpAsAsked() throws {
        let daemon = StoreOnSocket()
        try daemon.client.mkdir("/p/q/r")
        try XenStoreTool.setPermissions("/p/q", perms, recursive: true, upto: false, on: daemon.client)
        #expect(try ["/p", "/p/q", "/p/q/r"].map { try daemon.client.getPermissions($0) } == [XSPermissions(owner: 0), perms, perms])
        try XenStoreTool.setPermissions("/p/q", perms, recursive: false, upto: true, on: daemon.client)
        #expect(try daemon.client.getPermissions("/p") == perms)
        #expect(throws: XenStoreToolFailure("Invalid permission specification: 'q1'")) { try XenStoreTool.permissions(["n0", "q1"]) }
        #expect(try XenStoreTool.permissions(["n0", "r5"]) == perms)
    }

    @Test func watchHandsOverEventsUntilTheCount() throws {
        let daemon = StoreOnSocket()
        var events: [XenStoreWatchEvent] = []
        try XenStoreTool.watch(["/w"], on: daemon.client, count: 1) { events.append($0) }
        #expect(events == [XenStoreWatchEvent(path: "/w", token: "/w")])
        #expect(XenStoreTool.eventLine(events[0], json: false) == "/w /w\n")
        #expect(XenStoreTool.eventLine(events[0], json: true) == #"{"path":"/w","token":"/w"}"# + "\n")
    }

    @Test func outputsAreFormattedAsTheToolsPrintThem() {
        let paths = ["/a", "/"]
        #expect(XenStoreTool.readText(paths, [[0x61, 0x0a], []], prefix: true, raw: false) == Array("/a: a\\n\n/: \n".utf8))
        #expect(XenStoreTool.readText(paths, [[0x61, 0x0a], [0x62]], prefix: false, raw: true) == [0x61, 0x0a, 0x62])
        #expect(XenStoreTool.readJSON(paths, [[0x61], []]) == #"{"/a":"a","/":""}"# + "\n")
        #expect(XenStoreTool.listText(paths, [["x"], ["y"]], prefix: true) == "/a/x\n/y\n")
        #expect(XenStoreTool.listText(paths, [["x"], ["y"]], prefix: false) == "x\ny\n")
        #expect(XenStoreTool.listJSON(paths, [["x"], []]) == #"{"/a":["x"],"/":[]}"# + "\n")
        #expect(XenStoreTool.permissionsText(["/a"], [perms], prefix: true) == "/a: n0,r5\n")
        #expect(XenStoreTool.permissionsJSON(["/a"], [perms]) == #"{"/a":["n0","r5"]}"# + "\n")
    }

    @Test func listingPrintsWhatItWalksAndFailsAsXenstoreLs() throws {
        let daemon = StoreOnSocket()
        try daemon.client.write("/l/k", "v")
        var out: [UInt8] = []
        try XenStoreListing.print(daemon.client, "/l", format: .init(), json: false, output: { out += $0 }, warning: { _ in })
        #expect(out == Array("k = \"v\"\n".utf8))
        out = []
        try XenStoreListing.print(daemon.client, "/l", format: .init(), json: true, output: { out += $0 }, warning: { _ in })
        #expect(out == Array(#"[{"path":"/l/k","value":"v"}]"#.utf8) + [0x0a])
        #expect(throws: XenStoreToolFailure("xs_directory (/none): No such file or directory")) {
            try XenStoreListing.print(daemon.client, "/none", format: .init(), json: false, output: { _ in }, warning: { _ in })
        }
    }
}
