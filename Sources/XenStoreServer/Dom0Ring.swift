#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CXen
import SwxlSystem

/// Dom0's own xenstore ring, as Xen 4.17's daemon takes it on Linux
/// (`xenbus_map()`, `xenbus_evtchn()`, `dom0_init()`): the page the dom0
/// kernel set up, mapped from `/proc/xen/xsd_kva`, and its unbound event
/// channel from `/proc/xen/xsd_port`, bound through `/dev/xen/evtchn`.
/// The ring's indices are not reset: what the kernel queued is served.
final class Dom0Ring {
    static let kvaPath = "/proc/xen/xsd_kva"
    static let portPath = "/proc/xen/xsd_port"

    let page: UnsafeMutableRawPointer
    let evtchn: OpaquePointer
    let localPort: UInt32

    init() throws(ServerError) {
        guard let text = FileIO.read(Self.portPath),
              let remote = text.split(whereSeparator: \.isWhitespace).first.flatMap({ UInt32($0) }) else {
            throw ServerError("cannot read dom0's xenstore event channel from \(Self.portPath)")
        }
        let fd = open(Self.kvaPath, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw ServerError("cannot open \(Self.kvaPath): \(String(cString: strerror(errno)))") }
        let mapped = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        let mapErrno = errno
        close(fd)
        guard let mapped, mapped != MAP_FAILED else {
            throw ServerError("cannot map \(Self.kvaPath): \(String(cString: strerror(mapErrno)))")
        }
        guard let evtchn = cxen_evtchn_open() else {
            let e = errno
            munmap(mapped, 4096)
            throw ServerError("cannot open /dev/xen/evtchn: \(String(cString: strerror(e)))")
        }
        let port = cxen_evtchn_bind_interdomain(evtchn, 0, remote)
        guard port >= 0 else {
            cxen_evtchn_close(evtchn)
            munmap(mapped, 4096)
            throw ServerError("cannot bind dom0's xenstore event channel \(remote): \(String(cString: strerror(-port)))")
        }
        page = mapped
        self.evtchn = evtchn
        localPort = UInt32(port)
    }

    deinit {
        _ = cxen_evtchn_unbind(evtchn, localPort)
        cxen_evtchn_close(evtchn)
        munmap(page, 4096)
    }

    var fd: Int32 { cxen_evtchn_fd(evtchn) }

    func notify() { _ = cxen_evtchn_notify(evtchn, localPort) }

    /// Takes the pending port off the descriptor and unmasks it (the
    /// rings are then looked at by the loop, every one of them).
    func acknowledge() {
        let port = cxen_evtchn_pending(evtchn)
        if port >= 0 { _ = cxen_evtchn_unmask(evtchn, UInt32(port)) }
    }

    /// Serves the ring from `server`: attached, what the kernel queued
    /// taken, then one notification, which starts the dom0 kernel's
    /// xenbus probe (Linux's XS_LOCAL start-up waits for it).
    func attach(to server: SocketServer) {
        server.attachRing(domid: 0, page: RingPage(page)) { [unowned self] in notify() }
        server.onReadable(fd) { [unowned self] in acknowledge() }
        server.serviceRings()
        notify()
    }
}
