#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SwxlSystem
import XenStoreProtocol

/// Finds the xenstore daemon the way libxenstore does, and on a host
/// without a hypervisor starts swxl's own when none answers.
///
/// The order:
/// 1. `XENSTORED_PATH`, if set: that socket (or device), nothing else.
/// 2. The system daemon's socket, `/var/run/xenstored/socket`, if it answers.
/// 3. The xenbus device (`/dev/xen/xenbus`, or `/proc/xen/xenbus`) if it exists:
///    a Xen guest, or a dom0 without the socket.
/// 4. On a Xen dom0 (`/proc/xen/capabilities` says `control_d`): nothing
///    more; the system's xenstored is not running.
/// 5. Otherwise this is an embedded host: `<state>/xenstored/socket`. If
///    nothing answers there and a ``daemonCommand`` is set, start it (once,
///    under a lock file, however many processes try at the same moment),
///    wait until it answers, and connect.
public struct XenStoreConnector: Sendable {
    /// The environment variables that matter (`XENSTORED_PATH`,
    /// `SWXL_STATE_DIR`, `XDG_STATE_HOME`, `HOME`).
    public var environment: [String: String]
    /// Where the embedded daemon lives.
    public var paths: HostPaths
    /// The system daemon's socket.
    public var systemSocket = HostPaths.systemSocket
    /// The xenbus devices to try, in order.
    public var xenbusDevices = [HostPaths.xenbusDevice, "/proc/xen/xenbus"]
    /// Where the kernel says whether this is a Xen dom0.
    public var capabilitiesFile = XenCapabilities.file
    /// The command (argv, first element a path) that starts the embedded
    /// daemon in the background; nil never starts one. It must detach or
    /// keep running; the connector waits until the socket answers.
    public var daemonCommand: [String]?
    /// How long to wait for a started daemon to answer.
    public var startTimeout: Duration = .seconds(10)

    /// The command that starts the embedded host's daemon, `program` being
    /// swxl: domains' sockets only on request (the simulated guests speak
    /// through one connection; a domain's socket is for a guest's script).
    public static func embeddedDaemonCommand(_ program: String) -> [String] {
        [program, "xenstored", "--domain-sockets", "request"]
    }

    /// The variables the connector reads.
    public static let environmentNames = ["XENSTORED_PATH", "SWXL_STATE_DIR", "XDG_STATE_HOME", "HOME"]

    public init(environment: [String: String], uid: UInt32, daemonCommand: [String]? = nil) {
        self.environment = environment
        self.paths = HostPaths(environment: environment, uid: uid)
        self.daemonCommand = daemonCommand
    }

    /// This process's environment and user.
    public static func current(daemonCommand: [String]? = nil) -> XenStoreConnector {
        var env: [String: String] = [:]
        for name in environmentNames {
            if let value = getenv(name) { env[name] = String(cString: value) }
        }
        return XenStoreConnector(environment: env, uid: getuid(), daemonCommand: daemonCommand)
    }

    /// Connects to the daemon, starting the embedded one if it is needed.
    public func connect() throws(XenStoreError) -> XenStoreClient {
        if let path = environment["XENSTORED_PATH"], !path.isEmpty {
            return try XenStoreClient.open(path: path)
        }
        if Transport.isSocket(systemSocket) == true, let client = try? XenStoreClient(socketPath: systemSocket) {
            return client
        }
        for device in xenbusDevices where Transport.isSocket(device) == false {
            if let client = try? XenStoreClient.open(path: device) { return client }
        }
        if XenCapabilities.isControlDomain(file: capabilitiesFile) {
            throw .daemonUnavailable("no xenstored answers at \(systemSocket) on this Xen dom0")
        }
        return try connectEmbedded()
    }

    /// The embedded daemon's socket, started if needed.
    public func connectEmbedded() throws(XenStoreError) -> XenStoreClient {
        let socket = paths.daemonSocket
        if let client = try Self.tryConnect(socket) { return client }
        guard let command = daemonCommand else {
            throw .daemonUnavailable("no xenstored answers at \(socket)")
        }
        // One starter at a time: whoever gets the lock second finds the
        // daemon already answering.
        let lock: LockFile
        do throws(SystemError) {
            try FileIO.makeDirectories(paths.xenstoredDir)
            lock = try LockFile.acquire(paths.xenstoredDir + "/autostart.lock")
        } catch {
            throw .system(error.what, error.errno)
        }
        defer { lock.release() }
        if let client = try Self.tryConnect(socket) { return client }

        var child = try Self.spawn(command, environment: ["SWXL_STATE_DIR": paths.stateDir])
        let deadline = Int64(SystemClock.monotonicNanoseconds()) + XenStoreClient.nanoseconds(startTimeout)
        var pause: UInt32 = 1000
        while true {
            if let client = try Self.tryConnect(socket) { return client }
            if child > 0 {
                var status: Int32 = 0
                if waitpid(child, &status, WNOHANG) == child {
                    child = 0
                    // A daemon that detaches exits 0 here; anything else failed.
                    let exited = status & 0x7f == 0
                    let code = (status >> 8) & 0xff
                    if !exited || code != 0 {
                        throw .daemonUnavailable("the embedded xenstored (\(command.joined(separator: " "))) failed to start"
                            + (exited ? " (exit status \(code))" : " (killed by signal \(status & 0x7f))"))
                    }
                }
            }
            if Int64(SystemClock.monotonicNanoseconds()) > deadline {
                throw .daemonUnavailable("the embedded xenstored did not answer at \(socket) within \(startTimeout)")
            }
            usleep(pause)
            pause = min(pause * 2, 20_000)
        }
    }

    /// A connection to `socket`, nil if nothing listens there; a daemon
    /// that listens but takes no connection in time is an error (starting
    /// another would not help).
    static func tryConnect(_ socket: String) throws(XenStoreError) -> XenStoreClient? {
        do { return try XenStoreClient(socketPath: socket) } catch .timedOut(let why) { throw .timedOut(why) } catch { return nil }
    }

    /// Starts `argv` detached (``BackgroundProcess``), `extra` added to
    /// the environment. Returns the child's pid.
    static func spawn(_ argv: [String], environment extra: [String: String]) throws(XenStoreError) -> pid_t {
        guard let program = argv.first else { throw .daemonUnavailable("empty daemon command") }
        do throws(SystemError) {
            return try BackgroundProcess.spawn(executable: program, arguments: Array(argv.dropFirst()),
                                               environment: extra.mapValues { Optional($0) })
        } catch {
            throw .system(error.what, error.errno)
        }
    }
}
