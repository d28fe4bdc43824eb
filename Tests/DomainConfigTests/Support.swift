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
