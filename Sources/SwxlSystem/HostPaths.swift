/// Where swxl's files live on a host (see ARCHITECTURE.md). Pure: the
/// caller passes the environment in.
public struct HostPaths: Sendable, Equatable {
    /// The system xenstored's socket on a Xen dom0 (libxenstore's default).
    public static let systemSocket = "/var/run/xenstored/socket"
    /// The xenbus device a guest (or a dom0 without a socket) talks through.
    public static let xenbusDevice = "/dev/xen/xenbus"

    /// `<state>`: `SWXL_STATE_DIR`, else `/var/lib/swxl` for root, else
    /// `$XDG_STATE_HOME/swxl`, else `~/.local/state/swxl`.
    public let stateDir: String

    public init(stateDir: String) { self.stateDir = stateDir }

    public init(environment env: [String: String], uid: UInt32) {
        if let dir = env["SWXL_STATE_DIR"], !dir.isEmpty {
            stateDir = dir
        } else if uid == 0 {
            stateDir = "/var/lib/swxl"
        } else if let xdg = env["XDG_STATE_HOME"], !xdg.isEmpty {
            stateDir = xdg + "/swxl"
        } else {
            stateDir = (env["HOME"] ?? "/tmp") + "/.local/state/swxl"
        }
    }

    /// The embedded daemon's directory.
    public var xenstoredDir: String { stateDir + "/xenstored" }
    /// The embedded daemon's main socket (clients are dom0).
    public var daemonSocket: String { xenstoredDir + "/socket" }
    /// The embedded daemon's read-only socket.
    public var readOnlySocket: String { xenstoredDir + "/socket_ro" }
    /// The embedded daemon's pid file.
    public var daemonPidFile: String { xenstoredDir + "/xenstored.pid" }
    /// The socket through which a client speaks as domain `domid`.
    public func domainSocket(_ domid: UInt32) -> String { stateDir + "/domains/\(domid)/xenbus" }
    /// `swxl serve`'s directory (its socket on the embedded host, its pid file).
    public var xapiDir: String { stateDir + "/xapi" }
    /// `swxl serve`'s Unix socket where it is not a Xen host's (or not root's).
    public var xapiSocket: String { xapiDir + "/socket" }
    /// `swxl serve`'s pid file (also its lock).
    public var xapiPidFile: String { xapiDir + "/serve.pid" }
    /// The socket XAPI's local clients use (the SDK's `xapi_local()`), which
    /// `swxl serve` takes for root on a Xen host.
    public static let xapiSystemSocket = "/var/lib/xcp/xapi"
    /// The simulated hypervisor's state.
    public var hypervisorDir: String { stateDir + "/hypervisor" }

    /// The socket a client uses, as libxenstore chooses it: `XENSTORED_PATH`
    /// if set, else the given default.
    public static func clientSocket(environment env: [String: String], default fallback: String) -> String {
        if let path = env["XENSTORED_PATH"], !path.isEmpty { return path }
        return fallback
    }
}
