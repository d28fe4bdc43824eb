#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A Linux PM QoS CPU-latency request, the kernel's interface for programs
/// that cannot wait for a CPU to wake from a deep idle state.
///
/// While the request is held at 0 µs, an idle CPU polls for work instead of
/// halting. That matters on a virtual machine: a client that sends a request
/// and sleeps for its reply leaves its vCPU halted, and waking a halted vCPU
/// takes 10 to 20 µs, several times what the daemon needs to answer a read.
/// The daemon holds the request only while it busy-polls after work (see
/// ``SocketServer/spinNanoseconds``) and lets it go before it sleeps, so an
/// idle daemon asks nothing of the machine.
///
/// The request lives as long as the open descriptor; each 4-byte write sets
/// its value. Opening `/dev/cpu_dma_latency` needs root.
public final class CPULatencyRequest {
    public static let devicePath = "/dev/cpu_dma_latency"
    /// What the request says while not held: the kernel's "no constraint"
    /// (`PM_QOS_CPU_LATENCY_DEFAULT_VALUE`), the value it starts with.
    static let unconstrained: Int32 = 2_000_000_000

    private var fd: Int32
    public private(set) var isHeld = false

    /// Opens the request at `path`, or returns nil with the reason in `errno`
    /// (not root, no such device).
    public init?(path: String = devicePath) {
        fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
    }

    deinit { close(fd) }

    /// Asks that idle CPUs wake without delay (a request of 0 µs).
    public func hold() {
        guard !isHeld else { return }
        isHeld = set(0)
    }

    /// Withdraws the constraint: idle CPUs may halt again.
    public func release() {
        guard isHeld else { return }
        isHeld = !set(Self.unconstrained)
    }

    private func set(_ microseconds: Int32) -> Bool {
        var value = microseconds
        return write(fd, &value, 4) == 4
    }
}
