import DomainConfig
import Testing

/// What the fuzzer found in the config readers (inputs in Fuzz/regressions/).
@Suite struct FuzzFindingsTests {
    /// A raw NUL byte inside a string is refused as the escapes `\x00` and
    /// `\0` are (xl's C string would end there); it was kept, and the xl.cfg
    /// written from the model then did not read back.
    @Test func rawNULInAStringIsAnError() {
        let result = DomainConfiguration.parse(text: "name = \"g\"\nmemory = 64\nkernel = \"/k\"\ncmdline = \"a\u{0}b\"\n",
                                               fileName: "g.cfg", format: .xl)
        #expect(result.configuration == nil)
        #expect(result.errors.map(\.description) == ["g.cfg:4:13: error: a string cannot hold a NUL character"])
    }

    /// An SXP image field xl.cfg has no key for is an unknown key (with a
    /// warning), as the xl.cfg reader keeps it, not a `platform` key: the two
    /// readers then read each other's output the same.
    @Test func unknownSXPImageFieldIsAnUnknownKey() throws {
        let sxp = "(vm (name g) (memory 64) (image (linux (kernel /k) (frobnicate 3) (acpi 1))))"
        let result = DomainConfiguration.parse(text: sxp, fileName: "g.sxp", format: .sxp)
        let config = try #require(result.configuration)
        #expect(config.unknown.keys.sorted() == ["frobnicate"])
        #expect(config.platform == ["acpi": "1"])
        #expect(result.warnings.map(\.message) == ["unknown image field `frobnicate`"])
        let again = try #require(DomainConfiguration.parse(text: config.xlText(), fileName: "g.cfg", format: .xl).configuration)
        #expect(again.jsonText() == config.jsonText())
    }

    /// A NUL byte in an SXP file is refused, in an atom or a string.
    @Test(arguments: ["(vm (name g) (memory 64) (image (linux (kernel /k\u{0}))))",
                      "(vm (name g) (memory 64) (image (linux (kernel '/k\u{0}'))))"])
    func nulInSXPIsAnError(text: String) {
        let result = DomainConfiguration.parse(text: text, fileName: "g.sxp", format: .sxp)
        #expect(result.configuration == nil)
        #expect(result.errors.map(\.message) == ["a config cannot hold a NUL character"])
    }

    /// An xm file's unknown key that xl.cfg cannot spell is written as a
    /// comment in the xl.cfg form (xl would refuse the line), which reads back.
    @Test func xmPythonNameIsACommentInXLOutput() throws {
        let xm = "name = 'g'\nmemory = 64\nkernel = '/k'\n_cpus = 1\n"
        let config = try #require(DomainConfiguration.parse(text: xm, fileName: "g.cfg", format: .xm).configuration)
        #expect(config.unknown.keys.sorted() == ["_cpus"])
        let xl = config.xlText()
        #expect(xl.hasSuffix("\n# _cpus = 1  (not an xl.cfg key)\n"))
        let again = DomainConfiguration.parse(text: xl, fileName: "again.cfg", format: .xl)
        #expect(again.errors.isEmpty)
        #expect(again.configuration?.unknown.isEmpty == true)
    }

    /// A typed key inside an SXP image is ignored with a warning (it was kept
    /// as an unknown `vcpus`, which the xl.cfg form then wrote twice).
    @Test func typedKeyInsideAnSXPImageIsIgnoredWithAWarning() throws {
        let sxp = "(vm (name g) (memory 64) (vcpus 1) (image (linux (kernel /k) (vcpus 256))))"
        let result = DomainConfiguration.parse(text: sxp, fileName: "g.sxp", format: .sxp)
        let config = try #require(result.configuration)
        #expect(config.VCPUs_max == 1)
        #expect(config.unknown.isEmpty)
        #expect(result.warnings.map(\.message) == ["image field `vcpus` belongs at the top level, not in the image; ignored"])
    }

    /// A comma in a value of an SXP device that xl.cfg spells as
    /// `key=value,...` was kept (`(vif (bridge a,b))`); the xl.cfg form then
    /// split it into another parameter and did not read back. Now an error;
    /// a console, which has no xl.cfg form, may still hold one.
    @Test(arguments: [("(vif (bridge xenbr0,x))", "`bridge` holds a `,`, which xl's vif spec cannot carry in a value"),
                      ("(vif (bridge xenbr0) (script vif-bridge,x))", "`script` holds a `,`, which xl's vif spec cannot carry in a value"),
                      ("(vfb (type vnc) (keymap en,x))", "`keymap` holds a `,`, which xl's vfb spec cannot carry in a value")])
    func commaInAnSXPDeviceValueIsAnError(device: String, message: String) {
        let sxp = "(vm (name g) (memory 64) (image (linux (kernel /k))) (device \(device)))"
        let result = DomainConfiguration.parse(text: sxp, fileName: "g.sxp", format: .sxp)
        #expect(result.configuration == nil)
        #expect(result.errors.map(\.message) == [message])
    }

    @Test func aCommaInAnSXPConsoleIsKept() throws {
        let sxp = "(vm (name g) (memory 64) (image (linux (kernel /k))) (device (console (protocol vt100) (location a,b))))"
        let config = try #require(DomainConfiguration.parse(text: sxp, fileName: "g.sxp", format: .sxp).configuration)
        #expect(config.consoles.map(\.location) == ["a,b"])
    }
}
