import DomainConfig
import XenStoreProtocol

/// What `block-list` and `network-list` show of one device, as libxl's
/// `libxl_device_disk_getinfo`/`libxl_device_nic_getinfo` read it: the
/// frontend's state, event channel and ring references (-1 when missing),
/// the backend's path and domain.
public struct DeviceInfo: Sendable, Equatable {
    public var devid: UInt32
    public var backendID: UInt32
    public var frontendID: UInt32
    public var state: Int
    public var eventChannel: Int
    /// `ring-ref` of a disk; `tx-ring-ref` of a vif.
    public var ringRef: Int
    /// `rx-ring-ref` of a vif (-1 for a disk).
    public var rxRingRef: Int
    public var backend: String
    /// A vif's MAC (from its backend), "" for a disk.
    public var mac: String

    public init(devid: UInt32, backendID: UInt32, frontendID: UInt32, state: Int, eventChannel: Int,
                ringRef: Int, rxRingRef: Int, backend: String, mac: String) {
        self.devid = devid
        self.backendID = backendID
        self.frontendID = frontendID
        self.state = state
        self.eventChannel = eventChannel
        self.ringRef = ringRef
        self.rxRingRef = rxRingRef
        self.backend = backend
        self.mac = mac
    }
}

/// Devices added to and removed from a running domain (`xl block-attach`,
/// `network-attach`, `block-detach`, `network-detach`), as libxl's
/// `libxl_device_disk_add`/`libxl_device_nic_add`/`..._remove` do: the
/// same steps as at create (``addDevices(_:)``, ``removeDevices(_:force:)``),
/// and the domain's record follows, so that a restart brings the devices back.
extension Toolstack {
    /// Adds `disk` to the domain (its target made absolute against `directory`, as a config's is).
    public func attachDisk(domid: UInt32, _ disk: DiskDevice) throws(ToolstackError) {
        var config = record(domid)
        var resolvedDisk = disk
        if resolvedDisk.script == nil, let target = resolvedDisk.target, !target.isEmpty, !target.hasPrefix("/"), !target.contains(":"),
           let dir = workingDirectory() {
            resolvedDisk.target = (dir.hasSuffix("/") ? dir : dir + "/") + target
        }
        let index = config?.disks.count ?? 0
        guard let devid = StoreLayout.diskDevid(resolvedDisk.vdev) else {
            throw .invalid("Invalid or unsupported virtual disk identifier \(resolvedDisk.vdev)")
        }
        do {
            try DiskBackendChoice.checkTarget(resolvedDisk, index: index)
            try DiskBackendChoice.checkServed(resolvedDisk, index: index)
        } catch { throw .hypervisor(error) }
        let pv = (config?.type ?? .pv) == .pv
        guard let entry = DeviceEntry.disk(resolvedDisk, index: index, domid: domid,
                                           protocol: pv ? hypervisor.nativeProtocol(domid: domid) : nil) else {
            throw .invalid("Invalid or unsupported virtual disk identifier \(resolvedDisk.vdev)")
        }
        try addOne(entry, exists: "device/vbd/\(devid)")
        if config != nil {
            config!.disks.append(resolvedDisk)
            try state.record(config!, domid: domid)
        }
    }

    /// Adds `vif` to the domain with the devid its spec asks for, else the
    /// next free one (libxl's `libxl__device_nextid`), and a MAC chosen as at
    /// create when it has none; returns the devid. The record keeps the
    /// devid, so a restart brings the vif back under the same number.
    @discardableResult
    public func attachNIC(domid: UInt32, _ vif: NetworkInterface) throws(ToolstackError) -> UInt32 {
        var config = record(domid)
        var resolvedVIF = vif
        if resolvedVIF.mac == nil { resolvedVIF.mac = MACAddress.randomXen() }
        let used = devicesInStore(domid: domid).filter { $0.kind == "vif" }.map(\.devid)
        let devid = vif.requestedDevid ?? (used.max().map { $0 + 1 }) ?? 0
        resolvedVIF.options["devid"] = String(devid)
        let entry = DeviceEntry.vif(resolvedVIF, devid: devid, domid: domid, type: config?.type ?? .pv)
        try addOne(entry, exists: "device/vif/\(devid)")
        if config != nil {
            config!.vifs.append(resolvedVIF)
            try state.record(config!, domid: domid)
        }
        return devid
    }

    private func addOne(_ entry: DeviceEntry, exists relative: String) throws(ToolstackError) {
        do { try hypervisor.deviceBackends.check(entry) } catch { throw .hypervisor(error) }
        let present: String?
        do { present = try store.read(XSPath.domainPath(entry.handle.domid) + "/" + relative + "/backend") } catch { throw .store(error) }
        if present != nil { throw .invalid("device already exists in xenstore") }
        try addDevices([entry])
    }

    /// The domain's disk for `identifier`, a vdev (`xvdb`) or its devid (`51728`); nil when none is connected.
    public func disk(domid: UInt32, _ identifier: String) -> DeviceHandle? {
        guard let devid = StoreLayout.diskDevid(identifier) else { return nil }
        return devicesInStore(domid: domid).first { $0.kind == "vbd" && $0.devid == devid }
    }

    /// The domain's vif for `identifier`: a MAC when it holds a `:`, else a devid (C's atoi).
    public func nic(domid: UInt32, _ identifier: String) -> DeviceHandle? {
        let vifs = devicesInStore(domid: domid).filter { $0.kind == "vif" }
        if identifier.contains(":") {
            guard let mac = MACAddress(identifier) else { return nil }
            return vifs.first { h in ((try? store.read(h.backendPath + "/mac")) ?? nil).flatMap(MACAddress.init) == mac }
        }
        let digits = identifier.drop { $0 == " " }.prefix { $0.isASCII && $0.isNumber }
        let devid = UInt32(digits) ?? 0
        return vifs.first { $0.devid == devid }
    }

    /// Removes a disk or vif found by ``disk(domid:_:)``/``nic(domid:_:)``;
    /// without `force` the guest is given the time to let it go. The record
    /// forgets it either way; the device's failure, if any, is thrown after.
    public func detach(_ handle: DeviceHandle, force: Bool) throws(ToolstackError) {
        let mac = handle.kind == "vif" ? ((try? store.read(handle.backendPath + "/mac")) ?? nil).flatMap(MACAddress.init) : nil
        let failure = removeDevices([handle], force: force).first ?? nil
        if var config = record(handle.domid) {
            if handle.kind == "vbd" {
                if let i = config.disks.firstIndex(where: { StoreLayout.diskDevid($0.vdev) == handle.devid }) { config.disks.remove(at: i) }
            } else if handle.kind == "vif" {
                if let mac, let i = config.vifs.firstIndex(where: { $0.mac == mac }) { config.vifs.remove(at: i) }
            }
            try state.record(config, domid: handle.domid)
        }
        if let failure { throw .hypervisor(failure) }
    }

    /// The domain's disks (`kind` `vbd`) or vifs (`vif`), as xl's `-list` commands show them, by devid.
    public func deviceInfo(domid: UInt32, kind: String) -> [DeviceInfo] {
        devicesInStore(domid: domid).filter { $0.kind == kind }.sorted { $0.devid < $1.devid }.map { h in
            let keys = kind == "vif" ? ["state", "event-channel", "tx-ring-ref", "rx-ring-ref"] : ["state", "event-channel", "ring-ref"]
            let values = ((try? store.readMany(keys.map { h.frontendPath + "/" + $0 })) ?? []).map { $0.flatMap { Int($0) } ?? -1 }
            let number = { (i: Int) in values.indices.contains(i) ? values[i] : -1 }
            let mac = kind == "vif" ? ((try? store.read(h.backendPath + "/mac")) ?? nil) ?? "" : ""
            return DeviceInfo(devid: h.devid, backendID: h.backendDomid, frontendID: domid, state: number(0),
                              eventChannel: number(1), ringRef: number(2), rxRingRef: kind == "vif" ? number(3) : -1,
                              backend: h.backendPath, mac: mac)
        }
    }
}
