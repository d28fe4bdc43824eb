/// What `xl help` and `xl help COMMAND` print, for the commands swxl has.
///
/// The descriptions, usage lines and option lists are xl 4.17's
/// (tools/xl/xl_cmdtable.c at RELEASE-4.17.x), byte for byte, because
/// scripts and people compare them; the layout is xl's `help` function's
/// (tools/xl/xl.c). The program's own name replaces `xl` when swxl is not
/// run as `xl`.
struct XLCommandSpec {
    var name: String
    /// Whether xl accepts its global `-N` (dry run) for the command.
    var canDryRun: Bool
    /// Whether xl accepts its global `-f` (force) for the command.
    var modifies: Bool
    var description: String
    var usage: String
    var options: String?
    /// The arguments xl requires after the options (`SWITCH_FOREACH_OPT`'s
    /// last argument): fewer is a usage error.
    var requiredArguments: Int
}

enum XLHelp {
    /// The commands swxl has, in the order of xl's table.
    static let commands: [XLCommandSpec] = [
        XLCommandSpec(
            name: "create", canDryRun: true, modifies: true,
            description: "Create a domain from config file <filename>",
            usage: "<ConfigFile> [options] [vars]",
            options: """
                -c                      Connect to the console after the domain is created.
                -d                      Enable debug messages.
                -e                      Do not wait in the background for the death of the domain.
                -F                      Run in foreground until death of the domain.
                -f FILE, --defconfig=FILE
                                     Use the given configuration file.
                -h                      Print this help.
                -n, --dryrun            Dry run - prints the resulting configuration
                                         (deprecated in favour of global -N option).
                -p                      Leave the domain paused after it is created.
                -q, --quiet             Quiet.
                -V, --vncviewer         Connect to the VNC display after the domain is created.
                -A, --vncviewer-autopass
                                        Pass VNC password to viewer via stdin.
                --ignore-global-affinity-masks Ignore global masks in xl.conf.
                """,
            requiredArguments: 0),
        XLCommandSpec(
            name: "list", canDryRun: false, modifies: false,
            description: "List information about all/some domains",
            usage: "[options] [Domain]\n",
            options: """
                -l, --long              Output all VM details
                -v, --verbose           Prints out UUIDs and security context
                -Z, --context           Prints out security context
                -c, --cpupool           Prints the cpupool the domain is in
                -n, --numa              Prints out NUMA node affinity
                """,
            requiredArguments: 0),
        XLCommandSpec(
            name: "destroy", canDryRun: false, modifies: true,
            description: "Terminate a domain immediately",
            usage: "[options] <Domain>\n",
            options: """
                -f                      Permit destroying domain 0, which will only succeed
                                        when run from disaggregated toolstack domain with a
                                        hardware domain distinct from domain 0.
                """,
            requiredArguments: 1),
        XLCommandSpec(
            name: "shutdown", canDryRun: false, modifies: true,
            description: "Issue a shutdown signal to a domain",
            usage: "[options] <-a|Domain>",
            options: """
                -a, --all               Shutdown all guest domains.
                -h                      Print this help.
                -F                      Fallback to ACPI power event for HVM guests with
                                        no PV drivers.
                -w, --wait              Wait for guest(s) to shutdown.

                """,
            requiredArguments: 0),
        XLCommandSpec(
            name: "reboot", canDryRun: false, modifies: true,
            description: "Issue a reboot signal to a domain",
            usage: "[options] <-a|Domain>",
            options: """
                -a, --all               Shutdown all guest domains.
                -h                      Print this help.
                -F                      Fallback to ACPI reset event for HVM guests with
                                        no PV drivers.
                -w, --wait              Wait for guest(s) to reboot.

                """,
            requiredArguments: 0),
        XLCommandSpec(name: "pause", canDryRun: false, modifies: true, description: "Pause execution of a domain",
                      usage: "<Domain>", options: nil, requiredArguments: 1),
        XLCommandSpec(name: "unpause", canDryRun: false, modifies: true, description: "Unpause a paused domain",
                      usage: "<Domain>", options: nil, requiredArguments: 1),
        XLCommandSpec(
            name: "console", canDryRun: false, modifies: false,
            description: "Attach to domain's console",
            usage: """
                [options] <Domain>
                -t <type>       console type, pv , serial or vuart
                -n <number>     console number
                """,
            options: nil, requiredArguments: 1),
        XLCommandSpec(
            name: "save", canDryRun: false, modifies: true,
            description: "Save a domain state to restore later",
            usage: "[options] <Domain> <CheckpointFile> [<ConfigFile>]",
            options: """
                -h  Print this help.
                -c  Leave domain running after creating the snapshot.
                -p  Leave domain paused after creating the snapshot.
                -D  Store the domain id in the configuration.
                """,
            requiredArguments: 2),
        XLCommandSpec(
            name: "migrate", canDryRun: false, modifies: true,
            description: "Migrate a domain to another host",
            usage: "[options] <Domain> <host>",
            options: """
                -h              Print this help.
                -C <config>     Send <config> instead of config file from creation.
                -s <sshcommand> Use <sshcommand> instead of ssh.  String will be passed
                                to sh. If empty, run <host> instead of ssh <host> xl
                                migrate-receive [-d -e]
                -e              Do not wait in the background (on <host>) for the death
                                of the domain.
                --debug         Print huge (!) amount of debug during the migration process.
                -p              Do not unpause domain after migrating it.
                -D              Preserve the domain id
                """,
            requiredArguments: 2),
        XLCommandSpec(
            name: "restore", canDryRun: false, modifies: true,
            description: "Restore a domain from a saved state",
            usage: "[options] [<ConfigFile>] <CheckpointFile>",
            options: """
                -h                       Print this help.
                -p                       Do not unpause domain after restoring it.
                -e                       Do not wait in the background for the death of the domain.
                -d                       Enable debug messages.
                -V, --vncviewer          Connect to the VNC display after the domain is created.
                -A, --vncviewer-autopass Pass VNC password to viewer via stdin.
                """,
            requiredArguments: 1),
        XLCommandSpec(
            name: "migrate-receive", canDryRun: false, modifies: true,
            description: "Restore a domain from a saved state",
            usage: "- for internal use only",
            options: nil, requiredArguments: 0),
        XLCommandSpec(name: "dump-core", canDryRun: false, modifies: true, description: "Core dump a domain",
                      usage: "<Domain> <filename>", options: nil, requiredArguments: 2),
        XLCommandSpec(name: "mem-max", canDryRun: false, modifies: true,
                      description: "Set the maximum amount reservation for a domain",
                      usage: "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>", options: nil, requiredArguments: 2),
        XLCommandSpec(name: "mem-set", canDryRun: false, modifies: true,
                      description: "Set the current memory usage for a domain",
                      usage: "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>", options: nil, requiredArguments: 2),
        XLCommandSpec(name: "vcpu-list", canDryRun: false, modifies: false, description: "List the VCPUs for all/some domains",
                      usage: "[Domain, ...]", options: nil, requiredArguments: 0),
        XLCommandSpec(name: "vcpu-pin", canDryRun: true, modifies: true, description: "Set which CPUs a VCPU can use",
                      usage: "[option] <Domain> <VCPU|all> <Hard affinity|-|all> <Soft affinity|-|all>",
                      options: """
                          -f, --force        undo an override pinning done by the kernel
                          --ignore-global-affinity-masks Ignore global masks in xl.conf
                          """,
                      requiredArguments: 3),
        XLCommandSpec(name: "vcpu-set", canDryRun: false, modifies: true,
                      description: "Set the number of active VCPUs allowed for the domain",
                      usage: "[option] <Domain> <vCPUs>",
                      options: "-i, --ignore-host  Don't limit the vCPU based on the host CPU count", requiredArguments: 2),
        XLCommandSpec(name: "vm-list", canDryRun: false, modifies: false,
                      description: "List guest domains, excluding dom0, stubdoms, etc.", usage: "", options: nil, requiredArguments: 0),
        XLCommandSpec(name: "info", canDryRun: false, modifies: false, description: "Get information about Xen host",
                      usage: "-n, --numa         List host NUMA topology information", options: nil, requiredArguments: 0),
        XLCommandSpec(name: "sched-credit", canDryRun: false, modifies: true, description: "Get/set credit scheduler parameters",
                      usage: "[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]] [-s [-t TSLICE] [-r RATELIMIT]] [-p CPUPOOL]",
                      options: """
                          -d DOMAIN, --domain=DOMAIN        Domain to modify
                          -w WEIGHT, --weight=WEIGHT        Weight (int)
                          -c CAP, --cap=CAP                 Cap (int)
                          -s         --schedparam           Query / modify scheduler parameters
                          -t TSLICE, --tslice_ms=TSLICE     Set the timeslice, in milliseconds
                          -r RLIMIT, --ratelimit_us=RLIMIT  Set the scheduling rate limit, in microseconds
                          -m DLY, --migration_delay_us=DLY  Set the migration delay, in microseconds
                          -p CPUPOOL, --cpupool=CPUPOOL     Restrict output to CPUPOOL
                          """,
                      requiredArguments: 0),
        XLCommandSpec(name: "sched-credit2", canDryRun: false, modifies: true, description: "Get/set credit2 scheduler parameters",
                      usage: "[-d <Domain> [-w[=WEIGHT]]] [-p CPUPOOL]",
                      options: """
                          -d DOMAIN, --domain=DOMAIN     Domain to modify
                          -w WEIGHT, --weight=WEIGHT     Weight (int)
                          -c CAP,    --cap=CAP           Cap (int)
                          -s         --schedparam        Query / modify scheduler parameters
                          -r RLIMIT, --ratelimit_us=RLIMIT Set the scheduling rate limit, in microseconds
                          -p CPUPOOL, --cpupool=CPUPOOL  Restrict output to CPUPOOL
                          """,
                      requiredArguments: 0),
        XLCommandSpec(name: "domid", canDryRun: false, modifies: false, description: "Convert a domain name to domain id",
                      usage: "<DomainName>", options: nil, requiredArguments: 1),
        XLCommandSpec(name: "domname", canDryRun: false, modifies: false, description: "Convert a domain id to domain name",
                      usage: "<DomainId>", options: nil, requiredArguments: 1),
        XLCommandSpec(name: "rename", canDryRun: false, modifies: true, description: "Rename a domain",
                      usage: "<Domain> <NewDomainName>", options: nil, requiredArguments: 2),
        XLCommandSpec(name: "sysrq", canDryRun: false, modifies: true, description: "Send a sysrq to a domain",
                      usage: "<Domain> <letter>", options: nil, requiredArguments: 2),
        XLCommandSpec(name: "debug-keys", canDryRun: false, modifies: true, description: "Send debug keys to Xen",
                      usage: "<Keys>", options: nil, requiredArguments: 1),
        XLCommandSpec(name: "dmesg", canDryRun: false, modifies: false, description: "Read and/or clear dmesg buffer",
                      usage: "[-c]", options: "  -c                        Clear dmesg buffer as well as printing it",
                      requiredArguments: 0),
        XLCommandSpec(name: "top", canDryRun: false, modifies: false, description: "Monitor a host and the domains in real time",
                      usage: "", options: nil, requiredArguments: 0),
        XLCommandSpec(name: "network-attach", canDryRun: true, modifies: true, description: "Create a new virtual network device",
                      usage: "<Domain> [type=<type>] [mac=<mac>] [bridge=<bridge>] [ip=<ip>] [script=<script>] [backend=<BackDomain>] [vifname=<name>] [rate=<rate>] [model=<model>] [accel=<accel>] [mtu=<mtu>]",
                      options: nil, requiredArguments: 1),
        XLCommandSpec(name: "network-list", canDryRun: false, modifies: false, description: "List virtual network interfaces for a domain",
                      usage: "<Domain(s)>", options: nil, requiredArguments: 1),
        XLCommandSpec(name: "network-detach", canDryRun: false, modifies: true, description: "Destroy a domain's virtual network device",
                      usage: "<Domain> <DevId|mac>", options: nil, requiredArguments: 2),
        XLCommandSpec(name: "block-attach", canDryRun: true, modifies: true, description: "Create a new virtual block device",
                      usage: "<Domain> <disk-spec-component(s)>...", options: nil, requiredArguments: 2),
        XLCommandSpec(name: "block-list", canDryRun: false, modifies: false, description: "List virtual block devices for a domain",
                      usage: "<Domain(s)>", options: nil, requiredArguments: 1),
        XLCommandSpec(name: "block-detach", canDryRun: false, modifies: true, description: "Destroy a domain's virtual block device",
                      usage: "[option] <Domain> <DevId>", options: "-f, --force        do not wait for the domain to release the device",
                      requiredArguments: 2),
        XLCommandSpec(name: "uptime", canDryRun: false, modifies: false, description: "Print uptime for all/some domains",
                      usage: "[-s] [Domain]", options: nil, requiredArguments: 0),
        XLCommandSpec(name: "cpupool-list", canDryRun: false, modifies: false, description: "List CPU pools on host",
                      usage: "[-c|--cpus] [<CPU Pool>]", options: "-c, --cpus                     Output list of CPUs used by a pool",
                      requiredArguments: 0),
    ]

    static func spec(_ name: String) -> XLCommandSpec? { commands.first { $0.name == name } }

    /// `xl help COMMAND` (and `xl COMMAND -h`).
    static func text(_ spec: XLCommandSpec, program: String) -> String {
        var text = "Usage: \(program) [-vtT\(spec.modifies ? "f" : "")\(spec.canDryRun ? "N" : "")] \(spec.name) \(spec.usage)\n\n"
            + "\(spec.description).\n\n"
        if let options = spec.options { text += "Options:\n\n\(options)\n" }
        return text
    }

    /// `xl help`: every command with its description, xl's first, then
    /// swxl's additions (`additions`: name and one line each).
    static func overview(program: String, additions: [(name: String, description: String)]) -> String {
        var text = "Usage \(program) [-vfNtT] <subcommand> [args]\n\n\(program) full list of subcommands:\n\n"
        for (name, description) in commands.map({ ($0.name, $0.description) }) + additions {
            text += " " + Fmt.left(name, 19) + " "
            if name.count > 19 { text += "\n " + Fmt.left("", 19) + " " }
            text += description + "\n"
        }
        return text
    }

    /// xl's message for too few arguments (`def_getopt`, tools/xl/xl_utils.c).
    static func tooFewArguments(_ spec: XLCommandSpec, program: String) -> String {
        let n = spec.requiredArguments
        return "'\(program) \(spec.name)' requires at least \(n) argument\(n > 1 ? "s" : "").\n\n"
    }
}
