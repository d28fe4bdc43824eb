#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import Logging
import SwxlSystem
import XenStoreProtocol
import XenStoreServer

/// `swxl-bench xenstored-ring`: the daemon's work for one guest request
/// that comes through a ring, in this process: a page of plain memory, a
/// guest's side written here (one request at a time, as libxenstore in a
/// guest sends them), and the server's ``SocketServer/serviceRings()``,
/// from the request taken to the reply put in and the notification. No
/// hypercall and no system call: what is left is the daemon's CPU, to be
/// counted with callgrind (`scripts/bench-xenstored-cost --ring`) or timed.
struct RingBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xenstored-ring",
        abstract: "The daemon's CPU for a guest's request through its ring (read or write of 1 or 2000 bytes).")

    @Option(help: "read-1, read-2000, write-1 or write-2000.") var test = "write-1"
    @Option(name: .short, help: "Requests.") var n = 100_000
    @Option(help: "The ring's domain (0: dom0's ring).") var domid: UInt32 = 1

    func run() throws {
        let parts = test.split(separator: "-")
        guard parts.count == 2, let size = Int(parts[1]), ["read", "write"].contains(parts[0]) else {
            throw ValidationError("unknown test '\(test)'")
        }
        var template = Array("/tmp/swxl-bench-ring-XXXXXX".utf8CString)
        guard let dir = mkdtemp(&template) else { throw ValidationError("mkdtemp failed") }
        let state = String(cString: dir)
        defer { rmdir(state) }
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let store = try Store(storage: nil, logger: logger)
        store.groupCommit = true
        let server = try SocketServer(store: store, paths: HostPaths(stateDir: state), socketPath: state + "/socket",
                                      readOnlySocketPath: nil, logger: logger)
        defer { server.shutdown() }
        var notified = 0
        let home = "/local/domain/\(domid)"
        // Dom0's ring, attached for the whole run (the server reads its page).
        let dom0 = GuestSide()
        if domid != 0 {
            // The guest's home, owned by it, made over dom0's ring.
            server.attachRing(domid: 0, page: RingPage(dom0.page)) { notified += 1 }
            _ = dom0.roundTrip(XSMessage(.write, payload: Array(home.utf8) + [0]), server)
            _ = dom0.roundTrip(XSMessage(.setPerms, payload: Array(home.utf8) + [0] + Array("n\(domid)".utf8) + [0]), server)
        }
        let guest = GuestSide()
        server.attachRing(domid: domid, page: RingPage(guest.page)) { notified += 1 }
        let path = Array("\(home)/bench".utf8) + [0]
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: size)
        _ = guest.roundTrip(XSMessage(.write, payload: path + value), server)
        let request = parts[0] == "read" ? XSMessage(.read, payload: path) : XSMessage(.write, payload: path + value)
        let expected = parts[0] == "read" ? size : 3
        let start = SystemClock.monotonicNanoseconds()
        for _ in 0..<n {
            guard guest.roundTrip(request, server) == expected else { throw ValidationError("unexpected reply") }
        }
        let ns = SystemClock.monotonicNanoseconds() - start
        withExtendedLifetime(dom0) {}   // (its page served until here)
        print("\(test) through domain \(domid)'s ring: \(n) requests, \(ns / UInt64(n)) ns each, \(notified) notifications")
    }
}

/// The guest's side of one ring page: writes a request whole, then takes
/// the reply once the server put it in.
private final class GuestSide {
    let page: UnsafeMutableRawPointer
    private var encoded: [UInt8] = []

    init() {
        page = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        page.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
    }

    deinit { page.deallocate() }

    private func index(_ offset: Int) -> UInt32 { page.load(fromByteOffset: offset, as: UInt32.self) }
    private func setIndex(_ offset: Int, _ value: UInt32) { page.storeBytes(of: value, toByteOffset: offset, as: UInt32.self) }

    /// Copies `bytes` into the ring at offset `ring` of the page (0: the
    /// requests), from index `index` on, wrapping (in at most two copies).
    private func copy(into ring: Int, at index: UInt32, from bytes: UnsafeRawBufferPointer) {
        let start = Int(index & 1023)
        let first = min(bytes.count, 1024 - start)
        (page + ring + start).copyMemory(from: bytes.baseAddress!, byteCount: first)
        if first < bytes.count {
            (page + ring).copyMemory(from: bytes.baseAddress! + first, byteCount: bytes.count - first)
        }
    }

    /// Sends `message`, runs the server until the reply is whole, and
    /// returns its payload's length (-1 if no whole reply came).
    func roundTrip(_ message: XSMessage, _ server: SocketServer) -> Int {
        encoded.removeAll(keepingCapacity: true)
        message.header.encode(into: &encoded)
        encoded.append(contentsOf: message.payload)
        var sent = 0
        var reply: [UInt8] = []
        for _ in 0..<64 {
            let prod = index(2052)
            let room = 1024 - Int(prod &- index(2048))
            let count = min(room, encoded.count - sent)
            encoded.withUnsafeBytes { copy(into: 0, at: prod, from: UnsafeRawBufferPointer(rebasing: $0[sent..<sent + count])) }
            setIndex(2052, prod &+ UInt32(count))
            sent += count
            server.serviceRings()
            let cons = index(2056)
            let available = index(2060) &- cons
            let first = min(Int(available), 1024 - Int(cons & 1023))
            reply.append(contentsOf: UnsafeRawBufferPointer(start: page + 1024 + Int(cons & 1023), count: first))
            reply.append(contentsOf: UnsafeRawBufferPointer(start: page + 1024, count: Int(available) - first))
            setIndex(2056, cons &+ available)
            if reply.count >= XSHeader.size {
                let length = Int(reply[12]) | Int(reply[13]) << 8 | Int(reply[14]) << 16 | Int(reply[15]) << 24
                if reply.count == XSHeader.size + length { return length }
            }
        }
        return -1
    }
}
