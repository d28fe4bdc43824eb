import ArgumentParser
import DomainConfig
#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import Toolstack
import XenStoreClient
import XenStoreProtocol

/// `--host` on every domain command.
struct HostOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The host to drive: xen or embedded (default: xen on a Xen dom0, else embedded; SWXL_HOST overrides the guess).",
                                            valueName: "kind"))
    var host: String?

    func kind() throws -> HostKind {
        do { return try HostKind.detect(forced: host) } catch { throw ValidationError(error.description) }
    }

    /// The toolstack of the chosen host, connected. On the embedded host
    /// the simulated guests' host is (re)started if domains need it.
    func open(startWatcher: Bool = false, startDaemon: Bool = true) throws -> Toolstack {
        let kind = try kind()
        let toolstack: Toolstack
        do {
            toolstack = try ToolstackHost.open(kind: kind, environment: CurrentProcess.environment()) { paths in
                try DomainCLI.ensureDaemon(paths, start: startDaemon)
            }
        } catch {
            throw DomainCLI.fail(error)
        }
        if startWatcher && toolstack.hasRecordedDomains { DomainCLI.ensureDomainWatcher(toolstack) }
        return toolstack
    }
}

/// Helpers shared by the domain commands.
enum DomainCLI {
    /// Starts the embedded xenstored (`swxl xenstored`, which detaches) if
    /// nothing answers on its socket, and waits until it does.
    static func ensureDaemon(_ paths: HostPaths, start: Bool = true) throws {
        if (try? XenStoreClient(socketPath: paths.daemonSocket)) != nil { return }
        guard start else { throw ToolstackError.system("no xenstored answers at \(paths.daemonSocket)") }
        try? FileIO.makeDirectories(paths.xenstoredDir)
        let lock = try? LockFile.acquire(paths.xenstoredDir + "/autostart.lock")
        defer { lock?.release() }
        if (try? XenStoreClient(socketPath: paths.daemonSocket)) != nil { return }
        let status = BackgroundProcess.run(executable: CurrentProcess.executablePath(), arguments: ["xenstored"])
        for _ in 0..<500 {
            if (try? XenStoreClient(socketPath: paths.daemonSocket)) != nil { return }
            usleep(10_000)
        }
        throw ToolstackError.system("the embedded xenstored did not answer at \(paths.daemonSocket) (swxl xenstored exited \(status))")
    }

    /// Runs `body`; a failure is printed as xl does and exits 1 (an
    /// `ExitCode` passes through as it is).
    static func reporting<R>(_ body: () throws -> R) throws -> R {
        do { return try body() } catch let e as ExitCode { throw e } catch { throw fail(error) }
    }

    /// Prints an error as xl does and gives the exit code (1).
    static func fail(_ error: any Error) -> ExitCode {
        printError("\(error)")
        return ExitCode.failure
    }

    static func printError(_ text: String) {
        var line = Array(("swxl: error: " + text + "\n").utf8)
        _ = line.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }

    /// The domid of a name or domid, or a clear error (exit 1).
    static func resolve(_ toolstack: Toolstack, _ identifier: String) throws -> UInt32 {
        do { return try toolstack.resolve(identifier) } catch { throw fail(error) }
    }

    /// Starts the process that follows the domains after a command has
    /// returned, if it is not running: on the embedded host the simulated
    /// guests' host (`_sim-guests`, which also carries out on_* actions), on
    /// Xen the monitor (`_monitor`) that carries out on_* actions as xl's does.
    static func ensureDomainWatcher(_ toolstack: Toolstack) {
        if toolstack.hypervisor is SimulatedHypervisor {
            SimGuestHost.ensureRunning(stateDir: toolstack.stateDir, argv: [CurrentProcess.executablePath(), "_sim-guests"])
        } else {
            DomainMonitor.ensureRunning(stateDir: toolstack.stateDir, argv: [CurrentProcess.executablePath(), "_monitor"])
        }
    }
}

// MARK: text formatting (printf-like, without Foundation)

enum Fmt {
    /// Left-aligned in `width` (`%-Ns`).
    static func left(_ s: String, _ width: Int) -> String {
        let n = s.count
        return n >= width ? s : s + String(repeating: " ", count: width - n)
    }

    /// Right-aligned in `width` (`%Ns`).
    static func right(_ s: String, _ width: Int) -> String {
        let n = s.count
        return n >= width ? s : String(repeating: " ", count: width - n) + s
    }

    /// `%.<places>f`, rounded half up.
    static func fixed(_ value: Double, places: Int) -> String {
        var scale: Double = 1
        for _ in 0..<places { scale *= 10 }
        let scaled = (value * scale).rounded()
        let negative = scaled < 0
        let whole = UInt64(abs(scaled))
        let intPart = whole / UInt64(scale)
        var frac = String(whole % UInt64(scale))
        while frac.count < places { frac = "0" + frac }
        return (negative ? "-" : "") + "\(intPart)" + (places > 0 ? "." + frac : "")
    }

    /// The words of `state` in `--json`.
    static func stateName(_ info: DomainInfo) -> String {
        if info.dying { return "dying" }
        if info.crashed || (info.shutdown && info.shutdownReason == .crash) { return "crashed" }
        if info.shutdown { return "shutdown" }
        if info.paused { return "paused" }
        if info.running { return "running" }
        return "blocked"
    }
}
