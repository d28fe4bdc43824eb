#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import Toolstack
import XenHost

/// The embedded host's answers to Xen's diagnostic hypercalls: debug keys
/// (`xl debug-keys`) and core dumps (`xl dump-core`).
extension SimulatedHypervisor {
    /// Xen 4.17's common debug keys (xen/common/keyhandler.c) with their
    /// descriptions. The embedded host has no registers, run queues or
    /// counters to show: a key prints its `'k' pressed -> ...` line, as
    /// Xen's does, and what it can truly say (the domains for `q`).
    static let debugKeys: [(key: Character, description: String, pressed: String)] = [
        ("%", "trap to xendbg", "trapping into debugger"),
        ("*", "print all diagnostics", "firing all diagnostic keyhandlers"),
        ("0", "dump Dom0 registers", "dumping Dom0's registers"),
        ("A", "toggle alternative key handling", "using alternative key handling"),
        ("R", "reboot machine", "rebooting machine"),
        ("d", "dump registers", "dumping registers"),
        ("h", "show this message", "showing installed handlers"),
        ("q", "dump domain (and guest debug) info", "dumping domain info"),
        ("r", "dump run queues", "dumping run queues"),
        ("t", "display multi-cpu clock info", "reading clocks"),
    ]

    /// Each key as Xen's `handle_keypress` takes it: a key with a handler
    /// prints to the console ring, any other is ignored (as Xen ignores it).
    /// `R` (reboot the machine) is refused: the embedded host cannot reboot
    /// the machine it runs on.
    public func sendDebugKeys(_ keys: String) throws(HypervisorError) {
        _ = try physInfo()  // the host exists
        if keys.contains("R") {
            throw HypervisorError("sending debug keys", errno: EPERM,
                                  "the embedded host does not reboot its machine ('R')")
        }
        for key in keys {
            guard let entry = Self.debugKeys.first(where: { $0.key == key }) else { continue }
            switch key {
            case "h":
                log("'h' pressed -> showing installed handlers")
                for k in Self.debugKeys.sorted(by: { $0.key.asciiValue ?? 0 < $1.key.asciiValue ?? 0 }) {
                    let hex = String(k.key.asciiValue ?? 0, radix: 16)
                    log(" key '\(k.key)' (ascii '\(hex.count < 2 ? "0" + hex : hex)') => \(k.description)")
                }
            case "q":
                log("'q' pressed -> dumping domain info (now = \(SystemClock.realtimeNanoseconds()))")
                for d in try listDomains() {
                    log("General information for domain \(d.domid):")
                    log("    nr_pages=\(d.currentMemoryKiB / 4) max_pages=\(d.maxMemoryKiB / 4) handle=\(d.uuid) vcpus=\(d.maxVCPUs) state=\(d.stateName)")
                }
            default:
                log("'\(key)' pressed -> \(entry.pressed)")
            }
        }
    }

    /// The simulated guest as a core in libxenguest's layout (`XenCoreFile`):
    /// its current pages and its online vCPUs. Refused as Xen refuses: no
    /// such domain (ESRCH), a domain not built yet (no vCPU context,
    /// ENODATA), a PV guest that has never run (no p2m yet), a file that
    /// cannot be created; Domain-0 (whose memory is this machine's) is not
    /// simulated.
    public func dumpCore(domid: UInt32, path: String) throws(HypervisorError) {
        let operation = "Core dumping domain to \(path)"
        if domid == 0 { throw HypervisorError(operation, errno: EINVAL, "the embedded host does not dump Domain-0") }
        guard let info = try domainInfo(domid: domid) else { throw Self.noSuchDomain(operation, domid) }
        guard info.currentMemoryKiB > 0 else {
            throw HypervisorError(operation, errno: ENODATA, "No VCPU context could be grabbed: \(String(cString: strerror(ENODATA)))")
        }
        // A PV guest's kernel tells Xen its highest pfn and its p2m when it
        // starts: before it has run, libxenguest finds no p2m to walk.
        guard info.cpuTimeNs > 0 else {
            let pages = info.currentMemoryKiB / 4
            throw HypervisorError(operation, errno: EIO,
                                  "p2m_size < nr_pages -1 (0 < \(String(pages - 1, radix: 16))): the guest has never run, its kernel has set up no p2m")
        }
        let core = XenCoreFile(vcpus: Int(max(info.onlineVCPUs, 1)), pages: info.currentMemoryKiB / 4,
                               vcpuContextSize: XenHypervisor.coreVCPUContextSize)
        let version = try version()
        // Frames as a PV guest's p2m gives them: distinct per domain.
        let base = UInt64(domid) << 20
        do { try core.write(to: path, version: version) { base + $0 } } catch {
            throw HypervisorError(operation, errno: error.errno, String(cString: strerror(error.errno)))
        }
    }
}
