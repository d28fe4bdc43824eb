import Testing
@testable import DomainConfig

@Suite struct XLGrammarTests {
    @Test func assignmentsAndSeparators() {
        let r = raw("a = 1\nb = \"two\"; c = 'three'\n;;\nd=4")
        #expect(r.diagnostics == [])
        #expect(r.settings == [KV("a", .s("1")), KV("b", .s("two")), KV("c", .s("three")), KV("d", .s("4"))])
    }

    @Test func lastAssignmentWins() {
        let r = raw("a = 1\nb = 2\na = 3\n")
        #expect(r.settings == [KV("a", .s("3")), KV("b", .s("2"))])
    }

    @Test func additionOfStringsAndLists() {
        let r = raw("s = \"x\"\ns += \"y\"\nl = [1]\nl += [2, 3]\nn += \"fresh\"\n")
        #expect(r.diagnostics == [])
        #expect(r.settings == [KV("s", .s("xy")), KV("l", .l([.s("1"), .s("2"), .s("3")])), KV("n", .s("fresh"))])
    }

    @Test func additionAfterReassignmentUsesTheNewValue() {
        let r = raw("a = \"1\"\na += \"2\"\na = \"3\"\na += \"4\"\n")
        #expect(r.settings == [KV("a", .s("34"))])
    }

    @Test func mixingStringAndListAdditionIsAnError() {
        let r = raw("a = \"x\"\na += [1]\nl = [1]\nl += \"y\"\n")
        #expect(r.diagnostics == [
            "t.cfg:2:6: error: can't add a list to a string or a string to a list (`a +=`)",
            "t.cfg:4:6: error: can't add a list to a string or a string to a list (`l +=`)",
        ])
    }

    @Test func keys() {
        let r = raw("a.b_c9 = 1\nz = 2\n")
        #expect(r.settings == [KV("a.b_c9", .s("1")), KV("z", .s("2"))])
        #expect(raw("Memory = 1\n").diagnostics == [
            "t.cfg:1:1: error: invalid key `Memory`: xl.cfg keys are lower-case letters, digits, `.` and `_`, starting with a letter",
        ])
        #expect(raw("_a = 1\n").diagnostics.first?.hasPrefix("t.cfg:1:1: error: invalid key `_a`") == true)
    }

    @Test func numbersAreKeptAsText() {
        let r = raw("a = 0x10\nb = 010\nc = 12abc\nd = 0\n")
        #expect(r.diagnostics == [])
        #expect(r.settings == [KV("a", .s("0x10")), KV("b", .s("010")), KV("c", .s("12abc")), KV("d", .s("0"))])
    }

    @Test func numbersReadAsCsStrtolBaseZero() {
        #expect(parseCInteger("0x10") == 16)
        #expect(parseCInteger("010") == 8)
        #expect(parseCInteger("10") == 10)
        #expect(parseCInteger("0") == 0)
        #expect(parseCInteger("-3") == -3)
        #expect(parseCInteger("08") == nil)
        #expect(parseCInteger("12abc") == nil)
        #expect(parseCInteger("") == nil)
        let model = parseXL("name = \"g\"\nkernel = \"/k\"\nmemory = 0x100\nmaxmem = 01000\n").configuration
        #expect(model?.memory_dynamic_max == 256 << 20)
        #expect(model?.memory_static_max == 512 << 20)
    }

    @Test func badNumbers() {
        #expect(raw("a = 1.5\n").diagnostics == [
            "t.cfg:1:5: error: invalid number `1.5`: write an integer (decimal, 0x hex or 0 octal) or quote the value",
        ])
        #expect(raw("a = 0x1F\n").diagnostics == [
            "t.cfg:1:5: error: invalid number `0x1F`: write an integer (decimal, 0x hex or 0 octal) or quote the value",
        ])
    }

    @Test func quotedStrings() {
        let r = raw(#"a = "it's"; b = 'say "hi"'; c = "é ü"; d = ""; e = ''"#)
        #expect(r.diagnostics == [])
        #expect(r.settings == [KV("a", .s("it's")), KV("b", .s("say \"hi\"")), KV("c", .s("é ü")), KV("d", .s("")), KV("e", .s(""))])
    }

    @Test func everyEscape() {
        let r = raw(#"a = "\" \' \\ \a \b \f \n \r \t \v""# + "\n" + #"b = '\x41\x7e\101\7\60x'"# + "\n")
        #expect(r.diagnostics == [])
        #expect(r.settings == [
            KV("a", .s("\" ' \\ \u{07} \u{08} \u{0C} \n \r \t \u{0B}")),
            KV("b", .s("A~A\u{07}0x")),
        ])
    }

    @Test func escapeErrors() {
        let r = raw(#"a = "\q""# + "\n" + #"b = "\x4""# + "\n" + #"c = "\0""# + "\n" + #"d = "\777""# + "\n")
        #expect(r.diagnostics == [
            #"t.cfg:1:6: error: invalid escape `\q` in a string (valid: \" \' \\ \a \b \f \n \r \t \v \xHH \ooo)"#,
            #"t.cfg:2:6: error: `\x` must be followed by two hex digits"#,
            #"t.cfg:3:6: error: a string cannot hold a NUL character (`\0`)"#,
            #"t.cfg:4:6: error: octal escape `\777` is above \377"#,
        ])
        #expect(r.settings == [])
    }

    @Test func unterminatedStrings() {
        #expect(raw("a = \"abc\nb = 1\n").diagnostics == [
            "t.cfg:1:5: error: unterminated string: missing closing quote before the end of the line",
        ])
        #expect(raw("a = 'abc").diagnostics == ["t.cfg:1:5: error: unterminated string: missing closing quote"])
        // The line after an unterminated string still counts.
        #expect(raw("a = \"abc\nb = 1\n").settings == [KV("b", .s("1"))])
    }

    @Test func lists() {
        let r = raw("""
        a = [ 1, "two", 'three' ]
        b = [
            "x",   # a comment
            [ "nested", [ 1 ] ],
        ]
        c = []
        d = [[]]
        """)
        #expect(r.diagnostics == [])
        #expect(r.settings == [
            KV("a", .l([.s("1"), .s("two"), .s("three")])),
            KV("b", .l([.s("x"), .l([.s("nested"), .l([.s("1")])])])),
            KV("c", .l([])),
            KV("d", .l([.l([])])),
        ])
    }

    @Test func listErrors() {
        #expect(raw("a = [,]\n").diagnostics == ["t.cfg:1:6: error: unexpected `,`: expected a value (a string, a number or a [list])"])
        #expect(raw("a = [1 2]\n").diagnostics == ["t.cfg:1:8: error: unexpected number `2`: expected `,` or `]`"])
        #expect(raw("a = ]\n").diagnostics == ["t.cfg:1:5: error: unexpected `]`: expected a value (a string, a number or a [list])"])
        #expect(raw("a = [\n").diagnostics == ["t.cfg:2:1: error: unexpected end of file: expected a value (a string, a number or a [list])"])
    }

    @Test func comments() {
        let r = raw("# leading\na = 1 # trailing\n   # indented\nb = \"# not a comment\"\n# last, no newline")
        #expect(r.diagnostics == [])
        #expect(r.settings == [KV("a", .s("1")), KV("b", .s("# not a comment"))])
    }

    @Test func statementErrors() {
        #expect(raw("a = 1 b = 2\n").diagnostics == [
            "t.cfg:1:7: error: unexpected name `b`: expected the end of the setting of `a` (a newline or `;`)",
        ])
        #expect(raw("a\n").diagnostics == ["t.cfg:1:2: error: unexpected end of line: expected `=` or `+=` after `a`"])
        #expect(raw("= 1\n").diagnostics == ["t.cfg:1:1: error: unexpected `=`: expected a `key = value` setting"])
        #expect(raw("a == 1\n").diagnostics == ["t.cfg:1:3: error: unexpected `==`: expected `=` or `+=` after `a` (xl.cfg files are not Python)"])
        #expect(raw("a =\n1\n").diagnostics.first == "t.cfg:1:4: error: unexpected end of line: expected a value (a string, a number or a [list])")
        #expect(raw("a = b\n").diagnostics == ["t.cfg:1:5: error: unexpected name `b`: expected a value (a string, a number or a [list])"])
    }

    @Test func everyErrorInOneRun() {
        let r = raw("""
        name = "ok"
        memory = 1.5
        vcpus = [1 2]
        Bad = 1
        kernel = "\\q"
        maxmem = 512
        """)
        #expect(r.diagnostics == [
            "t.cfg:2:10: error: invalid number `1.5`: write an integer (decimal, 0x hex or 0 octal) or quote the value",
            "t.cfg:3:12: error: unexpected number `2`: expected `,` or `]`",
            "t.cfg:4:1: error: invalid key `Bad`: xl.cfg keys are lower-case letters, digits, `.` and `_`, starting with a letter",
            #"t.cfg:5:11: error: invalid escape `\q` in a string (valid: \" \' \\ \a \b \f \n \r \t \v \xHH \ooo)"#,
        ])
        // What could be read still is.
        #expect(r.settings == [KV("name", .s("ok")), KV("maxmem", .s("512"))])
    }

    @Test func carriageReturnsAreReported() {
        #expect(raw("a = 1\r\n").diagnostics == [
            "t.cfg:1:6: error: carriage return in the file (CRLF line ends?): xl.cfg lines end with a newline only",
        ])
    }

    @Test func pythonInAnXlFileIsNamed() {
        #expect(raw("import os\n").diagnostics == [
            "t.cfg:1:1: error: xm-style Python code is not executed (a Python `import` statement); write the value itself, e.g. `memory = 512` or `disk = [ 'phy:/dev/vg/guest,xvda,w' ]`",
        ])
        #expect(raw("a = -1\n").diagnostics == ["t.cfg:1:5: error: unexpected `-`: expected a value (a string, a number or a [list]) (xl.cfg files are not Python)"])
    }

    @Test func controlCharactersAreShownEscaped() {
        #expect(raw("a = 1\u{0C}\n").diagnostics == ["t.cfg:1:6: error: unexpected character `\\x0c`"])
    }
}
