#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SwxlSystem

/// One client connection, served in its own thread: requests read one
/// after another (keep-alive), each answered before the next is read.
final class Connection: @unchecked Sendable {
    // Owned by the connection's thread alone once started.
    private let server: XenAPIServer
    private let fd: Int32
    private let origin: XenAPICallOrigin
    private var reader: HTTPRequestReader

    init(server: XenAPIServer, fd: Int32, origin: XenAPICallOrigin) {
        self.server = server
        self.fd = fd
        self.origin = origin
        reader = HTTPRequestReader(limits: server.configuration.limits)
    }

    /// Starts the thread (detached); false if it could not be made.
    func start() -> Bool {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        // Calls are shallow; 512 KiB keeps many connections cheap.
        pthread_attr_setstacksize(&attributes, 512 * 1024)
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attributes, { argument in
            let connection = Unmanaged<Connection>.fromOpaque(argument!).takeRetainedValue()
            connection.serve()
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<Connection>.fromOpaque(box).release()
            errno = rc
            return false
        }
        return true
    }

    private func serve() {
        defer {
            close(fd)
            server.connectionEnded()
        }
        var timeout = timeval(tv_sec: server.configuration.requestTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let progress: HTTPRequestReader.Progress
            do throws(HTTPRequestError) {
                progress = try reader.next()
            } catch {
                server.logger.info("\(origin): \(error)")
                refuse(error.status, error.message)
                return
            }
            switch progress {
            case .head(let head):
                if head.expectsContinue, !write(HTTPResponse.continueBytes) { return }
            case .request(let request):
                let (head, body, keepAlive) = answer(request)
                guard write(head, body), keepAlive else { return }
            case .needMore:
                let midRequest = reader.isMidRequest
                let seconds = midRequest ? server.configuration.requestTimeoutSeconds : server.configuration.idleTimeoutSeconds
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&pfd, 1, Int32(clamping: seconds * 1000))
                if ready < 0 && errno == EINTR { continue }
                if ready == 0 {
                    if midRequest { refuse(408, "the request did not arrive within \(seconds) s") }
                    return
                }
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return }
                reader.append(buffer[0..<n])
            }
        }
    }

    /// The response to one request (its head, and its body apart: a
    /// thousand VM records are megabytes not worth copying behind the
    /// head), and whether the connection stays open.
    private func answer(_ request: HTTPRequest) -> ([UInt8], [UInt8], Bool) {
        let head = request.head
        guard head.method == "POST" else {
            return (HTTPResponse.error(status: 405, message: "the XenAPI is served by POST (XML-RPC at any path, JSON-RPC at /jsonrpc)",
                                       extraHeaders: [("Allow", "POST")]), [], false)
        }
        if head.path == "/jsonrpc" {
            let parsed: JSONRPC.Request
            do throws(WireError) {
                parsed = try JSONRPC.parseRequest(request.body)
            } catch {
                server.logger.info("\(origin): malformed JSON-RPC request: \(error)")
                return (HTTPResponse.error(status: 500, message: "malformed JSON-RPC request: \(error)"), [], false)
            }
            let result = server.dispatch(parsed.call, origin: origin)
            server.logger.debug("\(origin): \(parsed.call.method) (JSON-RPC): \(summary(result))")
            let body = JSONRPC.response(result, version: parsed.version, id: parsed.id)
            return (HTTPResponse.head(status: 200, contentType: "application/json", contentLength: body.count,
                                      keepAlive: head.keepAlive), body, head.keepAlive)
        }
        let call: XenAPICall
        do throws(WireError) {
            call = try XMLRPC.parseCall(request.body)
        } catch {
            server.logger.info("\(origin): malformed XML-RPC request: \(error)")
            return (HTTPResponse.error(status: 500, message: "malformed XML-RPC request: \(error)"), [], false)
        }
        let result = server.dispatch(call, origin: origin)
        server.logger.debug("\(origin): \(call.method): \(summary(result))")
        let body = XMLRPC.response(result)
        return (HTTPResponse.head(status: 200, contentType: "text/xml", contentLength: body.count, keepAlive: head.keepAlive),
                body, head.keepAlive)
    }

    private func summary(_ result: XenAPIResult) -> String {
        switch result {
        case .success: return "Success"
        case .failure(let description): return "Failure " + description.joined(separator: " ")
        }
    }

    /// Writes all of `head` then all of `body` (one sendmsg of both, as
    /// long as the socket takes them); false if the client is gone or not reading.
    private func write(_ head: [UInt8], _ body: [UInt8]) -> Bool {
        let total = head.count + body.count
        var sent = 0
        while sent < total {
            let n = head.withUnsafeBytes { h in
                body.withUnsafeBytes { b -> Int in
                    var parts: [iovec] = []
                    if sent < h.count {
                        parts.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: h.baseAddress! + sent), iov_len: h.count - sent))
                    }
                    let bodySent = max(0, sent - h.count)
                    if b.count > bodySent {
                        parts.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: b.baseAddress! + bodySent), iov_len: b.count - bodySent))
                    }
                    return parts.withUnsafeMutableBufferPointer { iov in
                        var message = msghdr()
                        message.msg_iov = iov.baseAddress
                        message.msg_iovlen = iov.count
                        return sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
                    }
                }
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }

    /// Writes all of `bytes`; false if the client is gone or not reading.
    private func write(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    /// Answers with an error and closes: the response is sent, our side
    /// shut, and what the client still sends is read and dropped for a
    /// moment, so that closing with unread bytes does not reset the
    /// connection before the client has read why.
    private func refuse(_ status: Int, _ message: String) {
        guard write(HTTPResponse.error(status: status, message: message)) else { return }
        Glibc.shutdown(fd, Int32(SHUT_WR))
        var scratch = [UInt8](repeating: 0, count: 64 * 1024)
        var drained = 0
        let deadline = SystemClock.monotonicNanoseconds() + 2_000_000_000
        while drained < 16 * 1024 * 1024 {
            let now = SystemClock.monotonicNanoseconds()
            guard now < deadline else { return }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32((deadline - now) / 1_000_000) + 1) > 0 else { return }
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            drained += n
        }
    }
}
