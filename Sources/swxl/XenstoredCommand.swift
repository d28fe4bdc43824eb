import ArgumentParser
import Logging
import SwxlSystem
import XenStoreProtocol
import XenStoreServer
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `swxl xenstored`: swxl's own xenstore daemon.
struct Xenstored: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xenstored",
        abstract: "Run swxl's xenstore daemon (for hosts without Xen's own).",
        discussion: """
            Listens on XENSTORED_PATH if set, else <state>/xenstored/socket, plus a
            read-only socket beside it (same path with _ro). Clients there are dom0.
            A domain introduced with INTRODUCE gets <state>/domains/<domid>/xenbus,
            whose clients speak as that domain. Changes are kept in
            <state>/xenstored/store.db (SQLite) unless --memory-only.
            Without --foreground it detaches once it is listening.
            """
    )

    @Flag(name: [.short, .long, .customShort("N"), .customLong("no-fork")], help: "Stay in the foreground (do not detach).")
    var foreground = false

    @Option(name: .long, help: "State directory (default: SWXL_STATE_DIR, /var/lib/swxl for root, else ~/.local/state/swxl).")
    var stateDir: String?

    @Flag(name: .long, help: "Keep the tree in memory only: nothing survives a restart.")
    var memoryOnly = false

    @Option(name: .long, help: "Microseconds to poll without sleeping after handling requests (0: never). Keeps round trips short where waking an idle CPU is slow, as on a VM.")
    var busyPollUs: UInt64 = 50

    @Flag(inversion: .prefixedNo, help: "While busy polling, ask Linux to keep idle CPUs polling too (PM QoS, /dev/cpu_dma_latency; root only), so a client answered on another CPU wakes at once.")
    var cpuLatencyRequest = true

    @Option(name: [.customShort("E"), .customLong("entry-nb")], help: "Nodes an unprivileged domain may own.")
    var entries = Quotas().entriesPerDomain

    @Option(name: [.customShort("W"), .customLong("watch-nb")], help: "Watches an unprivileged domain may hold.")
    var watches = Quotas().watchesPerDomain

    @Option(name: [.customShort("S"), .customLong("entry-size")], help: "Bytes of value plus child names per node, for unprivileged domains.")
    var nodeSize = Quotas().nodeSize

    @Option(name: [.customShort("t"), .customLong("transaction")], help: "Open transactions per unprivileged connection.")
    var transactions = Quotas().transactionsPerConnection

    @Option(name: [.customShort("A"), .customLong("perm-nb")], help: "Entries in one permission list set by an unprivileged domain.")
    var perms = Quotas().permsPerNode

    @Option(name: [.customLong("outstanding")], help: "Requests in flight per unprivileged connection before reading pauses.")
    var outstanding = Quotas().outstandingRequests

    @Flag(name: [.customShort("K"), .long], help: "Keep the nodes a released domain owned (by default they are removed, as Xen 4.17 does).")
    var keepOrphans = false

    @Flag(name: [.short, .long], help: "Log connections and domain changes (info level).")
    var verbose = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    func validate() throws {
        for (name, value) in [("entry-nb", entries), ("watch-nb", watches), ("entry-size", nodeSize),
                              ("transaction", transactions), ("perm-nb", perms), ("outstanding", outstanding)] where value < 0 {
            throw ValidationError("--\(name) must be 0 or more")
        }
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
    }

    func run() throws {
        let environment = CurrentProcess.environment()
        let paths = stateDir.map { HostPaths(stateDir: $0) } ?? HostPaths(environment: environment, uid: getuid())
        var config = DaemonConfiguration(paths: paths, environment: environment)
        config.memoryOnly = memoryOnly
        config.busyPollMicroseconds = busyPollUs
        config.cpuLatencyRequest = cpuLatencyRequest
        config.keepOrphans = keepOrphans
        config.quotas.entriesPerDomain = entries
        config.quotas.watchesPerDomain = watches
        config.quotas.nodeSize = nodeSize
        config.quotas.transactionsPerConnection = transactions
        config.quotas.permsPerNode = perms
        config.quotas.outstandingRequests = outstanding

        do {
            if foreground {
                let level = logLevel.flatMap(Logger.Level.init(rawValue:)) ?? (verbose ? .info : .warning)
                var logger = Logger(label: "xenstored") { StreamLogHandler.standardError(label: $0) }
                logger.logLevel = level
                try Daemon.run(config, logger: logger)
            } else {
                var arguments = Array(CommandLine.arguments.dropFirst())
                arguments.append("--foreground")
                _ = try Daemon.spawnDetached(executable: CurrentProcess.executablePath(), arguments: arguments, config: config)
            }
        } catch {
            // A detached daemon that failed reports through us, already prefixed.
            let text = "\(error)"
            Terminal.err((text.hasPrefix("swxl xenstored: ") ? text : "swxl xenstored: " + text) + "\n")
            throw ExitCode(1)
        }
    }
}
