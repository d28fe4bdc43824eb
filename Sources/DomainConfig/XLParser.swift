// The xl.cfg grammar as Xen 4.17's libxlutil reads it, and the Python
// literal subset that legacy xm files hold in assignment form.
//
//   file      := statement* ; statements end at `;`, a newline or the end
//   statement := KEY ("=" | "+=") value
//   value     := STRING | NUMBER | "[" (value ("," value)* ","?)? "]"
//
// xl keys are `[a-z][._0-9a-z]*`; numbers are `[0-9][0-9a-fx]*` kept as
// their text (read later as C's strtol base 0 does); strings are quoted with
// ' or " and take the escapes \" \' \\ \a \b \f \n \r \t \v \xHH \ooo.
// Lists may span lines, nest and end with a comma; `#` starts a comment.
//
// Legacy xm mode adds what real xm files hold: Python identifiers as keys,
// triple-quoted and raw strings, adjacent string concatenation, tuples,
// True/False/None, negative numbers, 0o/0b literals, `L` suffixes and `\`
// line continuations. Anything that would need Python to run is an error.

enum SyntaxMode {
    case xl, xm
}

struct RawParser {
    private let bytes: [UInt8]
    private let mode: SyntaxMode
    private var log: DiagnosticLog
    private var pos = 0
    private var line = 1
    private var lineStart = 0
    /// Depth of open brackets/parentheses: newlines inside them are plain space.
    private var depth = 0
    private var current: Token
    private var raw = RawConfig()
    /// Set when reading text other than the file (overrides): locations carry it.
    private var source: String?

    struct Token {
        enum Kind: Equatable {
            case key(String)        // an identifier
            case number(String)
            case string(String)
            case lbracket, rbracket, lparen, rparen, comma
            case assign, plusAssign, semicolon, newline, end
            case python(String)     // something only Python could make sense of
            case badWord(String)    // a word that is not an xl.cfg name (reported by the parser)
            case invalid(String)    // a character the grammar does not have
        }
        var kind: Kind
        var location: SourceLocation
    }

    init(text: String, file: String, mode: SyntaxMode) {
        self.bytes = Array(text.utf8)
        self.mode = mode
        self.log = DiagnosticLog(file: file)
        self.current = Token(kind: .end, location: SourceLocation(line: 1, column: 1))
    }

    /// Parses the whole text; every problem goes into the diagnostics.
    static func parse(text: String, file: String, mode: SyntaxMode) -> (RawConfig, [Diagnostic]) {
        var parser = RawParser(text: text, file: file, mode: mode)
        parser.parseFile()
        return (parser.raw, parser.log.items)
    }

    /// Parses more statements into an existing config (used for KEY=VALUE overrides).
    static func parse(text: String, file: String, mode: SyntaxMode, into raw: RawConfig,
                      line: Int = 1) -> (RawConfig, [Diagnostic]) {
        var parser = RawParser(text: text, file: file, mode: mode)
        parser.raw = raw
        parser.source = file
        parser.line = line
        parser.parseFile()
        return (parser.raw, parser.log.items)
    }

    /// How the error for a key xl's lexer refuses begins.
    static let invalidKeyMessagePrefix = "invalid key "

    // MARK: statements

    private mutating func parseFile() {
        advance()
        while true {
            switch current.kind {
            case .end:
                return
            case .newline, .semicolon:
                advance()
            case .key(let key):
                parseStatement(key: key)
            case .badWord(let word):
                log.error(current.location, Self.invalidKeyMessagePrefix + "`\(word)`: xl.cfg keys are lower-case letters, digits, `.` and `_`, starting with a letter")
                recover()
            default:
                reportUnexpected(expecting: "a `key = value` setting")
                recover()
            }
        }
    }

    private mutating func parseStatement(key: String) {
        let keyLocation = current.location
        advance()
        let isAddition: Bool
        switch current.kind {
        case .assign: isAddition = false
        case .plusAssign: isAddition = true
        default:
            if let hint = pythonStatementHint(key) {
                log.error(keyLocation, pythonNotExecuted(hint))
                recover()
                return
            }
            reportUnexpected(expecting: "`=` or `+=` after `\(key)`")
            recover()
            return
        }
        advance()
        guard let value = parseValue() else {
            recover()
            return
        }
        if mode == .xm, case .python(let what) = current.kind {
            log.error(current.location, pythonNotExecuted("`\(what)` after the value of `\(key)`"))
            recover()
            return
        }
        switch current.kind {
        case .newline, .semicolon, .end:
            break
        default:
            reportUnexpected(expecting: "the end of the setting of `\(key)` (a newline or `;`)")
            recover()
            return
        }
        store(key: key, value: value, location: keyLocation, isAddition: isAddition)
    }

    private mutating func store(key: String, value: ConfigValue?, location: SourceLocation, isAddition: Bool) {
        guard let value else {
            raw.remove(key)  // xm's None: the key is not set
            return
        }
        if isAddition, let previousIsList = raw.isList(key) {
            switch (previousIsList, value) {
            case (false, .string(let b, let l)):
                let a = raw[key]?.value.stringValue ?? ""
                raw.set(ConfigSetting(key: key, value: .string(a + b, l), location: location))
            case (true, .list(let b, _)):
                // In place: the earlier list is not copied (long `disk +=` chains stay linear).
                _ = raw.appendToList(key, b, setting: ConfigSetting(key: key, value: value, location: location))
            default:
                log.error(value.location, "can't add a list to a string or a string to a list (`\(key) +=`)")
            }
            return
        }
        raw.set(ConfigSetting(key: key, value: value, location: location))
    }

    /// A value, or nil after reporting an error. xm's `None` parses as
    /// `.some(nil)`-like: it yields a `nil` inner value through `store`.
    private mutating func parseValue() -> ConfigValue?? {
        let location = current.location
        switch current.kind {
        case .string(var s):
            advance()
            if mode == .xm {
                while case .string(let more) = current.kind {  // Python's "a" "b"
                    s += more
                    advance()
                }
            }
            return .some(.string(s, location))
        case .number(let n):
            advance()
            return .some(.string(n, location))
        case .lbracket, .lparen:
            let close: Token.Kind = current.kind == .lbracket ? .rbracket : .rparen
            if close == .rparen, mode == .xl {
                reportUnexpected(expecting: "a value")
                return nil
            }
            guard depth < 64 else {
                log.error(location, "lists nested more than 64 deep")
                return nil
            }
            depth += 1
            advance()
            var items: [ConfigValue] = []
            while current.kind != close {
                guard let item = parseValue() else { return nil }
                guard let item else {
                    log.error(location, "`None` cannot be an item of a list")
                    return nil
                }
                items.append(item)
                if current.kind == .comma {
                    advance()
                } else if current.kind != close {
                    reportUnexpected(expecting: "`,` or `\(close == .rbracket ? "]" : ")")`")
                    return nil
                }
            }
            depth -= 1
            advance()
            return .some(.list(items, location))
        case .key(let word) where mode == .xm:
            switch word {
            case "True": advance(); return .some(.string("1", location))
            case "False": advance(); return .some(.string("0", location))
            case "None": advance(); return .some(nil)
            default:
                log.error(location, pythonNotExecuted("the name `\(word)`"))
                return nil
            }
        case .python(let what) where mode == .xm:
            log.error(location, pythonNotExecuted("`\(what)`"))
            return nil
        default:
            reportUnexpected(expecting: "a value (a string, a number or a [list])")
            return nil
        }
    }

    private func pythonNotExecuted(_ what: String) -> String {
        "xm-style Python code is not executed (\(what)); write the value itself, "
            + "e.g. `memory = 512` or `disk = [ 'phy:/dev/vg/guest,xvda,w' ]`"
    }

    /// What Python statement a name not followed by `=` starts, if it looks like one:
    /// Python keywords in either mode; in xm files also calls and expressions.
    private func pythonStatementHint(_ key: String) -> String? {
        let keywords: Set<String> = ["import", "from", "if", "elif", "else", "def", "for", "while", "print",
                                     "try", "except", "class", "with", "return", "del", "pass"]
        if keywords.contains(key) { return "a Python `\(key)` statement" }
        guard mode == .xm else { return nil }
        switch current.kind {
        case .lparen: return "a call of `\(key)`"
        case .python(let op): return "`\(key) \(op)`"
        default: return "a Python statement starting with `\(key)`"
        }
    }

    private mutating func reportUnexpected(expecting: String) {
        switch current.kind {
        case .invalid:
            break  // the lexer has reported it
        case .python(let what) where mode == .xl:
            log.error(current.location, "unexpected `\(what)`: expected \(expecting) (xl.cfg files are not Python)")
        default:
            log.error(current.location, "unexpected \(describe(current.kind)): expected \(expecting)")
        }
    }

    /// Skips to the end of the statement in error: a newline or `;` outside brackets.
    private mutating func recover() {
        while true {
            switch current.kind {
            case .end:
                depth = 0
                return
            case .newline where depth == 0, .semicolon where depth == 0:
                advance()
                return
            case .lbracket, .lparen:
                depth += 1
            case .rbracket, .rparen:
                depth = max(0, depth - 1)
            default:
                break
            }
            advance()
        }
    }

    private func describe(_ kind: Token.Kind) -> String {
        switch kind {
        case .key(let k): return "name `\(k)`"
        case .number(let n): return "number `\(n)`"
        case .string: return "string"
        case .lbracket: return "`[`"
        case .rbracket: return "`]`"
        case .lparen: return "`(`"
        case .rparen: return "`)`"
        case .comma: return "`,`"
        case .assign: return "`=`"
        case .plusAssign: return "`+=`"
        case .semicolon: return "`;`"
        case .newline: return "end of line"
        case .end: return "end of file"
        case .python(let p): return "`\(p)`"
        case .invalid(let c): return "`\(c)`"
        case .badWord(let w): return "name `\(w)`"
        }
    }

    // MARK: lexer

    private var location: SourceLocation { SourceLocation(line: line, column: pos - lineStart + 1, source: source) }

    private func peek(_ offset: Int = 0) -> UInt8 {
        pos + offset < bytes.count ? bytes[pos + offset] : 0
    }

    private mutating func newline() {
        line += 1
        lineStart = pos
    }

    private mutating func advance() {
        current = nextToken()
    }

    private mutating func nextToken() -> Token {
        while pos < bytes.count {
            let c = bytes[pos]
            let start = location
            switch c {
            case UInt8(ascii: " "), UInt8(ascii: "\t"):
                pos += 1
            case UInt8(ascii: "#"):
                while pos < bytes.count, bytes[pos] != UInt8(ascii: "\n") { pos += 1 }
            case UInt8(ascii: "\n"):
                pos += 1
                newline()
                if depth == 0 { return Token(kind: .newline, location: start) }
            case UInt8(ascii: "\r"):
                pos += 1
                if mode == .xm { continue }
                log.error(start, "carriage return in the file (CRLF line ends?): xl.cfg lines end with a newline only")
            case UInt8(ascii: "\\") where mode == .xm && peek(1) == UInt8(ascii: "\n"):
                pos += 2
                newline()
            case UInt8(ascii: "\\") where mode == .xm && peek(1) == UInt8(ascii: "\r") && peek(2) == UInt8(ascii: "\n"):
                pos += 3
                newline()
            default:
                return scanToken(start)
            }
        }
        return Token(kind: .end, location: location)
    }

    private mutating func scanToken(_ start: SourceLocation) -> Token {
        let c = bytes[pos]
        func single(_ kind: Token.Kind) -> Token {
            pos += 1
            return Token(kind: kind, location: start)
        }
        switch c {
        case UInt8(ascii: "["): return single(.lbracket)
        case UInt8(ascii: "]"): return single(.rbracket)
        case UInt8(ascii: ","): return single(.comma)
        case UInt8(ascii: ";"): return single(.semicolon)
        case UInt8(ascii: "="):
            if peek(1) == UInt8(ascii: "=") {
                pos += 2
                return Token(kind: .python("=="), location: start)
            }
            return single(.assign)
        case UInt8(ascii: "+") where peek(1) == UInt8(ascii: "="):
            pos += 2
            return Token(kind: .plusAssign, location: start)
        case UInt8(ascii: "("):
            if mode == .xm { return single(.lparen) }
            return single(.python("("))
        case UInt8(ascii: ")"):
            if mode == .xm { return single(.rparen) }
            return single(.python(")"))
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            return scanString(start, raw: false)
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            return scanNumber(start, negative: false)
        case UInt8(ascii: "-") where mode == .xm && isDigit(peek(1)):
            pos += 1
            return scanNumber(start, negative: true)
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"):
            if mode == .xm, c == UInt8(ascii: "r") || c == UInt8(ascii: "R") || c == UInt8(ascii: "u") || c == UInt8(ascii: "U"),
               peek(1) == UInt8(ascii: "\"") || peek(1) == UInt8(ascii: "'") {
                let isRaw = c == UInt8(ascii: "r") || c == UInt8(ascii: "R")
                pos += 1
                return scanString(start, raw: isRaw)
            }
            return scanWord(start)
        default:
            return scanOther(start)
        }
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private mutating func scanWord(_ start: SourceLocation) -> Token {
        let begin = pos
        if mode == .xl {
            let first = bytes[pos]
            guard first >= UInt8(ascii: "a") && first <= UInt8(ascii: "z") else {
                return invalidWord(start, begin)
            }
            pos += 1
            while pos < bytes.count {
                let c = bytes[pos]
                if (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || isDigit(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") {
                    pos += 1
                } else {
                    break
                }
            }
            // An upper-case letter glued to a key: the whole word is not a key.
            if pos < bytes.count, (bytes[pos] >= UInt8(ascii: "A") && bytes[pos] <= UInt8(ascii: "Z")) {
                pos = begin
                return invalidWord(start, begin)
            }
        } else {
            while pos < bytes.count {
                let c = bytes[pos]
                if (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                    || isDigit(c) || c == UInt8(ascii: "_") {
                    pos += 1
                } else {
                    break
                }
            }
            if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
                // `os.path.join(...)`, `sys.argv`: attribute access is Python code.
                while pos < bytes.count, bytes[pos] != UInt8(ascii: "\n"), bytes[pos] != UInt8(ascii: " ") { pos += 1 }
                return Token(kind: .python(String(decoding: bytes[begin..<pos], as: UTF8.self)), location: start)
            }
        }
        return Token(kind: .key(String(decoding: bytes[begin..<pos], as: UTF8.self)), location: start)
    }

    private mutating func invalidWord(_ start: SourceLocation, _ begin: Int) -> Token {
        while pos < bytes.count {
            let c = bytes[pos]
            if (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || isDigit(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: ".") {
                pos += 1
            } else {
                break
            }
        }
        let word = String(decoding: bytes[begin..<pos], as: UTF8.self)
        return Token(kind: .badWord(word), location: start)
    }

    private mutating func scanNumber(_ start: SourceLocation, negative: Bool) -> Token {
        let begin = pos
        if mode == .xl {
            // libxlutil's NUMBER: a digit, then digits, a-f and x (kept as text).
            pos += 1
            while pos < bytes.count {
                let c = bytes[pos]
                if isDigit(c) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f")) || c == UInt8(ascii: "x") {
                    pos += 1
                } else {
                    break
                }
            }
            let text = String(decoding: bytes[begin..<pos], as: UTF8.self)
            if pos < bytes.count, isWordByte(bytes[pos]) || bytes[pos] == UInt8(ascii: ".") {
                var end = pos
                while end < bytes.count, isWordByte(bytes[end]) || bytes[end] == UInt8(ascii: ".") { end += 1 }
                let whole = String(decoding: bytes[begin..<end], as: UTF8.self)
                log.error(start, "invalid number `\(whole)`: write an integer (decimal, 0x hex or 0 octal) or quote the value")
                pos = end
                return Token(kind: .invalid(whole), location: start)
            }
            return Token(kind: .number(text), location: start)
        }
        // xm: Python integer literals, kept as C-style text (0o17 becomes 017).
        while pos < bytes.count, isWordByte(bytes[pos]) || bytes[pos] == UInt8(ascii: ".") { pos += 1 }
        var text = String(decoding: bytes[begin..<pos], as: UTF8.self)
        if text.hasSuffix("L") || text.hasSuffix("l") { text.removeLast() }
        let lower = text.lowercased()
        var value: String?
        if lower.hasPrefix("0x"), let v = Int(lower.dropFirst(2), radix: 16) { value = String(v) }
        else if lower.hasPrefix("0o"), let v = Int(lower.dropFirst(2), radix: 8) { value = String(v) }
        else if lower.hasPrefix("0b"), let v = Int(lower.dropFirst(2), radix: 2) { value = String(v) }
        else if lower.count > 1, lower.hasPrefix("0"), let v = Int(lower.dropFirst(), radix: 8) { value = String(v) }
        else if Int(lower) != nil { value = lower }
        else if Double(lower) != nil { value = lower }
        guard let value else {
            log.error(start, "invalid number `\(text)`")
            return Token(kind: .invalid(text), location: start)
        }
        return Token(kind: .number(negative ? "-" + value : value), location: start)
    }

    private func isWordByte(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || isDigit(c) || c == UInt8(ascii: "_")
    }

    private mutating func scanOther(_ start: SourceLocation) -> Token {
        let c = bytes[pos]
        // Operators and punctuation Python has and xl.cfg does not.
        let operators: [UInt8] = Array("+-*/%<>!&|^~.{}:@`".utf8)
        if operators.contains(c) {
            var end = pos + 1
            if end < bytes.count, bytes[end] == UInt8(ascii: "=") || (bytes[end] == c && c != UInt8(ascii: ".")) { end += 1 }
            let text = String(decoding: bytes[pos..<end], as: UTF8.self)
            pos = end
            return Token(kind: .python(text), location: start)
        }
        // Anything else: one (possibly multi-byte) character the grammar has no use for.
        var end = pos + 1
        if c >= 0xC0 { while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 } }
        let text = String(decoding: bytes[pos..<end], as: UTF8.self)
        pos = end
        let shown = c < 0x20 || c == 0x7f ? "\\x" + hex(Int(c), 2) : text
        log.error(start, "unexpected character `\(shown)`")
        return Token(kind: .invalid(shown), location: start)
    }

    // MARK: strings

    private mutating func scanString(_ start: SourceLocation, raw isRaw: Bool) -> Token {
        let quote = bytes[pos]
        let triple = mode == .xm && peek(1) == quote && peek(2) == quote
        pos += triple ? 3 : 1
        var out: [UInt8] = []
        var ok = true
        while true {
            guard pos < bytes.count else {
                log.error(start, "unterminated string: missing closing \(triple ? "triple " : "")quote")
                return Token(kind: .invalid("string"), location: start)
            }
            let c = bytes[pos]
            if c == quote {
                if !triple {
                    pos += 1
                    break
                }
                if peek(1) == quote && peek(2) == quote {
                    pos += 3
                    break
                }
                out.append(c)
                pos += 1
                continue
            }
            if c == UInt8(ascii: "\n") {
                if !triple {
                    log.error(start, "unterminated string: missing closing quote before the end of the line")
                    return Token(kind: .invalid("string"), location: start)
                }
                out.append(c)
                pos += 1
                newline()
                continue
            }
            if c == UInt8(ascii: "\\") {
                if isRaw {
                    out.append(c)
                    pos += 1
                    if pos < bytes.count, bytes[pos] == quote || bytes[pos] == UInt8(ascii: "\\") {
                        out.append(bytes[pos])
                        pos += 1
                    }
                    continue
                }
                if !scanEscape(into: &out) { ok = false }
                continue
            }
            if c == 0 {
                // As the escapes `\x00` and `\0`: xl's C string would end here.
                log.error(location, "a string cannot hold a NUL character")
                ok = false
            }
            out.append(c)
            pos += 1
        }
        guard ok else { return Token(kind: .invalid("string"), location: start) }
        guard let text = String(validating: out, as: UTF8.self) else {
            log.error(start, "the string is not valid UTF-8")
            return Token(kind: .invalid("string"), location: start)
        }
        return Token(kind: .string(text), location: start)
    }

    /// One backslash escape at `pos`; appends its byte. False after reporting an error.
    private mutating func scanEscape(into out: inout [UInt8]) -> Bool {
        let at = location
        pos += 1
        guard pos < bytes.count else { return false }  // reported as an unterminated string
        let c = bytes[pos]
        pos += 1
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"): out.append(c)
        case UInt8(ascii: "a"): out.append(0x07)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "v"): out.append(0x0B)
        case UInt8(ascii: "x"):
            guard pos + 1 < bytes.count, let h = hexDigitValue(bytes[pos]), let l = hexDigitValue(bytes[pos + 1]) else {
                log.error(at, "`\\x` must be followed by two hex digits")
                return false
            }
            pos += 2
            let v = h << 4 | l
            guard v != 0 else {
                log.error(at, "a string cannot hold a NUL character (`\\x00`)")
                return false
            }
            out.append(v)
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            var v = Int(c - UInt8(ascii: "0"))
            var n = 1
            while n < 3, pos < bytes.count, bytes[pos] >= UInt8(ascii: "0"), bytes[pos] <= UInt8(ascii: "7") {
                v = v * 8 + Int(bytes[pos] - UInt8(ascii: "0"))
                pos += 1
                n += 1
            }
            guard v <= 0xFF else {
                log.error(at, "octal escape `\\\(String(v, radix: 8))` is above \\377")
                return false
            }
            guard v != 0 else {
                log.error(at, "a string cannot hold a NUL character (`\\0`)")
                return false
            }
            out.append(UInt8(v))
        case UInt8(ascii: "\n") where mode == .xm:
            newline()  // Python: backslash-newline inside a string continues it
        default:
            if mode == .xm {
                out.append(UInt8(ascii: "\\"))  // Python keeps unknown escapes as written
                out.append(c)
                return true
            }
            let shown = c < 0x20 || c >= 0x7f ? "\\x" + hex(Int(c), 2) : String(UnicodeScalar(c))
            log.error(at, "invalid escape `\\\(shown)` in a string (valid: \\\" \\' \\\\ \\a \\b \\f \\n \\r \\t \\v \\xHH \\ooo)")
            return false
        }
        return true
    }
}
