import CXen
import Glibc
import SaveFormat
import SwxlSystem
import Toolstack

/// Save and restore on real Xen: libxc's stream through libxenguest
/// (`xc_domain_save`, `xc_domain_restore`, `xc_domain_resume`), called in
/// swxl's own process (libxl needs a helper process only because it is an
/// asynchronous library; see docs/save-restore.md).
extension XenHypervisor {
    public var imageFormat: ImageFormat { .libxc }

    /// Live saving needs the hypervisor to track the guest's dirty pages:
    /// for a PV guest that is shadow paging's log-dirty mode
    /// (`XEN_SYSCTL_PHYSCAP_shadow`, `shadow` in `xl info`'s virt_caps).
    /// Debian's Xen 4.17.7 is built without it (`CONFIG_SHADOW_PAGING` is
    /// off since XSA-495), so there a PV guest can only be saved suspended.
    public func canSaveLive(domid: UInt32) throws(HypervisorError) -> Bool {
        guard try domainInfo(domid: domid) != nil else {
            throw HypervisorError("save domain", errno: ESRCH, "no domain \(domid)")
        }
        return try fullPhysInfo().capabilities & UInt32(CXEN_CAP_SHADOW) != 0
    }

    /// `xc_domain_save` onto `fd`, made blocking for the call, with SIGPIPE
    /// ignored (a reader that goes away fails the save with EPIPE instead
    /// of killing swxl with the guest suspended). A live save is refused
    /// before libxc writes anything when the host cannot track dirty pages:
    /// libxc would find out only after writing its headers.
    public func saveImage(domid: UInt32, to fd: Int32, live: Bool, debug: Bool,
                          suspend: () -> Bool, progress: (UInt64, UInt64) -> Void) throws(HypervisorError) {
        if live, try !canSaveLive(domid: domid) {
            throw HypervisorError("save domain", errno: EOPNOTSUPP, Self.noLiveSave)
        }
        let flags = (live ? UInt32(CXEN_SAVE_LIVE) : 0) | (debug ? UInt32(CXEN_SAVE_DEBUG) : 0)
            | Self.saveFileMode(getenv("SWXL_SAVE_DIRECT").map { String(cString: $0) })
        let (rc, signal) = try SaveStreamIO.withBlocking(fd, "save domain") { () throws(HypervisorError) -> (Int32, Int32) in
            SaveStreamIO.withSIGPIPEIgnored {
                SaveStreamIO.withInterruptsEndingStream(fd) {
                    withoutActuallyEscaping(suspend) { suspend in
                        withoutActuallyEscaping(progress) { progress in
                            let calls = XenImageCallbacks(suspend: suspend, progress: progress)
                            PhaseTrace.mark("save: libxc starts")
                            defer { PhaseTrace.mark("save: libxc done") }
                            return withExtendedLifetime(calls) {
                                cxen_domain_save(handle, domid, fd, flags, xenSuspendTrampoline, xenProgressTrampoline,
                                                 Unmanaged.passUnretained(calls).toOpaque())
                            }
                        }
                    }
                }
            }
        }
        try checkInterrupted(signal, "save domain")
        try check(rc, "save domain")
    }

    public func resumeAfterSave(domid: UInt32) throws(HypervisorError) {
        try check(cxen_domain_resume(handle, domid), "resume domain")
    }

    /// `xc_domain_restore` from `fd` (blocking for the call), with fresh
    /// store and console event channels. libxc reports no progress while
    /// it restores: the bridge reports the pages the domain holds so far,
    /// from a thread of its own (one call at a time, the last one after
    /// that thread has ended). Without `progress` there is no such thread
    /// (nor its interface handle, opened and polled every 250 ms on dom0's
    /// CPU while libxc needs it).
    public func restoreImage(domid: UInt32, from fd: Int32, spec: RestoreSpec,
                             progress: ((UInt64, UInt64) -> Void)?) throws(HypervisorError) -> BuildResult {
        guard spec.type == .pv else {
            throw HypervisorError("restore domain", errno: EOPNOTSUPP,
                                  "swxl restores PV guests on Xen; this one is \(spec.type)")
        }
        guard !spec.checkpointed else {
            throw HypervisorError("restore domain", errno: EOPNOTSUPP,
                                  "checkpointed streams (Remus, COLO) are not supported")
        }
        var r = cxen_restore()
        r.store_domid = spec.storeDomid
        r.console_domid = spec.consoleDomid
        r.expected_pages = spec.memoryKiB / 4
        r.read_ahead_mib = Self.restoreReadAheadMiB
        r.drop_behind = Self.restoreDropBehind
        r.direct = Self.restoreReadsDirect ? 1 : 0
        // libxc's buffers on pages already there, when asked (see restorePrefaultBytes).
        if Self.restorePrefaultBytes > 0 {
            let prefaulted = ProcessMemory.prefaultHeap(bytes: Self.restorePrefaultBytes)
            PhaseTrace.mark("restore: heap prefaulted (\(prefaulted) pages)")
        }
        let (rc, signal) = try SaveStreamIO.withBlocking(fd, "restore domain") { () throws(HypervisorError) -> (Int32, Int32) in
            SaveStreamIO.withInterruptsEndingStream(fd) {
                let calls = XenImageCallbacks(suspend: { false }, progress: progress ?? { _, _ in })
                PhaseTrace.mark("restore: libxc starts")
                defer { PhaseTrace.mark("restore: libxc done") }
                return withExtendedLifetime(calls) {
                    // (no reporter: the bridge starts no progress thread)
                    cxen_domain_restore(handle, domid, fd, &r, progress == nil ? nil : xenProgressTrampoline,
                                        Unmanaged.passUnretained(calls).toOpaque())
                }
            }
        }
        try checkInterrupted(signal, "restore domain")
        try check(rc, "restore domain")
        return BuildResult(storePort: r.store_port, storeMFN: r.store_mfn,
                           consolePort: r.console_port, consoleMFN: r.console_mfn)
    }

    /// A signal that came during the call ended its stream (see
    /// ``SaveStreamIO/withInterruptsEndingStream(_:_:)``): the operation
    /// failed, or its stream is gone, whatever libxc returned.
    private func checkInterrupted(_ signal: Int32, _ operation: String) throws(HypervisorError) {
        guard signal != 0 else { return }
        let name = [SIGINT: "SIGINT", SIGTERM: "SIGTERM", SIGHUP: "SIGHUP"][signal] ?? "signal \(signal)"
        let detail = String(cString: cxen_last_error(handle))
        throw HypervisorError(operation, errno: EINTR, "interrupted by \(name)" + (detail.isEmpty ? "" : " (\(detail))"))
    }

    /// How far ahead of libxc a restore reads a regular file (see the
    /// bridge's `restore_watch`); `SWXL_RESTORE_READ_AHEAD_MIB` (0: the
    /// kernel's read-ahead alone) for measuring.
    static var restoreReadAheadMiB: UInt32 {
        getenv("SWXL_RESTORE_READ_AHEAD_MIB").flatMap { UInt32(String(cString: $0)) } ?? 32
    }
    /// How much of the heap is populated before libxc starts
    /// (`SWXL_RESTORE_PREFAULT_KIB`; unset: none), when the restore keeps
    /// large blocks in the heap (``ProcessMemory``), so that libxc's record
    /// buffers (about 4 MiB each) land on pages already there instead of
    /// faulting at each first touch (about 1100 page faults in a 128 MiB
    /// restore). For measuring: in the QEMU harness 4.7 MiB took 34 ms and
    /// left 9 faults in libxc, but no gain in the restore showed through
    /// the run's noise, and 8 MiB once took 199 ms (docs/real-xen.md, H-save6).
    static var restorePrefaultBytes: Int {
        guard let kib = getenv("SWXL_RESTORE_PREFAULT_KIB").flatMap({ Int(String(cString: $0)) }), kib > 0 else { return 0 }
        return min(kib, 64 << 10) << 10
    }

    /// Whether a file not already cached reaches libxc through the
    /// bridge's pipe, read around the page cache (`cxen_feed_start`;
    /// otherwise the read-ahead thread, below); `SWXL_RESTORE_DIRECT=0`
    /// turns it off, for measuring.
    static var restoreReadsDirect: Bool {
        getenv("SWXL_RESTORE_DIRECT").map { String(cString: $0) != "0" } ?? true
    }
    /// Whether the file libxc has read leaves the page cache behind it:
    /// when the rest of the file is more than half of the memory the
    /// kernel has available (`CXEN_DROP_BEHIND_AUTO`); for measuring,
    /// `SWXL_RESTORE_DROP_BEHIND=0` never, `=1` always.
    static var restoreDropBehind: UInt32 {
        dropBehindMode(getenv("SWXL_RESTORE_DROP_BEHIND").map { String(cString: $0) })
    }

    /// How a save writes a regular file (the bridge's `cxen_save_goes_direct`):
    /// by its size (unset), around the page cache (`SWXL_SAVE_DIRECT=1`)
    /// or through it (`=0`), for measuring.
    static func saveFileMode(_ setting: String?) -> UInt32 {
        switch setting {
        case "0": return UInt32(CXEN_SAVE_CACHED)
        case "1": return UInt32(CXEN_SAVE_DIRECT)
        default: return 0
        }
    }

    /// The bridge's `CXEN_DROP_BEHIND_*` for `SWXL_RESTORE_DROP_BEHIND`'s value.
    static func dropBehindMode(_ setting: String?) -> UInt32 {
        switch setting {
        case "0": return UInt32(CXEN_DROP_BEHIND_NEVER)
        case "1": return UInt32(CXEN_DROP_BEHIND_ALWAYS)
        default: return UInt32(CXEN_DROP_BEHIND_AUTO)
        }
    }

    static let noLiveSave = "this Xen cannot track a PV guest's dirty pages (it has no shadow paging: "
        + "'shadow' is missing from xl info's virt_caps), so the guest cannot be saved live"
}

/// The closures of one save or restore, for the bridge's C callbacks
/// (passed as their context pointer; alive for the call).
private final class XenImageCallbacks {
    let suspend: () -> Bool
    let progress: (UInt64, UInt64) -> Void
    init(suspend: @escaping () -> Bool, progress: @escaping (UInt64, UInt64) -> Void) {
        self.suspend = suspend
        self.progress = progress
    }
}

private func xenSuspendTrampoline(_ ctx: UnsafeMutableRawPointer?) -> Int32 {
    guard let ctx else { return 0 }
    return Unmanaged<XenImageCallbacks>.fromOpaque(ctx).takeUnretainedValue().suspend() ? 1 : 0
}

private func xenProgressTrampoline(_ ctx: UnsafeMutableRawPointer?, _ done: UInt64, _ total: UInt64) {
    guard let ctx else { return }
    Unmanaged<XenImageCallbacks>.fromOpaque(ctx).takeUnretainedValue().progress(done, total)
}
