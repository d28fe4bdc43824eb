import Foundation
import Glibc
import Logging
import SwxlSystem
import Testing
import XenStoreProtocol
@testable import XenStoreServer

/// A xenstore ring page in memory with a guest's side written here in
/// Swift (independently of the daemon's C shim), as Linux's xenbus_comms.c
/// behaves: it writes requests as far as the ring has room and notifies
/// only when the request ring was empty before its write; it reads replies
/// and notifies only when the reply ring was full before its read.
final class Frontend {
    let page: UnsafeMutableRawPointer
    /// Set when the guest notifies the daemon (its event channel).
    var kicked = false
    /// Set when the daemon notifies the guest.
    var woken = false
    var notifications = 0
    private var unsent: [UInt8] = []
    private var decoder = XSFrameDecoder()
    /// Bytes written per step at most (1: a guest that writes one byte at a time).
    var chunk = Int.max
    /// Whether ``step()`` reads replies (false: a guest that does not read yet).
    var reading = true

    init() {
        page = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        page.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
    }

    deinit { page.deallocate() }

    func field(_ offset: Int) -> UInt32 { page.load(fromByteOffset: offset, as: UInt32.self) }
    func setField(_ offset: Int, _ value: UInt32) { page.storeBytes(of: value, toByteOffset: offset, as: UInt32.self) }
    var reqCons: UInt32 { field(2048) }
    var reqProd: UInt32 { get { field(2052) } set { setField(2052, newValue) } }
    var rspCons: UInt32 { get { field(2056) } set { setField(2056, newValue) } }
    var rspProd: UInt32 { field(2060) }
    var features: UInt32 { field(2064) }
    var connection: UInt32 { get { field(2068) } set { setField(2068, newValue) } }
    var error: UInt32 { field(2072) }

    /// Starts both rings at `index` (as after a long uptime: the indices wrap).
    func startIndices(at index: UInt32) {
        for offset in [2048, 2052, 2056, 2060] { setField(offset, index) }
    }

    func queue(_ messages: [XSMessage]) { unsent += messages.flatMap { $0.encoded() } }
    func queue(raw bytes: [UInt8]) { unsent += bytes }

    /// Writes what fits (at most `chunk` bytes), then reads what came; notifies as Linux does.
    func step() {
        let used = reqProd &- reqCons
        let n = min(unsent.count, Int(1024 - min(used, 1024)), chunk)
        if n > 0 {
            let wasEmpty = used == 0
            for i in 0..<n { page.storeBytes(of: unsent[i], toByteOffset: Int((reqProd &+ UInt32(i)) & 1023), as: UInt8.self) }
            unsent.removeFirst(n)
            reqProd = reqProd &+ UInt32(n)
            if wasEmpty { kicked = true }
        }
        let available = rspProd &- rspCons
        if reading && available > 0 {
            let wasFull = available == 1024
            var bytes: [UInt8] = []
            for i in 0..<available { bytes.append(page.load(fromByteOffset: 1024 + Int((rspCons &+ i) & 1023), as: UInt8.self)) }
            rspCons = rspCons &+ available
            decoder.append(bytes)
            if wasFull { kicked = true }
        }
    }

    var hasUnsent: Bool { !unsent.isEmpty }

    func messages() throws -> [XSMessage] {
        var out: [XSMessage] = []
        while let m = try decoder.next() { out.append(m) }
        return out
    }
}

/// A ``SocketServer`` whose loop does not run: the test services its rings.
final class RingFixture {
    let dir: TemporaryDirectory
    let server: SocketServer
    let store: Store

    init(quotas: Quotas = Quotas()) throws {
        dir = try TemporaryDirectory()
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        store = try Store(storage: nil, quotas: quotas, logger: logger)
        store.groupCommit = true
        server = try SocketServer(store: store, paths: HostPaths(stateDir: dir.path), socketPath: dir.path + "/socket",
                                  readOnlySocketPath: nil, logger: logger)
    }

    @discardableResult
    func attach(_ front: Frontend, domid: UInt32 = 0) -> RingConnection {
        server.attachRing(domid: domid, page: RingPage(front.page)) {
            front.woken = true
            front.notifications += 1
        }
    }

    /// Runs guest and daemon as events drive them: the daemon looks at its
    /// rings only when a guest notified, a guest acts only when notified
    /// (or when it has bytes to send). Returns the messages the guest got
    /// once nothing more happens (a lost wake-up ends the exchange early).
    func exchange(_ front: Frontend, limit: Int = 100_000) throws -> [XSMessage] {
        var received: [XSMessage] = []
        front.step()
        var steps = 0
        while steps < limit {
            steps += 1
            if front.kicked {
                front.kicked = false
                server.serviceRings()
            } else if front.woken || (front.hasUnsent && front.chunk != Int.max) {
                front.woken = false
                front.step()
                received += try front.messages()
            } else {
                break
            }
        }
        front.step()
        received += try front.messages()
        return received
    }
}

@Suite struct RingTests {
    static func write(_ id: UInt32, _ path: String, _ value: [UInt8]) -> XSMessage {
        XSMessage(.write, requestID: id, payload: Array(path.utf8) + [0] + value)
    }

    static func read(_ id: UInt32, _ path: String) -> XSMessage {
        XSMessage(.read, requestID: id, payload: Array(path.utf8) + [0])
    }

    @Test func requestsAndRepliesLargerThanTheRingCrossItInPieces() throws {
        let fixture = try RingFixture()
        let front = Frontend()
        fixture.attach(front)
        let value = (0..<4000).map { UInt8(ascii: "a") + UInt8($0 % 26) }
        front.queue([Self.write(1, "/big", value), Self.read(2, "/big"), Self.read(3, "/missing")])
        let replies = try fixture.exchange(front)
        #expect(replies == [XSMessage(.write, requestID: 1, payload: Array("OK".utf8) + [0]),
                            XSMessage(.read, requestID: 2, payload: value),
                            XSMessage(.error, requestID: 3, payload: Array("ENOENT".utf8) + [0])])
        #expect(front.error == 0)
        #expect(front.features & RingPage.featureReconnection != 0)
        #expect(front.reqCons == front.reqProd)
    }

    @Test(arguments: [0, 0xFFFF_FF00, 0xFFFF_FFF0 - 3000] as [UInt32])
    func indicesWrapAround32Bits(start: UInt32) throws {
        let fixture = try RingFixture()
        let front = Frontend()
        front.startIndices(at: start)
        fixture.attach(front)
        let value = [UInt8](repeating: 0x41, count: 3000)
        front.queue([Self.write(7, "/w", value), Self.read(8, "/w")])
        let replies = try fixture.exchange(front)
        #expect(replies == [XSMessage(.write, requestID: 7, payload: Array("OK".utf8) + [0]),
                            XSMessage(.read, requestID: 8, payload: value)])
        #expect(front.reqCons == start &+ UInt32(2 * 16 + 3 + 3000 + 3))
    }

    /// As dom0's own kernel on a dom0 with one vCPU: the notification lets
    /// the guest run at once, and it reads its reply and sends its next
    /// request before the daemon goes on. The daemon looks at the ring
    /// again after notifying, so one pass answers every request, and the
    /// request taken and the reply put in cost one notification, not two.
    @Test func aGuestAnsweringWithinTheNotificationIsServedInOnePass() throws {
        let fixture = try RingFixture()
        let front = Frontend()
        var unsent = (1...5).map { Self.write(UInt32($0), "/n", Array("\($0)".utf8)) }
        var received: [XSMessage] = []
        var notifications = 0
        fixture.server.attachRing(domid: 0, page: RingPage(front.page)) {
            notifications += 1
            front.step()
            received += (try? front.messages()) ?? []
            if received.count == 5 - unsent.count && !unsent.isEmpty {
                front.queue([unsent.removeFirst()])
                front.step()
            }
        }
        front.queue([unsent.removeFirst()])
        front.step()
        fixture.server.serviceRings()
        #expect(received == (1...5).map { XSMessage(.write, requestID: UInt32($0), payload: Array("OK".utf8) + [0]) })
        #expect(notifications == 5)
    }

    /// A request ring found full is notified before its message is
    /// handled (the guest may be waiting for room); other requests get one
    /// notification, after their reply is in: dom0's ring and a guest's.
    @Test(arguments: [0, 5] as [UInt32]) func aFullRequestRingIsNotifiedBeforeItsMessageIsHandled(domid: UInt32) throws {
        let fixture = try RingFixture()
        let front = Frontend()
        var replyBytesAtNotification: [UInt32] = []
        fixture.server.attachRing(domid: domid, page: RingPage(front.page)) { replyBytesAtNotification.append(front.rspProd) }
        // A write of exactly the ring's size: the header's 16 bytes, "/f\0" and 1005 bytes of value.
        front.queue([Self.write(1, "/f", [UInt8](repeating: 0x43, count: 1005))])
        front.step()
        #expect(front.reqProd &- front.reqCons == 1024)
        fixture.server.serviceRings()
        // Notified with no reply yet, then with the reply in.
        let firstReply = front.rspProd
        #expect(replyBytesAtNotification == [0, firstReply])
        front.queue([Self.read(2, "/f")])
        front.step()
        fixture.server.serviceRings()
        #expect(replyBytesAtNotification == [0, firstReply, front.rspProd])
        front.step()
        // (Domain 5 was never introduced: its write and read are refused, replies all the same.)
        let expected = domid == 0
            ? [XSMessage(.write, requestID: 1, payload: Array("OK".utf8) + [0]),
               XSMessage(.read, requestID: 2, payload: [UInt8](repeating: 0x43, count: 1005))]
            : [XSMessage(.error, requestID: 1, payload: Array("EACCES".utf8) + [0]),
               XSMessage(.error, requestID: 2, payload: Array("EACCES".utf8) + [0])]
        #expect(try front.messages() == expected)
    }

    /// A guest domain is notified once for a request taken and its reply
    /// put in, after the reply (not also when the request is taken).
    @Test func aGuestDomainIsNotifiedOnceItsReplyIsIn() throws {
        let fixture = try RingFixture()
        let front = Frontend()
        var replyBytesAtNotification: [UInt32] = []
        fixture.server.attachRing(domid: 5, page: RingPage(front.page)) { replyBytesAtNotification.append(front.rspProd) }
        // (Domain 5 was never introduced: its read is refused, which is a reply all the same.)
        front.queue([Self.read(1, "/missing")])
        front.step()
        fixture.server.serviceRings()
        #expect(replyBytesAtNotification == [front.rspProd])
        #expect(front.rspProd > 0)
        front.step()
        #expect(try front.messages().map(\.requestID) == [1])
    }

    @Test func aGuestWritingOneByteAtATimeIsServed() throws {
        let fixture = try RingFixture()
        let front = Frontend()
        front.chunk = 1
        fixture.attach(front)
        front.queue([Self.write(1, "/one", Array("byte".utf8)), Self.read(2, "/one")])
        let replies = try fixture.exchange(front)
        #expect(replies == [XSMessage(.write, requestID: 1, payload: Array("OK".utf8) + [0]),
                            XSMessage(.read, requestID: 2, payload: Array("byte".utf8))])
    }

    @Test func aReplyWaitingForRoomGoesOnWhenTheGuestMakesRoom() throws {
        let fixture = try RingFixture()
        let front = Frontend()
        let ring = fixture.attach(front)
        // The largest payload there is: the path, its NUL and the value, 4096 bytes.
        let value = [UInt8](repeating: 0x42, count: 4093)
        front.queue([Self.write(1, "/v", value), Self.read(2, "/v"), Self.read(3, "/v")])
        // The guest sends but reads nothing yet: the daemon fills the reply ring and waits.
        front.reading = false
        for _ in 0..<10 where front.hasUnsent {
            front.step()
            fixture.server.serviceRings()
        }
        #expect(!front.hasUnsent)
        front.reading = true
        #expect(front.rspProd &- front.rspCons == 1024)
        #expect(ring.pendingOutput > 0)
        // Reading frees the full ring: the guest notifies, the rest comes.
        let replies = try fixture.exchange(front)
        #expect(replies.map(\.requestID) == [1, 2, 3])
        #expect(replies[1].payload == value && replies[2].payload == value)
        #expect(ring.pendingOutput == 0)
    }

    @Test func aRingHeldBackByTheOutstandingQuotaIsServedWhenItsRepliesGo() throws {
        var quotas = Quotas()
        quotas.outstandingRequests = 2
        let fixture = try RingFixture(quotas: quotas)
        _ = fixture.store.connect()
        let front = Frontend()
        fixture.attach(front, domid: 5)
        let requests = (1...40).map { XSMessage(.getDomainPath, requestID: UInt32($0), payload: Array("5".utf8) + [0]) }
        front.queue(requests)
        let replies = try fixture.exchange(front)
        #expect(replies == requests.map { $0.reply(Array("/local/domain/5".utf8) + [0]) })
    }

    @Test func corruptIndicesSetErrorAndOnlyThatRingStopsBeingServed() throws {
        let fixture = try RingFixture()
        let bad = Frontend()
        let good = Frontend()
        let badRing = fixture.attach(bad, domid: 3)
        fixture.attach(good, domid: 0)
        bad.queue([Self.read(1, "/")])
        bad.step()
        bad.reqProd = bad.reqCons &+ 2000  // more than a ring holds
        fixture.server.serviceRings()
        #expect(bad.error == RingPage.Failure.ringIndex.rawValue)
        #expect(badRing.failure == .ringIndex)
        // Nothing more is read from it, even once the indices look sane again.
        bad.reqProd = bad.reqCons &+ 16
        let before = bad.reqCons
        fixture.server.serviceRings()
        #expect(bad.reqCons == before)
        good.queue([Self.write(1, "/still", Array("here".utf8))])
        #expect(try fixture.exchange(good) == [XSMessage(.write, requestID: 1, payload: Array("OK".utf8) + [0])])
    }

    @Test func corruptReplyIndicesSetError() throws {
        let fixture = try RingFixture()
        let front = Frontend()
        let ring = fixture.attach(front)
        front.queue([Self.read(1, "/")])
        front.step()
        front.rspCons = front.rspProd &- 5000
        fixture.server.serviceRings()
        #expect(front.error == RingPage.Failure.ringIndex.rawValue)
        #expect(ring.failure == .ringIndex)
    }

    @Test func anOversizedMessageSetsTheProtocolError() throws {
        let fixture = try RingFixture()
        let front = Frontend()
        let ring = fixture.attach(front, domid: 4)
        var header: [UInt8] = []
        XSHeader(type: XSType.write.rawValue, requestID: 1, transactionID: 0, length: 4097).encode(into: &header)
        front.queue(raw: header)
        let replies = try fixture.exchange(front)
        #expect(replies.isEmpty)
        #expect(front.error == RingPage.Failure.protocolViolation.rawValue)
        #expect(ring.failure == .protocolViolation)
    }

    @Test func aReconnectionResetsTheRingsAndDropsWatchesAndHalfMessages() throws {
        let fixture = try RingFixture()
        let front = Frontend()
        let ring = fixture.attach(front, domid: 0)
        front.queue([XSMessage(.watch, requestID: 1, payload: XSPayload.strings(["/w", "tok"]))])
        #expect(try fixture.exchange(front).map(\.type) == [XSType.watch.rawValue, XSType.watchEvent.rawValue])
        let oldID = ring.id
        // Half a request in the ring, then the guest asks for a reset.
        front.queue(raw: Array(Self.write(2, "/w", [1]).encoded().prefix(10)))
        front.step()
        front.connection = RingPage.reconnect
        let notified = front.notifications
        fixture.server.serviceRings()
        #expect(front.connection == RingPage.connected)
        #expect(front.notifications > notified)
        #expect([front.reqCons, front.reqProd, front.rspCons, front.rspProd] == [0, 0, 0, 0])
        #expect(ring.id != oldID)
        #expect(ring.failure == nil)
        // The watch went with the old connection: a write fires nothing.
        front.queue([Self.write(3, "/w", [7])])
        #expect(try fixture.exchange(front) == [XSMessage(.write, requestID: 3, payload: Array("OK".utf8) + [0])])
    }

    /// A ring with nothing in it and nothing waiting is passed over in one
    /// look (``RingConnection/isIdle``), but not one whose guest asks for a
    /// reconnection: that is a request too, with empty rings.
    @Test func aReconnectionAskedWithEmptyRingsIsServed() throws {
        let fixture = try RingFixture()
        let front = Frontend()
        let ring = fixture.attach(front, domid: 3)
        front.queue([Self.read(1, "/")])
        _ = try fixture.exchange(front)
        #expect(ring.isIdle)
        let oldID = ring.id
        let notified = front.notifications
        fixture.server.serviceRings()
        #expect(front.notifications == notified)
        front.connection = RingPage.reconnect
        #expect(!ring.isIdle)
        fixture.server.serviceRings()
        #expect(front.connection == RingPage.connected)
        #expect(front.notifications == notified + 1)
        #expect(ring.id != oldID)
    }

    @Test func watchEventsFromOtherConnectionsReachTheRing() throws {
        let fixture = try RingFixture()
        let front = Frontend()
        fixture.attach(front, domid: 0)
        front.queue([XSMessage(.watch, requestID: 1, payload: XSPayload.strings(["/x", "t"]))])
        _ = try fixture.exchange(front)
        let other = fixture.store.connect()
        fixture.store.handle(Self.write(9, "/x/y", [1]), from: other)
        fixture.server.drainOutbox(request: Self.write(9, "/x/y", [1]).header, fromRing: fixture.server.ringList[0])
        fixture.server.serviceRings()
        front.step()
        #expect(try front.messages() == [XSMessage(.watchEvent, payload: XSPayload.strings(["/x/y", "t"]))])
    }
}

/// The same random requests through a ring (written in random pieces) and
/// through a socket: the guest sees exactly the messages the socket client does.
@Suite struct RingSocketDifferentialTests {
    static let names = ["a", "b", "dev", "x-1"]

    static func randomRequests(_ rng: inout SplitMix, count: Int) -> [XSMessage] {
        func path() -> String {
            "/" + (0..<Int.random(in: 1...3, using: &rng)).map { _ in names.randomElement(using: &rng)! }.joined(separator: "/")
        }
        var out: [XSMessage] = []
        for i in 1...count {
            let id = UInt32(i)
            let p = Array(path().utf8) + [0]
            switch Int.random(in: 0..<8, using: &rng) {
            case 0, 1:
                let size = [0, 1, 100, 1500, 3000, 4090 - p.count].randomElement(using: &rng)!
                out.append(XSMessage(.write, requestID: id, payload: p + (0..<size).map { _ in UInt8.random(in: 0x20...0x7e, using: &rng) }))
            case 2: out.append(XSMessage(.read, requestID: id, payload: p))
            case 3: out.append(XSMessage(.mkdir, requestID: id, payload: p))
            case 4: out.append(XSMessage(.rm, requestID: id, payload: p))
            case 5: out.append(XSMessage(.directory, requestID: id, payload: p))
            case 6: out.append(XSMessage(.watch, requestID: id, payload: p + Array("tok\(i % 3)".utf8) + [0]))
            default: out.append(XSMessage(.getPerms, requestID: id, payload: p))
            }
        }
        // A last request: every event of the ones before has come when its reply does.
        out.append(XSMessage(.read, requestID: UInt32(count + 1), payload: Array("/".utf8) + [0]))
        return out
    }

    @Test(arguments: [11, 12, 13, 14] as [UInt64])
    func ringAndSocketGiveTheSameMessages(seed: UInt64) throws {
        var rng = SplitMix(state: seed)
        let requests = Self.randomRequests(&rng, count: 120)

        let socketServer = try ServerFixture(storage: nil)
        let client = try socketServer.connect()
        var viaSocket: [XSMessage] = []
        for request in requests {
            try client.send([request])
            while true {
                let message = try client.receive(1)[0]
                viaSocket.append(message)
                if message.type != XSType.watchEvent.rawValue && message.requestID == request.requestID { break }
            }
        }

        let ringServer = try RingFixture()
        let front = Frontend()
        front.chunk = Int.random(in: 1...700, using: &rng)
        front.startIndices(at: UInt32.random(in: 0...UInt32.max, using: &rng))
        ringServer.attach(front)
        front.queue(requests)
        let viaRing = try ringServer.exchange(front)

        #expect(viaRing.count == viaSocket.count)
        #expect(viaRing == viaSocket)
        #expect(front.error == 0)
    }
}
