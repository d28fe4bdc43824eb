import DomainConfig
import XenStoreProtocol

/// One xenstore node the toolstack writes: its path, value and permissions.
public struct StoreNode: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var value: String
    public var perms: XSPermissions

    public init(_ path: String, _ value: String, _ perms: XSPermissions) {
        self.path = path
        self.value = value
        self.perms = perms
    }

    /// As `xenstore-ls -fp` prints it: `/path = "value"   (n0,r1)`.
    public var description: String { "\(path) = \"\(value)\"  (\(perms))" }
}

/// The xenstore nodes `xl create` writes on Xen 4.17 for a domain: pure,
/// from the resolved config (see ``DomainConfiguration/resolved(randomMAC:currentDirectory:)``)
/// and what the build set up. Parents come before their
/// children, so writing in order gives each node its own permissions.
public enum StoreLayout {
    /// The Linux block device number of a virtual disk name (`xvda` → 51712),
    /// as libxl's `libxl__device_disk_dev_number` computes it; nil if unknown.
    public static func diskDevid(_ vdev: String) -> UInt32? {
        // A disk letter suffix in bijective base 26 (a=0, z=25, aa=26...),
        // then an optional partition number.
        func letters(_ s: Substring) -> (index: UInt32, partition: UInt32)? {
            let count = s.prefix { $0 >= "a" && $0 <= "z" }.count
            guard count > 0, count <= 3 else { return nil }
            var n: UInt32 = 0
            for c in s.prefix(count) { n = n * 26 + UInt32(c.asciiValue! - 96) }
            let rest = s.dropFirst(count)
            let part: UInt32
            if rest.isEmpty { part = 0 } else if let p = UInt32(rest) { part = p } else { return nil }
            return (n - 1, part)
        }
        if vdev.hasPrefix("xvd"), let (n, p) = letters(vdev.dropFirst(3)) {
            if n < 16 && p < 16 { return 202 << 8 | n << 4 | p }
            return 1 << 28 | n << 8 | p
        }
        if vdev.hasPrefix("hd"), let (n, p) = letters(vdev.dropFirst(2)), n < 4, p < 64 {
            let major: UInt32 = n < 2 ? 3 : 22
            return major << 8 | (n % 2) << 6 | p
        }
        if vdev.hasPrefix("sd"), let (n, p) = letters(vdev.dropFirst(2)), n < 16, p < 16 {
            return 8 << 8 | n << 4 | p
        }
        if let d = UInt32(vdev) { return d }
        return nil
    }

    /// Seconds with two decimals, as libxl writes `start_time`.
    public static func startTime(nanoseconds ns: UInt64) -> String {
        let seconds = ns / 1_000_000_000
        let hundredths = (ns % 1_000_000_000) / 10_000_000
        return "\(seconds).\(hundredths < 10 ? "0" : "")\(hundredths)"
    }

    /// Every node of a domain but its console and devices (see
    /// ``consoleNodes(domid:build:)`` and ``DeviceEntry``), in writing order.
    public static func nodes(domid: UInt32, config: DomainConfiguration, build: BuildResult,
                             startTimeNs: UInt64) -> [StoreNode] {
        let dom = XSPath.domainPath(domid)
        let vm = "/vm/" + config.uuid.description
        let libxl = "/libxl/\(domid)"
        let ro = XSPermissions([XSPermission(.none, 0), XSPermission(.read, domid)])!
        let rw = XSPermissions(owner: domid)
        let no = XSPermissions(owner: 0)
        var out: [StoreNode] = []
        func add(_ path: String, _ value: String = "", _ perms: XSPermissions) { out.append(StoreNode(path, value, perms)) }

        // /local/domain/<id>
        add(dom, "", ro)
        add(dom + "/vm", vm, ro)
        add(dom + "/name", config.name_label, ro)
        add(dom + "/domid", "\(domid)", ro)
        add(dom + "/device", "", ro)
        add(dom + "/control", "", ro)
        for key in ["shutdown", "feature-poweroff", "feature-reboot", "feature-suspend", "sysrq"] {
            add(dom + "/control/" + key, "", rw)
        }
        add(dom + "/control/platform-feature-multiprocessor-suspend", "1", ro)
        add(dom + "/control/platform-feature-xs_reset_watches", "1", ro)
        add(dom + "/device/suspend", "", ro)
        add(dom + "/device/suspend/event-channel", "", rw)
        for key in ["data", "drivers", "feature", "attr", "error"] { add(dom + "/" + key, "", rw) }
        add(dom + "/cpu", "", ro)
        for v in 0..<config.VCPUs_max {
            add(dom + "/cpu/\(v)", "", ro)
            add(dom + "/cpu/\(v)/availability", v < config.VCPUs_at_startup ? "online" : "offline", ro)
        }
        add(dom + "/memory", "", ro)
        add(dom + "/memory/static-max", "\(config.maxmemMiB << 10)", ro)
        add(dom + "/memory/target", "\(config.memoryMiB << 10)", ro)
        add(dom + "/memory/videoram", "\(videoRAMKiB(config))", ro)
        add(dom + "/store", "", ro)
        add(dom + "/store/port", "\(build.storePort)", ro)
        add(dom + "/store/ring-ref", "\(build.storeMFN)", ro)

        // /vm/<uuid>
        add(vm, "", ro)
        add(vm + "/uuid", config.uuid.description, ro)
        add(vm + "/name", config.name_label, ro)
        add(vm + "/image", "", ro)
        add(vm + "/image/ostype", config.type == .hvm ? "hvm" : "linux", ro)
        add(vm + "/image/kernel", config.PV_kernel ?? "", ro)
        add(vm + "/image/ramdisk", config.PV_ramdisk ?? "", ro)
        add(vm + "/image/cmdline", config.PV_args ?? "", ro)
        add(vm + "/start_time", startTime(nanoseconds: startTimeNs), ro)

        // /libxl/<id>
        add(libxl, "", no)
        add(libxl + "/type", config.type.rawValue, no)
        // libxl records the device model version for every domain, PV included.
        add(libxl + "/dm-version", "qemu_xen", no)
        add(libxl + "/device", "", no)

        return out
    }

    /// The console's nodes (frontend at `<dom>/console`, read-only to the
    /// guest; backend under dom0's `backend/console`), which libxl writes
    /// after the disks and before the networks.
    public static func consoleNodes(domid: UInt32, build: BuildResult) -> [StoreNode] {
        let dom = XSPath.domainPath(domid)
        let libxl = "/libxl/\(domid)"
        let ro = XSPermissions([XSPermission(.none, 0), XSPermission(.read, domid)])!
        var out: [StoreNode] = []
        func add(_ path: String, _ value: String = "", _ perms: XSPermissions) { out.append(StoreNode(path, value, perms)) }
        let conBack = "/local/domain/0/backend/console/\(domid)/0"
        add(dom + "/console", "", ro)
        add(dom + "/console/backend", conBack, ro)
        add(dom + "/console/backend-id", "0", XSPermissions([XSPermission(.none, domid), XSPermission(.read, 0)])!)
        add(dom + "/console/limit", "1048576", ro)
        add(dom + "/console/type", "xenconsoled", ro)
        add(dom + "/console/output", "pty", ro)
        add(dom + "/console/tty", "", ro)
        add(dom + "/console/port", "\(build.consolePort)", ro)
        add(dom + "/console/ring-ref", "\(build.consoleMFN)", ro)
        let conBackKeys: [(String, String)] = [("frontend", dom + "/console"), ("frontend-id", "\(domid)"),
                                               ("online", "1"), ("state", XenbusState.initialising.text), ("protocol", "vt100")]
        addBackend(&out, path: conBack, keys: conBackKeys, perms: ro)
        addLibxlCopy(&out, libxl: libxl, kind: "console", devid: 0, frontend: dom + "/console", backend: conBack,
                     keys: conBackKeys.filter { $0.0 != "frontend" })
        return out
    }

    /// The top-level paths a domain owns: removing them removes all of it.
    public static func roots(domid: UInt32, uuid: DomainUUID) -> [String] {
        [XSPath.domainPath(domid), "/vm/" + uuid.description, "/libxl/\(domid)"]
    }

    /// `memory/videoram` in KiB: an HVM guest's `videoram` (MiB), none for the others.
    static func videoRAMKiB(_ config: DomainConfiguration) -> UInt64 {
        guard config.type == .hvm else { return 0 }
        let mib = config.platform["videoram"].flatMap { UInt64($0) } ?? UInt64(DomainConfiguration.defaultVideoRAMMiB)
        return mib << 10
    }

    /// Where backend directories of this domain live in a backend domain.
    public static func backendRoot(backendDomid: UInt32, kind: String, domid: UInt32) -> String {
        "/local/domain/\(backendDomid)/backend/\(kind)/\(domid)"
    }

    private static func addBackend(_ out: inout [StoreNode], path: String, keys: [(String, String)], perms: XSPermissions) {
        out.append(StoreNode(path, "", perms))
        for (k, v) in keys { out.append(StoreNode(path + "/" + k, v, perms)) }
    }

    private static func addLibxlCopy(_ out: inout [StoreNode], libxl: String, kind: String, devid: UInt32,
                                     frontend: String, backend: String, keys: [(String, String)]) {
        let no = XSPermissions(owner: 0)
        let base = "\(libxl)/device/\(kind)/\(devid)"
        if !out.contains(where: { $0.path == "\(libxl)/device/\(kind)" }) {
            out.append(StoreNode("\(libxl)/device/\(kind)", "", no))
        }
        out.append(StoreNode(base, "", no))
        out.append(StoreNode(base + "/frontend", frontend, no))
        out.append(StoreNode(base + "/backend", backend, no))
        for (k, v) in keys { out.append(StoreNode(base + "/" + k, v, no)) }
    }
}

// What a device is in xenstore, computed from the model (the model says
// what the guest has; these say how libxl writes it down).

extension DiskDevice {
    /// The backend kind (the directory under `backend/`): `vbd` (kernel
    /// blkback), `qdisk` (QEMU) or `vbd3` (tapdisk). Without an explicit
    /// backend type: `vbd` for a raw image or device, `qdisk` for formats only
    /// QEMU reads (qcow, qcow2, vhd, qed) and for empty cdrom drives.
    public var backendKind: String {
        switch backendType {
        case .phy, .standalone: "vbd"
        case .qdisk: "qdisk"
        case .tap: "vbd3"
        case nil: format != .raw || target == nil ? "qdisk" : "vbd"
        }
    }

    /// The backend's `type` node: `phy`, `qdisk` or `tap` (a standalone
    /// backend is written as `phy`).
    public var backendTypeName: String {
        switch backendType {
        case .phy, .standalone: "phy"
        case .qdisk: "qdisk"
        case .tap: "tap"
        case nil: backendKind == "qdisk" ? "qdisk" : "phy"
        }
    }

    /// `params`: what the backend opens; QEMU's backend takes a non-raw
    /// format as a prefix (`qcow2:/img`, `empty:` for an empty drive).
    public var params: String {
        let target = self.target ?? ""
        return backendTypeName == "qdisk" && format != .raw ? "\(format.rawValue):\(target)" : target
    }

    /// `mode`: `w` or `r`.
    public var mode: String { access == .readWrite ? "w" : "r" }

    /// `removable`: cdroms are.
    public var removable: Bool { deviceType == .cdrom }

    /// The backend domain's id (a domain named rather than numbered is taken as dom0).
    public var backendDomid: UInt32 { backendDomain.flatMap { UInt32($0) } ?? 0 }
}

extension NetworkInterface {
    /// The hotplug script's path: `vif-bridge` unless the config names
    /// another; a bare name lives in Xen's script directory.
    public var scriptPath: String {
        let script = self.script ?? "vif-bridge"
        return script.hasPrefix("/") ? script : "/etc/xen/scripts/" + script
    }

    /// The backend domain's id (a domain named rather than numbered is taken as dom0).
    public var backendDomid: UInt32 { backend.flatMap { UInt32($0) } ?? 0 }
}
