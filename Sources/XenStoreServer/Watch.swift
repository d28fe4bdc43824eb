import XenStoreProtocol

/// A watch set by a connection on a path (or a special `@` name).
final class Watch {
    let connection: ConnectionID
    /// Absolute path or a special `@` name.
    let path: String
    let token: String
    /// Set when the watch was given relative: events then name paths relative to it.
    let relativeBase: String?

    init(connection: ConnectionID, path: String, token: String, relativeBase: String?) {
        self.connection = connection
        self.path = path
        self.token = token
        self.relativeBase = relativeBase
    }
}

/// A change that fires watches.
struct Event {
    var path: String
    /// Only watches set on exactly this path (a node removed below the removed top).
    var exact: Bool
    var perms: XSPermissions
    var oldPerms: XSPermissions? = nil
}
