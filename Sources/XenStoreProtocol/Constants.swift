/// Domain ids as xenstore sees them (`xen/include/public/xen.h`).
public enum XSDomid {
    /// `DOMID_FIRST_RESERVED`: ids from here up name special domains
    /// (`DOMID_SELF`, `DOMID_IO`, ...), never a guest.
    public static let firstReserved: UInt32 = 0x7ff0
}

/// The states a split driver's frontend and backend pass through, written
/// to their `state` nodes as decimal numbers (`xen/include/public/io/xenbus.h`).
public enum XenbusState: Int, Sendable, CaseIterable {
    case unknown = 0
    case initialising = 1
    /// The backend waits for the frontend's details (or for hotplug).
    case initWait = 2
    /// The frontend has published its details.
    case initialised = 3
    case connected = 4
    /// The device is going away; the other end should close too.
    case closing = 5
    case closed = 6
    case reconfiguring = 7
    case reconfigured = 8

    /// As written in a `state` node.
    public var text: String { String(rawValue) }

    /// The state a `state` node's value names, nil for anything else.
    public init?(text: String) {
        guard let value = Int(text) else { return nil }
        self.init(rawValue: value)
    }
}
