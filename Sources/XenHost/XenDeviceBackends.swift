#if canImport(Glibc)
import Glibc
#endif
import Toolstack
import XenStoreProtocol

/// Real Xen's device backends: dom0's kernel (blkback, netback) moves the
/// backend states by itself, and the hotplug scripts run as libxl runs
/// them (``HotplugScript``), in dom0 only: a driver domain runs its own
/// (`xl devd`), as libxl leaves them to it.
public final class XenDeviceBackends: DeviceBackends {
    /// The scripts' timeout (libxl's 40 s; tests shorten it).
    public var scriptTimeoutSeconds = HotplugScript.timeoutSeconds

    public init() {}

    /// Nothing beyond libxl's own choice: any `script=` runs.
    public func check(_ entry: DeviceEntry) throws(HypervisorError) {}

    /// The kernel does it.
    public func kernelStep(_ handle: DeviceHandle, _ event: KernelEvent, store: any StoreAccess) {}

    public func hotplug(_ handles: [DeviceHandle], _ action: HotplugAction, store: any StoreAccess) -> [HypervisorError?] {
        var scripts: [(index: Int, script: HotplugScript)] = []
        for (i, h) in handles.enumerated() where h.backendDomid == 0 {
            let gateway = h.backendKind == "vif" ? ((try? store.read(h.backendPath + "/gatewaydev")) ?? nil) : nil
            if let script = HotplugScript(h, action, gatewaydev: gateway) { scripts.append((i, script)) }
        }
        var results = [HypervisorError?](repeating: nil, count: handles.count)
        let outcomes = HotplugScript.runAll(scripts.map(\.script), timeoutSeconds: scriptTimeoutSeconds)
        for ((i, script), outcome) in zip(scripts, outcomes) where !outcome.succeeded {
            let h = handles[i]
            let hotplugError = (try? store.read(h.backendPath + "/hotplug-error")) ?? nil
            let message = script.failure(outcome, hotplugError: hotplugError) ?? ""
            results[i] = HypervisorError("\(action == .add ? "add" : "remove") \(h.label)", errno: EIO, message)
        }
        return results
    }
}

