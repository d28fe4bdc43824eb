#if canImport(Glibc)
import Glibc
#endif
import DomainConfig
import Toolstack
import XenStoreProtocol

/// What the embedded host's simulated device backends refuse: what the real
/// ones refuse on a Xen dom0, in the words `xl create` prints, so that a
/// config that would fail on Xen fails here too.
///
/// - What libxl refuses while choosing a disk's backend, on either host
///   (Toolstack's `DiskBackendChoice`: a target that does not exist, a
///   disk only QEMU would serve).
/// - A `script=` it cannot run: the embedded host runs no hotplug script;
///   it plays Xen's `block`, `vif-bridge`, `vif-route` and `vif-nat`.
/// - A vif on a bridge that is not a network interface of this machine.
///   Xen's `vif-bridge` hotplug script (tools/hotplug/Linux/vif-bridge)
///   fails with `Could not find bridge device <bridge>` when
///   `ip link show <bridge>` fails, after the vif's entries are written:
///   libxl reports the script's failure and undoes the create. The bridge
///   is libxl's default, `xenbr0`, when the config names none. Only
///   vifs whose script is `vif-bridge` are checked (`vif-route` and
///   `vif-nat` need no bridge).
///
/// Bridges named in ``pretendBridges`` (`SWXL_EMBEDDED_BRIDGES`) count as
/// present, so that a config written for a Xen host (`bridge=xenbr0`) runs
/// on a machine without that bridge.
public struct SimulatedBackends: DeviceBackends, Sendable, Equatable {
    /// The environment variable that lists the bridges to pretend:
    /// `SWXL_EMBEDDED_BRIDGES=xenbr0,br1`.
    public static let pretendBridgesVariable = "SWXL_EMBEDDED_BRIDGES"

    /// Bridges that count as present whether or not they exist.
    public var pretendBridges: Set<String>
    /// Where the machine's network interfaces are listed (`/sys/class/net`).
    public var networkInterfaces: String

    public init(pretendBridges: Set<String> = [], networkInterfaces: String = "/sys/class/net") {
        self.pretendBridges = pretendBridges
        self.networkInterfaces = networkInterfaces
    }

    /// The bridges of `SWXL_EMBEDDED_BRIDGES` (separated by commas or spaces).
    public init(environment env: [String: String]) {
        let names = (env[Self.pretendBridgesVariable] ?? "").split(whereSeparator: { $0 == "," || $0 == " " })
        self.init(pretendBridges: Set(names.map(String.init)))
    }

    // MARK: what the embedded host refuses

    /// Xen's own vif scripts, which the simulated backends play; any other
    /// script (a disk's `script=`, a vif's own) cannot run here and is refused.
    static let playedVifScripts: Set<String> = ["vif-bridge", "vif-route", "vif-nat"]

    public func check(_ entry: DeviceEntry) throws(HypervisorError) {
        let h = entry.handle
        guard let script = h.script else { return }
        let name = script.split(separator: "/").last.map(String.init) ?? script
        let played = h.kind == "vbd" ? script == "/etc/xen/scripts/block" : Self.playedVifScripts.contains(name)
        guard !played else { return }
        let what = h.kind == "vbd" ? (entry.back.first { $0.0 == "dev" }.map { "Disk vdev=\($0.1)" } ?? h.label) : h.label
        throw HypervisorError("add \(h.label)", errno: ENOSYS,
                              "\(what): script=\(script) cannot run on the embedded host, which runs no hotplug scripts (it plays Xen's block and vif-bridge/vif-route/vif-nat)")
    }

    // MARK: what dom0's kernel does

    /// Plays blkback's and netback's probe (InitWait) and their closing
    /// once the toolstack set the backend to Closing (Closed), as the
    /// kernel does on its own on Xen.
    public func kernelStep(_ handle: DeviceHandle, _ event: KernelEvent, store: any StoreAccess) {
        let state: XenbusState = event == .added ? .initWait : .closed
        Self.writeIfPresent(handle, [("state", state.text)], store: store)
    }

    // MARK: the hotplug scripts

    /// Plays the scripts: `block` writes what Xen's does (a regular file
    /// gets a loop device: `node`, then `physical-device` as the device's
    /// hex `major:minor` and `physical-device-path`; a block device gets
    /// the last two) and `hotplug-status=connected`;
    /// `vif-bridge` fails as Xen's does when its bridge is no network
    /// interface here (writing `hotplug-error` and `hotplug-status=error`,
    /// as the script's `fatal` does), else writes `hotplug-status=connected`.
    /// Removal has nothing to undo.
    public func hotplug(_ handles: [DeviceHandle], _ action: HotplugAction, store: any StoreAccess) -> [HypervisorError?] {
        handles.map { h in
            guard action == .add, h.backendDomid == 0, let script = h.script else { return nil }
            let isBridge = script.split(separator: "/").last == "vif-bridge"
            if h.kind == "vif", isBridge {
                let bridge = (try? store.read(h.backendPath + "/bridge")) ?? nil
                if let problem = bridgeProblem(bridge ?? Self.libxlDefaultBridge) {
                    Self.writeIfPresent(h, [("hotplug-error", problem), ("hotplug-status", "error")], store: store)
                    return HypervisorError("add \(h.label)", errno: ENODEV, "\(script) online failed: \(problem)")
                }
            }
            let device = h.kind == "vbd" && script.split(separator: "/").last == "block" ? blockDevice(h, store: store) : []
            Self.writeIfPresent(h, device + [("hotplug-status", "connected")], store: store)
            return nil
        }
    }

    /// The keys `block` writes for the disk's `params`: for a regular file
    /// the loop device it set up (the lowest `/dev/loopN` no simulated
    /// disk holds: loop's major is 7), for a block device its own numbers.
    func blockDevice(_ h: DeviceHandle, store: any StoreAccess) -> [(String, String)] {
        guard let params = (try? store.read(h.backendPath + "/params")) ?? nil else { return [] }
        var st = stat()
        guard stat(params, &st) == 0 else { return [] }
        if st.st_mode & S_IFMT == S_IFBLK {
            return [("physical-device", Self.majorMinor(st.st_rdev)), ("physical-device-path", params)]
        }
        guard st.st_mode & S_IFMT == S_IFREG else { return [] }
        let vbds = "/local/domain/0/backend/vbd"
        var held = Set<String>()
        for dom in (try? store.directory(vbds)) ?? [] {
            for dev in (try? store.directory("\(vbds)/\(dom)")) ?? [] {
                if let node = (try? store.read("\(vbds)/\(dom)/\(dev)/node")) ?? nil { held.insert(node) }
            }
        }
        let n = (0...).first { !held.contains("/dev/loop\($0)") }!
        return [("node", "/dev/loop\(n)"), ("physical-device", String(7, radix: 16) + ":" + String(n, radix: 16)),
                ("physical-device-path", "/dev/loop\(n)")]
    }

    /// `stat -c %t:%T`: major and minor in lower-case hex.
    /// (glibc's encoding of a `dev_t`, as its `major`/`minor` macros read it.)
    static func majorMinor(_ rdev: dev_t) -> String {
        let d = UInt64(rdev)
        let major = ((d & 0x0000_0000_000f_ff00) >> 8) | ((d & 0xffff_f000_0000_0000) >> 32)
        let minor = (d & 0x0000_0000_0000_00ff) | ((d & 0x0000_0fff_fff0_0000) >> 12)
        return String(major, radix: 16) + ":" + String(minor, radix: 16)
    }

    /// Writes `keys` under the backend only while it exists: a plain write
    /// would bring back a backend removed meanwhile.
    static func writeIfPresent(_ h: DeviceHandle, _ keys: [(String, String)], store: any StoreAccess) {
        guard ((try? store.read(h.backendPath + "/frontend-id")) ?? nil) != nil else { return }
        let perms = XSPermissions([XSPermission(.none, h.backendDomid), XSPermission(.read, h.domid)])!
        try? store.commit(removals: [], writes: keys.map { StoreNode(h.backendPath + "/" + $0.0, $0.1, perms) })
    }

    /// libxl's bridge for a vif that names none (`libxl__device_nic_setdefault`).
    public static let libxlDefaultBridge = "xenbr0"

    /// What `vif-bridge` says when it cannot use `bridge`; nil when it can.
    func bridgeProblem(_ bridge: String) -> String? {
        if bridge.isEmpty {
            // The script takes the first bridge `brctl show` lists.
            let anyBridge = !pretendBridges.isEmpty || interfaces().contains { exists("\($0)/bridge") }
            return anyBridge ? nil : "Could not find bridge, and none was specified"
        }
        if pretendBridges.contains(bridge) || exists(bridge) { return nil }
        // An old config's xenbrN is ethN when ethN is a bridge (the script's own translation).
        if bridge.hasPrefix("xenbr"), exists("eth\(bridge.dropFirst(5))/bridge") { return nil }
        return "Could not find bridge device \(bridge)"
    }

    private func exists(_ relative: String) -> Bool {
        !relative.contains("/..") && !relative.hasPrefix("..") && access(networkInterfaces + "/" + relative, F_OK) == 0
    }

    private func interfaces() -> [String] {
        guard let dir = opendir(networkInterfaces) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
