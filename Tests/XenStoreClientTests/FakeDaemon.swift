import Foundation
import Glibc
import XenStoreClient
import XenStoreProtocol

/// A scripted peer on the other end of a socketpair: each request it gets
/// is handed to `respond`, and whatever messages that returns are sent back
/// (replies, watch events, in any order); nil hangs up. It records every request.
final class FakeDaemon: @unchecked Sendable {
    /// The client's end: hand it to `XenStoreClient(fileDescriptor:)`.
    let clientFD: Int32
    private let thread: Thread
    private let log: RequestLog

    init(_ respond: @escaping @Sendable (XSMessage) -> [XSMessage]?) {
        var fds: [Int32] = [0, 0]
        precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        clientFD = fds[0]
        let server = fds[1]
        let box = RequestLog()
        thread = Thread {
            var decoder = XSFrameDecoder()
            var buffer = [UInt8](repeating: 0, count: 8192)
            loop: while true {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(server, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                decoder.append(buffer[..<n])
                while let message = try? decoder.next() {
                    box.append(message)
                    guard let replies = respond(message) else { break loop }
                    for reply in replies {
                        let bytes = reply.encoded()
                        _ = bytes.withUnsafeBytes { Glibc.write(server, $0.baseAddress, $0.count) }
                    }
                }
            }
            Glibc.close(server)
        }
        log = box
        thread.start()
    }

    /// Requests seen so far.
    var seen: [XSMessage] { log.all }

    /// Returning [] for a message of this (never valid) type closes the connection.
    static let hangUp: UInt32 = 0xfffe
}

final class RequestLog: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [XSMessage] = []
    func append(_ m: XSMessage) { lock.withLock { messages.append(m) } }
    var all: [XSMessage] { lock.withLock { messages } }
}

extension XSMessage {
    static func ok(_ request: XSMessage) -> XSMessage { request.reply(XSPayload.ok) }
    static func event(_ path: String, _ token: String) -> XSMessage {
        XSMessage(.watchEvent, payload: XSPayload.strings([path, token]))
    }
}
