import DomainConfig
import Logging
import SaveFormat
import XenStoreProtocol
import XenStoreServer

/// What the fuzzer (`swxl-fuzz`, built by scripts/fuzz with libFuzzer and
/// the address sanitizer) feeds each reader of untrusted input, and what the
/// regression tests replay (Tests/FuzzRegressionTests, inputs in
/// Fuzz/regressions/<target>/). A crash, a failed sanitizer check or a
/// broken invariant (a `precondition` below) is a finding; a clean return is
/// not, whatever the reader answered.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// XSFrameDecoder fed the bytes in pieces: every message it gives back
    /// re-encodes to the bytes it came from.
    case frameDecoder = "frame-decoder"
    /// The daemon's core (`Store.handle`) fed whole requests from dom0
    /// (privileged), a read-only dom0 connection and two guests.
    case storeRequests = "store-requests"
    /// xl.cfg and xm text to the model (format guessed as `config check` does).
    case xlConfig = "xl-config"
    /// xend's SXP to the model.
    case sxpConfig = "sxp-config"
    /// The disk, vif, vfb, vkb, channel and pci spec readers and CPU lists.
    case deviceSpecs = "device-specs"
    /// libxl's JSON of a domain config (restore's reader).
    case libxlJSON = "libxl-json"
    /// The model's own JSON (`config show --format json`): what reads back
    /// writes the same JSON again.
    case modelJSON = "model-json"
    /// xl's save-file header and its config.
    case saveHeader = "save-header"
    /// The XenAPI server's request reader: HTTP requests in pieces, their
    /// bodies as XML-RPC or JSON-RPC, written and read again.
    case xenAPIRequests = "xenapi-requests"

    public func run(_ bytes: [UInt8]) {
        switch self {
        case .frameDecoder: Self.frameDecoder(bytes)
        case .storeRequests: Self.storeRequests(bytes)
        case .xlConfig: Self.config(bytes, format: .auto)
        case .sxpConfig: Self.config(bytes, format: .sxp)
        case .deviceSpecs: Self.deviceSpecs(bytes)
        case .libxlJSON: Self.libxlJSON(bytes)
        case .modelJSON: Self.modelJSON(bytes)
        case .saveHeader: Self.saveHeader(bytes)
        case .xenAPIRequests: Self.xenAPIRequests(bytes)
        }
    }

    // MARK: the targets

    static func frameDecoder(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        // The first byte sets the size of the pieces the rest arrives in.
        let piece = Int(first % 32) + 1
        let stream = bytes.dropFirst()
        var decoder = XSFrameDecoder()
        var rebuilt: [UInt8] = []
        var index = stream.startIndex
        loop: while index < stream.endIndex {
            let end = min(index + piece, stream.endIndex)
            decoder.append(stream[index..<end])
            index = end
            while true {
                do {
                    guard let message = try decoder.next() else { break }
                    rebuilt += message.encoded()
                } catch {
                    break loop
                }
            }
        }
        precondition(stream.starts(with: rebuilt), "a decoded message does not re-encode to its bytes")
        precondition(rebuilt.count + decoder.pendingByteCount <= stream.count)
    }

    /// Each request: one byte picks the connection, one the type, one the
    /// transaction id, one the request id, one the payload's length, then
    /// the payload. Replies and watch events are checked for well-formedness.
    static func storeRequests(_ bytes: [UInt8]) {
        // Quiet: a quota hit logs a warning, and a fuzzer hits them all the time.
        let quiet = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }
        guard let store = try? Store(storage: nil, quotas: Quotas(), logger: quiet) else { preconditionFailure("no store") }
        let connections = [store.connect(domid: 0), store.connect(domid: 0, readOnly: true),
                           store.connect(domid: 1), store.connect(domid: 7)]
        var i = 0
        func take() -> UInt8? {
            guard i < bytes.count else { return nil }
            defer { i += 1 }
            return bytes[i]
        }
        while let selector = take(), let type = take(), let txn = take(), let rid = take(), let length = take() {
            let end = min(i + Int(length), bytes.count)
            let payload = Array(bytes[i..<end])
            i = end
            let connection = connections[Int(selector) % connections.count]
            // Types past Xen's last one stay possible (ENOSYS), rarely.
            let rawType = type < 200 ? UInt32(type % 32) : UInt32(type)
            store.handle(XSMessage(type: rawType, requestID: UInt32(rid), transactionID: UInt32(txn % 8), payload: payload),
                         from: connection)
            for (_, reply) in store.outbox {
                precondition(reply.payload.count <= XSMessage.maxPayload, "a reply over the payload limit")
                precondition(reply.kind != nil, "a reply of an unknown type")
            }
            store.outbox.removeAll()
            // Now and then a guest goes away and comes back.
            if selector == 0xff { store.disconnect(connections[3]) }
        }
    }

    static func config(_ bytes: [UInt8], format: ConfigFormat) {
        let text = String(decoding: bytes, as: UTF8.self)
        let result = DomainConfiguration.parse(text: text, fileName: "fuzz.cfg", format: format, options: options)
        guard let config = result.configuration else { return }
        // docs/config.md: xl.cfg output reads back the same, but for SXP
        // console devices, which have no xl.cfg form, and xm's unknown keys
        // that xl.cfg cannot spell (written as comments).
        let json = config.jsonText()
        let xl = config.xlText()
        _ = config.sxpText()
        guard config.consoles.isEmpty, config.unknown.keys.allSatisfy({ DomainConfiguration.isValidKey($0[...]) }) else { return }
        let again = DomainConfiguration.parse(text: xl, fileName: "again.cfg", format: .xl, options: options)
        precondition(again.configuration != nil, "the xl.cfg written does not read back: \(again.errors)\n\(xl)")
        let back = again.configuration?.jsonText() ?? ""
        precondition(back == json, "the xl.cfg written reads back differently:\n\(xl)\nfirst:\n\(json)\nthen:\n\(back)")
    }

    static func deviceSpecs(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
        switch first % 6 {
        case 0: _ = DiskDevice.parse(text)
        case 1: _ = NetworkInterface.parse(text)
        case 2: _ = PCIDevice.parse(text)
        case 3: _ = FramebufferDevice.parse(text)
        case 4: _ = ChannelDevice.parse(text); _ = KeyboardDevice.parse(text)
        default: _ = CPUAffinity.parse(text)
        }
    }

    static func libxlJSON(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard !text.utf8.contains(0) else { return }  // the reader takes NUL-free text (the stream's string)
        let reading = DomainConfiguration.fromLibxlJSON(text)
        if let config = reading.configuration { _ = config.jsonText() }
    }

    static func modelJSON(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let result = DomainConfiguration.parse(text: text, fileName: "fuzz.json", format: .json, options: options)
        guard let config = result.configuration else { return }
        // README: "Reading it back gives the same model."
        let written = config.jsonText()
        let again = DomainConfiguration.parse(text: written, fileName: "again.json", format: .json, options: options)
        precondition(again.configuration != nil, "the model's JSON does not read back: \(again.errors)")
        precondition(again.configuration?.jsonText() == written, "the model's JSON reads back differently")
    }

    static func saveHeader(_ bytes: [UInt8]) {
        let reader = BytesReader(bytes, source: "fuzz")
        guard let header = try? XLSaveHeader.read(from: reader) else { return }
        precondition(reader.offset <= UInt64(bytes.count))
        _ = header.loadingLine(from: "fuzz")
        // The config restore reads next: libxl's JSON.
        if let text = (try? header.configText()) ?? nil, !text.utf8.contains(0) { _ = DomainConfiguration.fromLibxlJSON(text) }
    }

    /// No file checks, one fixed uuid: the same input always reads the same.
    static let options = ParseOptions(fileExists: nil, makeUUID: { DomainUUID("6b0a2e0c-1111-4222-8333-444455556666")! })
}
