#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Dispatch
import Logging
import Synchronization
import SwxlSystem

/// What the XenAPI server listens on and how much it takes.
public struct XenAPIServerConfiguration: Sendable {
    /// The Unix socket (root-only, or the user's own; no password).
    public var unixSocketPath: String?
    /// TCP (a password checked against `credentials` at login).
    public var tcp: TCPListenAddress?
    /// Required with `tcp`.
    public var credentials: Credentials?
    public var limits = HTTPRequestReader.Limits()
    /// Connections served at once; more are answered 503 and closed.
    public var maximumConnections = 512
    /// How long a kept-alive connection may sit idle between requests.
    public var idleTimeoutSeconds = 300
    /// How long a request may take to arrive once it has begun, and a
    /// response to be taken by the client.
    public var requestTimeoutSeconds = 30
    /// How many failed TCP logins are checked (``LoginThrottle``).
    public var loginPolicy = LoginThrottle.Policy()

    public init(unixSocketPath: String? = nil, tcp: TCPListenAddress? = nil, credentials: Credentials? = nil) {
        self.unixSocketPath = unixSocketPath
        self.tcp = tcp
        self.credentials = credentials
    }
}

/// Why the server could not start.
public struct ServeError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The XenAPI over HTTP: XML-RPC at any POST path, JSON-RPC at /jsonrpc,
/// on a Unix socket and optionally TCP. One thread accepts; each
/// connection has its own thread (a call such as `event.from` may wait
/// long), calling the injected surface.
public final class XenAPIServer: Sendable {
    public let configuration: XenAPIServerConfiguration
    let dispatcher: any XenAPIDispatching
    let logger: Logger
    private let unixListener: Int32?
    private let tcpListener: Int32?
    /// The TCP address actually bound (the port chosen when 0 was asked).
    public let boundTCPAddress: String?
    private let activeConnections = Mutex(0)
    private let ourUID = geteuid()
    let loginThrottle: LoginThrottle

    /// Binds the sockets; serving starts with ``run(stopWhenReadable:)``.
    public init(configuration: XenAPIServerConfiguration, dispatcher: any XenAPIDispatching, logger: Logger) throws(ServeError) {
        guard configuration.unixSocketPath != nil || configuration.tcp != nil else { throw ServeError("nothing to listen on") }
        if configuration.tcp != nil && configuration.credentials == nil {
            throw ServeError("TCP needs a credentials file (--credentials FILE)")
        }
        self.configuration = configuration
        loginThrottle = LoginThrottle(policy: configuration.loginPolicy)
        self.dispatcher = dispatcher
        self.logger = logger
        var unix: Int32? = nil
        if let path = configuration.unixSocketPath { unix = try Self.listenUnix(path) }
        do throws(ServeError) {
            if let tcp = configuration.tcp {
                let (fd, bound) = try Self.listenTCP(tcp)
                tcpListener = fd
                boundTCPAddress = bound
            } else {
                tcpListener = nil
                boundTCPAddress = nil
            }
        } catch {
            if let unix, let path = configuration.unixSocketPath {
                close(unix)
                unlink(path)
            }
            throw error
        }
        unixListener = unix
        if let path = configuration.unixSocketPath { logger.notice("listening on unix \(path)") }
        if let bound = boundTCPAddress {
            logger.notice("listening on tcp \(bound)")
            if let tcp = configuration.tcp, !tcp.isLoopback {
                logger.warning("TCP on \(tcp.host) is reachable from other hosts and carries passwords in clear text: put TLS in front of it")
            }
        }
    }

    /// Accepts until `stopFD` is readable, then closes the listeners and
    /// removes the Unix socket. Connections already open finish on their own.
    public func run(stopWhenReadable stopFD: Int32) {
        var fds: [pollfd] = [pollfd(fd: stopFD, events: Int16(POLLIN), revents: 0)]
        if let unixListener { fds.append(pollfd(fd: unixListener, events: Int16(POLLIN), revents: 0)) }
        if let tcpListener { fds.append(pollfd(fd: tcpListener, events: Int16(POLLIN), revents: 0)) }
        while true {
            let n = poll(&fds, nfds_t(fds.count), -1)
            if n < 0 {
                if errno == EINTR { continue }
                logger.error("poll: \(String(cString: strerror(errno)))")
                break
            }
            if fds[0].revents != 0 { break }
            for i in 1..<fds.count where fds[i].revents != 0 {
                acceptOne(fds[i].fd, unix: fds[i].fd == unixListener)
            }
        }
        shutdown()
    }

    private func shutdown() {
        if let unixListener { close(unixListener) }
        if let tcpListener { close(tcpListener) }
        if let path = configuration.unixSocketPath { unlink(path) }
    }

    private func acceptOne(_ listener: Int32, unix: Bool) {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listener, $0, &length) }
        }
        // (Programs swxl starts get none of its descriptors anyway: BackgroundProcess closes them.)
        if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        guard fd >= 0 else {
            if errno == EMFILE || errno == ENFILE {
                logger.warning("accept: \(String(cString: strerror(errno))): pausing for 100 ms")
                usleep(100_000)
            }
            return
        }
        let origin: XenAPICallOrigin
        if unix {
            guard let uid = Self.peerUID(fd) else {
                close(fd)
                return
            }
            // The socket's mode keeps others out; this says so to anyone who got through.
            guard uid == 0 || uid == ourUID else {
                logger.info("refused a connection from uid \(uid) on the Unix socket")
                writeBestEffort(fd, HTTPResponse.error(status: 403, message: "only root (or the server's own user) may use this socket"))
                close(fd)
                return
            }
            origin = .unixSocket(uid: uid)
        } else {
            origin = .tcp(peer: socketAddressText(storage))
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        let admitted = activeConnections.withLock { count -> Bool in
            guard count < configuration.maximumConnections else { return false }
            count += 1
            return true
        }
        guard admitted else {
            logger.warning("refused a connection (\(origin)): \(configuration.maximumConnections) connections already open")
            writeBestEffort(fd, HTTPResponse.error(status: 503, message: "too many connections; try again later"))
            close(fd)
            return
        }
        let connection = Connection(server: self, fd: fd, origin: origin)
        guard connection.start() else {
            logger.error("cannot start a thread for a connection: \(String(cString: strerror(errno)))")
            writeBestEffort(fd, HTTPResponse.error(status: 503, message: "the server cannot take more connections now"))
            close(fd)
            connectionEnded()
            return
        }
    }

    func connectionEnded() {
        activeConnections.withLock { $0 -= 1 }
    }

    /// The surface's answer to one call, waited for in this (connection) thread.
    func dispatch(_ call: XenAPICall, origin: XenAPICallOrigin) -> XenAPIResult {
        let check: @Sendable (String, String) -> PasswordCheck
        switch origin {
        case .unixSocket: check = { _, _ in .accepted }
        case .tcp(let peer):
            let credentials = configuration.credentials ?? Credentials(users: [:])
            let throttle = loginThrottle, address = LoginThrottle.address(ofPeer: peer), logger = logger
            check = { user, password in
                let result = throttle.verify(address: address, user: user, password: password) {
                    credentials.verify(user: $0, password: $1)
                }
                if case .throttled = result { logger.warning("\(peer): login as \(user) refused unchecked: too many failed logins") }
                return result
            }
        }
        let context = XenAPICallContext(origin: origin, checkPassword: check)
        // The call's task runs on this thread (its executor preference), not
        // on Swift's cooperative pool: a pool kept busy elsewhere then delays
        // no call, and a surface that blocks holds only its own connection.
        let slot = ResultSlot()
        let executor = ConnectionExecutor()
        let dispatcher = self.dispatcher
        Task(executorPreference: executor) {
            slot.set(await dispatcher.call(call.method, call.params, context: context))
            executor.wake()
        }
        executor.run { slot.get() != nil }
        return slot.get()!
    }

    // MARK: sockets

    private static func listenUnix(_ path: String) throws(ServeError) -> Int32 {
        guard let address = UnixSocketAddress(path: path) else {
            throw ServeError("the socket path \(path) is longer than \(UnixSocketAddress.maxPathLength) bytes")
        }
        if UnixSocket.canConnect(path) { throw ServeError("another server answers on \(path)") }
        // A socket left by a server that died; anything else is not ours to remove.
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else { throw ServeError("\(path) exists and is not a socket") }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServeError("socket: \(String(cString: strerror(errno)))") }
        // Created as 0600: only its owner (and root) may connect.
        let oldMask = umask(0o177)
        let bound = address.withSockaddr { bind(fd, $0, $1) }
        let bindErrno = errno
        umask(oldMask)
        guard bound == 0 else {
            close(fd)
            throw ServeError("cannot bind \(path): \(String(cString: strerror(bindErrno)))")
        }
        guard listen(fd, 128) == 0 else {
            let code = errno
            close(fd)
            unlink(path)
            throw ServeError("cannot listen on \(path): \(String(cString: strerror(code)))")
        }
        return fd
    }

    private static func listenTCP(_ address: TCPListenAddress) throws(ServeError) -> (Int32, String) {
        let domain = address.family == .ipv4 ? AF_INET : AF_INET6
        let fd = socket(domain, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServeError("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var result: Int32
        if address.family == .ipv4 {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = address.port.bigEndian
            inet_pton(AF_INET, address.host, &sin.sin_addr)
            result = withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        } else {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = address.port.bigEndian
            inet_pton(AF_INET6, address.host, &sin6.sin6_addr)
            result = withUnsafePointer(to: &sin6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw ServeError("cannot bind TCP \(address): \(String(cString: strerror(code)))")
        }
        guard listen(fd, 128) == 0 else {
            let code = errno
            close(fd)
            throw ServeError("cannot listen on TCP \(address): \(String(cString: strerror(code)))")
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, socketAddressText(storage))
    }

    /// The connecting process's uid (SO_PEERCRED's struct ucred: pid, uid, gid).
    static func peerUID(_ fd: Int32) -> UInt32? {
        var credentials: (Int32, UInt32, UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size)
        guard getsockopt(fd, SOL_SOCKET, peerCredentialsOption, &credentials, &length) == 0 else { return nil }
        return credentials.1
    }

    /// Linux's SO_PEERCRED (not exported by Swift's Glibc module).
    #if arch(powerpc64) || arch(powerpc64le)
    static let peerCredentialsOption: Int32 = 21
    #else
    static let peerCredentialsOption: Int32 = 17
    #endif
}

/// A result handed from the surface's task to the waiting connection thread.
final class ResultSlot: Sendable {
    private let value = Mutex<XenAPIResult?>(nil)
    func set(_ result: XenAPIResult) { value.withLock { $0 = result } }
    func get() -> XenAPIResult? { value.withLock { $0 } }
}

/// Runs the jobs of a connection's call on the connection's own thread.
final class ConnectionExecutor: TaskExecutor, Sendable {
    private let jobs = Mutex<[UnownedJob]>([])
    private let ready = DispatchSemaphore(value: 0)

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        jobs.withLock { $0.append(unowned) }
        ready.signal()
    }

    /// Wakes ``run(until:)`` to look at its condition again.
    func wake() { ready.signal() }

    /// Runs jobs on the calling thread until `done` says so.
    func run(until done: () -> Bool) {
        while !done() {
            ready.wait()
            while let job = jobs.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                job.runSynchronously(on: asUnownedTaskExecutor())
            }
        }
    }
}

/// Writes what fits now without waiting (for a refusal before closing).
func writeBestEffort(_ fd: Int32, _ bytes: [UInt8]) {
    let flags = fcntl(fd, F_GETFL)
    _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
}
