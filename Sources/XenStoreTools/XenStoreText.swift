/// Text conventions of Xen's `xenstore-*` tools, so `swxl store` prints and
/// accepts values exactly as they do.
public enum XenStoreText {
    /// A value as `xenstore-read` and `xenstore-ls` print it: printable
    /// ASCII as is, `\t` `\n` `\r` `\\` escaped, bytes below 8 as three
    /// octal digits (`\001`), any other byte as `\xNN`.
    public static func sanitise(_ value: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.underestimatedCount)
        let hex = Array("0123456789abcdef".utf8)
        for c in value {
            if c >= 0x20 && c <= 0x7e && c != UInt8(ascii: "\\") {
                out.append(c)
                continue
            }
            out.append(UInt8(ascii: "\\"))
            switch c {
            case UInt8(ascii: "\t"): out.append(UInt8(ascii: "t"))
            case UInt8(ascii: "\n"): out.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): out.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case 0..<8: out.append(contentsOf: [UInt8(ascii: "0"), UInt8(ascii: "0"), UInt8(ascii: "0") + c])
            default: out.append(contentsOf: [UInt8(ascii: "x"), hex[Int(c >> 4)], hex[Int(c & 15)]])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The inverse, as `xenstore-write` reads its values: `\t` `\n` `\r`
    /// `\\`, `\x` with up to two hex digits, `\` with up to three octal
    /// digits; a backslash before any other character stands for that
    /// character, and a trailing backslash for a NUL byte.
    public static func unsanitise(_ text: String) -> [UInt8] {
        let input = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var i = 0
        func digit(_ b: UInt8, radix: UInt8) -> UInt8? {
            let v: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = b - UInt8(ascii: "A") + 10
            default: return nil
            }
            return v < radix ? v : nil
        }
        while i < input.count {
            let c = input[i]
            i += 1
            guard c == UInt8(ascii: "\\") else { out.append(c); continue }
            guard i < input.count else { out.append(0); break }
            let e = input[i]
            i += 1
            switch e {
            case UInt8(ascii: "t"): out.append(UInt8(ascii: "\t"))
            case UInt8(ascii: "n"): out.append(UInt8(ascii: "\n"))
            case UInt8(ascii: "r"): out.append(UInt8(ascii: "\r"))
            case UInt8(ascii: "x"):
                var value: UInt32 = 0, used = 0
                while used < 2, i < input.count, let d = digit(input[i], radix: 16) {
                    value = value * 16 + UInt32(d); used += 1; i += 1
                }
                out.append(used == 0 ? UInt8(ascii: "x") : UInt8(value))
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = UInt32(e - UInt8(ascii: "0")), used = 1
                while used < 3, i < input.count, let d = digit(input[i], radix: 8) {
                    value = value * 8 + UInt32(d); used += 1; i += 1
                }
                out.append(UInt8(truncatingIfNeeded: value))
            default: out.append(e)
            }
        }
        return out
    }
}
