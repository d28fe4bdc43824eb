/// Numbers as xl prints them, without Foundation's formatters.
public enum DecimalText {
    /// `value` with `places` decimals (printf's `%.<places>f`), rounded half away from zero.
    public static func fixed(_ value: Double, places: Int) -> String {
        var scale: Double = 1
        for _ in 0..<places { scale *= 10 }
        let scaled = (value * scale).rounded()
        let negative = scaled < 0
        let whole = UInt64(abs(scaled))
        let intPart = whole / UInt64(scale)
        var frac = String(whole % UInt64(scale))
        while frac.count < places { frac = "0" + frac }
        return (negative ? "-" : "") + "\(intPart)" + (places > 0 ? "." + frac : "")
    }
}
