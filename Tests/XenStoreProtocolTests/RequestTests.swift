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
        // (but where Xen's daemon takes one argument, exactly one: its onearg())
        #expect(decode(.getDomainPath, "5\u{0}6\u{0}") == .failure(.EINVAL))
        #expect(decode(.isDomainIntroduced, "5\u{0}6\u{0}") == .failure(.EINVAL))
        #expect(decode(.release, "5\u{0}6\u{0}") == .failure(.EINVAL))
        #expect(decode(.resume, "5\u{0}\u{0}") == .failure(.EINVAL))
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

    @Test func introducedDomainIdsAreDecimalBelowTheReservedOnes() {
        #expect(decode(.introduce, "\(XSDomid.firstReserved - 1)\u{0}1\u{0}2\u{0}")
                == .success(.introduce(domid: XSDomid.firstReserved - 1, mfn: 1, port: 2)))
        #expect(decode(.introduce, "\(XSDomid.firstReserved)\u{0}1\u{0}2\u{0}") == .failure(.EINVAL))
        #expect(decode(.introduce, "-1\u{0}1\u{0}2\u{0}") == .failure(.EINVAL))
        #expect(decode(.introduce, "\u{0}1\u{0}2\u{0}") == .failure(.EINVAL))
    }

    /// RELEASE, RESUME, GET_DOMAIN_PATH, IS_DOMAIN_INTRODUCED and SET_TARGET
    /// read their ids as Xen 4.17's daemon: `unsigned int domid = atoi(s)`.
    @Test func otherDomainIdsAreReadAsXensAtoiIntoUnsigned() {
        let cases: [(String, UInt32)] = [
            ("5", 5), ("\(XSDomid.firstReserved)", 0x7ff0), ("-1", 0xffff_ffff), ("", 0), ("x", 0), ("12x", 12),
            ("  +7", 7), ("\t-2", 0xffff_fffe), ("4294967296", 0), ("4294967301", 5),
            ("99999999999999999999", 0xffff_ffff), ("-99999999999999999999", 0), ("- 3", 0),
        ]
        for (text, domid) in cases {
            #expect(decode(.release, text + "\u{0}") == .success(.release(domid: domid)), "\(text)")
            #expect(decode(.resume, text + "\u{0}") == .success(.resume(domid: domid)), "\(text)")
            #expect(decode(.getDomainPath, text + "\u{0}") == .success(.getDomainPath(domid: domid)), "\(text)")
            #expect(decode(.isDomainIntroduced, text + "\u{0}") == .success(.isDomainIntroduced(domid: domid)), "\(text)")
            #expect(decode(.setTarget, "\(text)\u{0}\(text)\u{0}") == .success(.setTarget(domid: domid, target: domid)), "\(text)")
        }
        #expect(decode(.release, "") == .failure(.EINVAL))
        #expect(decode(.setTarget, "4\u{0}") == .failure(.EINVAL))
        #expect(decode(.setTarget, "4\u{0}x\u{0}y\u{0}") == .success(.setTarget(domid: 4, target: 0)))
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
