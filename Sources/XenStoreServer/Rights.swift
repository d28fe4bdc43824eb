import XenStoreProtocol

/// Read, write and owner rights of one connection on one node.
struct Rights: OptionSet {
    let rawValue: UInt8
    static let read = Rights(rawValue: 1)
    static let write = Rights(rawValue: 2)
    static let owner = Rights(rawValue: 4)
    static let all: Rights = [.read, .write, .owner]

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init(_ access: XSPermission.Access) {
        var r: Rights = []
        if access.canRead { r.insert(.read) }
        if access.canWrite { r.insert(.write) }
        self = r
    }
}

extension XSPermissions {
    /// The same list with the first entry naming `domid`.
    func owned(by domid: UInt32) -> XSPermissions {
        var list = entries
        list[0].domid = domid
        return XSPermissions(list)!
    }
}
