/// libxl's migration stream v2 (docs/specs/libxl-migration-stream.pandoc,
/// tools/libs/light/libxl_sr_stream_format.h): a 16-byte big-endian
/// header, then records of an 8-byte native-order header (type, body
/// length) and a body padded with zeros to a multiple of 8.
public enum LibxlStream {
    /// "LibxlFmt".
    public static let ident: UInt64 = 0x4c69_6278_6c46_6d74
    public static let version: UInt32 = 2
    /// `RESTORE_OPT_BIG_ENDIAN`: refused on restore.
    public static let optionBigEndian: UInt32 = 1 << 0
    /// `RESTORE_OPT_LEGACY`: converted from a legacy stream (informational).
    public static let optionLegacy: UInt32 = 1 << 1
    public static let headerSize = 16
    /// The largest record body swxl reads; a larger length is garbage.
    public static let maxRecordLength: UInt32 = 128 << 20

    /// The stream header as libxl writes it (options 0: little-endian, not legacy).
    public static func header(options: UInt32 = 0) -> [UInt8] {
        var b: [UInt8] = []
        b.appendBE64(ident)
        b.appendBE32(version)
        b.appendBE32(options)
        return b
    }

    /// Reads and checks the stream header; returns its options.
    @discardableResult
    public static func readHeader(from reader: any ExactReader) throws(SaveFormatError) -> UInt32 {
        let b = try reader.read(exactly: headerSize, "stream header")
        let got = b.be64(at: 0)
        guard got == ident else {
            throw SaveFormatError(.invalid, "Invalid ident: expected 0x\(hex(ident, 16)), got 0x\(hex(got, 16))")
        }
        let v = b.be32(at: 8)
        guard v == version else {
            throw SaveFormatError(.unsupported, "Unexpected Version: expected \(version), got \(v)")
        }
        let options = b.be32(at: 12)
        guard options & optionBigEndian == 0 else {
            throw SaveFormatError(.unsupported, "Unable to handle big endian streams")
        }
        return options
    }

    /// Writes one record: header, body, padding.
    public static func encode(_ record: LibxlRecord) -> [UInt8] {
        var b: [UInt8] = []
        b.appendLE32(record.type.rawValue)
        b.appendLE32(UInt32(record.body.count))
        b += record.body
        b += [UInt8](repeating: 0, count: padding(record.body.count))
        return b
    }

    /// Zeros that follow a body of `length` bytes.
    public static func padding(_ length: Int) -> Int { (8 - length % 8) % 8 }

    /// Reads one record (its padding consumed, not returned). A record
    /// whose body is followed by another layer's stream (LIBXC_CONTEXT,
    /// or swxl's simulated image) has length 0, so reading it never reads
    /// into that stream.
    public static func readRecord(from reader: any ExactReader) throws(SaveFormatError) -> LibxlRecord {
        let h = try reader.read(exactly: 8, "record header")
        let rawType = h.le32(at: 0), length = h.le32(at: 4)
        guard let type = LibxlRecord.RecordType(rawValue: rawType) else {
            throw SaveFormatError(.invalid, "Unrecognised record 0x\(hex(UInt64(rawType), 8))")
        }
        guard length <= maxRecordLength else {
            throw SaveFormatError(.invalid, "\(type.name) record claims \(length) bytes; corrupt?")
        }
        let padded = Int(length) + padding(Int(length))
        let body = padded > 0 ? try reader.read(exactly: padded, "\(type.name) record") : []
        return LibxlRecord(type: type, body: Array(body.prefix(Int(length))))
    }

    static func hex(_ v: UInt64, _ width: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}

/// One record of libxl's stream.
public struct LibxlRecord: Sendable, Equatable {
    public enum RecordType: UInt32, Sendable, CaseIterable {
        case end = 0
        /// libxc's stream follows (length 0).
        case libxcContext = 1
        case emulatorXenstoreData = 2
        case emulatorContext = 3
        case checkpointEnd = 4
        case checkpointState = 5
        /// swxl's own: the embedded host's simulated image follows (length
        /// 0), where real Xen's stream has LIBXC_CONTEXT. libxl does not
        /// know it ("Unrecognised record"), so `xl restore` refuses an
        /// embedded save, and swxl on real Xen refuses it by name.
        case swxlSimulatedContext = 0x5357_0001

        public var name: String {
            switch self {
            case .end: "END"
            case .libxcContext: "LIBXC_CONTEXT"
            case .emulatorXenstoreData: "EMULATOR_XENSTORE_DATA"
            case .emulatorContext: "EMULATOR_CONTEXT"
            case .checkpointEnd: "CHECKPOINT_END"
            case .checkpointState: "CHECKPOINT_STATE"
            case .swxlSimulatedContext: "SWXL_SIMULATED_CONTEXT"
            }
        }
    }

    public var type: RecordType
    public var body: [UInt8]

    public init(type: RecordType, body: [UInt8] = []) {
        self.type = type
        self.body = body
    }

    /// An emulator record's body: emulator id, index, then its data.
    public static func emulator(_ type: RecordType, emulatorID: UInt32, index: UInt32, data: [UInt8]) -> LibxlRecord {
        var b: [UInt8] = []
        b.appendLE32(emulatorID)
        b.appendLE32(index)
        return LibxlRecord(type: type, body: b + data)
    }

    /// An emulator record's sub-header and data.
    public func emulatorParts() throws(SaveFormatError) -> (emulatorID: UInt32, index: UInt32, data: [UInt8]) {
        guard body.count >= 8 else { throw SaveFormatError(.invalid, "Emulator record too short to contain header") }
        return (body.le32(at: 0), body.le32(at: 4), Array(body[8...]))
    }

    /// EMULATOR_XENSTORE_DATA's NUL-separated key/value pairs.
    public static func xenstoreData(_ pairs: [(String, String)]) -> [UInt8] {
        pairs.flatMap { Array($0.0.utf8) + [0] + Array($0.1.utf8) + [0] }
    }

    public static func parseXenstoreData(_ data: [UInt8]) throws(SaveFormatError) -> [(String, String)] {
        guard data.isEmpty || data.last == 0 else { throw SaveFormatError(.invalid, "xenstore data is not NUL-terminated") }
        let strings = data.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
        guard strings.count % 2 == 0 else { throw SaveFormatError(.invalid, "xenstore data holds a key without a value") }
        return stride(from: 0, to: strings.count, by: 2).map { (strings[$0], strings[$0 + 1]) }
    }
}

/// The two image formats a stream's image part can hold, named by the
/// libxl record that introduces it.
public enum ImageFormat: String, Sendable, Equatable {
    /// libxc's stream (real Xen), after LIBXC_CONTEXT.
    case libxc
    /// swxl's embedded host's simulated image, after SWXL_SIMULATED_CONTEXT.
    case simulated

    public var contextRecord: LibxlRecord.RecordType {
        switch self {
        case .libxc: .libxcContext
        case .simulated: .swxlSimulatedContext
        }
    }

    /// Who writes and reads this format, for messages.
    public var hostDescription: String {
        switch self {
        case .libxc: "real Xen"
        case .simulated: "swxl's embedded host"
        }
    }
}
