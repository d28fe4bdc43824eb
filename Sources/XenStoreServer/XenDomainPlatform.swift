#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CXen
import Logging

/// ``DomainPlatform`` on real Xen, through the C bridge: `/dev/xen/privcmd`
/// (the domain list), `/dev/xen/gntdev` (guests' pages), `/dev/xen/evtchn`
/// (one handle for every port). Opened as Xen 4.17's `domain_init()` opens
/// them: any of them missing is an error, the daemon does not start.
public final class XenDomainPlatform: DomainPlatform {
    let xen: OpaquePointer
    let gnttab: OpaquePointer
    let evtchn: OpaquePointer
    /// Opened at the first foreign mapping (the fallback after a grant mapping fails).
    var foreign: OpaquePointer?
    /// For ``yieldVCPU()``; nil where libxencall would not open (the poll
    /// then yields to dom0's tasks only).
    let vcpuYield: OpaquePointer?
    let logger: Logger

    public init(logger: Logger) throws(ServerError) {
        self.logger = logger
        var handle: OpaquePointer?
        let rc = cxen_open(&handle, nil)
        guard rc == 0, let xen = handle else {
            throw ServerError("cannot open the hypervisor interface (/dev/xen/privcmd): \(String(cString: strerror(-rc)))")
        }
        guard let gnttab = cxen_gnttab_open() else {
            let e = errno
            cxen_close(xen)
            throw ServerError("cannot open /dev/xen/gntdev (module xen-gntdev): \(String(cString: strerror(e)))")
        }
        guard let evtchn = cxen_evtchn_open() else {
            let e = errno
            cxen_gnttab_close(gnttab)
            cxen_close(xen)
            throw ServerError("cannot open /dev/xen/evtchn (module xen-evtchn): \(String(cString: strerror(e)))")
        }
        self.xen = xen
        self.gnttab = gnttab
        self.evtchn = evtchn
        vcpuYield = cxen_vcpu_yielder_open()
        if vcpuYield == nil {
            logger.debug("no hypercall interface for yielding dom0's vCPU (\(String(cString: strerror(errno)))): the guest poll yields to dom0's tasks only")
        }
    }

    deinit {
        if let vcpuYield { cxen_vcpu_yielder_close(vcpuYield) }
        if let foreign { cxen_foreign_close(foreign) }
        cxen_evtchn_close(evtchn)
        cxen_gnttab_close(gnttab)
        cxen_close(xen)
    }

    /// Gives dom0's vCPU back to Xen's scheduler for a moment
    /// (`SCHEDOP_yield`): a guest's vCPU that Xen runs on the same physical
    /// CPU then runs now, instead of when dom0's vCPU blocks or its time
    /// slice ends. The guest poll does so between its looks: a guest it
    /// waits for may be that very vCPU.
    public func yieldVCPU() {
        if let vcpuYield { _ = cxen_vcpu_yield(vcpuYield) }
    }

    /// Through the grant table's reserved entry, as Xen 4.17's C daemon;
    /// if the guest's grant table has no such entry, by the frame number, as
    /// its OCaml daemon (a guest built without the seeded entry).
    public func mapRing(domid: UInt32, mfn: UInt64) throws(PlatformError) -> MappedPage {
        var err: Int32 = 0
        if let page = cxen_gnttab_map_xenstore(gnttab, domid, &err) {
            return MappedPage(base: page, mapping: .grant)
        }
        let grantError = PlatformError("grant map of domain \(domid)'s xenstore page", errno: err)
        guard mfn != 0 else { throw grantError }
        if foreign == nil { foreign = cxen_foreign_open() }
        guard let foreign else { throw grantError }
        if let page = cxen_foreign_map_page(foreign, domid, mfn, &err) {
            logger.warning("domain \(domid): \(grantError); its page mapped by frame \(mfn) instead")
            return MappedPage(base: page, mapping: .foreign)
        }
        logger.warning("domain \(domid): \(grantError); mapping frame \(mfn): \(String(cString: strerror(err)))")
        throw grantError
    }

    public func unmap(_ page: MappedPage, domid: UInt32) {
        let rc: Int32
        switch page.mapping {
        case .grant: rc = cxen_gnttab_unmap(gnttab, page.base)
        case .foreign: rc = foreign.map { cxen_foreign_unmap($0, page.base) } ?? -EBADF
        }
        if rc < 0 { logger.error("domain \(domid): unmapping its xenstore page: \(String(cString: strerror(-rc)))") }
    }

    public func bind(domid: UInt32, remotePort: UInt32) throws(PlatformError) -> UInt32 {
        let port = cxen_evtchn_bind_interdomain(evtchn, domid, remotePort)
        guard port >= 0 else { throw PlatformError("binding event channel \(remotePort) of domain \(domid)", errno: -port) }
        return UInt32(port)
    }

    public func unbind(localPort: UInt32) {
        let rc = cxen_evtchn_unbind(evtchn, localPort)
        if rc < 0 { logger.error("unbinding event channel \(localPort): \(String(cString: strerror(-rc)))") }
    }

    public func notify(localPort: UInt32) { _ = cxen_evtchn_notify(evtchn, localPort) }

    public func bindDomainExceptionVIRQ() throws(PlatformError) -> UInt32 {
        let port = cxen_evtchn_bind_dom_exc(evtchn)
        guard port >= 0 else {
            throw PlatformError(port == -EEXIST ? "VIRQ_DOM_EXC is bound already (is another xenstored running?)" : "binding VIRQ_DOM_EXC", errno: -port)
        }
        return UInt32(port)
    }

    /// As Xen 4.17's `get_domain_info()`: the domain list from `domid` on,
    /// whose first entry must be `domid` itself. A failed hypercall says
    /// nothing about the domain: it is taken as running (and logged).
    public func state(of domid: UInt32) -> HypervisorDomainState {
        var info = cxen_dominfo()
        let n = cxen_domain_list(xen, domid, &info, 1)
        if n < 0 {
            logger.error("domain \(domid): cannot read its state: \(String(cString: cxen_last_error(xen)))")
            return .running
        }
        guard n == 1, info.domid == domid else { return .gone }
        if info.flags & UInt32(CXEN_DOMINFO_DYING) != 0 { return .dying }
        if info.flags & UInt32(CXEN_DOMINFO_SHUTDOWN) != 0 { return .shutDown }
        return .running
    }

    public var eventDescriptor: Int32 { cxen_evtchn_fd(evtchn) }

    public func takePendingPort() -> UInt32? {
        let port = cxen_evtchn_pending(evtchn)
        return port >= 0 ? UInt32(port) : nil
    }

    public func unmask(_ localPort: UInt32) { _ = cxen_evtchn_unmask(evtchn, localPort) }
}
