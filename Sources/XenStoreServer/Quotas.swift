/// The limits Xen 4.17's C xenstored applies to unprivileged domains, with its defaults.
public struct Quotas: Sendable, Equatable {
    /// Nodes a domain may own (`-e`, ENOSPC).
    public var entriesPerDomain = 1000
    /// Watches a domain may hold (`-w`, E2BIG).
    public var watchesPerDomain = 128
    /// Bytes of value plus child names in one node (`-s`, ENOSPC).
    public var nodeSize = 2048
    /// Open transactions per connection (`-t`, ENOSPC).
    public var transactionsPerConnection = 10
    /// Entries in one permission list (`-A`, ENOSPC).
    public var permsPerNode = 5
    /// Requests read from one connection whose replies are not yet sent (`-Q`):
    /// above it the daemon stops reading from that connection until it drains.
    public var outstandingRequests = 20

    public init() {}

    /// The names `CONTROL quota` and the log lines use.
    public static let names = ["entries", "watches", "node-size", "transactions", "permissions", "outstanding"]

    public subscript(name: String) -> Int? {
        get {
            switch name {
            case "entries": entriesPerDomain
            case "watches": watchesPerDomain
            case "node-size": nodeSize
            case "transactions": transactionsPerConnection
            case "permissions": permsPerNode
            case "outstanding": outstandingRequests
            default: nil
            }
        }
        set {
            guard let v = newValue else { return }
            switch name {
            case "entries": entriesPerDomain = v
            case "watches": watchesPerDomain = v
            case "node-size": nodeSize = v
            case "transactions": transactionsPerConnection = v
            case "permissions": permsPerNode = v
            case "outstanding": outstandingRequests = v
            default: break
            }
        }
    }
}
