#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import XenStoreProtocol

/// What the hypervisor says of a domain, as the daemon's check on
/// `VIRQ_DOM_EXC` needs it (Xen 4.17's `check_domains()`).
public enum HypervisorDomainState: Sendable, Equatable {
    case running
    /// Shut down or crashed, not yet dying.
    case shutDown
    case dying
    /// Not in the hypervisor's domain list.
    case gone
}

/// A guest's xenstore page as the daemon mapped it.
public struct MappedPage: @unchecked Sendable, Equatable {
    public enum Mapping: Sendable, Equatable {
        /// Through the guest's grant table (`GNTTAB_RESERVED_XENSTORE`).
        case grant
        /// By its frame number (a foreign mapping).
        case foreign
    }

    public let base: UnsafeMutableRawPointer
    public let mapping: Mapping

    public init(base: UnsafeMutableRawPointer, mapping: Mapping) {
        self.base = base
        self.mapping = mapping
    }
}

/// Why the hypervisor refused: the operation and its errno.
public struct PlatformError: Error, Sendable, Equatable, CustomStringConvertible {
    public var operation: String
    public var errno: Int32

    public init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String { "\(operation): \(String(cString: strerror(errno)))" }

    /// The xenstore error a request that needed this gets (EIO for an errno xenstore has no name for).
    public var xsError: XSError { XSError.allCases.first { $0.errno == errno } ?? .EIO }
}

/// The hypervisor-facing side of guests' rings on a Xen host, small so
/// that everything above it is tested without Xen: ``XenDomainPlatform``
/// is the real one (CXen), the tests have a fake over ordinary memory.
/// One event-channel handle serves every port, `VIRQ_DOM_EXC` included.
public protocol DomainPlatform: AnyObject {
    /// Maps `domid`'s xenstore page (frame `mfn`, as `XS_INTRODUCE` gives it).
    func mapRing(domid: UInt32, mfn: UInt64) throws(PlatformError) -> MappedPage
    func unmap(_ page: MappedPage, domid: UInt32)
    /// Binds `domid`'s unbound port `remotePort`: the local port.
    func bind(domid: UInt32, remotePort: UInt32) throws(PlatformError) -> UInt32
    func unbind(localPort: UInt32)
    func notify(localPort: UInt32)
    /// Binds `VIRQ_DOM_EXC`: the local port.
    func bindDomainExceptionVIRQ() throws(PlatformError) -> UInt32
    func state(of domid: UInt32) -> HypervisorDomainState
    /// The descriptor that is readable when a port fired (-1: none, the caller polls ``takePendingPort()``).
    var eventDescriptor: Int32 { get }
    /// The next port that fired, masked until ``unmask(_:)``; nil if none.
    func takePendingPort() -> UInt32?
    func unmask(_ localPort: UInt32)
}
