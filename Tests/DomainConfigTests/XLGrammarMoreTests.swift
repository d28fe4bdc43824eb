import Testing
@testable import DomainConfig

@Suite struct XLGrammarMoreTests {
    @Test func moreStringErrors() {
        #expect(raw("a = \"abc\\").diagnostics == ["t.cfg:1:5: error: unterminated string: missing closing quote"])
        #expect(raw(#"a = "\xff""#).diagnostics == ["t.cfg:1:5: error: the string is not valid UTF-8"])
        #expect(raw(#"a = "\xc3\xa9""#).settings == [KV("a", .s("é"))])
    }

    @Test func xmOnlyErrors() {
        #expect(raw("a = [ 1, None ]\n", format: .xm).diagnostics == ["t.cfg:1:5: error: `None` cannot be an item of a list"])
        #expect(raw("a = 12x\n", format: .xm).diagnostics == ["t.cfg:1:5: error: invalid number `12x`"])
        #expect(raw("a = '''never closed\n", format: .xm).diagnostics == ["t.cfg:1:5: error: unterminated string: missing closing triple quote"])
        #expect(raw("a = (1, 2\n", format: .xm).diagnostics == ["t.cfg:2:1: error: unexpected end of file: expected `,` or `)`"])
        #expect(raw("a = 1\r\nb = 2\r\n", format: .xm).settings == [KV("a", .s("1")), KV("b", .s("2"))])
        #expect(raw("a = 0b101 + 1\n", format: .xm).diagnostics.first?.hasPrefix("t.cfg:1:11: error: xm-style Python code is not executed (`+` after the value of `a`)") == true)
        #expect(raw("a = 0b101\n", format: .xm).settings == [KV("a", .s("5"))])
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = "a = " + String(repeating: "[", count: 100_000) + "\n"
        #expect(raw(deep).diagnostics == ["t.cfg:1:69: error: lists nested more than 64 deep"])
        #expect(raw(deep, format: .xm).diagnostics == ["t.cfg:1:69: error: lists nested more than 64 deep"])
        let sxp = String(repeating: "(", count: 100_000)
        #expect(DomainConfiguration.parse(text: sxp, fileName: "t", format: .sxp).errors.count == 1)
        let json = String(repeating: "[", count: 100_000)
        #expect(DomainConfiguration.parse(text: json, fileName: "t", format: .json).errors.count == 1)
        let ok = "a = " + String(repeating: "[", count: 64) + String(repeating: "]", count: 64) + "\n"
        #expect(raw(ok).diagnostics == [])
    }
}
