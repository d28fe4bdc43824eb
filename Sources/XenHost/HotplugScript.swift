import Toolstack
#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem

/// One run of a device's hotplug script as libxl 4.17 starts it on Linux
/// (`libxl__get_hotplug_script_info`, `get_hotplug_env`, `libxl__hotplug_disk`
/// and `libxl__hotplug_nic` in tools/libs/light/libxl_linux.c;
/// `device_hotplug` in libxl_device.c):
///
/// - arguments: a disk's `add`/`remove`; a vif's `online`/`offline` and `type_if=vif`;
/// - environment added to ours: `script` (the script's path), `XENBUS_TYPE`
///   (the backend kind), `XENBUS_PATH` (the backend, relative to dom0's
///   home: `backend/vbd/1/51712`), `XENBUS_BASE_PATH=backend`; for a vif
///   also `netdev` (the backend's `gatewaydev`, or empty) and
///   `vif=vif<domid>.<devid>` (the netdev netback made);
/// - stdin on /dev/null, its output on our stderr;
/// - killed (SIGKILL) after ``timeoutSeconds``; its exit status is the result.
public struct HotplugScript: Sendable, Equatable {
    public var path: String
    public var arguments: [String]
    public var environment: [String: String]
    /// What libxl calls it in messages: the script and its first argument.
    public var what: String { ([path] + arguments.prefix(1)).joined(separator: " ") }

    /// libxl's `LIBXL_HOTPLUG_TIMEOUT`.
    public static let timeoutSeconds: Double = 40

    public init(path: String, arguments: [String], environment: [String: String]) {
        self.path = path
        self.arguments = arguments
        self.environment = environment
    }

    /// The run for `action` on a device; `gatewaydev` is a vif backend's
    /// `gatewaydev` key, when it has one. Nil for a device without a script.
    public init?(_ device: DeviceHandle, _ action: HotplugAction, gatewaydev: String? = nil) {
        guard let script = device.script else { return nil }
        var arguments = [action.argument(kind: device.backendKind)]
        var env = ["script": script, "XENBUS_TYPE": device.backendKind,
                   "XENBUS_PATH": device.relativeBackendPath, "XENBUS_BASE_PATH": "backend"]
        if device.backendKind == "vif" {
            arguments.append("type_if=vif")
            env["netdev"] = gatewaydev ?? ""
            env["vif"] = "vif\(device.domid).\(device.devid)"
        }
        self.init(path: script, arguments: arguments, environment: env)
    }

    /// How a run ended.
    public enum Outcome: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)
        /// Killed after the timeout.
        case timedOut
        /// It could not be started (the reason).
        case notStarted(String)

        public var succeeded: Bool { self == .exited(0) }
    }

    /// Runs `scripts` side by side, as many at a time as dom0 has CPUs
    /// online (libxl runs them one after another; they are independent
    /// devices, but on one CPU running them together only splits it), and
    /// waits for all, each at most `timeoutSeconds` from its start; one
    /// outcome per script, in order.
    public static func runAll(_ scripts: [HotplugScript], timeoutSeconds: Double = timeoutSeconds,
                              atOnce: Int = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))) -> [Outcome] {
        var outcomes = [Outcome?](repeating: nil, count: scripts.count)
        var running: [(index: Int, pid: pid_t, deadline: UInt64)] = []
        var next = 0
        var pause: useconds_t = 200
        while next < scripts.count || !running.isEmpty {
            while next < scripts.count && running.count < atOnce {
                let s = scripts[next]
                do {
                    // Its own process group, so that the kill reaches what it started too.
                    let pid = try BackgroundProcess.spawn(executable: s.path, arguments: s.arguments,
                                                          environment: s.environment.mapValues { Optional($0) },
                                                          output: .standardError, newSession: true)
                    running.append((next, pid, SystemClock.monotonicNanoseconds() + UInt64(timeoutSeconds * 1e9)))
                    pause = 200
                } catch {
                    outcomes[next] = .notStarted("\(error)")
                }
                next += 1
            }
            let now = SystemClock.monotonicNanoseconds()
            running.removeAll { child in
                var status: Int32 = 0
                let r = waitpid(child.pid, &status, WNOHANG)
                if r == 0 || (r < 0 && errno == EINTR) {
                    guard now >= child.deadline else { return false }
                    kill(-child.pid, SIGKILL)
                    kill(child.pid, SIGKILL)
                    while waitpid(child.pid, &status, 0) < 0 && errno == EINTR {}
                    outcomes[child.index] = .timedOut
                    return true
                }
                guard r == child.pid else {
                    outcomes[child.index] = .notStarted("waitpid: \(String(cString: strerror(errno)))")
                    return true
                }
                let signal = status & 0x7f
                outcomes[child.index] = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
                return true
            }
            if running.isEmpty { continue }
            usleep(pause)
            pause = min(pause * 2, 10_000)
        }
        return outcomes.map { $0 ?? .notStarted("lost") }
    }

    /// The sentence for a run that failed, as libxl logs it
    /// (`libxl_report_child_exitstatus`, then `script: <hotplug-error>`):
    /// the script's own reason when it wrote `hotplug-error`.
    public func failure(_ outcome: Outcome, hotplugError: String?) -> String? {
        switch outcome {
        case .exited(0): return nil
        case .exited(let code):
            if let hotplugError, !hotplugError.isEmpty { return "\(what) failed: \(hotplugError)" }
            return "\(what) exited with error status \(code)"
        case .signalled(let signal):
            return "\(what) died due to fatal signal \(String(cString: strsignal(signal)))"
        case .timedOut:
            return "killing execution of \(what) because of timeout"
        case .notStarted(let why):
            return "\(what) could not be run: \(why)"
        }
    }
}
