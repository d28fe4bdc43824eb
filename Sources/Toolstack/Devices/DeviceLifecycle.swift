#if canImport(Glibc)
import Glibc
#endif
import DomainConfig
import XenStoreProtocol

/// Adding and removing devices as libxl 4.17 does (libxl_device.c), on
/// either host; what differs between hosts is the host's
/// ``DeviceBackends``.
extension Toolstack {
    /// What ``addDevices(_:)-([DeviceStep])`` writes, in order: devices, or
    /// plain nodes written between them (the console, between the disks and
    /// the networks).
    public enum DeviceStep {
        case devices([DeviceEntry])
        case nodes([StoreNode])
    }

    /// Adds `entries` side by side (see ``addDevices(_:)-([DeviceStep])``).
    public func addDevices(_ entries: [DeviceEntry]) throws(ToolstackError) {
        try addDevices([.devices(entries)])
    }

    /// Adds devices side by side: each device's frontend and backend in one
    /// transaction (``DeviceEntry/nodes``), in the steps' order (libxl's:
    /// disks, the console, networks); then the backends are given 10 s to
    /// reach InitWait (2) (a watch on each `state`; keyboards and
    /// framebuffers, which QEMU would serve, are not waited for, as libxl
    /// does not wait for QEMU's backends), then the host's hotplug step runs
    /// for all of them at once (libxl runs the scripts one after another;
    /// independent devices need not wait for each other). All or nothing:
    /// when one fails, every device written here is removed again (its
    /// script run for `remove`), and the first failure is thrown, with the
    /// script's or the kernel's reason. (Plain nodes are the caller's to undo.)
    public func addDevices(_ steps: [DeviceStep]) throws(ToolstackError) {
        let backends = hypervisor.deviceBackends
        var written: [DeviceHandle] = []
        do throws(ToolstackError) {
            for step in steps {
                switch step {
                case .nodes(let nodes):
                    do { try store.commit(removals: [], writes: nodes) } catch { throw .store(error) }
                case .devices(let entries):
                    for entry in entries {
                        do { try store.commit(removals: entry.removals, writes: entry.nodes) } catch { throw .store(error) }
                        written.append(entry.handle)
                        if Self.isKernelServed(entry.handle) { backends.kernelStep(entry.handle, .added, store: store) }
                    }
                }
            }
            let served = written.filter(Self.isKernelServed)
            let states = served.map { $0.backendPath + "/state" }
            let initWait = XenbusState.initWait.text
            var last: [String?] = []
            do {
                _ = try store.wait(for: states, timeoutMs: deviceTimeouts.initMs) { values in
                    last = values
                    return values.allSatisfy { $0 == initWait } || values.contains(nil)
                }
            } catch { throw .store(error) }
            if let i = last.firstIndex(where: { $0 != initWait }) {
                let h = served[i]
                throw .hypervisor(HypervisorError("add \(h.label)", errno: last[i] == nil ? ENODEV : ETIMEDOUT,
                                                  "unable to add device with path \(h.backendPath)"))
            }
            let failures = backends.hotplug(served, .add, store: store)
            if let failure = failures.compactMap({ $0 }).first { throw .hypervisor(failure) }
        } catch {
            _ = removeDevices(written, force: true)
            throw error
        }
    }

    /// Whether the dom0 kernel serves this device (blkback, netback): QEMU
    /// serves the rest (qdisk, vkbd, vfb), and libxl neither waits for nor
    /// runs a script for them.
    static func isKernelServed(_ handle: DeviceHandle) -> Bool {
        handle.backendKind == "vbd" || handle.backendKind == "vif"
    }

    /// Removes devices as libxl does (`libxl__initiate_device_generic_remove`,
    /// then `device_hotplug` and `libxl__device_destroy`), side by side:
    /// 1. in one transaction per device, the frontend removed (`force`; a
    ///    detach without force leaves it for the guest to close), the
    ///    backend set `online=0` and, unless already Closed, `state=5`;
    /// 2. the backends given 10 s to reach Closed (6); a detach without
    ///    force that times out is retried with force, as libxl's does;
    /// 3. the hotplug script run for `remove`/`offline` for those that
    ///    closed (libxl skips it for a backend that never closed, and
    ///    ignores its failure);
    /// 4. frontend, backend and libxl's copy removed.
    /// Returns each device's failure (a backend that never closed), nil
    /// for a clean removal; the entries are gone either way.
    @discardableResult
    public func removeDevices(_ handles: [DeviceHandle], force: Bool = true) -> [HypervisorError?] {
        guard !handles.isEmpty else { return [] }
        let backends = hypervisor.deviceBackends
        var results = [HypervisorError?](repeating: nil, count: handles.count)
        var closing: [Int] = []
        for (i, h) in handles.enumerated() {
            let state = (try? store.read(h.backendPath + "/state")) ?? nil
            var removals: [String] = force ? [h.frontendPath] : []
            var writes: [StoreNode] = []
            if let state {
                let perms = XSPermissions([XSPermission(.none, h.backendDomid), XSPermission(.read, h.domid)])!
                writes.append(StoreNode(h.backendPath + "/online", "0", perms))
                if state != XenbusState.closed.text { writes.append(StoreNode(h.backendPath + "/state", XenbusState.closing.text, perms)) }
            } else {
                removals = [h.frontendPath]
            }
            try? store.commit(removals: removals, writes: writes)
            if state != nil && Self.isKernelServed(h) {
                backends.kernelStep(h, .closing, store: store)
                closing.append(i)
            }
        }
        var closed = waitForClosed(closing.map { handles[$0] })
        if !force, closed.contains(false) {
            // The guest did not close them: libxl retries with force.
            let stuck = closing.indices.filter { !closed[$0] }.map { closing[$0] }
            for i in stuck {
                try? store.remove(handles[i].frontendPath)
                backends.kernelStep(handles[i], .closing, store: store)
            }
            let again = waitForClosed(stuck.map { handles[$0] })
            for (j, i) in stuck.enumerated() { closed[closing.firstIndex(of: i)!] = again[j] }
        }
        // A script that fails to remove is ignored, as libxl ignores it
        // (the netdev a vif's `offline` works on is usually gone already).
        let toRun = closing.indices.filter { closed[$0] }.map { closing[$0] }
        _ = backends.hotplug(toRun.map { handles[$0] }, .remove, store: store)
        for (k, i) in closing.enumerated() where !closed[k] {
            let h = handles[i]
            results[i] = HypervisorError("remove \(h.label)", errno: ETIMEDOUT, "unable to remove device with path \(h.backendPath)")
        }
        for h in handles {
            try? store.commit(removals: [h.frontendPath, h.libxlPath, h.backendPath], writes: [])
            removeIfEmpty([XSPath.parent(of: h.backendPath), XSPath.parent(of: h.frontendPath), XSPath.parent(of: h.libxlPath)])
        }
        return results
    }

    /// Removes each directory left without children (as libxl's
    /// `libxl__xs_path_cleanup` takes a device's empty parents with it:
    /// `backend/vif/<domid>` once its last vif is gone).
    private func removeIfEmpty(_ directories: [String]) {
        for dir in directories where ((try? store.directory(dir)) ?? ["?"]).isEmpty {
            if ((try? store.read(dir)) ?? nil) != nil { try? store.remove(dir) }
        }
    }

    /// Waits up to 10 s for each backend to be Closed (6) or gone.
    private func waitForClosed(_ handles: [DeviceHandle]) -> [Bool] {
        guard !handles.isEmpty else { return [] }
        let closedText = XenbusState.closed.text
        var last: [String?] = []
        _ = try? store.wait(for: handles.map { $0.backendPath + "/state" }, timeoutMs: deviceTimeouts.destroyMs) { values in
            last = values
            return values.allSatisfy { $0 == nil || $0 == closedText }
        }
        return handles.indices.map { last.indices.contains($0) ? (last[$0] == nil || last[$0] == closedText) : false }
    }

    /// The devices xenstore holds for a domain, from libxl's copies
    /// (`/libxl/<domid>/device/<kind>/<devid>/backend`), as libxl's
    /// `libxl__devices_destroy` finds them; the console is not among them
    /// (it has no backend to close: its nodes are only removed).
    public func devicesInStore(domid: UInt32) -> [DeviceHandle] {
        var out: [DeviceHandle] = []
        let base = "/libxl/\(domid)/device"
        for kind in (try? store.directory(base)) ?? [] where kind != "console" {
            for devidText in (try? store.directory(base + "/" + kind)) ?? [] {
                guard let devid = UInt32(devidText),
                      let backend = (try? store.read("\(base)/\(kind)/\(devidText)/backend")) ?? nil else { continue }
                // /local/domain/<backend domid>/backend/<backend kind>/<domid>/<devid>
                let parts = backend.split(separator: "/")
                guard parts.count == 7, let backendDomid = UInt32(parts[2]) else { continue }
                let script = Self.isKernelServed(DeviceHandle(domid: domid, kind: kind, backendKind: String(parts[4]), devid: devid, label: ""))
                    ? ((try? store.read(backend + "/script")) ?? nil) : nil
                let label = kind == "vif" ? "vif \(devid)" : kind == "vbd" ? "disk \(Self.vdevName(devid) ?? devidText)" : "\(kind) \(devid)"
                out.append(DeviceHandle(domid: domid, kind: kind, backendKind: String(parts[4]), devid: devid,
                                        backendDomid: backendDomid, script: script, label: label))
            }
        }
        return out
    }

    /// `xvda` for 51712: the name back from a disk's devid (xvd only).
    static func vdevName(_ devid: UInt32) -> String? {
        func letters(_ n: UInt32) -> String {
            var n = Int(n) + 1, s = ""
            while n > 0 { n -= 1; s = String(UnicodeScalar(UInt8(97 + n % 26))) + s; n /= 26 }
            return s
        }
        if devid >> 8 == 202 {
            let part = devid & 15
            return "xvd" + letters((devid >> 4) & 15) + (part == 0 ? "" : "\(part)")
        }
        if devid & (1 << 28) != 0 {
            let part = devid & 255
            return "xvd" + letters((devid >> 8) & 0xfffff) + (part == 0 ? "" : "\(part)")
        }
        return nil
    }
}

/// How long the toolstack waits for device backends (libxl's values; tests shorten them).
public struct DeviceTimeouts: Sendable, Equatable {
    /// For a new backend to reach InitWait (`LIBXL_INIT_TIMEOUT`, 10 s).
    public var initMs = 10_000
    /// For a removed backend to reach Closed (`LIBXL_DESTROY_TIMEOUT`, 10 s).
    public var destroyMs = 10_000

    public init(initMs: Int = 10_000, destroyMs: Int = 10_000) {
        self.initMs = initMs
        self.destroyMs = destroyMs
    }
}
