#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CEpoll
import Logging
import SwxlSystem
import XenStoreProtocol

/// Listening sockets: the main and read-only ones, one per introduced
/// domain (opened and closed as the store introduces and releases domains),
/// and the connections accepted on them.
extension SocketServer {
    enum Listener {
        case main
        case readOnly
        case domain(UInt32)
    }

    @discardableResult
    func listen(at path: String, as kind: Listener) throws(ServerError) -> Int32 {
        let fd = try Self.bindUnixSocket(path)
        listeners[fd] = kind
        listenerPaths[fd] = path
        watch(fd, events: UInt32(EPOLLIN.rawValue))
        return fd
    }

    /// A listening, non-blocking Unix stream socket at `path` (a stale file there is replaced), mode 0600.
    static func bindUnixSocket(_ path: String) throws(ServerError) -> Int32 {
        guard let address = UnixSocketAddress(path: path) else {
            throw ServerError("socket path too long (\(path.utf8.count) bytes, at most \(UnixSocketAddress.maxPathLength)): \(path)")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServerError("socket: \(String(cString: strerror(errno)))") }
        unlink(path)
        let bound = address.withSockaddr { bind(fd, $0, $1) }
        guard bound == 0, chmod(path, 0o600) == 0, Glibc.listen(fd, SOMAXCONN) == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw ServerError("cannot listen on \(path): \(message)")
        }
        return fd
    }

    func openDomainSocket(_ domid: UInt32) throws(ServerError) {
        guard domainListeners[domid] == nil else { return }
        let path = paths.domainSocket(domid)
        let dir = XSPath.parent(of: path)
        _ = mkdir(XSPath.parent(of: dir), 0o700)
        _ = mkdir(dir, 0o700)
        domainListeners[domid] = try listen(at: path, as: .domain(domid))
    }

    func closeDomainSocket(_ domid: UInt32) {
        pausedListeners[domid] = nil
        badFrames.forget(domid)
        guard let fd = domainListeners.removeValue(forKey: domid) else { return }
        epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nil)
        Glibc.close(fd)
        listeners[fd] = nil
        if let path = listenerPaths.removeValue(forKey: fd) {
            unlink(path)
            rmdir(XSPath.parent(of: path))
        }
    }

    func applyDomainChanges() {
        let changes = store.domainChanges
        store.domainChanges.removeAll()
        for change in changes {
            switch change {
            case .introduced(let domid):
                guard domainSockets == .atIntroduction else {
                    logger.info("domain \(domid) introduced (its socket on request)")
                    continue
                }
                do throws(ServerError) {
                    try openDomainSocket(domid)
                    logger.info("domain \(domid) introduced: \(paths.domainSocket(domid))")
                } catch {
                    logger.error("domain \(domid): \(error)")
                }
            case .socketRequested(let domid):
                do throws(ServerError) {
                    try openDomainSocket(domid)
                } catch {
                    logger.error("domain \(domid): \(error)")
                }
            case .released(let domid):
                closeDomainSocket(domid)
                for client in Array(clients.values) where store.domid(of: client.id) == nil && !client.privileged {
                    close(client)
                }
                logger.info("domain \(domid) released")
            }
        }
    }

    func accept(on fd: Int32, _ listener: Listener) {
        while true {
            // A domain paced for its malformed frames waits even for the connections already queued.
            if case .domain(let domid) = listener, pausedListeners[domid] != nil { return }
            let cfd = Glibc.accept(fd, nil, nil)
            if cfd < 0 {
                if errno == EINTR { continue }
                if errno == EMFILE || errno == ENFILE {
                    // Out of descriptors: stop accepting (the listener would
                    // stay readable and spin) until a connection closes.
                    logger.warning("accept: \(String(cString: strerror(errno))); not accepting until a connection closes")
                    setListeners(enabled: false)
                } else if errno != EAGAIN && errno != EWOULDBLOCK {
                    logger.warning("accept: \(String(cString: strerror(errno)))")
                }
                return
            }
            _ = fcntl(cfd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(cfd, F_SETFL, O_NONBLOCK)
            let id: ConnectionID
            switch listener {
            case .main: id = store.connect(domid: 0)
            case .readOnly: id = store.connect(domid: 0, readOnly: true)
            case .domain(let domid): id = store.connect(domid: domid)
            }
            let client = ClientConnection(fd: cfd, id: id, privileged: store.isPrivileged(id))
            var zero: Int32 = 0
            client.peekAdvances = setsockopt(cfd, SOL_SOCKET, Self.soPeekOff, &zero, socklen_t(MemoryLayout<Int32>.size)) == 0
            clients[cfd] = client
            clientByID[id] = client
            watch(cfd, events: UInt32(EPOLLIN.rawValue) | EPOLLET.rawValue)
            logger.debug("connection \(id) on fd \(cfd) as \(listener)")
        }
    }

    func setListeners(enabled: Bool) {
        guard enabled != listenersEnabled else { return }
        listenersEnabled = enabled
        for fd in listeners.keys where !(enabled && isPaused(listener: fd)) {
            watch(fd, events: enabled ? UInt32(EPOLLIN.rawValue) : 0, modify: true)
        }
    }

    func close(_ client: ClientConnection) {
        guard !client.closed else { return }
        client.closed = true
        store.disconnect(client.id)
        epoll_ctl(epfd, EPOLL_CTL_DEL, client.fd, nil)
        Glibc.close(client.fd)
        setListeners(enabled: true)
        clients[client.fd] = nil
        clientByID[client.id] = nil
        logger.debug("connection \(client.id) closed")
    }
}
