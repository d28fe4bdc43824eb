import SaveFormat
import Testing

/// libxl's stream as the spec lays it out for a PV guest: the header
/// ("LibxlFmt", version 2, options 0, big-endian), LIBXC_CONTEXT with no
/// body, (libxc's stream), END. Spelled out by hand.
private let pvFraming: [UInt8] =
    [0x4c, 0x69, 0x62, 0x78, 0x6c, 0x46, 0x6d, 0x74, 0, 0, 0, 2, 0, 0, 0, 0]
    + [1, 0, 0, 0, 0, 0, 0, 0]

@Suite struct LibxlStreamTests {
    @Test func headerIsTheSpecs() {
        #expect(Array(LibxlStream.header() + LibxlStream.encode(LibxlRecord(type: .libxcContext))) == pvFraming)
        #expect(LibxlStream.encode(LibxlRecord(type: .end)) == [0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func readsThePVFraming() throws {
        let reader = BytesReader(pvFraming + [0xEE])
        #expect(try LibxlStream.readHeader(from: reader) == 0)
        #expect(try LibxlStream.readRecord(from: reader) == LibxlRecord(type: .libxcContext))
        // The next byte belongs to libxc: not read.
        #expect(reader.offset == UInt64(pvFraming.count))
    }

    @Test func recordsArePaddedTo8AndRoundTrip() throws {
        let records = [
            LibxlRecord.emulator(.emulatorXenstoreData, emulatorID: 2, index: 0,
                                 data: LibxlRecord.xenstoreData([("physmap/1/name", "vga"), ("k", "")])),
            LibxlRecord.emulator(.emulatorContext, emulatorID: 1, index: 0, data: [1, 2, 3]),
            LibxlRecord(type: .checkpointEnd),
            LibxlRecord(type: .checkpointState, body: [1, 0, 0, 0]),
            LibxlRecord(type: .end),
        ]
        var bytes: [UInt8] = []
        for r in records {
            let e = LibxlStream.encode(r)
            #expect(e.count % 8 == 0)
            #expect(e.count == 8 + r.body.count + (8 - r.body.count % 8) % 8)
            bytes += e
        }
        let reader = BytesReader(bytes)
        var back: [LibxlRecord] = []
        while reader.remaining > 0 { back.append(try LibxlStream.readRecord(from: reader)) }
        #expect(back == records)
        let xs = try back[0].emulatorParts()
        #expect(xs.emulatorID == 2 && xs.index == 0)
        let pairs = try LibxlRecord.parseXenstoreData(xs.data)
        #expect(pairs.map { "\($0.0)=\($0.1)" } == ["physmap/1/name=vga", "k="])
    }

    @Test func refusesWrongIdentVersionAndBigEndian() {
        var bad = pvFraming
        bad[0] = 0x4d
        expectError(.invalid, "Invalid ident: expected 0x4c6962786c466d74, got 0x4d6962786c466d74") {
            try LibxlStream.readHeader(from: BytesReader(bad))
        }
        bad = pvFraming
        bad[11] = 3
        expectError(.unsupported, "Unexpected Version: expected 2, got 3") { try LibxlStream.readHeader(from: BytesReader(bad)) }
        bad = pvFraming
        bad[15] = 1
        expectError(.unsupported, "Unable to handle big endian streams") { try LibxlStream.readHeader(from: BytesReader(bad)) }
    }

    @Test func refusesUnknownRecordsAndHugeLengths() {
        expectError(.invalid, "Unrecognised record 0x00000009") {
            _ = try LibxlStream.readRecord(from: BytesReader([9, 0, 0, 0, 0, 0, 0, 0]))
        }
        #expect(throws: SaveFormatError.self) {
            _ = try LibxlStream.readRecord(from: BytesReader([2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]))
        }
    }

    @Test func truncationNamesTheRecord() {
        let record = LibxlStream.encode(LibxlRecord.emulator(.emulatorContext, emulatorID: 2, index: 0, data: [1, 2, 3, 4, 5]))
        for length in 0..<record.count {
            do {
                _ = try LibxlStream.readRecord(from: BytesReader(Array(record.prefix(length)), source: "s"))
                Issue.record("a record cut at \(length) was accepted")
            } catch {
                #expect(error.kind == .truncated)
                #expect(error.message == "file/stream truncated reading \(length < 8 ? "record header" : "EMULATOR_CONTEXT record") from s")
            }
        }
    }

    @Test func shortEmulatorRecordAndBadXenstoreData() {
        expectError(.invalid, "Emulator record too short to contain header") {
            _ = try LibxlRecord(type: .emulatorContext, body: [1, 0, 0]).emulatorParts()
        }
        #expect(throws: SaveFormatError.self) { _ = try LibxlRecord.parseXenstoreData(Array("a\0b".utf8)) }
        #expect(throws: SaveFormatError.self) { _ = try LibxlRecord.parseXenstoreData(Array("a\0".utf8)) }
    }

    @Test func imageFormatsHaveDistinctContextRecords() {
        #expect(ImageFormat.libxc.contextRecord == .libxcContext)
        #expect(ImageFormat.simulated.contextRecord == .swxlSimulatedContext)
    }

    @Test func migrationMessagesAreXLs() {
        #expect(MigrationProtocol.receiverBanner.count == 54)
        #expect(MigrationProtocol.receiverReady.count == 34)
        #expect(MigrationProtocol.permissionToGo.count == 44)
        #expect(MigrationProtocol.report.count == 39)
        #expect(MigrationProtocol.receiverBanner.last == 0x0a)
        #expect(MigrationProtocol.report.last == 0)
    }
}
