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

            As a Xen host's xenstored (--xen-host, or by itself in a Xen control
            domain, where /proc/xen/capabilities lists control_d): one socket,
            XENSTORED_PATH or <XENSTORED_RUNDIR or /var/run/xenstored>/socket, a
            fresh store in memory holding /, /tool and /tool/xenstored, and Xen's
            xenstored options (--pid-file, --no-fork, -Q, ...; see docs/xenstored.md).
            """
    ).parsedAlone

    @Flag(name: [.short, .long, .customShort("N"), .customLong("no-fork")], help: "Stay in the foreground (do not detach).")
    var foreground = false

    @Option(name: .long, help: "State directory (default: SWXL_STATE_DIR, /var/lib/swxl for root, else ~/.local/state/swxl).")
    var stateDir: String?

    @Flag(name: .long, help: "Keep the tree in memory only: nothing survives a restart.")
    var memoryOnly = false

    @Option(name: .long, help: "Microseconds to poll without sleeping after handling requests (0: never; default 50, or 0 with one CPU online). Keeps round trips short where waking an idle CPU is slow, as on a VM.")
    var busyPollUs: UInt64?

    @Option(name: .long, help: "On a Xen host, microseconds at most to keep looking at guests' rings after replying to a guest, learnt per guest from how soon it sends its next request (0: never; default \(GuestPoll.defaultMicroseconds)). Spares a guest's request the wake-up of dom0's vCPU.")
    var guestPollUs = GuestPoll.defaultMicroseconds

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

    @Option(name: [.customShort("F"), .customLong("pid-file")], help: "Write the daemon's pid to this file (also its lock).")
    var pidFile: String?

    @Flag(inversion: .prefixedNo, help: "Serve as a Xen host's xenstored (default: only in a Xen control domain).")
    var xenHost: Bool?

    @Flag(name: [.customShort("P"), .customLong("output-pid")], help: "Print the daemon's pid on standard output once it is ready.")
    var outputPid = false

    @Option(name: [.customShort("Q"), .customLong("quota")], help: ArgumentHelp("Xen's quota setting WHAT=N (outstanding; transaction-nodes and memory are not enforced: warning).", valueName: "what=n"))
    var quota: [String] = []

    @Option(name: [.customShort("q"), .customLong("quota-soft")], help: ArgumentHelp("Xen's soft quota WHAT=N (memory: not enforced, warning).", valueName: "what=n"))
    var quotaSoft: [String] = []

    @Option(name: [.customShort("w"), .customLong("timeout")], help: ArgumentHelp("Xen's timeout WHAT=SECONDS (watch-event: not enforced, warning).", valueName: "what=s"))
    var timeout: [String] = []

    @Option(name: [.customShort("M"), .customLong("path-max")], help: "Xen's relative path limit (swxl keeps Xen's default, 2048: other values get a warning).")
    var pathMax: Int?

    @Option(name: [.customShort("T"), .customLong("trace-file")], help: "Xen's trace file: not supported (warning).")
    var traceFile: String?

    @Option(name: .customLong("event"), help: "Xen's event channel of a xenstore stub domain's master: ignored in dom0 (warning).")
    var event: Int?

    @Option(name: .customLong("master-domid"), help: "Xen's master domain of a stub domain: only 0 is served.")
    var masterDomid: Int?

    @Option(name: .customLong("priv-domid"), help: "Xen's second privileged domain: only 0 is served.")
    var privDomid: Int?

    @Option(name: .long, help: ArgumentHelp("When an introduced domain's socket (<state>/domains/<domid>/xenbus) is opened: at INTRODUCE (introduce: a descriptor per domain), or only when a privileged client asks with CONTROL domain-socket <domid> (request: as the embedded host's toolstack starts it, so descriptors do not bound the number of domains).", valueName: "introduce|request"))
    var domainSockets: DomainSocketPolicy = .atIntroduction

    @Flag(name: [.customShort("D"), .customLong("no-domain-init")], help: "Xen's: serve no domain's ring (neither dom0's nor guests'), do not watch domains.")
    var noDomainInit = false

    @Flag(name: [.customShort("R"), .customLong("no-recovery")], help: "Xen's (database recovery): nothing to do here.")
    var noRecovery = false

    @Flag(name: [.customShort("U"), .customLong("live-update")], help: "Xen's live update: not supported (error).")
    var liveUpdate = false

    @Flag(name: [.short, .long, .customShort("V")], help: "Log connections and domain changes (info level).")
    var verbose = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    func validate() throws {
        for (name, value) in [("entry-nb", entries), ("watch-nb", watches), ("entry-size", nodeSize),
                              ("transaction", transactions), ("perm-nb", perms), ("outstanding", outstanding)] where value < 0 {
            throw ValidationError("--\(name) must be 0 or more")
        }
        if liveUpdate { throw ValidationError("live update is not supported") }
        if let masterDomid, masterDomid != 0 { throw ValidationError("--master-domid \(masterDomid): only domain 0 can be the master domain") }
        if let privDomid, privDomid != 0 { throw ValidationError("--priv-domid \(privDomid): only domain 0 can be privileged") }
        for setting in quota + quotaSoft + timeout where XenSetting(setting) == nil {
            throw ValidationError("'\(setting)' must be <what>=<number>")
        }
        for setting in quota.compactMap(XenSetting.init) where !["outstanding", "transaction-nodes", "memory"].contains(setting.what) {
            throw ValidationError("unknown quota \"\(setting.what)\"")
        }
        for setting in quotaSoft.compactMap(XenSetting.init) where setting.what != "memory" {
            throw ValidationError("unknown quota \"\(setting.what)\"")
        }
        for setting in timeout.compactMap(XenSetting.init) where setting.what != "watch-event" {
            throw ValidationError("unknown timeout \"\(setting.what)\"")
        }
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
    }

    func run() throws {
        let environment = CurrentProcess.environment()
        let paths = stateDir.map { HostPaths(stateDir: $0) } ?? HostPaths(environment: environment, uid: getuid())
        let onXen = xenHost ?? XenCapabilities.isControlDomain()
        var config = onXen ? DaemonConfiguration.xenHost(paths: paths, environment: environment)
                           : DaemonConfiguration(paths: paths, environment: environment)
        if memoryOnly { config.memoryOnly = true }
        if let pidFile { config.pidFilePath = pidFile }
        if noDomainInit { config.domainInit = false }
        config.domainSockets = domainSockets
        config.busyPollMicroseconds = busyPollUs
        config.cpuLatencyRequest = cpuLatencyRequest
        config.guestPollMicroseconds = guestPollUs
        config.keepOrphans = keepOrphans
        config.quotas.entriesPerDomain = entries
        config.quotas.watchesPerDomain = watches
        config.quotas.nodeSize = nodeSize
        config.quotas.transactionsPerConnection = transactions
        config.quotas.permsPerNode = perms
        config.quotas.outstandingRequests = outstanding
        for setting in quota.compactMap(XenSetting.init) where setting.what == "outstanding" {
            config.quotas.outstandingRequests = setting.value
        }
        for warning in ignoredSettings() { Terminal.err("swxl xenstored: warning: \(warning)\n") }

        do {
            if foreground {
                let level = logLevel.flatMap(Logger.Level.init(rawValue:)) ?? (verbose ? .info : .warning)
                var logger = Logger(label: "xenstored") { StreamLogHandler.standardError(label: $0) }
                logger.logLevel = level
                try Daemon.run(config, logger: logger) {
                    if outputPid { Terminal.out("\(getpid())\n") }
                }
            } else {
                var arguments = Array(CommandLine.arguments.dropFirst()).filter { $0 != "-P" && $0 != "--output-pid" }
                arguments.append("--foreground")
                // The copy decides as we did.
                arguments.append(onXen ? "--xen-host" : "--no-xen-host")
                let pid = try Daemon.spawnDetached(executable: CurrentProcess.executablePath(), arguments: arguments, config: config)
                if outputPid { Terminal.out("\(pid)\n") }
            }
        } catch {
            // A detached daemon that failed reports through us, already prefixed.
            let text = "\(error)"
            Terminal.err((text.hasPrefix("swxl xenstored: ") ? text : "swxl xenstored: " + text) + "\n")
            throw ExitCode(1)
        }
    }
}

extension DomainSocketPolicy: ExpressibleByArgument {}

/// One of Xen's `what=number` settings (`-Q`, `-q`, `-w`).
struct XenSetting {
    var what: String
    var value: Int

    init?(_ text: String) {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let value = Int(parts[1]), value >= 0 else { return nil }
        what = String(parts[0])
        self.value = value
    }
}

extension Xenstored {
    /// What Xen's xenstored does with the options given that this daemon
    /// does not: one line each, printed as warnings (never silently dropped).
    func ignoredSettings() -> [String] {
        var lines: [String] = []
        for setting in quota.compactMap(XenSetting.init) where setting.what != "outstanding" {
            lines.append("quota \(setting.what) is not enforced")
        }
        for setting in quotaSoft.compactMap(XenSetting.init) { lines.append("soft quota \(setting.what) is not enforced") }
        for setting in timeout.compactMap(XenSetting.init) { lines.append("timeout \(setting.what) is not enforced") }
        if let pathMax, pathMax != 2048 { lines.append("--path-max \(pathMax) ignored: relative paths are limited to 2048 bytes") }
        if traceFile != nil { lines.append("--trace-file is not supported: no trace is written") }
        if let event { lines.append("--event \(event) ignored (for a xenstore stub domain; dom0's port is read from /proc/xen/xsd_port)") }
        return lines
    }
}
