import Testing
import DomainConfig

@Suite struct MemorySizeTests {
    @Test func unitsAndTheDefault() {
        let sizes: [String: UInt64?] = [
            "512": 512, "512m": 512, "512M": 512, "2g": 2048, "2G": 2048, "1t": 1 << 20, "1T": 1 << 20,
            "65536k": 64, "65536K": 64, "1536k": 1, "1048576b": 1, "1048575B": 0, "0": 0,
        ]
        for (text, mib) in sizes { #expect(MemorySize.parse(text) == mib, "\(text)") }
    }

    @Test func whatIsNotASize() {
        for text in ["", "m", "-1", "1.5g", "12x", " 512", "512 ", "0x10", "1gb", "99999999999999999999"] {
            #expect(MemorySize.parse(text) == nil, "\(text)")
        }
        // Sizes whose KiB do not fit in 64 bits are refused, not wrapped.
        #expect(MemorySize.parse("17179869184t") == nil)
        #expect(MemorySize.parse("17179869183t") == 17179869183 << 20)
    }

    @Test func overrideKeys() {
        for key in ["memory", "a", "x_y.z9", "on_crash"] { #expect(DomainConfiguration.isValidKey(Substring(key)), "\(key)") }
        for key in ["", "Memory", "9a", "_a", "a-b", "a b", "é"] { #expect(!DomainConfiguration.isValidKey(Substring(key)), "\(key)") }
    }
}
