import Foundation
import Testing
import XenStoreClient
import XenStoreProtocol

@Suite struct ToolTextTests {
    @Test func sanitiseEscapesAsXenstoreRead() {
        let value: [UInt8] = Array("a b~".utf8) + [0x5c, 0x09, 0x0a, 0x0d, 0x00, 0x07, 0x08, 0x1f, 0x7f, 0xff]
        #expect(XenStoreText.sanitise(value) == #"a b~\\\t\n\r\000\007\x08\x1f\x7f\xff"#)
    }

    @Test func unsanitiseReadsXenstoreWriteEscapes() {
        #expect(XenStoreText.unsanitise(#"a\tb\nc\rd\\e\x41\x4g\101\7z\q"#)
                == Array("a\tb\nc\rd\\eA".utf8) + [0x04] + Array("gA".utf8) + [0x07] + Array("zq".utf8))
        #expect(XenStoreText.unsanitise(#"\xzz"#) == Array("xzz".utf8))
        #expect(XenStoreText.unsanitise(#"end\"#) == Array("end".utf8) + [0])
        #expect(XenStoreText.unsanitise("") == [])
    }

    @Test func sanitiseThenUnsanitiseIsIdentity() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let value = (0..<Int.random(in: 0..<40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(XenStoreText.unsanitise(XenStoreText.sanitise(value)) == value)
        }
    }

    @Test func jsonQuotesControlCharacters() {
        #expect(XenStoreJSON.quoted("a\"b\\c\n\u{1}é") == #""a\"b\\c\n\u0001é""#)
        #expect(XenStoreJSON.object([("k", "1"), ("a", XenStoreJSON.array(["true", "null"]))]) == #"{"k":1,"a":[true,null]}"#)
    }
}

@Suite struct ListingTests {
    let perms = XSPermissions([XSPermission(.none, 0), XSPermission(.read, 3)])!

    @Test func treeLinesIndentAndQuote() {
        let format = XenStoreListing.Format()
        #expect(XenStoreListing.line(.init(path: "/local", name: "local", depth: 0, value: []), format) == "local = \"\"\n")
        #expect(XenStoreListing.line(.init(path: "/local/domain/0/name", name: "name", depth: 2, value: Array("Domain-0".utf8)), format)
                == "  name = \"Domain-0\"\n")
        #expect(XenStoreListing.line(.init(path: "/x", name: "x", depth: 1, value: nil), format) == " x:\n\n")
    }

    @Test func longValuesAreCutToTheWidth() {
        let value = Array(String(repeating: "v", count: 100).utf8)
        let line = XenStoreListing.line(.init(path: "/a/key", name: "key", depth: 1, value: value), .init(width: 40))
        // As xenstore-ls: 40 - 8 (` = "..."`) - 4 (indent and name) = 28 characters of value.
        #expect(line == " key = \"" + String(repeating: "v", count: 28) + "\\...\"\n")
        let full = XenStoreListing.line(.init(path: "/a/key", name: "key", depth: 1, value: value), .init(fullPaths: true, width: 40))
        #expect(full == "/a/key = \"" + String(repeating: "v", count: 100) + "\"\n")
    }

    @Test func permissionsArePaddedWithDots() {
        let node = XenStoreListing.Node(path: "/a", name: "a", depth: 0, value: Array("1".utf8), permissions: .success(perms))
        let line = XenStoreListing.line(node, .init(permissions: true))
        // `a = "1"` is 7 wide; one blank, then ". " up to column 60.
        let expected = "a = \"1\" " + String((8..<60).map { $0 & 1 == 1 ? "." : " " }) + "  (n0,r3)\n"
        #expect(line == expected)
        #expect(XenStoreListing.line(node, .init(permissions: true, fullPaths: true)) == "/a = \"1\"   (n0,r3)\n")
        #expect(XenStoreListing.json(node) == #"{"path":"/a","value":"1","perms":["n0","r3"]}"#)
    }

    @Test func walkVisitsDepthFirstAndSkipsVanishedNodes() throws {
        let tree: [String: [String]] = ["/": ["a", "b"], "/a": ["x", "gone"], "/a/x": [], "/b": []]
        let daemon = FakeDaemon { request in
            let path = XSPayload.split(request.payload).first ?? ""
            switch request.kind {
            case .directory:
                guard let children = tree[path] else { return [request.errorReply(.ENOENT)] }
                return [request.reply(XSPayload.strings(children))]
            case .read:
                return tree[path] == nil ? [request.errorReply(.ENOENT)] : [request.reply(Array(path.utf8))]
            default: return [request.errorReply(.ENOSYS)]
            }
        }
        let client = XenStoreClient(fileDescriptor: daemon.clientFD)
        var nodes: [XenStoreListing.Node] = []
        try XenStoreListing.walk(client, "/", permissions: false) { nodes.append($0) }
        #expect(nodes == [
            .init(path: "/a", name: "a", depth: 0, value: Array("/a".utf8)),
            .init(path: "/a/x", name: "x", depth: 1, value: Array("/a/x".utf8)),
            .init(path: "/a/gone", name: "gone", depth: 1, value: nil),
            .init(path: "/b", name: "b", depth: 0, value: Array("/b".utf8)),
        ])
        #expect(throws: XenStoreError.xs(.ENOENT)) { try XenStoreListing.walk(client, "/nothing", permissions: false) { _ in } }
    }
}

@Suite struct BatchTests {
    @Test func parsesEveryOperation() throws {
        let lines = [
            "read /a", "  write /a/b hello world ", "write /e ", "mkdir /m", "rm /r", "list /l", "exists /x",
            "getperms /g", "chmod /c n0 r5", "# comment", "", "write /esc a\\tb",
        ]
        let ops = try lines.compactMap { line throws(XenStoreBatch.SyntaxError) in try XenStoreBatch.parse(line) }
        #expect(ops == [
            .read("/a"), .write("/a/b", Array("hello world ".utf8)), .write("/e", []), .mkdir("/m"), .rm("/r"),
            .list("/l"), .exists("/x"), .getperms("/g"),
            .chmod("/c", XSPermissions([XSPermission(.none, 0), XSPermission(.read, 5)])!),
            .write("/esc", Array("a\tb".utf8)),
        ])
    }

    @Test func rejectsMalformedLines() {
        #expect(throws: XenStoreBatch.SyntaxError(message: "unknown operation 'frob'")) { try XenStoreBatch.parse("frob /a") }
        #expect(throws: XenStoreBatch.SyntaxError(message: "read takes one path")) { try XenStoreBatch.parse("read /a /b") }
        #expect(throws: XenStoreBatch.SyntaxError(message: "write takes a path and a value")) { try XenStoreBatch.parse("write /a") }
        #expect(throws: XenStoreBatch.SyntaxError(message: "invalid permissions: q0")) { try XenStoreBatch.parse("chmod /a q0") }
    }

    @Test func formatsOutputs() {
        #expect(XenStoreBatch.text(.value([0x61, 0x0a])) == "a\\n\n")
        #expect(XenStoreBatch.text(.children(["x", "y"])) == "x\ny\n")
        #expect(XenStoreBatch.json(.list("/l"), .children(["x"])) == #"{"op":"list","path":"/l","children":["x"]}"#)
        #expect(XenStoreBatch.json(.rm("/r"), .none) == #"{"op":"rm","path":"/r"}"#)
    }
}

@Suite struct ConnectorTests {
    func isolated(_ dir: String, command: [String]?) -> XenStoreConnector {
        var connector = XenStoreConnector(environment: ["SWXL_STATE_DIR": dir], uid: 1000, daemonCommand: command)
        connector.systemSocket = dir + "/no-system-socket"
        connector.xenbusDevices = [dir + "/no-xenbus"]
        connector.capabilitiesFile = dir + "/no-capabilities"
        connector.startTimeout = .seconds(2)
        return connector
    }

    @Test func withoutADaemonCommandNothingIsStarted() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: XenStoreError.daemonUnavailable("no xenstored answers at \(dir)/xenstored/socket")) {
            try isolated(dir, command: nil).connect()
        }
    }

    @Test func aDaemonThatFailsToStartIsReported() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: XenStoreError.daemonUnavailable("the embedded xenstored (/bin/false) failed to start (exit status 1)")) {
            try isolated(dir, command: ["/bin/false"]).connect()
        }
    }

    @Test func xenstoredPathWins() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var connector = isolated(dir, command: ["/bin/false"])
        connector.environment["XENSTORED_PATH"] = dir + "/elsewhere"
        #expect(throws: XenStoreError.system("stat \(dir)/elsewhere", ENOENT)) { try connector.connect() }
    }
}

func temporaryDirectory() throws -> String {
    var template = Array("/tmp/swxl-client-XXXXXX".utf8CString)
    guard let path = mkdtemp(&template) else { throw XenStoreError.system("mkdtemp", errno) }
    return String(cString: path)
}
