import Testing
@testable import XenStoreProtocol

@Suite struct MessageTests {
    @Test func typesAreNumberedAsInXsWire() {
        #expect(XSType.control.rawValue == 0)
        #expect(XSType.read.rawValue == 2)
        #expect(XSType.setTarget.rawValue == 19)
        #expect(XSType(rawValue: 20) == nil)   // XS_RESTRICT is gone
        #expect(XSType.resetWatches.rawValue == 21)
        #expect(XSType.directoryPart.rawValue == 22)
        #expect(XSType.allCases.count == 22)
        #expect(XSType.transactionStart.description == "XS_TRANSACTION_START")
    }

    @Test func headerIsSixteenLittleEndianBytes() {
        let message = XSMessage(.write, requestID: 0x0102_0304, transactionID: 7, payload: Array("a\0b".utf8))
        let bytes = message.encoded()
        #expect(bytes == [11, 0, 0, 0, 4, 3, 2, 1, 7, 0, 0, 0, 3, 0, 0, 0, 97, 0, 98])
        #expect(XSHeader(bytes) == XSHeader(type: 11, requestID: 0x0102_0304, transactionID: 7, length: 3))
        #expect(XSHeader(Array(bytes.prefix(15))) == nil)
    }

    @Test func decoderReassemblesMessagesFedByteByByte() throws {
        let first = XSMessage(.read, requestID: 1, payload: XSPayload.strings(["/local"]))
        let second = XSMessage(type: 999, requestID: 2, payload: [])
        let stream = first.encoded() + second.encoded()
        var decoder = XSFrameDecoder()
        var got: [XSMessage] = []
        for byte in stream {
            decoder.append([byte])
            while let m = try decoder.next() { got.append(m) }
        }
        #expect(got == [first, second])
        #expect(got[1].kind == nil)
        #expect(decoder.pendingByteCount == 0)
    }

    @Test func framesAreReadInPlaceAndKeepTheirBytes() throws {
        // Many small messages, more than the buffer keeps before it is
        // emptied: each frame's payload stays as it was while bytes after
        // it come in and the buffer is emptied under it.
        var decoder = XSFrameDecoder()
        var frames: [XSFrame] = []
        for i in 0..<600 {
            let message = XSMessage(.write, requestID: UInt32(i), payload: Array("/p/\(i)\0v\(i)".utf8))
            decoder.append(message.encoded())
            let frame = try #require(try decoder.nextFrame())
            #expect(frame.header == message.header)
            #expect(try decoder.nextFrame() == nil)
            frames.append(frame)
        }
        #expect(decoder.pendingByteCount == 0)
        for (i, frame) in frames.enumerated() {
            #expect(frame.payload == Array("/p/\(i)\0v\(i)".utf8))
            #expect(try frame.withPayload { try XSRequest(.write, payload: $0) } == .write("/p/\(i)", Array("v\(i)".utf8)))
        }
    }

    @Test func decoderRefusesOversizedPayload() {
        var decoder = XSFrameDecoder()
        var header: [UInt8] = []
        XSHeader(type: 2, requestID: 1, transactionID: 0, length: 4097).encode(into: &header)
        decoder.append(header)
        #expect(throws: XSFrameDecoder.Failure.payloadTooLarge(4097)) { try decoder.next() }
    }

    @Test func decoderAcceptsMaximumPayload() throws {
        let message = XSMessage(.write, requestID: 3, payload: [UInt8](repeating: 65, count: XSMessage.maxPayload))
        var decoder = XSFrameDecoder()
        decoder.append(message.encoded())
        #expect(try decoder.next() == message)
    }

    @Test func errorReplyCarriesTheName() {
        let request = XSMessage(.read, requestID: 9, transactionID: 4, payload: XSPayload.strings(["/x"]))
        let reply = request.errorReply(.ENOENT)
        #expect(reply == XSMessage(.error, requestID: 9, transactionID: 4, payload: Array("ENOENT\0".utf8)))
        #expect(XSError(payload: reply.payload) == .ENOENT)
        #expect(XSError(payload: Array("EWHATEVER\0".utf8)) == .EINVAL)
        #expect(XSError.allCases.map(\.rawValue) == ["EINVAL", "EACCES", "EEXIST", "EISDIR", "ENOENT", "ENOMEM",
            "ENOSPC", "EIO", "ENOTEMPTY", "ENOSYS", "EROFS", "EBUSY", "EAGAIN", "EISCONN", "E2BIG", "EPERM"])
        #expect(XSError.ENOENT.errno == 2)
    }

    @Test func payloadSplitting() {
        #expect(XSPayload.split(Array("a\0bc\0".utf8)) == ["a", "bc"])
        #expect(XSPayload.split(Array("a\0\0b".utf8)) == ["a", "", "b"])
        #expect(XSPayload.split([]) == [])
        // A slice, and a collection without contiguous storage, split alike.
        let bytes = Array("skip\0a\0\0é\0tail".utf8)
        #expect(XSPayload.split(bytes[5...]) == ["a", "", "é", "tail"])
        #expect(XSPayload.split(bytes[5...].lazy.map { $0 }) == ["a", "", "é", "tail"])
        #expect(XSPayload.split([UInt8](repeating: 0, count: 3)) == ["", "", ""])
        #expect(XSPayload.strings(["x", ""]) == [120, 0, 0])
        let (path, rest) = try! #require(XSPayload.firstString(Array("/a/b\0va\0lue".utf8)))
        #expect(path == "/a/b")
        #expect(Array(rest) == Array("va\0lue".utf8))
        #expect(XSPayload.firstString(Array("/a/b".utf8)) == nil)
    }
}
