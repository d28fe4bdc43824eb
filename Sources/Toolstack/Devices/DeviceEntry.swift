import DomainConfig
import XenStoreProtocol

/// Where one device of a domain lives in xenstore, and what runs for it:
/// enough to tear it down from what xenstore holds (libxl enumerates
/// `/libxl/<domid>/device/<kind>/<devid>` the same way).
public struct DeviceHandle: Sendable, Equatable {
    /// The guest's domain.
    public var domid: UInt32
    /// The frontend's kind (`vbd`, `vif`, `vkbd`, `vfb`): the directory under the guest's `device/`.
    public var kind: String
    /// The backend's kind (`vbd`, `qdisk`, `vif`, ...): the directory under the backend domain's `backend/`.
    public var backendKind: String
    public var devid: UInt32
    public var backendDomid: UInt32
    /// The hotplug script's absolute path (the backend's `script`); nil when none runs.
    public var script: String?
    /// How messages name it, as xl's config does: `disk 0`, `vif 1`.
    public var label: String

    public init(domid: UInt32, kind: String, backendKind: String, devid: UInt32, backendDomid: UInt32 = 0,
                script: String? = nil, label: String) {
        self.domid = domid
        self.kind = kind
        self.backendKind = backendKind
        self.devid = devid
        self.backendDomid = backendDomid
        self.script = script
        self.label = label
    }

    public var frontendPath: String { "\(XSPath.domainPath(domid))/device/\(kind)/\(devid)" }
    public var backendPath: String {
        StoreLayout.backendRoot(backendDomid: backendDomid, kind: backendKind, domid: domid) + "/\(devid)"
    }
    /// libxl's own copy: `/libxl/<domid>/device/<kind>/<devid>`.
    public var libxlPath: String { "/libxl/\(domid)/device/\(kind)/\(devid)" }
    /// `XENBUS_PATH` for the hotplug script: the backend relative to the backend domain's home.
    public var relativeBackendPath: String { "backend/\(backendKind)/\(domid)/\(devid)" }
}

/// One device as libxl 4.17 writes it (`libxl__device_generic_add`): the
/// frontend's and backend's keys, in libxl's order, written in one
/// transaction with libxl's permissions. The tables are libxl's
/// (`device_disk_add` in libxl_disk.c, `libxl__device_add_async` with
/// `libxl__set_xenstore_nic` in libxl_nic.c).
public struct DeviceEntry: Sendable, Equatable {
    public var handle: DeviceHandle
    /// Frontend keys, owned by the guest, readable by the backend domain.
    public var front: [(String, String)]
    /// Frontend keys the guest may read but not write (a vif's `mtu`).
    public var readOnlyFront: [(String, String)]
    /// Backend keys, owned by the backend domain, readable by the guest; libxl copies them under /libxl.
    public var back: [(String, String)]

    public init(handle: DeviceHandle, front: [(String, String)], readOnlyFront: [(String, String)] = [],
                back: [(String, String)]) {
        self.handle = handle
        self.front = front
        self.readOnlyFront = readOnlyFront
        self.back = back
    }

    public static func == (a: DeviceEntry, b: DeviceEntry) -> Bool {
        a.handle == b.handle && a.front.elementsEqual(b.front, by: ==)
            && a.readOnlyFront.elementsEqual(b.readOnlyFront, by: ==) && a.back.elementsEqual(b.back, by: ==)
    }

    /// The frontend's and backend's starting state, as libxl writes it.
    static let initialising = XenbusState.initialising.text

    // MARK: libxl's tables

    /// A disk (`device_disk_add`): `protocol` is the guest's ABI
    /// (`x86_64-abi`), written for PV guests only, nil for the others.
    public static func disk(_ disk: DiskDevice, index: Int, domid: UInt32, protocol: String?) -> DeviceEntry? {
        guard let devid = StoreLayout.diskDevid(disk.vdev) else { return nil }
        var back: [(String, String)] = [("params", disk.params)]
        if disk.backendTypeName == "phy" { back.append(("script", disk.scriptPath)) }
        back += [("frontend-id", "\(domid)"), ("online", "1"), ("removable", disk.removable ? "1" : "0"),
                 ("bootable", "1"), ("state", initialising), ("dev", disk.vdev), ("type", disk.backendTypeName),
                 ("mode", disk.mode), ("device-type", disk.deviceType.rawValue)]
        if disk.directIOSafe { back.append(("direct-io-safe", "1")) }
        back.append(("discard-enable", disk.discardEnable ?? (disk.access == .readWrite) ? "1" : "0"))
        back.append(("specification", "xen"))
        var front: [(String, String)] = [("backend-id", "\(disk.backendDomid)"), ("state", initialising),
                                         ("virtual-device", "\(devid)"), ("device-type", disk.deviceType.rawValue),
                                         ("trusted", "1")]
        if let `protocol` { front.append(("protocol", `protocol`)) }
        let handle = DeviceHandle(domid: domid, kind: "vbd", backendKind: disk.backendKind, devid: devid,
                                  backendDomid: disk.backendDomid,
                                  script: disk.backendTypeName == "phy" ? disk.scriptPath : nil, label: "disk \(index)")
        return DeviceEntry(handle: handle, front: front, back: back)
    }

    /// A network interface (`libxl__device_add_async` + `libxl__set_xenstore_nic`);
    /// `devid` is its position among the domain's vifs. The MAC is the
    /// resolved config's (libxl's random 00:16:3e one when the config names none).
    public static func vif(_ vif: NetworkInterface, devid: UInt32, domid: UInt32, type: DomainType) -> DeviceEntry {
        let mac = vif.mac?.description ?? ""
        var back: [(String, String)] = [("frontend-id", "\(domid)"), ("online", "1"), ("state", initialising),
                                        ("script", vif.scriptPath)]
        if let name = vif.vifname { back.append(("vifname", name)) }
        back.append(("mac", mac))
        if let ip = vif.ip { back.append(("ip", ip)) }
        if let gateway = vif.gatewaydev { back.append(("gatewaydev", gateway)) }
        if let rate = vif.rateLimit { back.append(("rate", "\(rate.bytesPerInterval),\(rate.intervalMicroseconds)")) }
        let mtu = vif.mtu ?? NetworkInterface.defaultMTU
        if mtu != NetworkInterface.defaultMTU { back.append(("mtu", "\(mtu)")) }
        back += [("bridge", vif.bridge ?? NetworkInterface.defaultBridge), ("handle", "\(devid)"),
                 // A PV guest's vif is always `vif` (libxl forces the type for PV).
                 ("type", type == .hvm ? (vif.type ?? "vif") : "vif"), ("hotplug-status", "")]
        let front: [(String, String)] = [("backend-id", "\(vif.backendDomid)"), ("state", initialising),
                                         ("handle", "\(devid)"), ("mac", mac), ("trusted", "1")]
        let handle = DeviceHandle(domid: domid, kind: "vif", backendKind: "vif", devid: devid,
                                  backendDomid: vif.backendDomid, script: vif.scriptPath, label: "vif \(devid)")
        return DeviceEntry(handle: handle, front: front, readOnlyFront: [("mtu", "\(mtu)")], back: back)
    }

    /// A keyboard or framebuffer: only the generic keys (QEMU serves them; swxl starts none).
    public static func generic(kind: String, devid: UInt32, domid: UInt32) -> DeviceEntry {
        DeviceEntry(handle: DeviceHandle(domid: domid, kind: kind, backendKind: kind, devid: devid, label: "\(kind) \(devid)"),
                    front: [("backend-id", "0"), ("state", initialising)],
                    back: [("frontend-id", "\(domid)"), ("online", "1"), ("state", initialising)])
    }

    // MARK: the transaction

    /// What the one transaction removes first: libxl's copy and both
    /// directories, so a device written again starts clean.
    public var removals: [String] { [handle.libxlPath, handle.frontendPath, handle.backendPath] }

    /// The nodes, in writing order: the frontend directory (owned by the
    /// guest, readable by the backend domain) with `backend` and its keys,
    /// the read-only frontend keys, the backend directory (owned by the
    /// backend domain, readable by the guest) with `frontend` and its keys,
    /// then libxl's copy (`frontend`, `backend` and the backend keys).
    public var nodes: [StoreNode] {
        let h = handle
        let dom = XSPath.domainPath(h.domid)
        let frontPerms = XSPermissions([XSPermission(.none, h.domid), XSPermission(.read, h.backendDomid)])!
        let readOnly = XSPermissions([XSPermission(.none, h.backendDomid), XSPermission(.read, h.domid)])!
        let backPerms = readOnly
        let libxl = XSPermissions(owner: 0)
        var out: [StoreNode] = []
        out.append(StoreNode("\(dom)/device/\(h.kind)", "", XSPermissions([XSPermission(.none, 0), XSPermission(.read, h.domid)])!))
        out.append(StoreNode(h.frontendPath, "", frontPerms))
        out.append(StoreNode(h.frontendPath + "/backend", h.backendPath, frontPerms))
        for (k, v) in front { out.append(StoreNode(h.frontendPath + "/" + k, v, frontPerms)) }
        for (k, v) in readOnlyFront { out.append(StoreNode(h.frontendPath + "/" + k, v, readOnly)) }
        out.append(StoreNode(h.backendPath, "", backPerms))
        out.append(StoreNode(h.backendPath + "/frontend", h.frontendPath, backPerms))
        for (k, v) in back { out.append(StoreNode(h.backendPath + "/" + k, v, backPerms)) }
        out.append(StoreNode("/libxl/\(h.domid)/device/\(h.kind)", "", libxl))
        out.append(StoreNode(h.libxlPath, "", libxl))
        out.append(StoreNode(h.libxlPath + "/frontend", h.frontendPath, libxl))
        out.append(StoreNode(h.libxlPath + "/backend", h.backendPath, libxl))
        for (k, v) in back { out.append(StoreNode(h.libxlPath + "/" + k, v, libxl)) }
        return out
    }

    /// Every device of a domain's config, in libxl's order: disks, vifs,
    /// then keyboards and framebuffers. Disks whose name is no Linux
    /// device are left out (libxl refuses them while parsing).
    public static func all(domid: UInt32, config: DomainConfiguration, protocol: String?) -> [DeviceEntry] {
        var out: [DeviceEntry] = []
        for (i, d) in config.disks.enumerated() {
            if let e = disk(d, index: i, domid: domid, protocol: config.type == .pv ? `protocol` : nil) { out.append(e) }
        }
        for (i, v) in config.vifs.enumerated() { out.append(vif(v, devid: v.devid(index: i), domid: domid, type: config.type)) }
        for i in config.vkbs.indices { out.append(generic(kind: "vkbd", devid: UInt32(i), domid: domid)) }
        for i in config.vfbs.indices { out.append(generic(kind: "vfb", devid: UInt32(i), domid: domid)) }
        return out
    }
}

extension NetworkInterface {
    /// libxl's MTU when the config names none (`LIBXL_DEVICE_NIC_MTU_DEFAULT`).
    public static let defaultMTU = 1500
    /// libxl's bridge when the config names none (`libxl__device_nic_setdefault`).
    public static let defaultBridge = "xenbr0"
}

extension DiskDevice {
    /// The `block` script's absolute path, or the config's `script=` in
    /// Xen's script directory when relative (`libxl__abs_path`).
    public var scriptPath: String {
        let script = self.script ?? "block"
        return script.hasPrefix("/") ? script : "/etc/xen/scripts/" + script
    }
}
