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
/// channel from `/proc/xen/xsd_port`, bound through the platform's event
/// channel handle (the one guests' ports and `VIRQ_DOM_EXC` share).
/// The ring's indices are not reset: what the kernel queued is served.
final class Dom0Ring {
    static let kvaPath = "/proc/xen/xsd_kva"
    static let portPath = "/proc/xen/xsd_port"

    let page: UnsafeMutableRawPointer
    let platform: DomainPlatform
    let localPort: UInt32

    init(platform: DomainPlatform) throws(ServerError) {
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
        let port: UInt32
        do throws(PlatformError) {
            port = try platform.bind(domid: 0, remotePort: remote)
        } catch {
            munmap(mapped, 4096)
            throw ServerError("cannot bind dom0's xenstore event channel: \(error)")
        }
        page = mapped
        self.platform = platform
        localPort = port
    }

    deinit {
        platform.unbind(localPort: localPort)
        munmap(page, 4096)
    }

    func notify() { platform.notify(localPort: localPort) }

    /// Serves the ring from `server`: attached, what the kernel queued
    /// taken, then one notification, which starts the dom0 kernel's
    /// xenbus probe (Linux's XS_LOCAL start-up waits for it). Its port's
    /// events are taken by ``GuestRings/eventFired()``.
    func attach(to server: SocketServer) {
        server.attachRing(domid: 0, page: RingPage(page)) { [unowned self] in notify() }
        server.serviceRings()
        notify()
    }
}
