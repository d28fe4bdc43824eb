import XenStoreProtocol

/// A failed xenstore operation.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The xenstore error, when the daemon answered with one.
    public var error: XSError?
    /// What was being done, e.g. "write /local/domain/1/name".
    public var operation: String
    public var message: String

    public init(_ operation: String, error: XSError?, message: String? = nil) {
        self.operation = operation
        self.error = error
        self.message = message ?? error?.message ?? "failed"
    }

    public var description: String { "xenstore: \(operation): \(message)" }
}

/// What the toolstack needs from xenstore. `XenStoreConnection` speaks
/// the wire protocol; tests may substitute their own.
public protocol StoreAccess: AnyObject {
    /// The value, or nil when the node does not exist.
    func read(_ path: String) throws(StoreError) -> String?
    /// The children's names; empty when the node does not exist.
    func directory(_ path: String) throws(StoreError) -> [String]
    func write(_ path: String, _ value: String) throws(StoreError)
    /// Removes a subtree; a missing node is not an error.
    func remove(_ path: String) throws(StoreError)
    /// Nil when the node does not exist.
    func permissions(_ path: String) throws(StoreError) -> XSPermissions?
    /// In one transaction (retried on EAGAIN): removes `removals`, then
    /// writes each node's value and sets its permissions, in order.
    func commit(removals: [String], writes: [StoreNode]) throws(StoreError)
    /// Many reads at once (nil for missing nodes), in order.
    func readMany(_ paths: [String]) throws(StoreError) -> [String?]
    func introduce(domid: UInt32, mfn: UInt64, port: UInt32) throws(StoreError)
    func release(domid: UInt32) throws(StoreError)
}
