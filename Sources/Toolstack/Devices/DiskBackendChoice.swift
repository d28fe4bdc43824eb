#if canImport(Glibc)
import Glibc
#endif
import DomainConfig

/// How libxl 4.17 chooses a disk's backend (`libxl__device_disk_set_backend`
/// and `disk_try_backend` in tools/libs/light/libxl_device.c), and what swxl
/// refuses of its choice, on both hosts, before anything is written.
///
/// - libxl stats the target of a disk in dom0 without a `script=` whose
///   backend it chooses (or `phy`/`standalone`), and fails with
///   `Disk vdev=<vdev> failed to stat: <target>: <errno text>`.
/// - A raw image or a block device goes to the kernel's blkback (`phy`,
///   backend kind `vbd`), served through the `block` hotplug script (a
///   regular file through the loop device the script binds).
/// - `backendtype=tap` is refused (libxl: blktap is not available).
/// - Everything else libxl serves with QEMU's `qdisk` backend: formats
///   only QEMU reads (qcow, qcow2, vhd, qed), `backendtype=qdisk`, empty
///   cdrom drives, targets that are neither a block device nor a regular
///   file. swxl does not start QEMU (`qemu-system-xen`), so it refuses them
///   with what is missing, rather than write entries nothing would serve.
public enum DiskBackendChoice {
    /// Refuses the first disk libxl would fail to stat, then the first one
    /// swxl cannot serve (libxl chooses every disk's backend before it needs QEMU).
    public static func check(_ config: DomainConfiguration) throws(HypervisorError) {
        for (index, disk) in config.disks.enumerated() { try checkTarget(disk, index: index) }
        for (index, disk) in config.disks.enumerated() { try checkServed(disk, index: index) }
    }

    /// libxl's stat of the target, when it makes one.
    public static func checkTarget(_ disk: DiskDevice, index: Int) throws(HypervisorError) {
        guard stats(disk), let target = disk.target else { return }
        var st = stat()
        if stat(target, &st) != 0 {
            let code = errno
            throw HypervisorError("add disk \(index)", errno: code,
                                  "Disk vdev=\(disk.vdev) failed to stat: \(target): \(String(cString: strerror(code)))")
        }
    }

    /// The backend swxl would need that it does not have.
    public static func checkServed(_ disk: DiskDevice, index: Int) throws(HypervisorError) {
        if disk.backendType == .tap {
            throw HypervisorError("add disk \(index)", errno: EINVAL,
                                  "Disk vdev=\(disk.vdev), backend tap unsuitable because blktap not available: no suitable backend for disk \(disk.vdev)")
        }
        if let why = qemuReason(disk) {
            throw HypervisorError("add disk \(index)", errno: ENOSYS,
                                  "Disk vdev=\(disk.vdev) needs QEMU's qdisk backend (\(why)), and swxl does not start QEMU (qemu-system-xen): use a raw image or a block device")
        }
    }

    /// Why libxl would give this disk to QEMU; nil when blkback serves it.
    static func qemuReason(_ disk: DiskDevice) -> String? {
        if disk.backendType == .qdisk { return "backendtype=qdisk" }
        if disk.format == .empty || disk.target == nil { return "an empty \(disk.deviceType.rawValue) drive" }
        if disk.format != .raw { return "format \(disk.format.rawValue)" }
        // A script, a driver domain or phy/standalone named: libxl takes phy without looking.
        guard stats(disk), disk.backendType == nil, let target = disk.target else { return nil }
        var st = stat()
        guard stat(target, &st) == 0 else { return nil }
        let type = st.st_mode & S_IFMT
        return type == S_IFBLK || type == S_IFREG ? nil : "\(target) is neither a block device nor a regular file"
    }

    /// Whether libxl stats this disk's target before choosing its backend:
    /// not empty, a backend the kernel serves (or left to libxl), in dom0,
    /// no script of the user's.
    static func stats(_ disk: DiskDevice) -> Bool {
        guard disk.format != .empty, disk.target != nil, disk.script == nil else { return false }
        switch disk.backendType {
        case nil, .phy, .standalone: break
        case .qdisk, .tap: return false
        }
        return disk.backendDomain == nil || disk.backendDomain == "0" || disk.backendDomain == "Domain-0"
    }
}
