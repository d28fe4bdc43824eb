// xend's S-expressions, as `xm create -n` and `xm list -l` printed them:
//   (vm (name g) (memory 256) (image (linux (kernel /boot/vmlinuz) ...))
//       (device (vbd (uname phy:/dev/vg/g) (dev xvda) (mode w))) ...)

/// One S-expression: an atom or a list, with where it starts in the text.
public indirect enum SExpr: Sendable, Hashable {
    case atom(String, SourceLocation)
    case list([SExpr], SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .atom(_, let l), .list(_, let l): return l
        }
    }

    var atom: String? {
        if case .atom(let a, _) = self { return a }
        return nil
    }

    var items: [SExpr]? {
        if case .list(let i, _) = self { return i }
        return nil
    }

    /// `(name ...)`: the head atom of a list.
    var head: String? { items?.first?.atom }

    /// For `(key value)`: the value atom.
    var value: String? {
        guard let i = items, i.count == 2 else { return nil }
        return i[1].atom
    }

    /// The `(key ...)` children of a list.
    func children(_ key: String) -> [SExpr] {
        (items ?? []).dropFirst().filter { $0.head == key }
    }

    func child(_ key: String) -> SExpr? { children(key).last }

    // MARK: text

    /// On one line.
    public var flatText: String {
        switch self {
        case .atom(let a, _): return sxpQuote(a)
        case .list(let items, _): return "(" + items.map(\.flatText).joined(separator: " ") + ")"
        }
    }

    /// Indented text: a list that fits in 80 columns on one line, else its
    /// sub-lists one per line below it.
    public func text(indent: Int = 0) -> String {
        switch self {
        case .atom(let a, _): return sxpQuote(a)
        case .list(let items, _):
            let flat = flatText
            if items.allSatisfy({ $0.atom != nil }) || items.count <= 1 || indent * 4 + flat.count <= 80 {
                return flat
            }
            var out = "("
            var first = true
            for item in items {
                if first {
                    out += item.text(indent: indent + 1)
                    first = false
                } else if item.atom != nil {
                    out += " " + item.text()
                } else {
                    out += "\n" + String(repeating: "    ", count: indent + 1) + item.text(indent: indent + 1)
                }
            }
            return out + ")"
        }
    }
}

/// Atoms of letters, digits and `_ - . / : @ + ,` stay bare; others are single-quoted.
func sxpQuote(_ s: String) -> String {
    let bare = !s.isEmpty && s.unicodeScalars.allSatisfy { c in
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || "_-./:@+,".unicodeScalars.contains(c)
    }
    return bare ? s : escapedQuoted(s, quote: "'") { "\\x" + hex($0, 2) }
}

struct SXPParser {
    let bytes: [UInt8]
    var pos = 0
    var line = 1
    var lineStart = 0
    var log: DiagnosticLog

    init(text: String, file: String) {
        bytes = Array(text.utf8)
        log = DiagnosticLog(file: file)
    }

    var location: SourceLocation { SourceLocation(line: line, column: pos - lineStart + 1) }

    /// Every top-level expression in the text.
    static func parse(text: String, file: String) -> ([SExpr], [Diagnostic]) {
        var p = SXPParser(text: text, file: file)
        var out: [SExpr] = []
        while true {
            p.skipSpace()
            guard p.pos < p.bytes.count else { break }
            if p.bytes[p.pos] == UInt8(ascii: ")") {
                p.log.error(p.location, "unbalanced `)`")
                p.pos += 1
                continue
            }
            guard let e = p.expr(depth: 0) else { break }
            out.append(e)
        }
        return (out, p.log.items)
    }

    mutating func skipSpace() {
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\n") {
                pos += 1
                line += 1
                lineStart = pos
            } else if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") {
                pos += 1
            } else if c == UInt8(ascii: "#") || c == UInt8(ascii: ";") {
                while pos < bytes.count, bytes[pos] != UInt8(ascii: "\n") { pos += 1 }
            } else {
                return
            }
        }
    }

    mutating func expr(depth: Int) -> SExpr? {
        let start = location
        guard depth < 100 else {
            log.error(start, "nested too deeply")
            return nil
        }
        let c = bytes[pos]
        if c == UInt8(ascii: "(") {
            pos += 1
            var items: [SExpr] = []
            while true {
                skipSpace()
                guard pos < bytes.count else {
                    log.error(start, "unbalanced `(`: the list is not closed")
                    return nil
                }
                if bytes[pos] == UInt8(ascii: ")") {
                    pos += 1
                    return .list(items, start)
                }
                guard let e = expr(depth: depth + 1) else { return nil }
                items.append(e)
            }
        }
        if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
            return quoted(start)
        }
        let begin = pos
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\n") || b == UInt8(ascii: "\r")
                || b == UInt8(ascii: "(") || b == UInt8(ascii: ")") || b == UInt8(ascii: "'") || b == UInt8(ascii: "\"") {
                break
            }
            if b == 0 { log.error(location, Self.nulMessage) }
            pos += 1
        }
        return .atom(String(decoding: bytes[begin..<pos], as: UTF8.self), start)
    }

    /// A NUL byte is refused anywhere, as the xl.cfg reader refuses it in a
    /// string (a C string would end there; xl.cfg cannot write it back).
    static let nulMessage = "a config cannot hold a NUL character"

    mutating func quoted(_ start: SourceLocation) -> SExpr? {
        let quote = bytes[pos]
        pos += 1
        var out: [UInt8] = []
        while true {
            guard pos < bytes.count else {
                log.error(start, "unterminated string")
                return nil
            }
            let c = bytes[pos]
            if c == 0 { log.error(location, Self.nulMessage) }
            pos += 1
            if c == quote { break }
            if c == UInt8(ascii: "\n") {
                line += 1
                lineStart = pos
            }
            guard c == UInt8(ascii: "\\"), pos < bytes.count else {
                out.append(c)
                continue
            }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "x"):
                if pos + 1 < bytes.count, let h = hexDigitValue(bytes[pos]), let l = hexDigitValue(bytes[pos + 1]), h << 4 | l != 0 {
                    out.append(h << 4 | l)
                    pos += 2
                } else {
                    log.error(start, "`\\x` must be followed by two hex digits (not 00)")
                }
            default:
                if e == 0 { log.error(start, Self.nulMessage) }
                out.append(e)
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else {
            log.error(start, "the string is not valid UTF-8")
            return .atom("", start)
        }
        return .atom(s, start)
    }
}

// MARK: - Building expressions

extension SExpr {
    /// Where built expressions are: nowhere in a file.
    static let unplaced = SourceLocation(line: 0, column: 0)

    /// An atom that comes from no file.
    static func word(_ s: String) -> SExpr { .atom(s, unplaced) }

    /// A list that comes from no file.
    static func group(_ items: [SExpr]) -> SExpr { .list(items, unplaced) }

    /// `(key value)`.
    static func pair(_ key: String, _ value: String) -> SExpr { group([word(key), word(value)]) }
}
