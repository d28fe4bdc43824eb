import ArgumentParser
import Toolstack

/// `swxl sched-credit` and `swxl sched-credit2`: the credit schedulers'
/// domain and pool parameters, with xl's options, output, messages and
/// exit status (tools/xl/xl_sched.c).
var schedCommands: [any ParsableCommand.Type] { [SchedCreditCommand.self, SchedCredit2Command.self] }

struct SchedCreditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sched-credit", abstract: "Get or set the credit scheduler's domain and pool parameters.").parsedAlone
    @OptionGroup var options: SchedOptions
    @Option(name: [.customShort("t"), .customLong("tslice_ms")], help: "Set the time slice, in milliseconds.")
    var tslice: String?
    @Option(name: [.customShort("m"), .customLong("migration_delay_us")], help: "Set the migration delay, in microseconds.")
    var migrationDelay: String?

    func run() throws {
        let cli = SchedCLI(scheduler: .credit, options: options)
        // As xl: pool options and domain options do not mix; -w and -c need -d; -t, -r, -m need -s.
        if (options.pool != nil || options.schedParam) && (options.domain != nil || options.weight != nil || options.cap != nil) {
            Terminal.err("Specifying a cpupool or schedparam is not allowed with domain options.\n")
            throw ExitCode.failure
        }
        try cli.checkDomainGiven()
        if !options.schedParam && (tslice != nil || options.ratelimit != nil || migrationDelay != nil) {
            Terminal.err("Must specify schedparam to set schedule parameter values.\n")
            throw ExitCode.failure
        }
        if options.schedParam {
            let t = try cli.open()
            let pool = try cli.poolID(t)
            guard tslice != nil || options.ratelimit != nil || migrationDelay != nil else {
                cli.printPool(t, pool)
                return
            }
            var params: PoolSchedParams
            do { params = try t.poolSchedParams(pool: pool, scheduler: .credit) } catch {
                throw cli.failed(error, "libxl_sched_credit_params_get failed.")
            }
            if let tslice { params.tsliceMs = SchedCLI.number(tslice) }
            if let r = options.ratelimit { params.ratelimitUs = SchedCLI.number(r) }
            if let migrationDelay { params.migrationDelayUs = SchedCLI.number(migrationDelay) }
            do { try t.setPoolSchedParams(pool: pool, scheduler: .credit, params) } catch {
                throw cli.failed(error, "libxl_sched_credit_params_set failed.")
            }
            return
        }
        try cli.domainParameters()
    }
}

struct SchedCredit2Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sched-credit2", abstract: "Get or set the credit2 scheduler's domain and pool parameters.").parsedAlone
    @OptionGroup var options: SchedOptions

    func run() throws {
        let cli = SchedCLI(scheduler: .credit2, options: options)
        if options.pool != nil && (options.domain != nil || options.weight != nil || options.cap != nil) {
            Terminal.err("Specifying a cpupool is not allowed with other options.\n")
            throw ExitCode.failure
        }
        try cli.checkDomainGiven()
        if options.schedParam {
            let t = try cli.open()
            let pool = try cli.poolID(t)
            guard let r = options.ratelimit else {
                cli.printPool(t, pool)
                return
            }
            // As xl: the rate limit alone is set, without reading the others first.
            let params = PoolSchedParams(tsliceMs: 0, ratelimitUs: SchedCLI.number(r), migrationDelayUs: 0)
            do { try t.setPoolSchedParams(pool: pool, scheduler: .credit2, params) } catch {
                throw cli.failed(error, "libxl_sched_credit2_params_set failed.")
            }
            return
        }
        try cli.domainParameters()
    }
}

/// The options both credit schedulers' commands take.
struct SchedOptions: ParsableArguments {
    @Option(name: [.customShort("d"), .customLong("domain")], help: "The domain to show or modify.")
    var domain: String?
    @Option(name: [.customShort("w"), .customLong("weight")], help: "Set its weight (1-65535).")
    var weight: String?
    @Option(name: [.customShort("c"), .customLong("cap")], help: "Set its cap, in percent of one CPU (0: none).")
    var cap: String?
    @Flag(name: [.customShort("s"), .customLong("schedparam")], help: "Show or modify the pool's scheduler parameters.")
    var schedParam = false
    @Option(name: [.customShort("r"), .customLong("ratelimit_us")], help: "Set the scheduling rate limit, in microseconds.")
    var ratelimit: String?
    @Option(name: [.customShort("p"), .customLong("cpupool")], help: "Only this CPU pool (name or id).")
    var pool: String?
    @OptionGroup var hostOptions: HostOptions
}

/// What sched-credit and sched-credit2 share: xl's `sched_domain_output`,
/// the domain and pool lines, and the messages of xl_sched.c.
struct SchedCLI {
    let scheduler: Scheduler
    let options: SchedOptions

    func open() throws -> Toolstack { try options.hostOptions.open().toolstack }

    /// xl reads numbers with strtol(…, NULL, 10): no digits is 0.
    static func number(_ text: String) -> Int {
        let n = DomainCLI.signedLeadingNumber(text) ?? 0
        return Int(Int32(clamping: n))
    }

    func checkDomainGiven() throws {
        if options.domain == nil && (options.weight != nil || options.cap != nil) {
            Terminal.err("Must specify a domain.\n")
            throw ExitCode.failure
        }
    }

    /// The pool `-p` names (0 without it), or xl's message and exit 1.
    func poolID(_ t: Toolstack) throws -> UInt32 {
        guard let qualifier = options.pool else { return 0 }
        guard let id = try DomainCLI.reporting({ try t.pool(named: qualifier) }) else {
            Terminal.err("unknown cpupool '\(qualifier)'\n")
            throw ExitCode.failure
        }
        return id
    }

    /// Prints libxl's complaint and xl's line; gives exit status 1.
    func failed(_ error: any Error, _ xlLine: String) -> ExitCode {
        DomainCLI.printError("\(error)")
        Terminal.err(xlLine + "\n")
        return ExitCode.failure
    }

    static let header = Fmt.left("Name", 33) + " " + Fmt.right("ID", 4) + " " + Fmt.right("Weight", 6) + " " + Fmt.right("Cap", 4) + "\n"

    /// The pool's line (`Cpupool Pool-0: ...`), or xl's line for parameters it could not read.
    func printPool(_ t: Toolstack, _ pool: UInt32) {
        let name = t.poolName(pool) ?? "(null)"
        do {
            let p = try t.poolSchedParams(pool: pool, scheduler: scheduler)
            Terminal.out(scheduler == .credit
                ? "Cpupool \(name): tslice=\(p.tsliceMs)ms ratelimit=\(p.ratelimitUs)us migration-delay=\(p.migrationDelayUs)us\n"
                : "Cpupool \(name): ratelimit=\(p.ratelimitUs)us\n")
        } catch {
            DomainCLI.printError("\(error)")
            Terminal.err("libxl_sched_\(scheduler.rawValue)_params_get failed.\n")
            Terminal.out("Cpupool \(name): [sched params unavailable]\n")
        }
    }

    /// One domain's line; false (after xl's message) when its parameters cannot be read.
    func printDomain(_ t: Toolstack, _ domid: UInt32, name: String) -> Bool {
        do {
            let p = try t.creditParams(domid: domid, scheduler: scheduler)
            Terminal.out(Fmt.left(name, 33) + " " + Fmt.right("\(domid)", 4) + " " + Fmt.right("\(p.weight)", 6) + " "
                         + Fmt.right("\(p.cap)", 4) + "\n")
            return true
        } catch .wrongScheduler(let running, let asked) {
            Terminal.err("libxl_domain_sched_params_get returned \(running) not \(asked).\n")
        } catch {
            DomainCLI.printError("\(error)")
            Terminal.err("libxl_domain_sched_params_get failed.\n")
        }
        return false
    }

    /// Without -s: every pool of this scheduler (or the one -p names) with
    /// its domains; with -d, that domain's line, or its weight and cap set.
    func domainParameters() throws {
        let t = try open()
        guard let domain = options.domain else {
            let only = options.pool == nil ? nil : try poolID(t)
            let (pools, domains) = try DomainCLI.reporting { (try t.cpuPools(), try t.list()) }
            for pool in pools where pool.scheduler == scheduler && (only == nil || only == pool.id) {
                printPool(t, pool.id)
                Terminal.out(Self.header)
                for d in domains where d.info.cpupool == pool.id {
                    if !printDomain(t, d.info.domid, name: d.name) { break }
                }
            }
            return
        }
        let id = try DomainCLI.resolve(t, domain)
        guard options.weight != nil || options.cap != nil else {
            Terminal.out(Self.header)
            let name = try DomainCLI.reporting { try t.info(id).name }
            if !printDomain(t, id, name: name) { throw ExitCode.failure }
            return
        }
        do {
            try t.setCreditParams(domid: id, scheduler: scheduler, weight: options.weight.map(Self.number),
                                  cap: options.cap.map(Self.number))
        } catch {
            throw failed(error, "libxl_domain_sched_params_set failed.")
        }
    }
}
