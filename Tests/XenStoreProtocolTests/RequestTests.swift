import Testing
import XenStoreProtocol

/// ``XSRequest``: what the client encodes the daemon decodes, with Xen's leniency.
@Suite struct RequestTests {
    static let everyKind: [XSRequest] = [
        .read("/a"), .write("/a", Array("v\u{0}w".utf8)), .write("rel", []), .mkdir("/m"), .rm("/r"), .directory("/"),
        .directoryPart("/d", offset: 4096), .getPerms("@introduceDomain"),
        .setPerms("/p", XSPermissions([XSPermission(.none, 0), XSPermission(.both, 7)])!),
        .watch("/w", token: "t"), .unwatch("/w", token: ""), .transactionStart,
        .transactionEnd(commit: true), .transactionEnd(commit: false),
        .introduce(domid: 3, mfn: 1 << 40, port: 5), .release(domid: 3), .resume(domid: 3),
        .getDomainPath(domid: 0x7fef), .isDomainIntroduced(domid: 0), .setTarget(domid: 4, target: 3),
        .resetWatches, .control("print", ["a", "b"]), .control("help", []),
    ]

    @Test(arguments: everyKind)
    func whatIsEncodedDecodesToItself(_ request: XSRequest) throws {
        #expect(try XSRequest(request.type, payload: request.payload) == request)
    }

    @Test func layoutsAreLibxenstores() {
        #expect(XSRequest.read("/a").payload == Array("/a\u{0}".utf8))
        #expect(XSRequest.write("/a", Array("xy".utf8)).payload == Array("/a\u{0}xy".utf8))
        #expect(XSRequest.directoryPart("/d", offset: 12).payload == Array("/d\u{0}12\u{0}".utf8))
        #expect(XSRequest.introduce(domid: 1, mfn: 2, port: 3).payload == Array("1\u{0}2\u{0}3\u{0}".utf8))
        #expect(XSRequest.transactionStart.payload == [0])
        #expect(XSRequest.setPerms("/p", XSPermissions(owner: 2)).payload == Array("/p\u{0}n2\u{0}".utf8))
    }

    func decode(_ type: XSType, _ text: String) -> Result<XSRequest, XSError> {
        Result { () throws(XSError) in try XSRequest(type, payload: Array(text.utf8)) }
    }

    @Test func oneArgumentMeansExactlyOneNULAtTheEnd() {
        #expect(decode(.read, "/a\u{0}") == .success(.read("/a")))
        #expect(decode(.read, "/a") == .failure(.EINVAL))
        #expect(decode(.read, "/a\u{0}\u{0}") == .failure(.EINVAL))
        #expect(decode(.rm, "/a\u{0}b\u{0}") == .failure(.EINVAL))
        #expect(decode(.transactionEnd, "T") == .failure(.EINVAL))
        #expect(decode(.transactionEnd, "X\u{0}") == .failure(.EINVAL))
    }

    @Test func extraArgumentsAreIgnored() {
        #expect(decode(.watch, "/w\u{0}t\u{0}extra\u{0}") == .success(.watch("/w", token: "t")))
        #expect(decode(.watch, "/w\u{0}t") == .failure(.EINVAL))
        #expect(decode(.getDomainPath, "5\u{0}6\u{0}") == .success(.getDomainPath(domid: 5)))
        #expect(decode(.introduce, "4\u{0}1\u{0}") == .failure(.EINVAL))
        #expect(decode(.setTarget, "4\u{0}3\u{0}9\u{0}") == .success(.setTarget(domid: 4, target: 3)))
        #expect(decode(.write, "/a") == .failure(.EINVAL))
    }

    @Test func offsetsAndNumbersAreReadAsAtoiReadsThem() {
        #expect(decode(.directoryPart, "/d\u{0}12abc\u{0}") == .success(.directoryPart("/d", offset: 12)))
        #expect(decode(.directoryPart, "/d\u{0}x\u{0}") == .success(.directoryPart("/d", offset: 0)))
        #expect(decode(.directoryPart, "/d\u{0}12345678901\u{0}") == .success(.directoryPart("/d", offset: 123456789)))
        #expect(decode(.introduce, "4\u{0}0x10\u{0}7z\u{0}") == .success(.introduce(domid: 4, mfn: 0, port: 7)))
    }

    @Test func domainIdsAreDecimalBelowTheReservedOnes() {
        #expect(decode(.release, "\(XSDomid.firstReserved - 1)\u{0}") == .success(.release(domid: XSDomid.firstReserved - 1)))
        #expect(decode(.release, "\(XSDomid.firstReserved)\u{0}") == .failure(.EINVAL))
        #expect(decode(.release, "-1\u{0}") == .failure(.EINVAL))
        #expect(decode(.release, "\u{0}") == .failure(.EINVAL))
    }

    @Test func permissionsAreCheckedAndRepliesAreNoRequests() {
        #expect(decode(.setPerms, "/p\u{0}n70000\u{0}") == .failure(.EINVAL))
        #expect(decode(.setPerms, "/p\u{0}q1\u{0}") == .failure(.EINVAL))
        #expect(decode(.setPerms, "/p\u{0}") == .failure(.EINVAL))
        #expect(decode(.control, "") == .failure(.EINVAL))
        #expect(decode(.watchEvent, "/a\u{0}t\u{0}") == .failure(.ENOSYS))
        #expect(decode(.error, "EINVAL\u{0}") == .failure(.ENOSYS))
    }

    @Test func xenbusStatesReadAsWritten() {
        #expect(XenbusState.allCases.map(\.text) == (0...8).map(String.init))
        #expect(XenbusState(text: "4") == .connected)
        #expect(XenbusState(text: "x") == nil)
        #expect(XenbusState(text: "9") == nil)
    }
}
