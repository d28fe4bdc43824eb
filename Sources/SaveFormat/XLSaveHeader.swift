/// xl's save-file header and its optional data (tools/xl/xl.h,
/// `struct save_file_header`; written by `save_domain_core_writeconfig`,
/// read by `create_domain` in xl_vmcontrol.c). The same bytes begin a
/// save file and a migration stream.
///
///     offset size
///          0   32  magic "Xen saved domain, xl format\n \0 \r" (no NUL after)
///         32    4  byte order 0x01020304, in the writer's order (little-endian here)
///         36    4  mandatory flags: bit 0 config is JSON, bit 1 stream v2; others refused
///         40    4  optional flags (0)
///         44    4  optional data length
///         48    n  optional data: u32 config length, then the config bytes
///
/// xl counts a JSON config's terminating NUL in its length.
public struct XLSaveHeader: Sendable, Equatable {
    public static let magic: [UInt8] = Array("Xen saved domain, xl format\n \0 \r".utf8)
    public static let byteOrderValue: UInt32 = 0x0102_0304
    public static let size = 48

    public struct MandatoryFlags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// `XL_MANDATORY_FLAG_JSON`: the config is libxl JSON (else xl.cfg text).
        public static let json = MandatoryFlags(rawValue: 1 << 0)
        /// `XL_MANDATORY_FLAG_STREAMv2`: libxl's migration stream v2 follows.
        public static let streamV2 = MandatoryFlags(rawValue: 1 << 1)
        public static let known: MandatoryFlags = [.json, .streamV2]
    }

    public var mandatoryFlags: MandatoryFlags
    public var optionalFlags: UInt32
    /// The optional data as it was read or will be written.
    public var optionalData: [UInt8]

    public init(mandatoryFlags: MandatoryFlags, optionalFlags: UInt32 = 0, optionalData: [UInt8]) {
        self.mandatoryFlags = mandatoryFlags
        self.optionalFlags = optionalFlags
        self.optionalData = optionalData
    }

    /// What xl writes: stream v2, and JSON when there is a config. `config`
    /// is the JSON text; its terminating NUL is added and counted, as xl does.
    public init(jsonConfig config: String?) {
        var data: [UInt8] = []
        var bytes: [UInt8] = []
        if let config { bytes = Array(config.utf8) + [0] }
        data.appendLE32(UInt32(bytes.count))
        data += bytes
        self.init(mandatoryFlags: bytes.isEmpty ? .streamV2 : [.streamV2, .json], optionalData: data)
    }

    /// The config's bytes from the optional data (nil when there is none:
    /// an empty optional data). A JSON config's trailing NUL is kept.
    public func configBytes() throws(SaveFormatError) -> [UInt8]? {
        guard !optionalData.isEmpty else { return nil }
        guard optionalData.count >= 4 else { throw SaveFormatError(.truncated, "Savefile truncated.") }
        let length = Int(optionalData.le32(at: 0))
        guard optionalData.count - 4 >= length else { throw SaveFormatError(.truncated, "Savefile truncated.") }
        return Array(optionalData[4..<4 + length])
    }

    /// The config as text: a JSON config up to its NUL; xl.cfg text whole.
    /// Nil when the file holds no config (length 0 or no optional data).
    public func configText() throws(SaveFormatError) -> String? {
        guard var bytes = try configBytes(), !bytes.isEmpty else { return nil }
        if mandatoryFlags.contains(.json), let nul = bytes.firstIndex(of: 0) { bytes = Array(bytes[..<nul]) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SaveFormatError(.invalid, "the config in the save file is not UTF-8 text")
        }
        return text
    }

    /// The 48 header bytes and the optional data.
    public func encoded() -> [UInt8] {
        var b = Self.magic
        b.appendLE32(Self.byteOrderValue)
        b.appendLE32(mandatoryFlags.rawValue)
        b.appendLE32(optionalFlags)
        b.appendLE32(UInt32(optionalData.count))
        return b + optionalData
    }

    /// xl's "Saving to FILE new xl format (info 0x3/0x0/N)" line.
    public func savingLine(to destination: String) -> String {
        "Saving to \(destination) new xl format (info 0x\(String(mandatoryFlags.rawValue, radix: 16))/0x\(String(optionalFlags, radix: 16))/\(optionalData.count))"
    }

    /// xl's "Loading new save file FILE (new xl fmt info 0x3/0x0/N)" line.
    public func loadingLine(from source: String) -> String {
        "Loading new save file \(source) (new xl fmt info 0x\(String(mandatoryFlags.rawValue, radix: 16))/0x\(String(optionalFlags, radix: 16))/\(optionalData.count))"
    }

    /// The most optional data swxl accepts: a config, not a disk image.
    public static let maxOptionalData = 64 << 20

    /// Reads the header and its optional data, refusing what xl refuses
    /// with xl's words, and more: a stream that is not v2 (xl would convert
    /// a legacy stream with a Python helper; swxl does not) and an
    /// optional data too big to be a config.
    public static func read(from reader: any ExactReader) throws(SaveFormatError) -> XLSaveHeader {
        let head = try reader.read(exactly: size, "header")
        guard Array(head[0..<32]) == magic else {
            throw SaveFormatError(.invalid, "File has wrong magic number - corrupt or for a different tool?")
        }
        guard head.le32(at: 32) == byteOrderValue else {
            throw SaveFormatError(.invalid, "File has wrong byte order")
        }
        let mandatory = MandatoryFlags(rawValue: head.le32(at: 36))
        let optionalFlags = head.le32(at: 40)
        let optionalLength = Int(head.le32(at: 44))
        let bad = mandatory.subtracting(.known)
        guard bad.isEmpty else {
            throw SaveFormatError(.unsupported, "Savefile has mandatory flag(s) 0x\(String(bad.rawValue, radix: 16)) which are not supported; need newer xl")
        }
        guard mandatory.contains(.streamV2) else {
            throw SaveFormatError(.unsupported, "Savefile holds a legacy (pre-4.6) stream; swxl reads only migration stream v2")
        }
        guard optionalLength <= maxOptionalData else {
            throw SaveFormatError(.invalid, "Savefile's optional data claims \(optionalLength) bytes; corrupt?")
        }
        let data = optionalLength > 0 ? try reader.read(exactly: optionalLength, "optdata") : []
        let header = XLSaveHeader(mandatoryFlags: mandatory, optionalFlags: optionalFlags, optionalData: data)
        _ = try header.configBytes()
        return header
    }
}
