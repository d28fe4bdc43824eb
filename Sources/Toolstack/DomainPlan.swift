/// What to do when a domain shuts down (xl's `on_poweroff`, `on_reboot`, `on_crash`).
public enum ShutdownAction: String, Sendable, Equatable, CaseIterable {
    case destroy, restart, preserve
    case renameRestart = "rename-restart"
    case coredumpDestroy = "coredump-destroy"
    case coredumpRestart = "coredump-restart"
    case softReset = "soft-reset"

    /// What the embedded host does for it: coredumps are not taken, the
    /// rest of the action happens.
    public var effective: ShutdownAction {
        switch self {
        case .coredumpDestroy: .destroy
        case .coredumpRestart: .restart
        case .softReset: .restart
        default: self
        }
    }
}

/// A virtual disk as the layout needs it.
public struct DiskPlan: Sendable, Equatable {
    /// `xvda`, `hdc`, `sdb`, ...
    public var vdev: String
    /// What the backend opens (libxl's `params`).
    public var target: String
    /// `w` or `r`.
    public var mode: String
    /// `disk` or `cdrom`.
    public var deviceType: String
    /// Backend kind: `vbd`, `qdisk`, `vbd3`.
    public var backendKind: String
    /// Backend `type`: `phy`, `qdisk`, `tap`.
    public var backendType: String
    public var format: String
    public var script: String?
    public var backendDomid: UInt32

    public init(vdev: String, target: String, mode: String = "w", deviceType: String = "disk",
                backendKind: String = "vbd", backendType: String = "phy", format: String = "raw",
                script: String? = nil, backendDomid: UInt32 = 0) {
        self.vdev = vdev
        self.target = target
        self.mode = mode
        self.deviceType = deviceType
        self.backendKind = backendKind
        self.backendType = backendType
        self.format = format
        self.script = script
        self.backendDomid = backendDomid
    }
}

/// A virtual network interface as the layout needs it.
public struct VifPlan: Sendable, Equatable {
    public var mac: String
    public var bridge: String?
    public var script: String
    public var ip: String?
    public var type: String
    public var backendDomid: UInt32

    public init(mac: String, bridge: String? = nil, script: String = "vif-bridge", ip: String? = nil,
                type: String = "vif", backendDomid: UInt32 = 0) {
        self.mac = mac
        self.bridge = bridge
        self.script = script
        self.ip = ip
        self.type = type
        self.backendDomid = backendDomid
    }
}

/// Everything `create` needs, resolved: the toolstack's input, whichever
/// config format it came from.
public struct DomainPlan: Sendable, Equatable {
    public var name: String
    /// 16 bytes.
    public var uuid: [UInt8]
    public var type: GuestType
    /// Memory the guest starts with (`memory`), and its most (`maxmem`), in MiB.
    public var memoryMiB: UInt64
    public var maxMemoryMiB: UInt64
    /// vcpus online at start, and the most.
    public var vcpus: UInt32
    public var maxVCPUs: UInt32
    public var kernel: String
    public var ramdisk: String?
    public var cmdline: String
    public var onPoweroff: ShutdownAction
    public var onReboot: ShutdownAction
    public var onCrash: ShutdownAction
    /// HVM video memory in KiB (PV guests have none).
    public var videoramKiB: UInt64?
    public var disks: [DiskPlan]
    public var vifs: [VifPlan]
    /// Number of virtual keyboards and framebuffers (their pairs carry only the generic keys).
    public var vkbs: Int
    public var vfbs: Int
    /// A program run as the simulated guest (embedded host only).
    public var simGuestScript: String?
    /// The resolved config as JSON, for `swxl list -l` (nil: built from the plan).
    public var configJSON: String?

    public init(name: String, uuid: [UInt8] = DomainHandle.random(), type: GuestType = .pv,
                memoryMiB: UInt64 = 128, maxMemoryMiB: UInt64? = nil, vcpus: UInt32 = 1, maxVCPUs: UInt32? = nil,
                kernel: String, ramdisk: String? = nil, cmdline: String = "",
                onPoweroff: ShutdownAction = .destroy, onReboot: ShutdownAction = .restart,
                onCrash: ShutdownAction = .destroy, videoramKiB: UInt64? = nil,
                disks: [DiskPlan] = [], vifs: [VifPlan] = [], vkbs: Int = 0, vfbs: Int = 0,
                simGuestScript: String? = nil, configJSON: String? = nil) {
        self.name = name
        self.uuid = uuid
        self.type = type
        self.memoryMiB = memoryMiB
        self.maxMemoryMiB = max(maxMemoryMiB ?? memoryMiB, memoryMiB)
        self.vcpus = vcpus
        self.maxVCPUs = max(maxVCPUs ?? vcpus, vcpus)
        self.kernel = kernel
        self.ramdisk = ramdisk
        self.cmdline = cmdline
        self.onPoweroff = onPoweroff
        self.onReboot = onReboot
        self.onCrash = onCrash
        self.videoramKiB = videoramKiB
        self.disks = disks
        self.vifs = vifs
        self.vkbs = vkbs
        self.vfbs = vfbs
        self.simGuestScript = simGuestScript
        self.configJSON = configJSON
    }

    /// What to do after a shutdown for `reason`.
    public func action(for reason: ShutdownReason) -> ShutdownAction {
        switch reason {
        case .poweroff, .suspend: onPoweroff
        case .reboot: onReboot
        case .crash, .watchdog: onCrash
        case .softReset: .restart
        }
    }

    /// A name xl accepts: not empty, not all digits (it would read as a domid),
    /// no `/` and printable.
    public static func validateName(_ name: String) -> String? {
        if name.isEmpty { return "the domain name is empty" }
        if name.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            return "domain name \"\(name)\" is all digits and would be read as a domid"
        }
        if name.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "/") }) {
            return "domain name \"\(name)\" contains '/' or a control character"
        }
        return nil
    }
}

// MARK: persistence

extension DomainPlan {
    /// `key=value` lines (values escaped), what the toolstack keeps per domain.
    public var encoded: String {
        var lines: [(String, String)] = [
            ("name", name), ("uuid", DomainHandle.format(uuid)), ("type", type.rawValue),
            ("memory", "\(memoryMiB)"), ("maxmem", "\(maxMemoryMiB)"), ("vcpus", "\(vcpus)"),
            ("maxvcpus", "\(maxVCPUs)"), ("kernel", kernel), ("cmdline", cmdline),
            ("on_poweroff", onPoweroff.rawValue), ("on_reboot", onReboot.rawValue), ("on_crash", onCrash.rawValue),
            ("vkbs", "\(vkbs)"), ("vfbs", "\(vfbs)"),
        ]
        if let ramdisk { lines.append(("ramdisk", ramdisk)) }
        if let videoramKiB { lines.append(("videoram", "\(videoramKiB)")) }
        if let simGuestScript { lines.append(("sim_guest_script", simGuestScript)) }
        if let configJSON { lines.append(("config_json", configJSON)) }
        for (i, d) in disks.enumerated() {
            let p = "disk.\(i)."
            lines += [(p + "vdev", d.vdev), (p + "target", d.target), (p + "mode", d.mode),
                      (p + "device_type", d.deviceType), (p + "backend_kind", d.backendKind),
                      (p + "backend_type", d.backendType), (p + "format", d.format),
                      (p + "backend_domid", "\(d.backendDomid)")]
            if let s = d.script { lines.append((p + "script", s)) }
        }
        for (i, v) in vifs.enumerated() {
            let p = "vif.\(i)."
            lines += [(p + "mac", v.mac), (p + "script", v.script), (p + "type", v.type),
                      (p + "backend_domid", "\(v.backendDomid)")]
            if let b = v.bridge { lines.append((p + "bridge", b)) }
            if let ip = v.ip { lines.append((p + "ip", ip)) }
        }
        return lines.map { "\($0.0)=\(Self.escape($0.1))\n" }.joined()
    }

    public init?(encoded text: String) {
        var kv: [String: String] = [:]
        for (k, v) in parseKeyValues(text) { kv[k] = Self.unescape(v) }
        guard let name = kv["name"], let uuid = kv["uuid"].flatMap({ DomainHandle.parse($0) }),
              let type = kv["type"].flatMap({ GuestType(rawValue: $0) }), let kernel = kv["kernel"] else { return nil }
        func action(_ key: String, _ fallback: ShutdownAction) -> ShutdownAction {
            kv[key].flatMap { ShutdownAction(rawValue: $0) } ?? fallback
        }
        var disks: [DiskPlan] = []
        var i = 0
        while let vdev = kv["disk.\(i).vdev"] {
            let p = "disk.\(i)."
            disks.append(DiskPlan(vdev: vdev, target: kv[p + "target"] ?? "", mode: kv[p + "mode"] ?? "w",
                                  deviceType: kv[p + "device_type"] ?? "disk", backendKind: kv[p + "backend_kind"] ?? "vbd",
                                  backendType: kv[p + "backend_type"] ?? "phy", format: kv[p + "format"] ?? "raw",
                                  script: kv[p + "script"], backendDomid: kv[p + "backend_domid"].flatMap { UInt32($0) } ?? 0))
            i += 1
        }
        var vifs: [VifPlan] = []
        i = 0
        while let mac = kv["vif.\(i).mac"] {
            let p = "vif.\(i)."
            vifs.append(VifPlan(mac: mac, bridge: kv[p + "bridge"], script: kv[p + "script"] ?? "vif-bridge",
                                ip: kv[p + "ip"], type: kv[p + "type"] ?? "vif",
                                backendDomid: kv[p + "backend_domid"].flatMap { UInt32($0) } ?? 0))
            i += 1
        }
        self.init(name: name, uuid: uuid, type: type, memoryMiB: kv["memory"].flatMap { UInt64($0) } ?? 128,
                  maxMemoryMiB: kv["maxmem"].flatMap { UInt64($0) }, vcpus: kv["vcpus"].flatMap { UInt32($0) } ?? 1,
                  maxVCPUs: kv["maxvcpus"].flatMap { UInt32($0) }, kernel: kernel, ramdisk: kv["ramdisk"],
                  cmdline: kv["cmdline"] ?? "", onPoweroff: action("on_poweroff", .destroy),
                  onReboot: action("on_reboot", .restart), onCrash: action("on_crash", .destroy),
                  videoramKiB: kv["videoram"].flatMap { UInt64($0) }, disks: disks, vifs: vifs,
                  vkbs: kv["vkbs"].flatMap { Int($0) } ?? 0, vfbs: kv["vfbs"].flatMap { Int($0) } ?? 0,
                  simGuestScript: kv["sim_guest_script"], configJSON: kv["config_json"])
    }

    static func escape(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == 10 || $0 == 92 || $0 == 13 }) else { return s }
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.append(c)
            }
        }
        return out
    }

    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out = ""
        var escaped = false
        for c in s {
            if escaped {
                out.append(c == "n" ? "\n" : c == "r" ? "\r" : c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        return out
    }
}
