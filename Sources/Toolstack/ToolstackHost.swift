#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import XenStoreProtocol

/// Opens the toolstack for a host: its hypervisor and its xenstore.
public enum ToolstackHost {
    /// The real Xen hypervisor. The real-Xen side (`XenHypervisor`) plugs in here.
    public static func openXenHypervisor() throws(ToolstackError) -> any Hypervisor {
        do { return try XenHypervisor() } catch { throw .hypervisor(error) }
    }

    /// The toolstack of `kind`, connected to its xenstore. On the embedded
    /// host `ensureDaemon` is called first to start swxl's xenstored if it
    /// is not running (it gets the state dir).
    public static func open(kind: HostKind, environment env: [String: String],
                            ensureDaemon: (HostPaths) throws -> Void) throws(ToolstackError) -> Toolstack {
        let paths = HostPaths(environment: env, uid: getuid())
        let hypervisor: any Hypervisor
        let socket: String
        switch kind {
        case .embedded:
            hypervisor = SimulatedHypervisor(dir: paths.hypervisorDir, host: .init(environment: env))
            socket = HostPaths.clientSocket(environment: env, default: paths.daemonSocket)
            if env["XENSTORED_PATH"]?.isEmpty ?? true {
                do { try ensureDaemon(paths) } catch { throw .store(StoreError("start xenstored", error: nil, message: "\(error)")) }
            }
        case .xen:
            hypervisor = try openXenHypervisor()
            socket = HostPaths.clientSocket(environment: env, default: HostPaths.systemSocket)
        }
        let store: XenStoreAccess
        do { store = try XenStoreAccess(socketPath: socket) } catch { throw .store(error) }
        let toolstack = Toolstack(hypervisor: hypervisor, store: store, stateDir: paths.stateDir,
                                  faults: FaultInjection(environment: env))
        toolstack.recoverInterruptedCreates()
        return toolstack
    }
}
