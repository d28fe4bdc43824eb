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
    /// The entry no longer grants anything: the domain it named went (or
    /// never was) while the entry stood, so a later domain with the same id
    /// must not inherit it (Xen 4.17's `XS_PERM_IGNORE`). Shown and sent as
    /// any entry is; kept in storage with a `!` after it.
    public var ignored: Bool

    public init(_ access: Access, _ domid: UInt32, ignored: Bool = false) {
        self.access = access
        self.domid = domid
        self.ignored = ignored
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

    /// (Inlinable: the daemon reads it several times per change.)
    @inlinable
    public var owner: UInt32 { entries[0].domid }

    /// What `domid` may do, ignoring privilege: the owner everything, a
    /// listed domain its first entry that is not ignored, anyone else the
    /// first entry's letter.
    public func access(for domid: UInt32) -> XSPermission.Access {
        if domid == owner { return .both }
        for entry in entries.dropFirst() where entry.domid == domid && !entry.ignored { return entry.access }
        return entries[0].access
    }

    /// The domains that later entries grant something to (not ignored, not the owner).
    public var grantees: some Sequence<UInt32> {
        entries.dropFirst().lazy.filter { !$0.ignored && $0.domid != self.owner }.map(\.domid)
    }

    /// The same list with the later entries naming `domid` ignored; nil when none was live.
    public func ignoring(_ domid: UInt32) -> XSPermissions? {
        guard entries.dropFirst().contains(where: { $0.domid == domid && !$0.ignored }) else { return nil }
        var copy = self
        for i in copy.entries.indices.dropFirst() where copy.entries[i].domid == domid { copy.entries[i].ignored = true }
        return copy
    }

    /// The wire form: each entry NUL-terminated.
    public var payload: [UInt8] { XSPayload.strings(entries.map(\.description)) }

    /// The form storage keeps: as ``description``, an ignored entry with a `!` after it (`n0,r5!`).
    public var storageText: String { entries.map { $0.description + ($0.ignored ? "!" : "") }.joined(separator: ",") }

    /// Reads ``storageText``; nil if malformed.
    public init?(storageText: String) {
        var parsed: [XSPermission] = []
        for item in storageText.split(separator: ",", omittingEmptySubsequences: false) {
            let ignored = item.hasSuffix("!")
            guard var p = XSPermission(String(ignored ? item.dropLast() : item)) else { return nil }
            p.ignored = ignored
            parsed.append(p)
        }
        self.init(parsed)
    }

    /// As `xenstore-ls -p` and `xenstore-getperms` show it, e.g. `n0,r1`.
    public var description: String { entries.map(\.description).joined(separator: ",") }
}
