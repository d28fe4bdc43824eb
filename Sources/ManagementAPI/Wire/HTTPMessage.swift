// HTTP/1.1 as the XenAPI server needs it: requests read incrementally from
// whatever bytes arrive (request line, headers, a Content-Length body,
// keep-alive), limits on the head and the body, and responses written.
// Pure: the server feeds bytes in and writes what comes out.

/// A request's line and headers.
public struct HTTPRequestHead: Equatable, Sendable {
    public var method: String
    /// The request target's path, without a query.
    public var path: String
    /// The query after '?', if any.
    public var query: String?
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var minorVersion: Int
    /// Names lower-cased, in the order received.
    public var headers: [(name: String, value: String)]
    public var contentLength: Int

    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }

    /// Whether the connection stays open after the response: HTTP/1.1
    /// unless `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`.
    public var keepAlive: Bool {
        let tokens = (header("connection") ?? "").lowercased().split(separator: ",").map { $0.trimmingSpaces() }
        if minorVersion >= 1 { return !tokens.contains("close") }
        return tokens.contains("keep-alive")
    }

    /// Whether the client waits for `100 Continue` before sending the body.
    public var expectsContinue: Bool {
        minorVersion >= 1 && (header("expect")?.lowercased().trimmingSpaces() == "100-continue")
    }

    public static func == (a: HTTPRequestHead, b: HTTPRequestHead) -> Bool {
        a.method == b.method && a.path == b.path && a.query == b.query && a.minorVersion == b.minorVersion
            && a.contentLength == b.contentLength && a.headers.count == b.headers.count
            && zip(a.headers, b.headers).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

public struct HTTPRequest: Equatable, Sendable {
    public var head: HTTPRequestHead
    public var body: [UInt8]
}

/// A request that cannot be served: the status to answer with (the
/// connection is then closed) and why.
public struct HTTPRequestError: Error, Equatable, Sendable, CustomStringConvertible {
    public var status: Int
    public var message: String
    public init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }
    public var description: String { "\(status) \(HTTPResponse.reason(status)): \(message)" }
}

/// Reads requests from a connection's bytes, one after another.
public struct HTTPRequestReader: Sendable {
    public struct Limits: Equatable, Sendable {
        /// The request line and headers together.
        public var headBytes = 64 * 1024
        public var headerCount = 100
        public var bodyBytes = 4 * 1024 * 1024
        public init(headBytes: Int = 64 * 1024, headerCount: Int = 100, bodyBytes: Int = 4 * 1024 * 1024) {
            self.headBytes = headBytes
            self.headerCount = headerCount
            self.bodyBytes = bodyBytes
        }
    }

    public enum Progress: Equatable, Sendable {
        /// More bytes are needed.
        case needMore
        /// A head was read and its body is awaited (once per request; the
        /// server answers `100 Continue` here if the client expects it).
        case head(HTTPRequestHead)
        /// A whole request.
        case request(HTTPRequest)
    }

    public let limits: Limits
    private var buffer: [UInt8] = []
    /// Where unread bytes start in `buffer`.
    private var start = 0
    private var pendingHead: HTTPRequestHead?
    private var headReported = false
    /// Where the search for the head's end goes on: no terminator begins
    /// before it (so a head arriving a byte at a time is not searched
    /// again from its start each time).
    private var searched = 0

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Whether part of a request has arrived (so a connection closing now
    /// cut a request short, or an idle timeout does not apply).
    public var isMidRequest: Bool { pendingHead != nil || start < buffer.count }

    public mutating func append<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
            searched = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// What the bytes so far make; call again after `.head` and `.request`.
    public mutating func next() throws(HTTPRequestError) -> Progress {
        if pendingHead == nil {
            // Blank lines before a request line are ignored (RFC 9112 2.2).
            while start < buffer.count, buffer[start] == 0x0D || buffer[start] == 0x0A {
                if buffer[start] == 0x0D, start + 1 >= buffer.count { return .needMore }
                start += 1
            }
            guard let end = headEnd() else {
                // A head within the limit has its terminator begin within
                // it, and an unfinished terminator is at most two bytes:
                // beyond that, however the bytes arrive, the head is too long.
                if buffer.count - start > limits.headBytes + 2 {
                    throw HTTPRequestError(431, "the request line and headers exceed \(limits.headBytes) bytes")
                }
                return .needMore
            }
            guard end.headLength <= limits.headBytes else {
                throw HTTPRequestError(431, "the request line and headers exceed \(limits.headBytes) bytes")
            }
            let head = try parseHead(buffer[start..<(start + end.headLength)])
            start += end.headLength + end.terminatorLength
            pendingHead = head
            headReported = false
        }
        let head = pendingHead!
        if !headReported {
            headReported = true
            return .head(head)
        }
        guard buffer.count - start >= head.contentLength else { return .needMore }
        let body = Array(buffer[start..<(start + head.contentLength)])
        start += head.contentLength
        pendingHead = nil
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
            searched = 0
        } else if start > 64 * 1024 {
            buffer.removeFirst(start)
            start = 0
            searched = 0
        }
        return .request(HTTPRequest(head: head, body: body))
    }

    /// The head's length and its terminator's (CRLF CRLF, or LF LF).
    private mutating func headEnd() -> (headLength: Int, terminatorLength: Int)? {
        var i = max(start, searched)
        while i < buffer.count {
            if buffer[i] == 0x0A {
                if i + 1 < buffer.count, buffer[i + 1] == 0x0A { return (i - start, 2) }
                if i + 2 < buffer.count, buffer[i + 1] == 0x0D, buffer[i + 2] == 0x0A { return (i - start, 3) }
            }
            i += 1
        }
        // The last two bytes may begin a terminator whose rest is to come.
        searched = max(start, buffer.count - 2)
        return nil
    }

    private func parseHead(_ bytes: ArraySlice<UInt8>) throws(HTTPRequestError) -> HTTPRequestHead {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw HTTPRequestError(400, "the request head is not UTF-8 text")
        }
        // Split on bytes: as Characters, "\r\n" is one and would not split on "\n".
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)[...]
        }
        let requestLine = lines.removeFirst()
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw HTTPRequestError(400, "a malformed request line '\(requestLine.prefix(80))'")
        }
        let method = String(parts[0])
        guard method.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
            throw HTTPRequestError(400, "a malformed method")
        }
        let minor: Int
        switch parts[2] {
        case "HTTP/1.1": minor = 1
        case "HTTP/1.0": minor = 0
        default:
            if parts[2].hasPrefix("HTTP/") { throw HTTPRequestError(505, "only HTTP/1.0 and HTTP/1.1 are served") }
            throw HTTPRequestError(400, "a malformed request line '\(requestLine.prefix(80))'")
        }
        var target = Substring(parts[1])
        // The absolute form (a proxy's): keep the path.
        if target.hasPrefix("http://") || target.hasPrefix("https://") {
            let afterScheme = target.dropFirst(target.hasPrefix("http://") ? 7 : 8)
            target = afterScheme.firstIndex(of: "/").map { afterScheme[$0...] } ?? "/"
        }
        guard target.hasPrefix("/") else { throw HTTPRequestError(400, "a request target that is not a path") }
        let path: String, query: String?
        if let q = target.firstIndex(of: "?") {
            path = String(target[..<q])
            query = String(target[target.index(after: q)...])
        } else {
            path = String(target)
            query = nil
        }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            if line.first == " " || line.first == "\t" { throw HTTPRequestError(400, "folded header lines are not accepted") }
            guard let colon = line.firstIndex(of: ":") else { throw HTTPRequestError(400, "a malformed header line '\(line.prefix(80))'") }
            let name = line[..<colon]
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw HTTPRequestError(400, "a malformed header name '\(name.prefix(80))'")
            }
            headers.append((name.lowercased(), line[line.index(after: colon)...].trimmingSpaces()))
            guard headers.count <= limits.headerCount else {
                throw HTTPRequestError(431, "more than \(limits.headerCount) header lines")
            }
        }
        if headers.contains(where: { $0.name == "transfer-encoding" }) {
            throw HTTPRequestError(501, "Transfer-Encoding is not supported: send a Content-Length")
        }
        var contentLength = 0
        let lengths = headers.filter { $0.name == "content-length" }.map(\.value)
        if let first = lengths.first {
            guard lengths.allSatisfy({ $0 == first }), !first.isEmpty, first.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw HTTPRequestError(400, "a malformed Content-Length")
            }
            guard first.count <= 12, let n = Int(first), n <= limits.bodyBytes else {
                throw HTTPRequestError(413, "the body exceeds \(limits.bodyBytes) bytes")
            }
            contentLength = n
        } else if method == "POST" || method == "PUT" {
            throw HTTPRequestError(411, "a \(method) needs a Content-Length")
        }
        return HTTPRequestHead(method: method, path: path, query: query, minorVersion: minor,
                               headers: headers, contentLength: contentLength)
    }
}

/// Responses as bytes.
public enum HTTPResponse {
    public static func reason(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 400: return "Bad Request"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Error"
        }
    }

    /// A whole response. `keepAlive` false adds `Connection: close`.
    public static func bytes(status: Int, contentType: String, body: [UInt8], keepAlive: Bool,
                             extraHeaders: [(String, String)] = []) -> [UInt8] {
        head(status: status, contentType: contentType, contentLength: body.count, keepAlive: keepAlive,
             extraHeaders: extraHeaders) + body
    }

    /// The status line and headers of ``bytes(status:contentType:body:keepAlive:extraHeaders:)``
    /// alone (the server sends a large body after them without copying it).
    public static func head(status: Int, contentType: String, contentLength: Int, keepAlive: Bool,
                            extraHeaders: [(String, String)] = []) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(reason(status))\r\n"
        head += "Content-Type: \(contentType)\r\n"
        head += "Content-Length: \(contentLength)\r\n"
        head += "Cache-Control: no-cache, no-store\r\n"
        for (name, value) in extraHeaders { head += "\(name): \(value)\r\n" }
        head += keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n"
        head += "\r\n"
        return Array(head.utf8)
    }

    /// A plain-text error response that closes the connection.
    public static func error(status: Int, message: String, extraHeaders: [(String, String)] = []) -> [UInt8] {
        bytes(status: status, contentType: "text/plain; charset=utf-8", body: Array((message + "\n").utf8),
              keepAlive: false, extraHeaders: extraHeaders)
    }

    public static let continueBytes: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        let bytes = Array(utf8)
        var start = 0, end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
