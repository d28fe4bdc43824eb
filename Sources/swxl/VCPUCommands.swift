import ArgumentParser
import Toolstack

/// `swxl vcpu-list` and `swxl vcpu-pin`: vCPUs and their affinity, as xl
/// lists and pins them (tools/xl/xl_vcpu.c).
var vcpuCommands: [any ParsableCommand.Type] { [VCPUListCommand.self, VCPUPinCommand.self] }

struct VCPUListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vcpu-list", abstract: "List domains' vcpus, as xl does.").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "Only these domains (names or domids).") var domains: [String] = []

    /// xl's layout: the hard and soft affinity as xl's print_bitmap writes
    /// them over the host's CPUs (`max_cpu_id + 1`).
    func run() throws {
        let t = try hostOptions.open().toolstack
        var text = Fmt.left("Name", 32) + " " + Fmt.right("ID", 5) + " " + Fmt.right("VCPU", 5) + " " + Fmt.right("CPU", 5)
            + " " + Fmt.right("State", 5) + " " + Fmt.right("Time(s)", 9) + " Affinity (Hard / Soft)\n"
        do {
            let cpuCount = try t.hypervisor.physInfo().maxCPUID + 1
            let targets: [DomainSummary] = domains.isEmpty ? try t.list()
                : try domains.map { try t.info(try DomainCLI.resolve(t, $0)) }
            for d in targets {
                for v in try t.hypervisor.vcpuInfo(domid: d.info.domid) {
                    text += Fmt.left(d.name, 32) + " " + Fmt.right("\(d.info.domid)", 5) + " " + Fmt.right("\(v.vcpu)", 5)
                    if v.online {
                        text += Fmt.right("\(v.cpu ?? 0)", 5) + "   " + (v.running ? "r" : "-") + (v.blocked ? "b" : "-") + "- "
                    } else {
                        text += "    -   --p "
                    }
                    text += Fmt.right(DecimalText.fixed(Double(v.cpuTimeNs) / 1e9, places: 1), 9) + "  "
                        + v.hardAffinity.xlText(cpuCount: cpuCount) + " / " + v.softAffinity.xlText(cpuCount: cpuCount) + "\n"
                }
            }
        } catch let e as ExitCode { throw e } catch { throw DomainCLI.fail(error) }
        Terminal.out(text)
    }
}

struct VCPUPinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vcpu-pin", abstract: "Set which CPUs a vcpu may use (hard affinity) and prefers (soft affinity).",
        discussion: "CPU lists as in xl.cfg: `2-5,^3`, `all`, `nodes:0`; `-` leaves an affinity as it is.").parsedAlone
    @Flag(name: [.customShort("f"), .customLong("force")], help: "Undo an override pinning done by the kernel.")
    var force = false
    @Flag(name: [.customShort("i"), .customLong("ignore-global-affinity-masks")],
          help: "Ignore xl.conf's vCPU affinity masks (vm.cpumask, vm.pv.cpumask, vm.hvm.cpumask).")
    var ignoreMasks = false
    @Flag(name: .customLong("dryrun"), help: ArgumentHelp("Print the cpumaps only (xl's global -N).", visibility: .hidden))
    var dryRun = false
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The domain (name or domid).") var domain: String
    @Argument(help: "The vcpu, or all.") var vcpu: String
    @Argument(help: "The hard affinity (a CPU list, all, or -).") var hard: String
    @Argument(help: "The soft affinity (a CPU list, all, or -).") var soft: String?

    /// As xl's main_vcpupin: the domain found first, the vCPU read as
    /// strtol reads it, the lists parsed as xl parses them; for `all`, a
    /// vCPU that fails is reported and the others still set, and the exit
    /// status is 0, as xl's.
    func run() throws {
        let t = try hostOptions.open().toolstack
        let id = try DomainCLI.resolve(t, domain)
        let vcpuID: UInt32?
        if let n = DomainCLI.signedLeadingNumber(vcpu), n >= 0 {
            vcpuID = UInt32(clamping: n)
        } else {
            guard vcpu == "all" else {
                Terminal.err("Error: Invalid argument \(vcpu) as VCPU.\n")
                throw ExitCode.failure
            }
            if force {
                Terminal.err("Error: --force and 'all' as VCPU not allowed.\n")
                throw ExitCode.failure
            }
            vcpuID = nil
        }
        let topology = try DomainCLI.reporting { try t.cpuTopology() }
        func parse(_ text: String?) throws -> CPUSet? {
            guard let text, text != "-" else { return nil }
            try DomainCLI.reporting { try t.checkNodes(text, topology) }
            switch topology.parseCPUList(text) {
            case .success(let set): return set
            case .failure(let e):
                Terminal.err(e.message + "\n")
                throw ExitCode.failure
            }
        }
        var hardSet = try parse(hard)
        let softSet = try parse(soft)
        // xl.conf's masks cut the hard affinity down, unless -i (the domain's type from its record; PV else).
        if !ignoreMasks, let given = hardSet {
            let masks = AffinityMasks.masks(for: t.record(id)?.type ?? .pv, topology: topology)
            if !masks.isEmpty { hardSet = try AffinityMasks.apply([given], masks: masks).first }
        }
        if dryRun {
            var line = "cpumap: " + (hardSet?.xlText(cpuCount: topology.cpuCount) ?? "-")
            if let softSet { line += " " + softSet.xlText(cpuCount: topology.cpuCount) }
            Terminal.out(line + "\n")
            return
        }
        if let vcpuID {
            do { try t.setVCPUAffinity(domid: id, vcpu: vcpuID, hard: hardSet, soft: softSet, force: force) } catch {
                DomainCLI.printError(error.description)
                Terminal.err("Could not set affinity for vcpu `\(vcpuID)'.\n")
                throw ExitCode.failure
            }
            return
        }
        let vcpus = try DomainCLI.reporting { try t.hypervisor.vcpuInfo(domid: id).map(\.vcpu) }
        var failed = false
        for v in vcpus {
            do { try t.setVCPUAffinity(domid: id, vcpu: v, hard: hardSet, soft: softSet, force: false) } catch {
                DomainCLI.printError(error.description)
                Terminal.err("Failed to set affinity for \(v)\n")
                failed = true
            }
        }
        if failed { Terminal.err("Could not set affinity.\n") }
    }
}
