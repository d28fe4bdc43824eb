// JSON laid out as yajl 2's generator lays it out with `yajl_gen_beautify`,
// the layout xl's `list -l` and `create -n` print (libxl_yajl_gen_alloc in
// tools/include/libxl_json.h): scripts grep that text, so swxl prints the
// same bytes.

extension JSONValue {
    /// yajl's beautified text: every member and array item on its own line,
    /// four spaces per level, `"key": value`, `,` at the end of every line
    /// but a container's last; an empty map or array still opens, has an
    /// empty line and closes (`{`, ``, `}`); a final newline after the
    /// top-level value. Strings are escaped as yajl_string_encode does
    /// (`/` is not; other control characters as `\u00XX`, upper case).
    public func yajlBeautified() -> String {
        var out = ""
        writeYajl(to: &out, depth: 0)
        return out + "\n"
    }

    private func writeYajl(to out: inout String, depth: Int) {
        let inner = String(repeating: "    ", count: depth + 1)
        let closing = String(repeating: "    ", count: depth)
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): out += yajlQuoted(s)
        case .array(let items):
            out += "[\n"
            for (i, item) in items.enumerated() {
                if i > 0 { out += ",\n" }
                out += inner
                item.writeYajl(to: &out, depth: depth + 1)
            }
            out += "\n" + closing + "]"
        case .object(let members):
            out += "{\n"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += ",\n" }
                out += inner + yajlQuoted(key) + ": "
                value.writeYajl(to: &out, depth: depth + 1)
            }
            out += "\n" + closing + "}"
        }
    }
}

/// A string as yajl_string_encode writes it: `"` `\` and the control
/// characters with short escapes (`\b \f \n \r \t`) escaped with a
/// backslash, other control characters as `\u00XX` (upper case); DEL and
/// non-ASCII as they are.
func yajlQuoted(_ s: String) -> String {
    escapedQuoted(s) { c in
        switch c {
        case 0x08: return "\\b"
        case 0x0c: return "\\f"
        case 0x7f: return "\u{7f}"
        default: return "\\u00" + hex(c, 2).uppercased()
        }
    }
}
