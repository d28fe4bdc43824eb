import Glibc
import SaveFormat
import Toolstack

/// Save and restore on the embedded host: the simulated guest's image.
extension SimulatedHypervisor {
    public var imageFormat: ImageFormat { .simulated }

    /// The embedded host can always track a simulated guest's pages.
    public func canSaveLive(domid: UInt32) throws(HypervisorError) -> Bool {
        guard try domainInfo(domid: domid) != nil else { throw Self.noSuchDomain("save domain", domid) }
        return true
    }

    public func saveImage(domid: UInt32, to fd: Int32, live: Bool, debug: Bool,
                          suspend: () -> Bool, progress: (UInt64, UInt64) -> Void) throws(HypervisorError) {
        throw HypervisorError("save domain", errno: ENOSYS, "save on the embedded host is not built yet")
    }

    public func resumeAfterSave(domid: UInt32) throws(HypervisorError) {
        throw HypervisorError("resume domain", errno: ENOSYS, "save on the embedded host is not built yet")
    }

    public func restoreImage(domid: UInt32, from fd: Int32, spec: RestoreSpec,
                             progress: (UInt64, UInt64) -> Void) throws(HypervisorError) -> BuildResult {
        throw HypervisorError("restore domain", errno: ENOSYS, "restore on the embedded host is not built yet")
    }
}
