import Testing
@testable import ManagementAPI

/// What fuzzing the XenAPI server's request reader found (docs/fuzzing.md,
/// target `xenapi-requests`; the inputs are in Fuzz/regressions/xenapi-requests/).
@Suite struct XenAPIFuzzFindingsTests {
    /// What the reader makes of `bytes` fed `chunk` bytes at a time: the
    /// requests, and the error that ended the stream, if one did.
    func read(_ bytes: [UInt8], chunk: Int, limits: HTTPRequestReader.Limits) -> ([HTTPRequest], HTTPRequestError?) {
        var reader = HTTPRequestReader(limits: limits)
        var requests: [HTTPRequest] = []
        var offset = 0
        while true {
            do {
                switch try reader.next() {
                case .head: continue
                case .request(let request): requests.append(request)
                case .needMore:
                    guard offset < bytes.count else { return (requests, nil) }
                    let end = min(offset + chunk, bytes.count)
                    reader.append(bytes[offset..<end])
                    offset = end
                }
            } catch {
                return (requests, error)
            }
        }
    }

    /// A head whose length is exactly the limit (up to its terminator) was
    /// refused with 431 when the bytes arrived so that the terminator's
    /// first byte (or two) came without the rest: while waiting for the
    /// rest, the reader counted the terminator into the head.
    @Test(arguments: [1, 2, 1025, 1026, 1027, 4096])
    func aHeadOfExactlyTheLimitIsReadHoweverItArrives(chunk: Int) throws {
        let limits = HTTPRequestReader.Limits(headBytes: 1024, headerCount: 16, bodyBytes: 4096)
        var head = Array("POST /RPC2 HTTP/1.1\r\nContent-Length: 2\r\nX-Pad: ".utf8)
        head += [UInt8](repeating: UInt8(ascii: "a"), count: 1024 - head.count - 1) + [0x0D]
        #expect(head.count == 1024)
        let bytes = head + Array("\n\r\nok".utf8)
        let (requests, error) = read(bytes, chunk: chunk, limits: limits)
        #expect(error == nil)
        #expect(requests.map(\.body) == [Array("ok".utf8)])
        // One byte more is over the limit, however it arrives.
        var longer = head
        longer.insert(UInt8(ascii: "a"), at: 1000)
        let (none, tooLong) = read(longer + Array("\n\r\nok".utf8), chunk: chunk, limits: limits)
        #expect(none.isEmpty && tooLong == HTTPRequestError(431, "the request line and headers exceed 1024 bytes"))
    }
}
