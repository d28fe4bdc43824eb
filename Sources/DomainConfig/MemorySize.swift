// xl's grammar for a memory size given on the command line (`xl mem-set`,
// `xl mem-max`): a number and an optional unit, MiB without one.

public enum MemorySize {
    /// The size in MiB (rounded down) of `512`, `512m`, `2g`, `65536k`, `1t`
    /// or `1048576b` (units in either case); nil when the text is not a
    /// size or the size does not fit in 64 bits of KiB.
    public static func parse(_ text: String) -> UInt64? {
        guard let last = text.last else { return nil }
        let (digits, shiftKiB): (Substring, Int) = switch last {
        case "k", "K": (text.dropLast(), 0)
        case "m", "M": (text.dropLast(), 10)
        case "g", "G": (text.dropLast(), 20)
        case "t", "T": (text.dropLast(), 30)
        case "b", "B": (text.dropLast(), -10)
        default: (Substring(text), 10)
        }
        guard let n = UInt64(digits) else { return nil }
        if shiftKiB < 0 { return n >> 20 }
        guard n <= UInt64.max >> shiftKiB else { return nil }
        return (n << UInt64(shiftKiB)) >> 10
    }
}
