#if canImport(Glibc)
import Glibc
#endif

/// The steps of `create`, in order. A failure at any of them undoes the
/// ones before.
public enum CreateStep: String, Sendable, CaseIterable {
    /// The name is reserved (`<state>/toolstack/names/<name>`).
    case reserveName = "name"
    /// The hypervisor creates the empty domain.
    case createDomain = "create"
    /// Max memory and vcpus are set.
    case limits = "limits"
    /// Kernel, ramdisk, store and console pages.
    case build = "build"
    /// The xenstore layout, in one transaction.
    case store = "store"
    /// xenstored is told of the domain.
    case introduce = "introduce"
    /// Disks, console and networks are connected.
    case devices = "devices"
    /// The toolstack's own record of the domain.
    case record = "record"
    /// The domain starts running.
    case unpause = "unpause"
}

/// Fault injection for the rollback tests: `SWXL_FAULT=<step>` makes
/// `create` fail at that step as if it had failed for real;
/// `SWXL_FAULT=<step>:kill` kills the process there (SIGKILL), leaving
/// the create journal for the next swxl command to clean up.
public struct FaultInjection: Sendable, Equatable {
    public var step: CreateStep?
    public var kill: Bool

    public init(step: CreateStep? = nil, kill: Bool = false) {
        self.step = step
        self.kill = kill
    }

    public init(environment env: [String: String]) {
        self.init()
        guard let text = env["SWXL_FAULT"], !text.isEmpty else { return }
        let parts = text.split(separator: ":", maxSplits: 1)
        step = CreateStep(rawValue: String(parts[0]))
        kill = parts.count > 1 && parts[1] == "kill"
    }

    /// Fails (or dies) if `step` is the injected one.
    func check(_ step: CreateStep) throws(ToolstackError) {
        guard self.step == step else { return }
        if kill { Glibc.kill(getpid(), SIGKILL) }
        throw ToolstackError.injected(step)
    }
}
