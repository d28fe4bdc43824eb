import Foundation
import Glibc
import XenStoreClient
import XenStoreProtocol
import XenStoreServer

/// swxl's own store (memory only) on the other end of a socketpair, served
/// by a thread of its own: the tools run against the real rules, as the
/// end-to-end suite runs them against the daemon.
final class StoreOnSocket: @unchecked Sendable {
    let client: XenStoreClient
    private let thread: Thread

    init() {
        var fds: [Int32] = [0, 0]
        precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        let server = fds[1]
        thread = Thread {
            // Memory only: nothing to fail.
            let store = try! Store(storage: nil)
            let id = store.connect()
            var decoder = XSFrameDecoder()
            var buffer = [UInt8](repeating: 0, count: 8192)
            while true {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(server, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                decoder.append(buffer[..<n])
                while let message = try? decoder.next() {
                    store.handle(message, from: id)
                    for (_, reply) in store.outbox {
                        let bytes = reply.encoded()
                        _ = bytes.withUnsafeBytes { Glibc.write(server, $0.baseAddress, $0.count) }
                    }
                    store.outbox.removeAll()
                }
            }
            Glibc.close(server)
        }
        client = XenStoreClient(fileDescriptor: fds[0])
        thread.start()
    }

    deinit { client.close() }
}
