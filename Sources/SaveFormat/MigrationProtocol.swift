/// xl's migration handshake (tools/xl/xl.h and xl_migrate.c, Xen 4.17).
/// The banner goes without its NUL; the three messages are sent with
/// theirs (xl sends `sizeof` of the string).
public enum MigrationProtocol {
    public static let receiverBanner: [UInt8] = Array("xl migration receiver ready, send binary domain data.\n".utf8)
    public static let receiverReady: [UInt8] = Array("domain received, ready to unpause".utf8) + [0]
    public static let permissionToGo: [UInt8] = Array("domain is yours, you are cleared to unpause".utf8) + [0]
    public static let report: [UInt8] = Array("my copy unpause results are as follows".utf8) + [0]

    /// Reads `expected` exactly and compares, as `migrate_read_fixedmessage`
    /// does; `what` names it in the error.
    public static func expect(_ expected: [UInt8], from reader: any ExactReader, _ what: String) throws(SaveFormatError) {
        let got = try reader.read(exactly: expected.count, what)
        guard got == expected else {
            throw SaveFormatError(.invalid, "\(what) does not match the expected message")
        }
    }
}
