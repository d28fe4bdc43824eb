#if canImport(Glibc)
import Glibc
#endif
import DomainConfig
import Toolstack

/// What the embedded host's simulated device backends refuse: what the real
/// ones refuse on a Xen dom0, in the words `xl create` prints, so that a
/// config that would fail on Xen fails here too.
///
/// - A disk whose image or block device does not exist. libxl 4.17 stats
///   the target while it chooses the disk's backend, before it creates the
///   domain (`libxl__device_disk_set_backend` in
///   tools/libs/light/libxl_device.c: `Disk vdev=%s failed to stat: %s`
///   with the errno's text), for a backend it chooses or `phy`/`standalone`
///   in dom0 without a `script=`. An empty cdrom drive has no target and is
///   fine. (With a `script=`, a driver domain or QEMU's `qdisk` backend,
///   libxl does not look: the script, the driver domain or QEMU decides,
///   and the embedded host does not play them.)
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
public struct SimulatedBackends: Sendable, Equatable {
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

    // MARK: disks, before anything is written

    /// Refuses the first disk whose target libxl would fail to stat.
    public func checkDisks(_ config: DomainConfiguration) throws(HypervisorError) {
        for (index, disk) in config.disks.enumerated() where Self.libxlStats(disk) {
            guard let target = disk.target else { continue }
            var st = stat()
            if stat(target, &st) != 0 {
                let code = errno
                throw HypervisorError("add disk \(index)", errno: code,
                                      "Disk vdev=\(disk.vdev) failed to stat: \(target): \(String(cString: strerror(code)))")
            }
        }
    }

    /// Whether libxl stats this disk's target before choosing its backend:
    /// not empty, a backend the kernel serves (or left to libxl), in dom0,
    /// no script of the user's.
    static func libxlStats(_ disk: DiskDevice) -> Bool {
        guard disk.format != .empty, disk.target != nil, disk.script == nil else { return false }
        switch disk.backendType {
        case nil, .phy, .standalone: break
        case .qdisk, .tap: return false
        }
        return isDom0(disk.backendDomain)
    }

    // MARK: vifs, while attaching

    /// Refuses the first vif whose `vif-bridge` script would not find its bridge.
    public func checkNetworks(_ config: DomainConfiguration) throws(HypervisorError) {
        for (index, vif) in config.vifs.enumerated() {
            guard vif.scriptPath.split(separator: "/").last == "vif-bridge", Self.isDom0(vif.backend) else { continue }
            if let problem = bridgeProblem(vif.bridge ?? Self.libxlDefaultBridge) {
                throw HypervisorError("add vif \(index)", errno: ENODEV,
                                      "\(vif.scriptPath) online failed: \(problem)")
            }
        }
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

    /// Whether a backend named so (nil: the default) is dom0.
    static func isDom0(_ backend: String?) -> Bool {
        guard let backend else { return true }
        return backend == "0" || backend == "Domain-0"
    }
}
