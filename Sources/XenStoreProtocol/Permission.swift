/// Node permissions.
///
/// On the wire each entry is a letter and a domid: `n` none, `r` read,
/// `w` write, `b` both, e.g. `n0`, `r5`. The first entry names the owner
/// (who has full access) and, by its letter, what every domain not listed
/// may do; the later entries grant to particular domains.
public struct XSPermission: Sendable, Hashable, CustomStringConvertible {
    public enum Access: Character, Sendable, CaseIterable {
        case none = "n", read = "r", write = "w", both = "b"

        public var canRead: Bool { self == .read || self == .both }
        public var canWrite: Bool { self == .write || self == .both }
    }

    public var access: Access
    public var domid: UInt32

    public init(_ access: Access, _ domid: UInt32) {
        self.access = access
        self.domid = domid
    }

    /// Parses `r5`-style text; nil if malformed.
    public init?(_ text: String) {
        guard let letter = text.first, let access = Access(rawValue: letter) else { return nil }
        let digits = text.dropFirst()
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let domid = UInt32(digits) else { return nil }
        self.init(access, domid)
    }

    public var description: String { "\(access.rawValue)\(domid)" }
}

/// A node's permission list: never empty.
public struct XSPermissions: Sendable, Hashable, CustomStringConvertible {
    public private(set) var entries: [XSPermission]

    /// nil for an empty list.
    public init?(_ entries: [XSPermission]) {
        guard !entries.isEmpty else { return nil }
        self.entries = entries
    }

    /// Owned by `owner`, no access for others.
    public init(owner: UInt32, others: XSPermission.Access = .none) {
        entries = [XSPermission(others, owner)]
    }

    /// Parses a list of entries as sent in SET_PERMS; nil if any is malformed or the list is empty.
    public init?(parsing texts: [String]) {
        var parsed: [XSPermission] = []
        for text in texts {
            guard let p = XSPermission(text) else { return nil }
            parsed.append(p)
        }
        self.init(parsed)
    }

    public var owner: UInt32 { entries[0].domid }

    /// What `domid` may do, ignoring privilege: the owner everything, a
    /// listed domain its entry, anyone else the first entry's letter.
    public func access(for domid: UInt32) -> XSPermission.Access {
        if domid == owner { return .both }
        for entry in entries.dropFirst() where entry.domid == domid { return entry.access }
        return entries[0].access
    }

    /// The wire form: each entry NUL-terminated.
    public var payload: [UInt8] { XSPayload.strings(entries.map(\.description)) }

    /// As `xenstore-ls -p` and `xenstore-getperms` show it, e.g. `n0,r1`.
    public var description: String { entries.map(\.description).joined(separator: ",") }
}
