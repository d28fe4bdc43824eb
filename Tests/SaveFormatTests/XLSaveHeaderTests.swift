import SaveFormat
import Testing

/// The header bytes of a file `xl save` writes for a guest whose config is
/// the 7-byte JSON `{"a":1}` (plus xl's NUL): spelled out from xl.h's
/// `struct save_file_header` and `save_domain_core_writeconfig`, byte by
/// byte, not produced by the code under test.
private let xlWritten: [UInt8] =
    // "Xen saved domain, xl format\n \0 \r"
    [0x58, 0x65, 0x6e, 0x20, 0x73, 0x61, 0x76, 0x65, 0x64, 0x20, 0x64, 0x6f, 0x6d, 0x61, 0x69, 0x6e,
     0x2c, 0x20, 0x78, 0x6c, 0x20, 0x66, 0x6f, 0x72, 0x6d, 0x61, 0x74, 0x0a, 0x20, 0x00, 0x20, 0x0d]
    + [0x04, 0x03, 0x02, 0x01]   // byte order 0x01020304, little-endian
    + [0x03, 0x00, 0x00, 0x00]   // mandatory: JSON | STREAMv2
    + [0x00, 0x00, 0x00, 0x00]   // optional flags
    + [0x0c, 0x00, 0x00, 0x00]   // optional data: 4 + 8
    + [0x08, 0x00, 0x00, 0x00]   // config length, NUL counted
    + Array("{\"a\":1}".utf8) + [0x00]

@Suite struct XLSaveHeaderTests {
    @Test func readsWhatXLWrites() throws {
        let reader = BytesReader(xlWritten + [0xAA], source: "f")
        let header = try XLSaveHeader.read(from: reader)
        #expect(header == XLSaveHeader(mandatoryFlags: [.json, .streamV2], optionalFlags: 0,
                                       optionalData: Array(xlWritten[48...])))
        #expect(try header.configText() == "{\"a\":1}")
        // Nothing beyond the header and its optional data was consumed.
        #expect(reader.offset == UInt64(xlWritten.count))
        #expect(header.loadingLine(from: "f") == "Loading new save file f (new xl fmt info 0x3/0x0/12)")
    }

    @Test func writesWhatXLWrites() {
        #expect(XLSaveHeader(jsonConfig: "{\"a\":1}").encoded() == xlWritten)
    }

    @Test func withoutConfigIsStreamV2Only() throws {
        let header = XLSaveHeader(jsonConfig: nil)
        #expect(header.mandatoryFlags == .streamV2)
        #expect(header.optionalData == [0, 0, 0, 0])
        let back = try XLSaveHeader.read(from: BytesReader(header.encoded()))
        #expect(back == header)
        #expect(try back.configText() == nil)
    }

    @Test func xlCfgTextIsWholeWithoutJSONFlag() throws {
        var data: [UInt8] = [5, 0, 0, 0]
        data += Array("a=1\n\0".utf8)
        let header = XLSaveHeader(mandatoryFlags: .streamV2, optionalData: data)
        let back = try XLSaveHeader.read(from: BytesReader(header.encoded()))
        #expect(try back.configText() == "a=1\n\0")
    }

    @Test func refusesWrongMagic() {
        var bytes = xlWritten
        bytes[3] = 0x21
        expectError(.invalid, "File has wrong magic number - corrupt or for a different tool?") {
            _ = try XLSaveHeader.read(from: BytesReader(bytes))
        }
    }

    @Test func refusesWrongByteOrder() {
        var bytes = xlWritten
        bytes.replaceSubrange(32..<36, with: [1, 2, 3, 4])
        expectError(.invalid, "File has wrong byte order") { _ = try XLSaveHeader.read(from: BytesReader(bytes)) }
    }

    @Test func refusesUnknownMandatoryFlags() {
        var bytes = xlWritten
        bytes[36] = 0x0b
        expectError(.unsupported, "Savefile has mandatory flag(s) 0x8 which are not supported; need newer xl") {
            _ = try XLSaveHeader.read(from: BytesReader(bytes))
        }
    }

    @Test func refusesLegacyStreams() {
        var bytes = xlWritten
        bytes[36] = 0x01
        #expect(throws: SaveFormatError.self) { _ = try XLSaveHeader.read(from: BytesReader(bytes)) }
    }

    @Test func everyTruncationIsAnErrorNamingWhatWasRead() {
        for length in 0..<xlWritten.count {
            let reader = BytesReader(Array(xlWritten.prefix(length)), source: "f")
            do {
                _ = try XLSaveHeader.read(from: reader)
                Issue.record("a header cut at \(length) bytes was accepted")
            } catch {
                #expect(error.kind == .truncated)
                let what = length < 48 ? "header" : "optdata"
                #expect(error.message == "file/stream truncated reading \(what) from f")
            }
        }
    }

    @Test func configLongerThanOptionalDataIsTruncation() {
        var bytes = xlWritten
        bytes[48] = 0x09  // config length 9 in 8 bytes
        expectError(.truncated, "Savefile truncated.") { _ = try XLSaveHeader.read(from: BytesReader(bytes)) }
    }

    @Test func hugeOptionalDataIsRefusedBeforeReading() {
        var bytes = xlWritten
        bytes.replaceSubrange(44..<48, with: [0xff, 0xff, 0xff, 0x7f])
        #expect(throws: SaveFormatError.self) { _ = try XLSaveHeader.read(from: BytesReader(bytes)) }
    }

    @Test func garbageNeverCrashes() {
        var rng = SplitMix(seed: 0x5eed)
        for _ in 0..<2000 {
            var bytes = xlWritten + [UInt8](repeating: 0, count: 8)
            for _ in 0..<Int(rng.next() % 4 + 1) { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count + 1))))
            if let header = try? XLSaveHeader.read(from: BytesReader(bytes)) {
                // Whatever was accepted is exactly what is written back.
                #expect(Array(header.encoded()) == Array(bytes.prefix(48 + header.optionalData.count)))
            }
        }
    }
}

func expectError(_ kind: SaveFormatError.Kind, _ message: String, sourceLocation: SourceLocation = #_sourceLocation,
                 _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("no error; expected \(message)", sourceLocation: sourceLocation)
    } catch {
        #expect(error as? SaveFormatError == SaveFormatError(kind, message), sourceLocation: sourceLocation)
    }
}

/// A small deterministic generator (no seeds from the clock: a failure repeats).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
