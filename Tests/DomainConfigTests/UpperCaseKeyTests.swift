import Testing
@testable import DomainConfig

/// A key with an upper-case letter is xl's lexical error
/// (tools/libs/util/libxlu_cfg_l.l: keys are `[a-z][._0-9a-z]*`): a file
/// that holds one fails, as in xl, instead of being read as an xm file;
/// an xm file (xm's own syntax elsewhere in it) is still read as xm.
@Suite struct UpperCaseKeyTests {
    @Test func anXlFileWithAnUpperCaseKeyFails() {
        let r = DomainConfiguration.parse(text: "name = 'x'\nkernel = '/k'\nMemory = 64\n", fileName: "f.cfg", format: .auto,
                                          options: fixedOptions)
        #expect(r.configuration == nil)
        #expect(r.format == .xl)
        #expect(r.diagnostics.map(\.description) == [
            "f.cfg:3:1: error: invalid key `Memory`: xl.cfg keys are lower-case letters, digits, `.` and `_`, starting with a letter",
        ])
    }

    @Test func anXmFileKeepsItsNames() {
        let r = DomainConfiguration.parse(text: "name = 'x'\nkernel = '/k'\nMemory = 64\nvnc = None\n", fileName: "f.cfg",
                                          format: .auto, options: fixedOptions)
        #expect(r.format == .xm)
        #expect(r.configuration?.name_label == "x")
        #expect(r.diagnostics.map(\.description) == ["f.cfg:3:1: warning: unknown key `Memory` (did you mean `memory`?)"])
    }

    /// xl's xlu_cfg_get_long: a scheduler value that is not a number is warned about and not used.
    @Test func schedulerValuesThatAreNoNumbers() {
        let r = DomainConfiguration.parse(text: "name = 'x'\nkernel = '/k'\ncpu_weight = 'heavy'\ncap = [1]\n", fileName: "f.cfg",
                                          format: .xl, options: fixedOptions)
        #expect(r.configuration?.schedWeight == nil && r.configuration?.schedCap == nil)
        #expect(r.configuration?.platform["cpu_weight"] == nil && r.configuration?.platformLists["cap"] == nil)
        #expect(r.diagnostics.map(\.description) == [
            "f.cfg:3:1: warning: `cpu_weight` is not a valid number (\"heavy\"); ignored",
            "f.cfg:4:1: warning: `cap` is a list but should be a single value; ignored",
        ])
        let good = DomainConfiguration.parse(text: "name = 'x'\nkernel = '/k'\ncpu_weight = 0x200\ncap = '50'\n", fileName: "f.cfg",
                                             format: .xl, options: fixedOptions)
        #expect(good.configuration?.schedWeight == 512 && good.configuration?.schedCap == 50)
    }
}
