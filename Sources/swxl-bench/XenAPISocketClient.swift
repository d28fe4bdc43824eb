#if canImport(Glibc)
import Glibc
#endif
import ManagementAPI

/// A XenAPI client over `swxl serve`'s Unix socket, for the benchmark:
/// one kept-alive connection, requests written as clients write them
/// (XML-RPC as Python's xmlrpc.client, which the XenAPI SDK uses, sends
/// it; JSON-RPC 2.0 at /jsonrpc), responses read whole.
final class XenAPISocketClient {
    struct Failure: Error, CustomStringConvertible { var description: String }

    enum Wire { case xmlrpc, jsonrpc }

    private let fd: Int32
    private var pending: [UInt8] = []
    private var buffer = [UInt8](repeating: 0, count: 256 * 1024)
    private var nextID: Int64 = 1

    init(socketPath: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: socketPath.utf8)
            raw[socketPath.utf8.count] = 0
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw Failure(description: "connect \(socketPath): errno \(e)")
        }
    }

    deinit { close(fd) }

    /// The request's bytes, head and body, as the client sends them.
    func request(_ method: String, _ params: [XenAPIValue], protocol proto: Wire) -> [UInt8] {
        let body: [UInt8], path: String, type: String
        switch proto {
        case .xmlrpc:
            // xmlrpc.client's layout: a line per element, strings typed.
            var text = "<?xml version='1.0'?>\n<methodCall>\n<methodName>\(method)</methodName>\n<params>\n"
            for param in params {
                text += "<param>\n" + Self.pythonValue(param) + "</param>\n"
            }
            text += "</params>\n</methodCall>\n"
            body = Array(text.utf8)
            path = "/"
            type = "text/xml"
        case .jsonrpc:
            body = JSONRPC.request(XenAPICall(method: method, params: params), version: .v2, id: .int(nextID))
            nextID += 1
            path = "/jsonrpc"
            type = "application/json"
        }
        let head = "POST \(path) HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\nContent-Type: \(type)\r\n"
            + "User-Agent: Python-xmlrpc/3.11\r\nContent-Length: \(body.count)\r\n\r\n"
        return Array(head.utf8) + body
    }

    /// A value as xmlrpc.client marshals it (strings in <string>).
    static func pythonValue(_ value: XenAPIValue) -> String {
        switch value {
        case .string(let s): return "<value><string>\(s)</string></value>\n"
        case .int(let i): return "<value><int>\(i)</int></value>\n"
        case .double(let d): return "<value><double>\(d)</double></value>\n"
        case .bool(let b): return "<value><boolean>\(b ? 1 : 0)</boolean></value>\n"
        case .array(let items): return "<value><array><data>\n" + items.map(pythonValue).joined() + "</data></array></value>\n"
        default: return XMLRPC.valueText(value) + "\n"
        }
    }

    /// Sends `bytes` and reads the one response to them: its body.
    func exchange(_ bytes: [UInt8]) throws -> [UInt8] {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
            offset += n
        }
        return try readResponse()
    }

    private func fill() throws {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw Failure(description: n == 0 ? "the server closed the connection" : "recv: errno \(errno)") }
        pending.append(contentsOf: buffer[0..<n])
    }

    private func readResponse() throws -> [UInt8] {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            headEnd = pending.firstRange(of: separator)?.upperBound
            if headEnd == nil { try fill() }
        }
        let head = String(decoding: pending[..<headEnd!], as: UTF8.self)
        guard head.hasPrefix("HTTP/1.1 200") else { throw Failure(description: "the server answered: \(head.prefix(200))") }
        var length: Int?
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.dropFirst("content-length:".count).trimmingPrefix(" "))
        }
        guard let length else { throw Failure(description: "no Content-Length in: \(head)") }
        while pending.count < headEnd! + length { try fill() }
        let body = Array(pending[headEnd!..<(headEnd! + length)])
        pending.removeFirst(headEnd! + length)
        return body
    }

    /// A call's result, its response parsed.
    func call(_ method: String, _ params: [XenAPIValue], protocol proto: Wire = .xmlrpc) throws -> XenAPIResult {
        let body = try exchange(request(method, params, protocol: proto))
        return try Self.parse(body, proto)
    }

    static func parse(_ body: [UInt8], _ proto: Wire) throws -> XenAPIResult {
        switch proto {
        case .xmlrpc: return try XMLRPC.parseResponse(body)
        case .jsonrpc: return try JSONRPC.parseResponse(body).result
        }
    }
}
