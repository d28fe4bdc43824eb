// The one typed model every config format is read into, in the manner of
// xend's XendConfig: XenAPI-style names, explicit units.
//
// Units: every memory size in this model is in bytes (as XenAPI's
// `memory_*` fields are). xl's `memory`/`maxmem` keys are MiB; the
// conversion happens when reading and writing xl.cfg files.

/// The kind of guest.
public enum DomainType: String, Sendable, Hashable, CaseIterable, Codable {
    case pv, pvh, hvm
}

/// What to do when a guest shuts down, reboots, crashes, ... (xl.cfg(5)).
public enum DomainAction: String, Sendable, Hashable, CaseIterable, Codable {
    case destroy
    case restart
    case renameRestart = "rename-restart"
    case preserve
    case coredumpDestroy = "coredump-destroy"
    case coredumpRestart = "coredump-restart"
    case softReset = "soft-reset"
}

/// Which physical CPUs a guest's vCPUs may run on.
public enum CPUAffinity: Sendable, Hashable {
    /// Any CPU (`"all"`).
    case all
    /// These CPUs (sorted, no duplicates), e.g. from `"0-3,^2,6"`.
    case cpus([Int])
    /// The CPUs of these NUMA nodes (`"nodes:0-1"`), sorted.
    case nodes([Int])
    /// One affinity per vCPU, from a list (`cpus = ["0", "1-2"]`).
    case perVCPU([CPUAffinity])
    /// A valid list that only the host's topology resolves: NUMA nodes mixed
    /// with CPUs or taken out (`"0-3,nodes:1"`, `"nodes:0-1,^nodes:1"`), or
    /// `all` with exclusions (`"all,^0"`). Kept in canonical text form.
    case mixed(String)
}

/// A 128-bit UUID. Text form: lowercase `8-4-4-4-12`.
public struct DomainUUID: Sendable, Hashable, CustomStringConvertible {
    public var bytes: [UInt8]  // always 16

    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }
}

/// A MAC address (6 bytes). Text form: lowercase `xx:xx:xx:xx:xx:xx`.
public struct MACAddress: Sendable, Hashable, CustomStringConvertible {
    public var bytes: [UInt8]  // always 6

    public init?(bytes: [UInt8]) {
        guard bytes.count == 6 else { return nil }
        self.bytes = bytes
    }
}

// MARK: - Devices

/// A virtual disk, from one xl-disk-configuration(5) spec.
public struct DiskDevice: Sendable, Hashable {
    public enum Format: String, Sendable, Hashable, CaseIterable {
        case raw, qcow, qcow2, vhd, qed, empty
    }
    public enum Access: String, Sendable, Hashable {
        case readWrite = "rw", readOnly = "ro"
    }
    public enum DeviceType: String, Sendable, Hashable {
        case disk, cdrom
    }
    /// The backend implementation asked for (`backendtype=`); nil lets the toolstack choose.
    public enum BackendType: String, Sendable, Hashable, CaseIterable {
        case phy, qdisk, tap, standalone
    }

    /// The image, block device or file (xenstore `params`); nil for an empty cdrom drive.
    public var target: String?
    public var format: Format = .raw
    /// The guest's name for it (`xvda`, `hdc`, `sda1`, ...).
    public var vdev: String
    public var access: Access = .readWrite
    public var deviceType: DeviceType = .disk
    public var backendType: BackendType?
    /// The backend domain (name or id); nil means dom0.
    public var backendDomain: String?
    /// A hotplug script (`script=`).
    public var script: String?
    public var directIOSafe: Bool = false
    /// `discard` / `no-discard`; nil when not said.
    public var discardEnable: Bool?
    /// Other `key=value` options kept as given (e.g. colo options), sorted by key when written.
    public var options: [String: String] = [:]

    public init(target: String?, vdev: String) {
        self.target = target
        self.vdev = vdev
    }
}

/// A virtual network interface, from one `vif` spec (xl-network-configuration(5)).
public struct NetworkInterface: Sendable, Hashable {
    public var mac: MACAddress?
    public var bridge: String?
    public var ip: String?
    public var script: String?
    /// Emulated NIC model for HVM (`rtl8139`, `e1000`, ...).
    public var model: String?
    /// `vif` (PV only) or `ioemu` (emulated and PV).
    public var type: String?
    public var vifname: String?
    /// As written, e.g. `10Mb/s@20ms`.
    public var rate: String?
    public var mtu: Int?
    /// Backend domain (name or id); nil means dom0.
    public var backend: String?
    public var gatewaydev: String?
    /// Other `key=value` options kept as given.
    public var options: [String: String] = [:]

    public init() {}

    /// The devid the spec asks for (`devid=N`), if any.
    public var requestedDevid: UInt32? { options["devid"].flatMap { UInt32($0) } }

    /// Its devid as the `index`-th vif of a config: the one asked for, else
    /// its index (xl's ARRAY_EXTEND_INIT numbers the list, `devid=` overrides).
    public func devid(index: Int) -> UInt32 { requestedDevid ?? UInt32(index) }
}

/// A virtual framebuffer (`vfb`, or the HVM `vnc`/`sdl` keys).
public struct FramebufferDevice: Sendable, Hashable {
    /// `vnc=`: nil when the spec does not say (libxl's default), else as given.
    public var vnc: Bool?
    public var vnclisten: String?
    public var vncdisplay: Int?
    public var vncunused: Bool?
    public var vncpasswd: String?
    /// `sdl=`: nil when the spec does not say, else as given.
    public var sdl: Bool?
    public var opengl: Bool?
    public var display: String?
    public var xauthority: String?
    public var keymap: String?
    public var backend: String?
    public var options: [String: String] = [:]

    public init() {}
}

/// A virtual keyboard/pointer (`vkb`).
public struct KeyboardDevice: Sendable, Hashable {
    public var backend: String?
    public var backendType: String?
    public var options: [String: String] = [:]

    public init() {}
}

/// A PV channel (`channel`): a named byte stream to the host.
public struct ChannelDevice: Sendable, Hashable {
    public var name: String
    /// `pty` or `socket`.
    public var connection: String
    /// The socket path for `socket` channels.
    public var path: String?
    public var backend: String?

    public init(name: String, connection: String, path: String? = nil, backend: String? = nil) {
        self.name = name
        self.connection = connection
        self.path = path
        self.backend = backend
    }
}

/// A PV console as xend recorded it (`(device (console ...))`).
public struct ConsoleDevice: Sendable, Hashable {
    /// `vt100` etc.
    public var protocolName: String = "vt100"
    /// Where it is reachable, if recorded (`location`).
    public var location: String?
    public var backend: String?

    public init() {}
}

/// A passed-through PCI device, from `pci = [ "BDF[@VSLOT][,opts]" ]`.
public struct PCIDevice: Sendable, Hashable {
    public var domain: Int = 0
    public var bus: Int
    public var device: Int
    public var function: Int
    /// `F` was `*`: every function of a multi-function device (`function` is then 0).
    public var allFunctions: Bool = false
    /// The guest slot (`@VSLOT`), if asked for.
    public var vslot: Int?
    public var permissive: Bool?
    public var msitranslate: Bool?
    public var seize: Bool?
    public var powerManagement: Bool?
    public var rdmPolicy: String?

    public init(domain: Int = 0, bus: Int, device: Int, function: Int) {
        self.domain = domain
        self.bus = bus
        self.device = device
        self.function = function
    }

    /// `dddd:bb:dd.f` (`dddd:bb:dd.*` for every function).
    public var bdf: String {
        hex(domain, 4) + ":" + hex(bus, 2) + ":" + hex(device, 2) + "." + (allFunctions ? "*" : String(function, radix: 16))
    }
}

func hex(_ v: Int, _ width: Int) -> String {
    let s = String(v, radix: 16)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

// MARK: - The domain

/// One domain's configuration, whatever file it came from.
public struct DomainConfiguration: Sendable, Hashable {
    public var name_label: String
    public var uuid: DomainUUID
    public var type: DomainType = .pv

    public var VCPUs_max: Int = 1
    public var VCPUs_at_startup: Int = 1
    /// Hard CPU affinity (`cpus`); nil means not set (any CPU).
    public var cpus: CPUAffinity?
    /// Soft CPU affinity (`cpus_soft`).
    public var cpus_soft: CPUAffinity?

    /// Bytes. xl `maxmem` (defaults to `memory`).
    public var memory_static_max: UInt64 = 32 << 20
    /// Bytes. xl `memory`: the initial balloon target.
    public var memory_dynamic_max: UInt64 = 32 << 20

    public var actions_after_shutdown: DomainAction = .destroy
    public var actions_after_reboot: DomainAction = .restart
    public var actions_after_crash: DomainAction = .destroy
    public var actions_after_watchdog: DomainAction = .destroy
    public var actions_after_soft_reset: DomainAction = .softReset

    /// Kernel image path, resolved against the config file's directory.
    public var PV_kernel: String?
    public var PV_ramdisk: String?
    /// The kernel command line (xl `cmdline`, or `root` + `extra`).
    public var PV_args: String?
    public var PV_bootloader: String?
    public var PV_bootloader_args: [String] = []

    /// Everything else xl.cfg knows that this model does not type, as strings
    /// (e.g. `acpi`, `boot`, `viridian`, `device_model_version`, `sdl`, `vnc`,
    /// `hap`, `nestedhvm`, `localtime`, `usbdevice`, ...), keyed by xl name.
    public var platform: [String: String] = [:]
    /// Other xl keys with list values that are not typed (e.g. `usbdev`, `soundhw`),
    /// kept as string lists.
    public var platformLists: [String: [String]] = [:]

    public var disks: [DiskDevice] = []
    public var vifs: [NetworkInterface] = []
    public var vfbs: [FramebufferDevice] = []
    public var vkbs: [KeyboardDevice] = []
    public var channels: [ChannelDevice] = []
    public var consoles: [ConsoleDevice] = []
    /// HVM serial ports (`serial = "pty"` or a list), as given.
    public var serials: [String] = []
    public var pcis: [PCIDevice] = []

    /// Keys no reader knew, kept (with a warning) so nothing is lost.
    public var unknown: [String: ConfigValue] = [:]

    public init(name_label: String, uuid: DomainUUID) {
        self.name_label = name_label
        self.uuid = uuid
    }

    /// xl `memory`, in MiB.
    public var memoryMiB: UInt64 { memory_dynamic_max >> 20 }
    /// xl `maxmem`, in MiB.
    public var maxmemMiB: UInt64 { memory_static_max >> 20 }
}

extension DomainConfiguration {
    /// swxl's own platform key: a program the embedded host runs as the
    /// simulated guest (its output is the guest's console). A documented
    /// extension to xl.cfg, named here once for the reader and the host.
    public static let simGuestScriptKey = "sim_guest_script"

    /// The simulated guest's program, if the config names one.
    public var simGuestScript: String? { platform[Self.simGuestScriptKey] }
}
