import DomainConfig

/// A fixed uuid, so that parsed models compare whole.
let fixedUUID = DomainUUID("01234567-89ab-4def-8123-456789abcdef")!

let fixedOptions = ParseOptions(makeUUID: { fixedUUID })

/// Parses xl text with the fixed uuid; the result and its diagnostics as text.
func parseXL(_ text: String, format: ConfigFormat = .xl, overrides: [String] = [],
             options: ParseOptions = fixedOptions) -> ParseResult {
    DomainConfiguration.parse(text: text, fileName: "t.cfg", format: format, overrides: overrides, options: options)
}

func messages(_ r: ParseResult) -> [String] { r.diagnostics.map(\.description) }

/// A config value without locations, for whole-structure comparisons.
indirect enum V: Equatable, CustomStringConvertible {
    case s(String)
    case l([V])

    init(_ v: ConfigValue) {
        switch v {
        case .string(let s, _): self = .s(s)
        case .list(let items, _): self = .l(items.map(V.init))
        }
    }

    var description: String {
        switch self {
        case .s(let s): return "\"\(s)\""
        case .l(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

struct KV: Equatable, CustomStringConvertible {
    var key: String
    var value: V
    init(_ key: String, _ value: V) { self.key = key; self.value = value }
    var description: String { "\(key)=\(value)" }
}

/// The raw settings (key order kept) and the diagnostics as text.
func raw(_ text: String, format: ConfigFormat = .xl) -> (settings: [KV], diagnostics: [String]) {
    let (r, d) = DomainConfiguration.parseRaw(text: text, fileName: "t.cfg", format: format)
    return (r.settings.map { KV($0.key, V($0.value)) }, d.map(\.description))
}
