// The entry points: config text (any format) to the model, with diagnostics.

/// The config file formats.
public enum ConfigFormat: String, Sendable, Hashable, CaseIterable {
    /// Guess from the text: `(` starts SXP, `{` JSON; otherwise xl.cfg,
    /// falling back to the legacy xm reading when only that one succeeds.
    case auto
    /// xl.cfg(5), as libxlutil reads it.
    case xl
    /// A legacy xm/xend Python config in assignment form.
    case xm
    /// xend's S-expressions (`xm create -n`, `xm list -l`).
    case sxp
    /// swxl's canonical JSON (see docs/config.md).
    case json
}

/// What reading a config gave: the model (nil when there is any error) and
/// every diagnostic, errors and warnings, in file order.
public struct ParseResult: Sendable {
    public var configuration: DomainConfiguration?
    public var diagnostics: [Diagnostic]
    /// The format actually read (never `.auto`).
    public var format: ConfigFormat
    /// The keys an xl.cfg or xm file set, with its overrides (what xl's
    /// parse_config_data finds set); nil for SXP and JSON, which always
    /// hold every field the model has.
    public var keys: Set<String>? = nil

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }
}

extension DomainConfiguration {
    /// Reads a config from text.
    ///
    /// - Parameters:
    ///   - text: the file's contents.
    ///   - fileName: used in diagnostics (`file:line:col: error: ...`).
    ///   - format: the format, or `.auto` to guess it.
    ///   - overrides: `KEY=VALUE` words as given after the file name to `xl create`;
    ///     they are read as xl.cfg lines after the file and so override it. A value
    ///     that is not valid xl.cfg syntax is taken as a plain string (`name=web1`).
    ///   - options: path resolution, the kernel-file check and uuid making.
    public static func parse(text: String, fileName: String, format: ConfigFormat = .auto,
                             overrides: [String] = [], options: ParseOptions = ParseOptions()) -> ParseResult {
        let chosen = format == .auto ? detectFormat(text) : format
        switch chosen {
        case .sxp, .json:
            var result = chosen == .sxp
                ? readSXPConfig(text: text, fileName: fileName, options: options)
                : readJSONConfig(text: text, fileName: fileName, options: options)
            if !overrides.isEmpty, let config = result.configuration {
                // Overrides apply to the xl.cfg view of the model: errors they cause
                // are reported against that text, named after the file.
                let converted = "\(fileName) (as xl.cfg)"
                var again = parse(text: config.xlText(), fileName: converted, format: .xl, overrides: overrides,
                                  options: options)
                again.diagnostics = result.diagnostics
                    + again.diagnostics.filter { $0.file != converted || $0.severity == .error }
                again.format = chosen
                result = again
            }
            return result
        case .auto, .xl, .xm:
            var mode: SyntaxMode = chosen == .xm ? .xm : .xl
            var (raw, diagnostics) = RawParser.parse(text: text, file: fileName, mode: mode)
            let xlErrors = diagnostics.filter { $0.severity == .error }
            // A key xl's lexer refuses (an upper-case letter: tools/libs/util/libxlu_cfg_l.l)
            // is xl's lexical error, not a sign of an xm file: alone, it fails the file as in xl.
            let onlyBadKeys = xlErrors.allSatisfy { $0.message.hasPrefix(RawParser.invalidKeyMessagePrefix) }
            if chosen == .auto, !xlErrors.isEmpty, !onlyBadKeys {
                // Not xl.cfg: a legacy xm file? Take the xm reading when it succeeds, or
                // when the file plainly holds Python (its errors then say what to write).
                let (xmRaw, xmDiagnostics) = RawParser.parse(text: text, file: fileName, mode: .xm)
                let looksLikePython = diagnostics.contains { $0.message.contains("Python") }
                if !xmDiagnostics.contains(where: { $0.severity == .error }) || looksLikePython {
                    (raw, diagnostics, mode) = (xmRaw, xmDiagnostics, .xm)
                }
            }
            let (withOverrides, overrideDiagnostics) = applyOverrides(overrides, to: raw)
            diagnostics += overrideDiagnostics
            let result = buildModel(raw: withOverrides, fileName: fileName, options: options, source: text,
                                    diagnostics: diagnostics)
            return ParseResult(configuration: result.configuration, diagnostics: result.diagnostics,
                               format: mode == .xm ? .xm : .xl, keys: Set(withOverrides.keys))
        }
    }

    /// Reads only the xl.cfg (or xm) grammar, giving each key's value as written
    /// (numbers as text). This is what libxlutil's `xlu_cfg_readfile` sees.
    public static func parseRaw(text: String, fileName: String, format: ConfigFormat = .xl) -> (RawConfig, [Diagnostic]) {
        RawParser.parse(text: text, file: fileName, mode: format == .xm ? .xm : .xl)
    }

    static func detectFormat(_ text: String) -> ConfigFormat {
        var inComment = false
        for c in text.utf8 {
            if inComment {
                if c == UInt8(ascii: "\n") { inComment = false }
                continue
            }
            switch c {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): continue
            case UInt8(ascii: "#"): inComment = true
            case UInt8(ascii: "("): return .sxp
            case UInt8(ascii: "{"): return .json
            default: return .auto
            }
        }
        return .auto
    }

    /// `KEY=VALUE` words as xl.cfg lines after the file (file name `<command line>`).
    static func applyOverrides(_ overrides: [String], to raw: RawConfig) -> (RawConfig, [Diagnostic]) {
        var raw = raw
        var diagnostics: [Diagnostic] = []
        let file = "<command line>"
        for (n, word) in overrides.enumerated() {
            let at = SourceLocation(line: n + 1, column: 1)
            let (parsed, problems) = RawParser.parse(text: word, file: file, mode: .xl, into: RawConfig(), line: n + 1)
            if !problems.contains(where: { $0.severity == .error }), !parsed.settings.isEmpty {
                let (merged, mergeProblems) = RawParser.parse(text: word, file: file, mode: .xl, into: raw, line: n + 1)
                raw = merged
                diagnostics += mergeProblems
                continue
            }
            // Not xl syntax: KEY=plain text.
            guard let eq = word.firstIndex(of: "="), isValidKey(word[..<eq]) else {
                diagnostics.append(Diagnostic(.error, file: file, at: at,
                    "bad override `\(word)`: expected KEY=VALUE, e.g. memory=512 or name=web1"))
                continue
            }
            let key = String(word[..<eq])
            let value = String(word[word.index(after: eq)...])
            let valueAt = SourceLocation(line: n + 1, column: key.utf8.count + 2, source: file)
            raw.set(ConfigSetting(key: key, value: .string(value, valueAt), location: SourceLocation(line: n + 1, column: 1, source: file)))
        }
        return (raw, diagnostics)
    }

    /// Whether `key` is a key as xl.cfg spells them: a lower-case letter, then
    /// lower-case letters, digits, `.` and `_`. A `KEY=VALUE` word after a
    /// config file is an override when its key is one.
    public static func isValidKey(_ key: Substring) -> Bool {
        guard let first = key.utf8.first, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z") else { return false }
        return key.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "_")
        }
    }

    static func buildModel(raw: RawConfig, fileName: String, options: ParseOptions, source: String? = nil,
                           diagnostics: [Diagnostic]) -> (configuration: DomainConfiguration?, diagnostics: [Diagnostic]) {
        if diagnostics.contains(where: { $0.severity == .error }) {
            // Still check what could be read, so that every problem shows in one run.
            var builder = ModelBuilder(raw: raw, file: fileName, options: options, source: source)
            _ = builder.build()
            return (nil, sortDiagnostics(diagnostics + builder.log.items))
        }
        var builder = ModelBuilder(raw: raw, file: fileName, options: options, source: source)
        let config = builder.build()
        return (config, sortDiagnostics(diagnostics + builder.log.items))
    }

    static func sortDiagnostics(_ d: [Diagnostic]) -> [Diagnostic] {
        // The file's own problems in file order, then the command line's; stable.
        var seen = Set<Diagnostic>()
        let unique = d.filter { seen.insert($0).inserted }
        return unique.enumerated().sorted { a, b in
            let (x, y) = (a.element, b.element)
            let xCmd = x.file == "<command line>", yCmd = y.file == "<command line>"
            if xCmd != yCmd { return !xCmd }
            if x.location != y.location { return x.location < y.location }
            return a.offset < b.offset
        }.map(\.element)
    }
}
