/// Why a toolstack operation failed, worded for the person at the shell.
public enum ToolstackError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String)
    case nameInUse(String, domid: UInt32)
    /// A name a managed domain holds (running as `domid`, or halted: nil), in xend's words.
    case nameDefined(String, domid: UInt32?)
    /// A managed domain not in the power state an operation needs, in xend's words
    /// ("Domain is already running", "Domain is not halted.").
    case badPowerState(String)
    case noSuchDomain(String)
    case hypervisor(HypervisorError)
    case store(StoreError)
    case kernel(KernelImageError)
    case system(String)
    case injected(CreateStep)
    case timedOut(String)
    case notSupported(String)
    /// A scheduler's parameters asked of a domain whose pool runs another.
    case wrongScheduler(running: String, asked: String)

    public var description: String {
        switch self {
        case .invalid(let m): m
        case .nameDefined(let n, let d): "VM name '\(n)' already exists" + (d.map { " as domain \($0)" } ?? "")
        case .badPowerState(let m): m
        case .nameInUse(let n, let d): "domain with name \"\(n)\" already exists (domid \(d))"
        case .noSuchDomain(let n): "'\(n)' is an invalid domain identifier"
        case .hypervisor(let e): e.description
        case .store(let e): e.description
        case .kernel(let e): e.description
        case .system(let m): m
        case .injected(let s): "injected failure at step '\(s.rawValue)' (SWXL_FAULT)"
        case .timedOut(let m): m
        case .notSupported(let m): m
        case .wrongScheduler(let running, let asked): "the domain's CPU pool runs the \(running) scheduler, not \(asked)"
        }
    }
}
