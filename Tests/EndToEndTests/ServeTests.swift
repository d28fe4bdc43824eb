import Foundation
import Glibc
import Testing

/// `swxl serve` as a client sees it: the envelopes with curl, the XenAPI
/// SDK over the Unix socket and TCP, bad input, and the daemon's life.
@Suite struct ServeTests {
    /// The body after the blank line of `curl -i` output, and the status.
    func split(_ output: String) -> (status: Int, headers: String, body: String) {
        // curl prints "HTTP/1.1 100 Continue" first when it was sent.
        var text = output
        while text.hasPrefix("HTTP/1.1 100") {
            text = String(text[text.range(of: "\r\n\r\n")!.upperBound...])
        }
        let end = text.range(of: "\r\n\r\n")!
        let head = String(text[..<end.lowerBound])
        let status = Int(head.split(separator: " ")[1])!
        return (status, head, String(text[end.upperBound...]))
    }

    static let login = """
        <?xml version="1.0"?><methodCall><methodName>session.login_with_password</methodName><params>\
        <param><value><string>root</string></value></param><param><value><string>hunter2</string></value></param>\
        <param><value><string>1.0</string></value></param></params></methodCall>
        """

    @Test func xmlrpcEnvelopesOverTheSocketAndTCPWithCurl() throws {
        let serve = try ServeFixture(tcp: true)
        defer { serve.stop() }
        for tcp in [false, true] {
            let r = split(try serve.curl(Self.login, path: "/RPC2", tcp: tcp).stdout)
            #expect(r.status == 200 && r.headers.contains("Content-Type: text/xml"), "\(r)")
            let match = r.body.wholeMatch(of: #/<\?xml version="1.0"\?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name><value>(OpaqueRef:[0-9a-f-]{36})</value></member></struct></value></param></params></methodResponse>/#)
            let session = try #require(match?.1, "\(r.body)")
            let logout = "<methodCall><methodName>session.logout</methodName><params><param><value>\(session)</value></param></params></methodCall>"
            #expect(split(try serve.curl(logout, tcp: tcp).stdout).body == """
                <?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member>\
                <member><name>Value</name><value></value></member></struct></value></param></params></methodResponse>
                """)
        }
        let wrong = Self.login.replacingOccurrences(of: "hunter2", with: "hunter3")
        #expect(split(try serve.curl(wrong, tcp: true).stdout).body == """
            <?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Failure</value></member>\
            <member><name>ErrorDescription</name><value><array><data><value>SESSION_AUTHENTICATION_FAILED</value><value>root</value>\
            <value>Authentication failure</value></data></array></value></member></struct></value></param></params></methodResponse>
            """)
    }

    @Test func jsonrpcVersions1And2AtSlashJsonrpc() throws {
        let serve = try ServeFixture(tcp: true)
        defer { serve.stop() }
        let json = ["-H", "Content-Type: application/json"]
        let v1 = split(try serve.curl(#"{"method":"session.login_with_password","params":["root","hunter3"],"id":"a"}"#,
                                      path: "/jsonrpc", tcp: true, extra: json).stdout)
        #expect(v1.status == 200 && v1.headers.contains("Content-Type: application/json"))
        #expect(v1.body == #"{"result":null,"error":["SESSION_AUTHENTICATION_FAILED","root","Authentication failure"],"id":"a"}"#)
        let v2 = split(try serve.curl(#"{"jsonrpc":"2.0","method":"session.login_with_password","params":["root","hunter2"],"id":7}"#,
                                      path: "/jsonrpc", tcp: true, extra: json).stdout)
        let session = try #require(v2.body.wholeMatch(of: #/\{"jsonrpc":"2\.0","result":"(OpaqueRef:[0-9a-f-]{36})","id":7\}/#)?.1, "\(v2.body)")
        let unknown = split(try serve.curl(#"{"jsonrpc":"2.0","method":"VM.frobnicate","params":["\#(session)"],"id":8}"#,
                                           path: "/jsonrpc", extra: json).stdout)
        #expect(unknown.body == #"{"jsonrpc":"2.0","error":{"code":1,"message":"MESSAGE_METHOD_UNKNOWN","data":["VM.frobnicate"]},"id":8}"#)
    }

    @Test func badInputGetsAnErrorAndTheDaemonKeepsServing() throws {
        let serve = try ServeFixture(extraArguments: ["--max-request-bytes", "100000"])
        defer { serve.stop() }
        let xml = split(try serve.curl("<methodCall><methodName>x</methodName><params><param><value><int>zz</int></value></param></params></methodCall>").stdout)
        #expect(xml.status == 500 && xml.headers.contains("Connection: close"))
        #expect(xml.body == "malformed XML-RPC request: <int> holds 'zz', not a 64-bit integer at byte 65\n")
        let json = split(try serve.curl("{\"method\": \"x\", \"params\": [}", path: "/jsonrpc").stdout)
        #expect(json.status == 500 && json.body == "malformed JSON-RPC request: invalid JSON at byte 27\n")
        // A body over the limit: refused with 413, the connection closed.
        let hugeFile = serve.directory + "/huge"
        try String(repeating: "x", count: 200_000).write(toFile: hugeFile, atomically: true, encoding: .utf8)
        let big = try serve.curl("@" + hugeFile)
        #expect(split(big.stdout).status == 413, "\(big)")
        #expect(split(big.stdout).body == "the body exceeds 100000 bytes\n")
        // Raw garbage on a socket of its own.
        #expect(try run("/usr/bin/socat", ["-t", "5", "-", "UNIX-CONNECT:\(serve.socket)"], stdin: "\u{0}\u{1}\u{2}garbage\r\n\r\n").stdout
                .hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        // Still serving.
        let r = split(try serve.curl(Self.login).stdout)
        #expect(r.status == 200 && r.body.contains("<value>Success</value>"))
        #expect(serve.isRunning)
    }

    @Test func theXenAPISDKLogsInAndOutOverTheSocketAndTCP() throws {
        let serve = try ServeFixture(tcp: true)
        defer { serve.stop() }
        let script = """
            import sys, XenAPI
            local = XenAPI.Session(sys.argv[1], transport=XenAPI.UDSTransport())
            local.xenapi.login_with_password("root", "", "1.0", "swxl-tests")
            print("local", local.handle.startswith("OpaqueRef:"))
            local.xenapi.session.logout()
            print("local out", local.handle)
            remote = XenAPI.Session("http://" + sys.argv[2])
            try:
                remote.xenapi.login_with_password("root", "wrong")
                print("wrong password accepted")
            except XenAPI.Failure as failure:
                print("wrong", failure.details)
            remote.xenapi.login_with_password("root", "hunter2", "1.0", "swxl-tests")
            print("remote", remote.handle.startswith("OpaqueRef:"))
            remote.xenapi.logout()
            print("remote out", remote.handle)
            """
        let r = try XenAPISDK.run(script: script, [try XenAPISDK.localURL(socket: serve.socket), try #require(serve.tcpAddress)])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == """
            local True
            local out None
            wrong ['SESSION_AUTHENTICATION_FAILED', 'root', 'Authentication failure']
            remote True
            remote out None

            """)
    }

    @Test func detachedItWritesItsPidAndStopsCleanlyOnSIGTERM() throws {
        var template = Array("/tmp/swxl-api-XXXXXX".utf8CString)
        let dir = String(cString: try #require(mkdtemp(&template)))
        let environment = ["SWXL_HOST": "embedded", "XENSTORED_PATH": ""]
        defer {
            // The xenstored the embedded host started for the server.
            if let text = try? String(contentsOfFile: dir + "/xenstored/xenstored.pid", encoding: .utf8),
               let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1 {
                kill(pid, SIGTERM)
                for _ in 0..<500 where kill(pid, 0) == 0 && !isZombie(pid) { usleep(10_000) }
            }
            try? FileManager.default.removeItem(atPath: dir)
        }
        let start = try run(swxlBinary, ["serve", "--state-dir", dir], environment: environment)
        #expect(start.status == 0 && start.stdout.isEmpty && start.stderr.isEmpty, "\(start)")
        let pidText = try String(contentsOfFile: dir + "/xapi/serve.pid", encoding: .utf8)
        let pid = try #require(pid_t(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        var info = stat()
        #expect(stat(dir + "/xapi/socket", &info) == 0 && info.st_mode & 0o777 == 0o600)
        // A second one for the same state is refused and changes nothing.
        let second = try run(swxlBinary, ["serve", "--state-dir", dir], environment: environment)
        #expect(second.status == 1)
        #expect(second.stderr == "swxl serve: another swxl serve is already running with the pid file \(dir)/xapi/serve.pid (pid \(pid))\n")
        kill(pid, SIGTERM)
        for _ in 0..<500 where kill(pid, 0) == 0 { usleep(10_000) }
        #expect(kill(pid, 0) != 0)
        #expect(!FileManager.default.fileExists(atPath: dir + "/xapi/socket"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/xapi/serve.pid"))
    }

    @Test func tcpNeedsCredentialsAndRefusesPlainPasswords() throws {
        var template = Array("/tmp/swxl-api-XXXXXX".utf8CString)
        let dir = String(cString: try #require(mkdtemp(&template)))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let missing = try run(swxlBinary, ["serve", "--state-dir", dir, "--tcp", "0"])
        #expect(missing.status != 0 && missing.stderr.contains("--tcp needs --credentials FILE"), "\(missing)")
        let badAddress = try run(swxlBinary, ["serve", "--state-dir", dir, "--tcp", "example.com:80", "--credentials", "x"])
        #expect(badAddress.status != 0 && badAddress.stderr.contains("'example.com' is not a numeric IPv4 address (or localhost)"), "\(badAddress)")
        try "root:hunter2\n".write(toFile: dir + "/creds", atomically: true, encoding: .utf8)
        let plain = try run(swxlBinary, ["serve", "--foreground", "--state-dir", dir, "--tcp", "0", "--credentials", dir + "/creds"])
        #expect(plain.status == 1)
        #expect(plain.stderr == "swxl serve: \(dir)/creds:1: user 'root' has a password in plain text; give its SHA-512 crypt hash instead (openssl passwd -6)\n")
        #expect(!FileManager.default.fileExists(atPath: dir + "/xapi/socket"))
    }
}
