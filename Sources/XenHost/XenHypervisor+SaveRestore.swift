import Glibc
import SaveFormat
import Toolstack

/// Save and restore on real Xen: libxc's stream through libxenguest
/// (`xc_domain_save`, `xc_domain_restore`, `xc_domain_resume`).
/// Not built yet: each operation says so (ENOSYS) and nothing is touched.
extension XenHypervisor {
    public var imageFormat: ImageFormat { .libxc }

    /// Live saving needs shadow paging's log-dirty mode for a PV guest
    /// (`XEN_SYSCTL_PHYSCAP_shadow`, `shadow` in `xl info`'s virt_caps).
    public func canSaveLive(domid: UInt32) throws(HypervisorError) -> Bool {
        try physInfo().virtCaps.contains("shadow")
    }

    public func saveImage(domid: UInt32, to fd: Int32, live: Bool, debug: Bool,
                          suspend: () -> Bool, progress: (UInt64, UInt64) -> Void) throws(HypervisorError) {
        throw Self.notBuilt("save domain")
    }

    public func resumeAfterSave(domid: UInt32) throws(HypervisorError) {
        throw Self.notBuilt("resume domain")
    }

    public func restoreImage(domid: UInt32, from fd: Int32, spec: RestoreSpec,
                             progress: (UInt64, UInt64) -> Void) throws(HypervisorError) -> BuildResult {
        throw Self.notBuilt("restore domain")
    }

    static func notBuilt(_ operation: String) -> HypervisorError {
        HypervisorError(operation, errno: ENOSYS, "save/restore on real Xen is not built yet")
    }
}
