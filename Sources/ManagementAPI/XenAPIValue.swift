// The values the XenAPI carries, whichever envelope brings them.
//
// XML-RPC and JSON-RPC both reduce to this: XAPI sends integers as decimal
// strings in records, but a client may send a real integer (an XML-RPC
// <int>, a JSON number), so both are kept apart here and the methods decide.

public indirect enum XenAPIValue: Equatable, Sendable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case double(Double)
    /// XML-RPC's dateTime.iso8601, kept as its text (XAPI writes `20261204T13:18:30Z`).
    case dateTime(String)
    case array([XenAPIValue])
    /// A struct or a map; the encoders write the keys in sorted order.
    case `struct`([String: XenAPIValue])
    /// XML-RPC's <nil/> (an extension XAPI accepts) and JSON's null.
    case null
}

/// What a call returns, before an envelope is put around it: XAPI's
/// `{Status: Success, Value: v}` or `{Status: Failure, ErrorDescription: [code, args...]}`.
public enum XenAPIResult: Equatable, Sendable {
    case success(XenAPIValue)
    case failure([String])

    public static func failure(_ code: String, _ args: String...) -> XenAPIResult {
        .failure([code] + args)
    }
}
