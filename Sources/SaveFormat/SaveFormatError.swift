/// Why a save file or migration stream could not be read or written.
///
/// `message` is the sentence swxl prints; it names what was being read
/// (the "header", the "config", a record) as xl's messages do, so a
/// truncated file and a file of garbage are told apart.
public struct SaveFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The input ended before `what` was complete.
        case truncated
        /// The bytes are not what the format allows.
        case invalid
        /// The format is understood but this variant is not supported.
        case unsupported
        /// The system refused a read or write (errno).
        case io(Int32)
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
