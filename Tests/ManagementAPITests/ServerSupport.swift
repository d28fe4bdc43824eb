import Foundation
import Glibc
import Logging
import Synchronization
@testable import ManagementAPI

/// A connected client socket speaking raw HTTP, for the server's tests.
final class RawHTTPClient {
    let fd: Int32

    init(unixPath: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: unixPath.utf8)
            raw[unixPath.utf8.count] = 0
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { close(fd); throw POSIXError(POSIXErrorCode(rawValue: errno)!) }
        setTimeout()
    }

    /// `address` is `127.0.0.1:PORT`.
    init(tcp address: String) throws {
        let parts = address.split(separator: ":")
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = UInt16(parts[1])!.bigEndian
        inet_pton(AF_INET, String(parts[0]), &sin.sin_addr)
        let rc = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { close(fd); throw POSIXError(POSIXErrorCode(rawValue: errno)!) }
        setTimeout()
    }

    private func setTimeout() {
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Sends everything; false if the peer is gone.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    private var pending: [UInt8] = []

    /// One response: status, lower-cased headers and body; nil at end of file.
    func readResponse() -> (status: Int, headers: [String: String], body: [UInt8])? {
        func fill() -> Bool {
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return false }
            pending += buffer[0..<n]
            return true
        }
        while true {
            if let end = pending.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: pending[..<end.lowerBound], as: UTF8.self)
                let lines = head.components(separatedBy: "\r\n")
                let status = Int(lines[0].split(separator: " ")[1])!
                var headers: [String: String] = [:]
                for line in lines.dropFirst() {
                    let colon = line.firstIndex(of: ":")!
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                let length = Int(headers["content-length"] ?? "0")!
                while pending.count < end.upperBound + length { guard fill() else { return nil } }
                let body = Array(pending[end.upperBound..<(end.upperBound + length)])
                pending.removeFirst(end.upperBound + length)
                return (status, headers, body)
            }
            guard fill() else { return nil }
        }
    }

    /// Whether the server has closed the connection (reads end of file).
    func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) <= 0
    }

    /// An XML-RPC call and its result.
    func xmlrpc(_ method: String, _ params: [XenAPIValue], path: String = "/") throws -> XenAPIResult {
        let body = XMLRPC.call(XenAPICall(method: method, params: params))
        send("POST \(path) HTTP/1.1\r\nHost: test\r\nContent-Type: text/xml\r\nContent-Length: \(body.count)\r\n\r\n")
        send(body)
        guard let response = readResponse() else { throw POSIXError(.ECONNRESET) }
        guard response.status == 200 else { throw POSIXError(.EPROTO) }
        return try XMLRPC.parseResponse(response.body)
    }
}

/// The server in this process on a temporary Unix socket (and TCP on a
/// free loopback port when `credentials` are given), stopped by `stop()`.
final class ServerUnderTest: @unchecked Sendable {
    let directory: String
    let socketPath: String
    let server: XenAPIServer
    private let stopPipe: [Int32]
    private let finished = DispatchSemaphore(value: 0)

    init(dispatcher: any XenAPIDispatching = RecordingDispatcher(), credentials: Credentials? = nil,
         configure: (inout XenAPIServerConfiguration) -> Void = { _ in }) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("swxl-serve-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        socketPath = directory + "/socket"
        var configuration = XenAPIServerConfiguration(unixSocketPath: socketPath)
        if let credentials {
            configuration.tcp = TCPListenAddress(family: .ipv4, host: "127.0.0.1", port: 0)
            configuration.credentials = credentials
        }
        configure(&configuration)
        var logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        logger.logLevel = .critical
        server = try XenAPIServer(configuration: configuration, dispatcher: dispatcher, logger: logger)
        var ends: [Int32] = [-1, -1]
        pipe(&ends)
        stopPipe = ends
        let server = self.server, done = finished, stopEnd = ends[0]
        Thread.detachNewThread {
            server.run(stopWhenReadable: stopEnd)
            done.signal()
        }
    }

    func stop() {
        var byte: UInt8 = 1
        write(stopPipe[1], &byte, 1)
        finished.wait()
        close(stopPipe[0])
        close(stopPipe[1])
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// `hunter2`'s hash for user `root` (openssl passwd -6 -salt saltsalt hunter2).
let testCredentials = Credentials(users: [
    "root": "$6$saltsalt$8iYtNHxjWRl.NF6oNZ5tF.iKFlQREaXBLlSmZKP6dy9l5z3vsooWNW0/GZ6Nej73/TFug6pIPSqbJoCT6dfnj.",
])

/// A surface that records what reaches it and can hold a call until released.
final class RecordingDispatcher: XenAPIDispatching {
    let calls = Mutex<[(String, [XenAPIValue], XenAPICallOrigin)]>([])
    let gate = DispatchSemaphore(value: 0)

    func call(_ method: String, _ params: [XenAPIValue], context: XenAPICallContext) async -> XenAPIResult {
        calls.withLock { $0.append((method, params, context.origin)) }
        if method == "test.block" {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    self.gate.wait()
                    continuation.resume()
                }
            }
        }
        if method == "test.login", case .string(let user)? = params.first, case .string(let password)? = params.dropFirst().first {
            switch context.checkPassword(user, password) {
            case .accepted: return .success(.bool(true))
            case .rejected: return .success(.bool(false))
            case .throttled(let seconds): return .success(.string("throttled \(seconds)"))
            }
        }
        return .success(.array(params))
    }
}

