import DomainConfig
import SaveFormat

/// What the toolstack needs from a hypervisor: the operations of
/// libxenctrl/libxenguest that `xl` uses to build and run a domain.
///
/// Two implementations: `XenHypervisor` (the CXen bridge, on a dom0) and
/// the embedded host's `SimulatedHypervisor` (module EmbeddedHost, a
/// persistent domain table in the state dir). What differs between them
/// is said here (e.g. ``BuildSpec/onlineVCPUs``), never found out by
/// testing for a type.
/// Memory is in KiB throughout, as Xen's tools count it.
public protocol Hypervisor: AnyObject {
    /// Xen's version and capabilities (`xl info`'s xen_* lines).
    func version() throws(HypervisorError) -> HypervisorVersion
    /// The host: CPUs and memory (`xl info`).
    func physInfo() throws(HypervisorError) -> PhysInfo

    /// Creates an empty, paused domain and returns its domid.
    func createDomain(_ spec: DomainCreateSpec) throws(HypervisorError) -> UInt32
    /// The most memory the domain may have.
    func setMaxMemory(domid: UInt32, kib: UInt64) throws(HypervisorError)
    /// The number of vcpus the domain may have.
    func setMaxVCPUs(domid: UInt32, count: UInt32) throws(HypervisorError)
    /// Loads kernel, ramdisk and command line, gives the domain its
    /// memory, and sets up the xenstore and console pages with their
    /// event channels. The domain stays paused.
    func build(domid: UInt32, spec: BuildSpec) throws(HypervisorError) -> BuildResult

    /// The host's device backends: what they refuse, what the dom0 kernel
    /// does on its own, and the hotplug step (see ``DeviceBackends``).
    var deviceBackends: any DeviceBackends { get }
    /// The guest's ABI for its PV frontends (`x86_64-abi`, `x86_32-abi`), as
    /// `xc_domain_get_native_protocol` says; nil when unknown.
    func nativeProtocol(domid: UInt32) -> String?

    func pause(domid: UInt32) throws(HypervisorError)
    func unpause(domid: UInt32) throws(HypervisorError)
    /// Asks the hypervisor to shut the domain down with `reason` (as
    /// `xc_domain_shutdown` does; a cooperative shutdown goes through
    /// xenstore's `control/shutdown` instead).
    func shutdown(domid: UInt32, reason: ShutdownReason) throws(HypervisorError)
    /// Whether the guest can be asked through xenstore's `control/shutdown`:
    /// a PV or PVH guest always, an HVM one once its PV drivers are up
    /// (libxl__domain_pvcontrol_available).
    func pvControlAvailable(domid: UInt32) throws(HypervisorError) -> Bool
    /// An ACPI power (`power`) or reset button event to the guest (libxl_send_trigger).
    func sendACPITrigger(domid: UInt32, power: Bool) throws(HypervisorError)
    /// The host's CPU, NUMA and PCI topology (`xl info -n`).
    func topology() throws(HypervisorError) -> HostTopology
    /// The NUMA nodes the domain's memory is placed on (`xl list -n`).
    func nodeAffinity(domid: UInt32) throws(HypervisorError) -> [UInt32]
    /// Destroys the domain; its memory returns to the host.
    func destroy(domid: UInt32) throws(HypervisorError)

    /// One domain, or nil if there is no such domain.
    func domainInfo(domid: UInt32) throws(HypervisorError) -> DomainInfo?
    /// Every domain, Domain-0 included, by domid.
    func listDomains() throws(HypervisorError) -> [DomainInfo]
    /// The domains with `uuid` (usually one; two while a domain migrates to this host).
    func domainIDs(withUUID uuid: DomainUUID) throws(HypervisorError) -> [UInt32]
    /// The domain's vcpus (`xl vcpu-list`).
    func vcpuInfo(domid: UInt32) throws(HypervisorError) -> [VCPUInfo]
    /// The hypervisor's console ring (`xl dmesg`); `clear` empties it after reading.
    func readConsoleRing(clear: Bool) throws(HypervisorError) -> String

    /// Sets a vCPU's hard and/or soft affinity (nil: left as it is), as
    /// `xc_vcpu_setaffinity` does: CPUs beyond the host's are dropped, and
    /// a hard affinity left with no CPU of the domain's pool is refused
    /// (EINVAL). `force` first undoes a pinning the guest's kernel made.
    func setVCPUAffinity(domid: UInt32, vcpu: UInt32, hard: CPUSet?, soft: CPUSet?, force: Bool) throws(HypervisorError)

    /// The CPU pools, by id.
    func cpuPools() throws(HypervisorError) -> [CPUPoolInfo]
    /// A domain's weight and cap under `scheduler` (credit or credit2); the
    /// hypervisor refuses (EINVAL) when its pool runs another scheduler.
    func creditParams(domid: UInt32, scheduler: Scheduler) throws(HypervisorError) -> CreditParams
    /// Sets them, with the same refusal; Xen takes 16-bit values and
    /// credit2 refuses a cap above 100 per vCPU.
    func setCreditParams(domid: UInt32, scheduler: Scheduler, _ params: CreditParams) throws(HypervisorError)
    /// A pool's time slice, rate limit and migration delay under
    /// `scheduler`; refused (EINVAL) when the pool runs another.
    func poolSchedParams(pool: UInt32, scheduler: Scheduler) throws(HypervisorError) -> PoolSchedParams
    func setPoolSchedParams(pool: UInt32, scheduler: Scheduler, _ params: PoolSchedParams) throws(HypervisorError)

    /// Sends debug keys to the hypervisor, as if typed on its serial
    /// console (`xc_send_debug_keys`); what they print goes to the console ring.
    func sendDebugKeys(_ keys: String) throws(HypervisorError)
    /// Writes the domain's memory and vCPU state to `path` as an ELF core in
    /// libxenguest's format (`xc_domain_dumpcore`; see docs/domains.md).
    func dumpCore(domid: UInt32, path: String) throws(HypervisorError)

    // MARK: save and restore (docs/save-restore.md)

    /// What the image part of a save stream holds on this host: libxc's
    /// stream (real Xen) or the embedded host's simulated image. The
    /// toolstack writes the libxl record that introduces it
    /// (``ImageFormat/contextRecord``) and refuses, by name, a stream made
    /// on the other kind of host before handing it to ``restoreImage``.
    var imageFormat: ImageFormat { get }
    /// Whether a running guest's dirty pages can be tracked, i.e. whether a
    /// live save can work. Xen: `XEN_SYSCTL_PHYSCAP_shadow` for PV guests
    /// (`shadow` in `xl info`'s virt_caps; Debian's 4.17.7 has none); the
    /// embedded host: true. Asked before anything is written.
    func canSaveLive(domid: UInt32) throws(HypervisorError) -> Bool
    /// Writes the domain's image to `fd` (blocking, unbuffered; the caller
    /// already wrote the container up to and including the context record
    /// and writes libxl's END after). Calls `suspend` exactly once, when
    /// the guest must stop (non-live: before the first page; live: before
    /// the last round); `suspend` returns false when the guest did not
    /// suspend, and the save then fails. `debug` is xl's `--debug`
    /// (`XCFLAGS_DEBUG`: libxc verifies what it sent). `progress(done,
    /// total)` counts pages. On failure the guest may be suspended; the
    /// caller resumes it with ``resumeAfterSave``.
    func saveImage(domid: UInt32, to fd: Int32, live: Bool, debug: Bool,
                   suspend: () -> Bool, progress: (UInt64, UInt64) -> Void) throws(HypervisorError)
    /// Lets a suspended guest run on after a save that failed or was asked
    /// to keep it (`save -c`): `xc_domain_resume(fast = 1)` on Xen (the
    /// guest sees its suspend cancelled). The caller then tells xenstored
    /// (`xs_resume_domain`) where the host needs it.
    func resumeAfterSave(domid: UInt32) throws(HypervisorError)
    /// Fills the empty paused domain `domid` (made by createDomain,
    /// setMaxMemory and setMaxVCPUs) from the image on `fd`, reading
    /// exactly up to the image's own end and nothing more, with fresh store
    /// and console event channels (remote: `spec.storeDomid` /
    /// `spec.consoleDomid`); returns them with the restored ring pages.
    /// The domain stays paused. `progress(done, total)` counts pages; nil
    /// when no one shows it (the host then does no work to report it).
    func restoreImage(domid: UInt32, from fd: Int32, spec: RestoreSpec,
                      progress: ((UInt64, UInt64) -> Void)?) throws(HypervisorError) -> BuildResult
}

extension Hypervisor {
    /// From the whole list (a hypervisor that can look one uuid up says so).
    public func domainIDs(withUUID uuid: DomainUUID) throws(HypervisorError) -> [UInt32] {
        try listDomains().filter { $0.uuid == uuid }.map(\.domid)
    }

    /// A hypervisor whose guests all have their PV control (the simulated
    /// guests answer `control/shutdown` whatever their type).
    public func pvControlAvailable(domid: UInt32) throws(HypervisorError) -> Bool { true }

    public func topology() throws(HypervisorError) -> HostTopology {
        throw HypervisorError("topology", errno: 38, "not supported by this hypervisor")
    }

    /// Every node of the host (a host of one node has nothing else).
    public func nodeAffinity(domid: UInt32) throws(HypervisorError) -> [UInt32] {
        Array(0..<max(try physInfo().nodes, 1))
    }

    public func sendACPITrigger(domid: UInt32, power: Bool) throws(HypervisorError) {
        throw HypervisorError("Send trigger '\(power ? "power" : "reset")'", errno: 38, "not supported by this hypervisor")
    }

    /// A hypervisor that cannot: refused, never silently ignored.
    public func sendDebugKeys(_ keys: String) throws(HypervisorError) {
        throw HypervisorError("sending debug keys", errno: 38, "not supported by this hypervisor")
    }

    public func dumpCore(domid: UInt32, path: String) throws(HypervisorError) {
        throw HypervisorError("Core dumping domain to \(path)", errno: 38, "not supported by this hypervisor")
    }
}

/// The host's topology as libxl_get_cpu_topology, libxl_get_numainfo and
/// libxl_get_pci_topology give it; nil where Xen says the entry is invalid.
public struct HostTopology: Sendable, Equatable {
    public struct CPU: Sendable, Equatable {
        public var core: UInt32, socket: UInt32, node: UInt32
        public init(core: UInt32, socket: UInt32, node: UInt32) { (self.core, self.socket, self.node) = (core, socket, node) }
    }
    public struct Node: Sendable, Equatable {
        /// Bytes.
        public var size: UInt64, free: UInt64
        /// To each node, by number (UInt32.max where Xen has none).
        public var distances: [UInt32]
        public init(size: UInt64, free: UInt64, distances: [UInt32]) { (self.size, self.free, self.distances) = (size, free, distances) }
    }
    public struct PCIDevice: Sendable, Equatable {
        public var segment: UInt32, bus: UInt32, devfn: UInt32, node: UInt32
        public init(segment: UInt32, bus: UInt32, devfn: UInt32, node: UInt32) {
            (self.segment, self.bus, self.devfn, self.node) = (segment, bus, devfn, node)
        }
    }
    /// By CPU number; nil: an invalid entry (no core), which xl skips.
    public var cpus: [CPU?]
    /// By node number; nil: no memory size, which xl skips.
    public var nodes: [Node?]
    /// The devices with a node (xl prints only those).
    public var pciDevices: [PCIDevice]

    public init(cpus: [CPU?], nodes: [Node?], pciDevices: [PCIDevice]) {
        (self.cpus, self.nodes, self.pciDevices) = (cpus, nodes, pciDevices)
    }

    /// `xl info -n`'s lines between the physical and the Xen information
    /// (output_topologyinfo and output_numainfo in tools/xl/xl_info.c).
    public var xlText: String {
        func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
        func signed(_ v: UInt32) -> String { "\(Int32(bitPattern: v))" }  // xl's %d
        func hex(_ v: UInt32, _ w: Int) -> String { let d = String(v, radix: 16); return String(repeating: "0", count: max(0, w - d.count)) + d }
        var text = "cpu_topology           :\ncpu:    core    socket     node\n"
        for (i, cpu) in cpus.enumerated() {
            guard let cpu else { continue }
            text += pad("\(i)", 3) + ":    " + pad(signed(cpu.core), 4) + "     " + pad(signed(cpu.socket), 4) + "     " + pad(signed(cpu.node), 4) + "\n"
        }
        text += "device topology        :\ndevice           node\n"
        for d in pciDevices {
            text += hex(d.segment, 4) + ":" + hex(d.bus, 2) + ":" + hex((d.devfn >> 3) & 0x1f, 2) + "." + hex(d.devfn & 7, 1)
                + "      \(signed(d.node))\n"
        }
        if pciDevices.isEmpty { text += "No device topology data available\n" }
        text += "numa_info              :\nnode:    memsize    memfree    distances\n"
        for (i, node) in nodes.enumerated() {
            guard let node else { continue }
            text += pad("\(i)", 4) + ":    " + pad("\(node.size >> 20)", 6) + "     " + pad("\(node.free >> 20)", 6) + "      "
                + node.distances.map(signed).joined(separator: ",") + "\n"
        }
        return text
    }
}

/// What restoring an image needs beyond the descriptor
/// (`xc_domain_restore`'s other arguments).
public struct RestoreSpec: Sendable, Equatable {
    public var type: DomainType
    /// The domains that serve xenstore and the console (0).
    public var storeDomid: UInt32
    public var consoleDomid: UInt32
    /// The memory the guest had (its target), for the image's checks.
    public var memoryKiB: UInt64
    /// Whether the stream is checkpointed (Remus/COLO); swxl: never.
    public var checkpointed: Bool

    public init(type: DomainType, memoryKiB: UInt64, storeDomid: UInt32 = 0, consoleDomid: UInt32 = 0,
                checkpointed: Bool = false) {
        self.type = type
        self.memoryKiB = memoryKiB
        self.storeDomid = storeDomid
        self.consoleDomid = consoleDomid
        self.checkpointed = checkpointed
    }
}

/// A failed hypervisor operation, errno-style.
public struct HypervisorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The operation, e.g. "create domain".
    public var operation: String
    /// A C errno value (ENOMEM, ESRCH, EINVAL, ...).
    public var errno: Int32
    /// A sentence for people.
    public var message: String

    public init(_ operation: String, errno: Int32, _ message: String) {
        self.operation = operation
        self.errno = errno
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }
}

/// What Xen says about itself: `xl info`'s xen_*, platform, cc_* and build_id lines.
public struct HypervisorVersion: Sendable, Equatable {
    public var major: Int
    public var minor: Int
    /// e.g. ".0" or "-sim".
    public var extra: String
    /// e.g. "xen-3.0-x86_64 hvm-3.0-x86_32 ...".
    public var capabilities: String
    public var changeset: String
    public var pageSize: UInt32
    /// The hypervisor's start of the guest-invisible address range (`platform_params`).
    public var virtStart: UInt64
    /// Xen's boot command line ("" if hidden from us).
    public var commandLine: String
    public var compiler: String
    public var compiledBy: String
    public var compileDomain: String
    public var compileDate: String
    /// Xen's build id in lower-case hex, "" if it has none.
    public var buildID: String

    public init(major: Int, minor: Int, extra: String, capabilities: String, changeset: String,
                pageSize: UInt32 = 4096, virtStart: UInt64 = 0, commandLine: String = "",
                compiler: String = "", compiledBy: String = "", compileDomain: String = "",
                compileDate: String = "", buildID: String = "") {
        self.major = major
        self.minor = minor
        self.extra = extra
        self.capabilities = capabilities
        self.changeset = changeset
        self.pageSize = pageSize
        self.virtStart = virtStart
        self.commandLine = commandLine
        self.compiler = compiler
        self.compiledBy = compiledBy
        self.compileDomain = compileDomain
        self.compileDate = compileDate
        self.buildID = buildID
    }
}

/// The host's CPUs and memory: `xl info`'s physical lines.
public struct PhysInfo: Sendable, Equatable {
    public var cpus: UInt32
    public var threadsPerCore: UInt32
    public var coresPerSocket: UInt32
    public var nodes: UInt32
    public var cpuKHz: UInt32
    public var totalKiB: UInt64
    /// Free memory not promised to a claim.
    public var freeKiB: UInt64
    public var maxCPUID: UInt32
    /// The eight words of the boot CPU's feature flags (`hw_caps`).
    public var hwCaps: [UInt32]
    /// What guests the host can run, in `xl info`'s words and order
    /// ("pv", "hvm", "hvm_directio", ..., "gnttab-v2").
    public var virtCaps: [String]
    /// The default CPU pool's scheduler ("credit2", ...).
    public var scheduler: String
    /// Memory promised to domain builds in progress (claims).
    public var outstandingKiB: UInt64
    /// Memory saved, and memory used, by page sharing.
    public var sharingFreedKiB: UInt64
    public var sharingUsedKiB: UInt64
    /// CPUs in no CPU pool.
    public var freeCPUs: UInt32

    public init(cpus: UInt32, threadsPerCore: UInt32, coresPerSocket: UInt32, nodes: UInt32,
                cpuKHz: UInt32, totalKiB: UInt64, freeKiB: UInt64, maxCPUID: UInt32? = nil,
                hwCaps: [UInt32] = Array(repeating: 0, count: 8), virtCaps: [String] = [],
                scheduler: String = "credit2", outstandingKiB: UInt64 = 0,
                sharingFreedKiB: UInt64 = 0, sharingUsedKiB: UInt64 = 0, freeCPUs: UInt32 = 0) {
        self.cpus = cpus
        self.threadsPerCore = threadsPerCore
        self.coresPerSocket = coresPerSocket
        self.nodes = nodes
        self.cpuKHz = cpuKHz
        self.totalKiB = totalKiB
        self.freeKiB = freeKiB
        self.maxCPUID = maxCPUID ?? max(cpus, 1) - 1
        self.hwCaps = hwCaps
        self.virtCaps = virtCaps
        self.scheduler = scheduler
        self.outstandingKiB = outstandingKiB
        self.sharingFreedKiB = sharingFreedKiB
        self.sharingUsedKiB = sharingUsedKiB
        self.freeCPUs = freeCPUs
    }
}

public struct DomainCreateSpec: Sendable, Equatable {
    /// The domain's handle (`xen_domain_handle_t`).
    public var uuid: DomainUUID
    public var type: DomainType
    public var maxVCPUs: UInt32
    /// The most memory the domain will ever have; the hypervisor refuses
    /// creation when the host cannot provide it.
    public var maxMemoryKiB: UInt64

    public init(uuid: DomainUUID, type: DomainType, maxVCPUs: UInt32, maxMemoryKiB: UInt64) {
        self.uuid = uuid
        self.type = type
        self.maxVCPUs = maxVCPUs
        self.maxMemoryKiB = maxMemoryKiB
    }
}

public struct BuildSpec: Sendable, Equatable {
    public var kernelPath: String
    public var ramdiskPath: String?
    public var commandLine: String
    /// The memory the guest starts with (its target).
    public var memoryKiB: UInt64
    /// The domain that serves xenstore and the console (0).
    public var storeDomid: UInt32
    public var consoleDomid: UInt32
    /// The vcpus the guest's kernel brings online at boot (the config's
    /// `vcpus`; nil: all of them). A real kernel decides for itself from
    /// `cpu/<n>/availability`, so real Xen ignores this; a hypervisor that
    /// plays the kernel too (the embedded host's) starts the domain with
    /// this many online.
    public var onlineVCPUs: UInt32?

    public init(kernelPath: String, ramdiskPath: String?, commandLine: String, memoryKiB: UInt64,
                storeDomid: UInt32 = 0, consoleDomid: UInt32 = 0, onlineVCPUs: UInt32? = nil) {
        self.kernelPath = kernelPath
        self.ramdiskPath = ramdiskPath
        self.commandLine = commandLine
        self.memoryKiB = memoryKiB
        self.storeDomid = storeDomid
        self.consoleDomid = consoleDomid
        self.onlineVCPUs = onlineVCPUs
    }
}

/// What building set up: the pages and event channels that
/// `/local/domain/<id>/store` and `.../console` record.
public struct BuildResult: Sendable, Equatable {
    public var storePort: UInt32
    public var storeMFN: UInt64
    public var consolePort: UInt32
    public var consoleMFN: UInt64

    public init(storePort: UInt32, storeMFN: UInt64, consolePort: UInt32, consoleMFN: UInt64) {
        self.storePort = storePort
        self.storeMFN = storeMFN
        self.consolePort = consolePort
        self.consoleMFN = consoleMFN
    }
}

/// Why a domain shut down (`SHUTDOWN_*` of Xen's sched.h).
public enum ShutdownReason: UInt32, Sendable, Codable, CaseIterable {
    case poweroff = 0, reboot = 1, suspend = 2, crash = 3, watchdog = 4, softReset = 5

    /// The word used in xenstore's `control/shutdown` and by xl.
    public var name: String {
        switch self {
        case .poweroff: "poweroff"
        case .reboot: "reboot"
        case .suspend: "suspend"
        case .crash: "crash"
        case .watchdog: "watchdog"
        case .softReset: "soft_reset"
        }
    }
}

/// A domain as the hypervisor sees it (`xc_domaininfo_t`).
public struct DomainInfo: Sendable, Equatable {
    public var domid: UInt32
    public var uuid: DomainUUID
    /// State flags; several may be set at once, as in Xen.
    public var running: Bool
    public var blocked: Bool
    public var paused: Bool
    public var shutdown: Bool
    public var dying: Bool
    public var crashed: Bool
    /// Meaningful when `shutdown` is set.
    public var shutdownReason: ShutdownReason?
    public var currentMemoryKiB: UInt64
    public var maxMemoryKiB: UInt64
    public var onlineVCPUs: UInt32
    public var maxVCPUs: UInt32
    /// CPU time used, in nanoseconds.
    public var cpuTimeNs: UInt64
    /// The CPU pool it runs in.
    public var cpupool: UInt32
    /// Its XSM security label's id (`ssidref`; 0 without XSM).
    public var ssidref: UInt32 = 0

    public init(domid: UInt32, uuid: DomainUUID, running: Bool = false, blocked: Bool = false, paused: Bool = false,
                shutdown: Bool = false, dying: Bool = false, crashed: Bool = false,
                shutdownReason: ShutdownReason? = nil, currentMemoryKiB: UInt64, maxMemoryKiB: UInt64,
                onlineVCPUs: UInt32, maxVCPUs: UInt32, cpuTimeNs: UInt64, cpupool: UInt32 = 0) {
        self.cpupool = cpupool
        self.domid = domid
        self.uuid = uuid
        self.running = running
        self.blocked = blocked
        self.paused = paused
        self.shutdown = shutdown
        self.dying = dying
        self.crashed = crashed
        self.shutdownReason = shutdownReason
        self.currentMemoryKiB = currentMemoryKiB
        self.maxMemoryKiB = maxMemoryKiB
        self.onlineVCPUs = onlineVCPUs
        self.maxVCPUs = maxVCPUs
        self.cpuTimeNs = cpuTimeNs
    }

    /// The state in one word, as `swxl list --json` names it: the first of
    /// dying, crashed, shutdown, paused, running that applies, else blocked.
    public var stateName: String {
        if dying { return "dying" }
        if crashed || (shutdown && shutdownReason == .crash) { return "crashed" }
        if shutdown { return "shutdown" }
        if paused { return "paused" }
        if running { return "running" }
        return "blocked"
    }

    /// xl's six-letter state column, e.g. `-b----` or `---sr-`: running,
    /// blocked, paused, shutdown, the shutdown reason (`-` poweroff,
    /// `r` reboot, `s` suspend, `c` crash, `w` watchdog, `S` soft reset),
    /// dying.
    public var stateLetters: String {
        let reason: Character
        switch shutdown ? shutdownReason : nil {
        case nil, .poweroff: reason = "-"
        case .reboot: reason = "r"
        case .suspend: reason = "s"
        case .crash: reason = "c"
        case .watchdog: reason = "w"
        case .softReset: reason = "S"
        }
        let flags: [(Bool, Character)] = [(running, "r"), (blocked, "b"), (paused, "p"), (shutdown, "s")]
        return String(flags.map { $0.0 ? $0.1 : "-" }) + String(reason) + (dying ? "d" : "-")
    }
}

/// One vcpu (`xl vcpu-list`).
public struct VCPUInfo: Sendable, Equatable {
    public var vcpu: UInt32
    /// The physical CPU it runs on, when online.
    public var cpu: UInt32?
    public var online: Bool
    public var running: Bool
    public var blocked: Bool
    public var cpuTimeNs: UInt64
    /// The pCPUs it may run on (hard affinity).
    public var hardAffinity: CPUSet
    /// The pCPUs it prefers (soft affinity).
    public var softAffinity: CPUSet

    public init(vcpu: UInt32, cpu: UInt32?, online: Bool, running: Bool, blocked: Bool,
                cpuTimeNs: UInt64, hardAffinity: CPUSet, softAffinity: CPUSet) {
        self.vcpu = vcpu
        self.cpu = cpu
        self.online = online
        self.running = running
        self.blocked = blocked
        self.cpuTimeNs = cpuTimeNs
        self.hardAffinity = hardAffinity
        self.softAffinity = softAffinity
    }
}
