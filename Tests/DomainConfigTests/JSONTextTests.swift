import DomainConfig
import Testing

/// The one JSON string quoting the CLI and the toolstack share.
@Suite struct JSONTextTests {
    @Test func quotesEscapesAndControlCharacters() {
        #expect(JSONText.quoted("") == "\"\"")
        #expect(JSONText.quoted("plain vm-1") == "\"plain vm-1\"")
        #expect(JSONText.quoted("a\"b\\c\nd\re\tf\u{1}g\u{1f}h\u{7f}i") == #""a\"b\\c\nd\re\tf\u0001g\u001fh\u007fi""#)
        #expect(JSONText.quoted("é ✓ 𝄞") == "\"é ✓ 𝄞\"")
    }
}
