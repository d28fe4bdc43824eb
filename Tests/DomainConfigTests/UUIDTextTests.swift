import DomainConfig
import Testing

@Suite struct UUIDTextTests {
    @Test func theTextIsLowercaseDashedHexOfEveryByte() {
        for start in 0..<256 {
            let bytes = (0..<16).map { UInt8((start + $0 * 37) % 256) }
            let expected = bytes.enumerated().map { i, b in
                (i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "") + (b < 16 ? "0" : "") + String(b, radix: 16)
            }.joined()
            let uuid = DomainUUID(bytes: bytes)!
            #expect(uuid.description == expected)
            #expect(DomainUUID(expected) == uuid)
        }
    }
}
