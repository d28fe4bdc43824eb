/// What a host's device backends do that the toolstack does not: the one
/// place where real Xen and the embedded host differ for devices. The
/// toolstack writes the entries, waits for the states and undoes; the
/// host's backends say what they refuse, play what the dom0 kernel does on
/// its own (nothing on Xen, where the kernel is there), and run the
/// hotplug step (Xen's scripts on Xen, their simulation on the embedded host).
public protocol DeviceBackends {
    /// Refuses, before anything is written, what this host cannot serve
    /// beyond libxl's own choice (``DiskBackendChoice``): the embedded
    /// host refuses a user's `script=`, which it cannot run.
    func check(_ entry: DeviceEntry) throws(HypervisorError)

    /// What the dom0 kernel's backend driver does on its own after the
    /// toolstack's write: on `.added` blkback/netback probe the new backend
    /// and go to InitWait (2); on `.closing` (frontend removed, backend
    /// `online=0`, `state=5`) they unregister and go to Closed (6). Real Xen
    /// does nothing here: its kernel does it.
    func kernelStep(_ handle: DeviceHandle, _ event: KernelEvent, store: any StoreAccess)

    /// The hotplug step for `handles`, side by side: one result per device,
    /// nil for success. On Xen, the scripts as libxl runs them
    /// (``HotplugScript``); on `.remove` failures are reported but the
    /// caller goes on, as libxl does.
    func hotplug(_ handles: [DeviceHandle], _ action: HotplugAction, store: any StoreAccess) -> [HypervisorError?]
}

/// What the toolstack has just done to a backend, for ``DeviceBackends/kernelStep(_:_:store:)``.
public enum KernelEvent: Sendable, Equatable {
    case added, closing
}

/// The hotplug script's action.
public enum HotplugAction: Sendable, Equatable {
    case add, remove

    /// The script's first argument: `add`/`remove` for a disk,
    /// `online`/`offline` for a vif (`libxl__get_hotplug_script_info` on Linux).
    public func argument(kind: String) -> String {
        switch (self, kind == "vif") {
        case (.add, false): "add"
        case (.remove, false): "remove"
        case (.add, true): "online"
        case (.remove, true): "offline"
        }
    }
}
