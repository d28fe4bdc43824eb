import Foundation
import Testing

/// xl 4.17's command line through the built `swxl`: its options in short
/// and long spellings and in any order, its exit status 2 for usage
/// errors, and its messages and exit status 1 for a domain that does not
/// exist. Each expected message names the xl source it comes from.
@Suite(.serialized) struct XLCommandLineTests {
    /// An unknown option: xl's `def_getopt` (tools/xl/xl_utils.c) prints
    /// "option `c' not supported." and exits 2.
    @Test(arguments: [(["list", "-z"], "z"), (["list", "-lz"], "z"), (["destroy", "-x", "d"], "x"),
                      (["shutdown", "web1", "-q"], "q"), (["list", "--bogus"], "--bogus"),
                      (["create", "--dry-rn", "a.cfg"], "--dry-rn")])
    func unknownOptionIsXlsUsageError(arguments: [String], shown: String) throws {
        let r = try run(swxlBinary, arguments)
        #expect(r.status == 2)
        #expect(r.stdout == "")
        #expect(r.stderr == "option `\(shown)' not supported.\n")
    }

    /// A missing argument or a bad word in one exits 2 with the usage line.
    @Test func otherUsageErrorsExitTwo() throws {
        // xl's def_getopt (tools/xl/xl_utils.c): the message on stderr, the command's help on stdout.
        let missing = try run(swxlBinary, ["destroy"])
        #expect(missing.status == 2)
        #expect(missing.stderr == "'swxl destroy' requires at least 1 argument.\n\n")
        #expect(missing.stdout == Self.destroyHelp.replacingOccurrences(of: "Usage: xl ", with: "Usage: swxl "))
        let two = try run(swxlBinary, ["mem-set", "web1"])
        #expect(two.status == 2)
        #expect(two.stderr == "'swxl mem-set' requires at least 2 arguments.\n\n")
        // xl's create_domain and main_create (tools/xl/xl_vmcontrol.c): no file is libxl's
        // ERROR_INVAL as the exit status (6); a second file prints create's help and exits 2.
        let noFile = try run(swxlBinary, ["create", "name=x"])
        #expect(noFile.status == 6 && noFile.stdout == "")
        #expect(noFile.stderr == "Config file not specified and none in save file\n")
        let twoFiles = try run(swxlBinary, ["create", "a.cfg", "b.cfg"])
        #expect(twoFiles.status == 2 && twoFiles.stderr == "")
        #expect(twoFiles.stdout == Self.createHelp.replacingOccurrences(of: "Usage: xl ", with: "Usage: swxl "))
    }

    /// A domain that does not exist, each as xl 4.17 says it.
    @Test func missingDomainsAsXlSaysThem() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        // find_domain (tools/xl/xl_utils.c): libxl's ERROR_INVAL for a name no domain has.
        for command in [["list"], ["destroy"], ["pause"], ["unpause"], ["shutdown"], ["reboot"], ["rename"],
                        ["mem-set"], ["mem-max"], ["vcpu-set"], ["vcpu-list"], ["uptime"], ["console"]] {
            let extra = ["rename": ["new"], "mem-set": ["256"], "mem-max": ["256"], "vcpu-set": ["1"]][command[0]] ?? []
            let r = try host.swxl(command + ["nosuch"] + extra)
            #expect(r.status == 1, "\(command)")
            #expect(r.stderr == "nosuch is an invalid domain identifier (rc=-6)\n", "\(command)")
            #expect(r.stdout == "", "\(command)")
        }
        // main_list (tools/xl/xl_list.c): digits are a domid, looked up after.
        let list = try host.swxl(["list", "99"])
        #expect(list.status == 1 && list.stdout == "")
        #expect(list.stderr == "Error: Domain '99' does not exist.\n")
        // main_domid, main_domname (tools/xl/xl_misc.c).
        let domid = try host.swxl(["domid", "nosuch"])
        #expect(domid.status == 1 && domid.stdout == "")
        #expect(domid.stderr == "Can't get domid of domain name 'nosuch', maybe this domain does not exist.\n")
        let domname = try host.swxl(["domname", "99"])
        #expect(domname.status == 1 && domname.stdout == "")
        #expect(domname.stderr == "Can't get domain name of domain id '99', maybe this domain does not exist.\n")
        let notANumber = try host.swxl(["domname", "web"])
        #expect(notANumber.status == 1 && notANumber.stderr == "Invalid domain id.\n\n")
        // destroy_domain and main_shutdown_or_reboot (tools/xl/xl_vmcontrol.c).
        let dom0 = try host.swxl(["destroy", "0"])
        #expect(dom0.status == 1)
        #expect(dom0.stderr == "Not destroying domain 0; use -f to force.\n"
                + "This can only be done when using a disaggregated hardware domain and toolstack.\n\n")
        for verb in ["shutdown", "reboot"] {
            let none = try host.swxl([verb])
            #expect(none.status == 1 && none.stdout == "")
            #expect(none.stderr == "You must specify -a or a domain id.\n\n")
        }
        // set_memory_target (tools/xl/xl_mem.c): the domain is found first, then the size read.
        let size = try host.swxl(["mem-set", "0", "lots"])
        #expect(size.status == 1 && size.stderr == "invalid memory size: lots\n")
    }

    /// `info -n` adds xl's topology between the physical and the Xen
    /// information (print_info in tools/xl/xl_info.c): the simulated host's
    /// CPUs in one socket, no device with a node, its one node's memory; an
    /// ITEM is then ignored, as xl ignores it.
    @Test func infoWithTopology() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let plain = try host.swxl(["info"]).stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let split = try #require(plain.firstIndex { $0.hasPrefix("xen_major") })
        let cpus = try #require(Int(try host.swxl(["info", "nr_cpus"]).stdout.trimmingCharacters(in: .newlines)))
        let total = try host.swxl(["info", "total_memory"]).stdout.trimmingCharacters(in: .newlines)
        let free = try host.swxl(["info", "free_memory"]).stdout.trimmingCharacters(in: .newlines)
        func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
        var block = ["cpu_topology           :", "cpu:    core    socket     node"]
        block += (0..<cpus).map { pad("\($0)", 3) + ":    " + pad("\($0)", 4) + "        0        0" }
        block += ["device topology        :", "device           node", "No device topology data available",
                  "numa_info              :", "node:    memsize    memfree    distances",
                  "   0:    " + pad(total, 6) + "     " + pad(free, 6) + "      10"]
        let expected = (plain[..<split] + block + plain[split...]).joined(separator: "\n")
        for options in [["-n"], ["--numa"], ["-n", "free_memory"]] {
            let r = try host.swxl(["info"] + options)
            #expect(r.status == 0 && r.stderr == "", "\(options): \(r.stderr)")
            #expect(r.stdout == expected, "\(options)")
        }
    }

    /// `console -t` with a type xl does not know: xl's main_console (tools/xl/xl_console.c),
    /// with the value apart or attached as getopt takes it.
    @Test(arguments: [["-t", "usb"], ["-tusb"]])
    func consoleTypeXlDoesNotKnow(options: [String]) throws {
        let r = try run(swxlBinary, ["console"] + options + ["0"])
        #expect(r.status == 1 && r.stderr == "console type supported are: pv, serial, vuart\n")
    }

    /// create's options in xl's spellings, before or after the file; then
    /// list's, shutdown's and destroy's after the domain.
    @Test func xlsSpellingsInAnyOrder() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        // A fixed uuid: the dry runs' output is then the same every time.
        let cfg = try host.config(name: "web1", "uuid = \"5b1c3e4a-1f2d-4c6e-8a9b-0c1d2e3f4a5b\"")
        let reference = try host.swxl(["create", "-n", cfg])
        #expect(reference.status == 0 && reference.stdout.hasPrefix("{"))
        for words in [["--dryrun", cfg], [cfg, "--dryrun"], [cfg, "-n"], ["--dry-run", cfg], ["-f", cfg, "-n"],
                      ["--defconfig", cfg, "--dryrun"], ["--defconfig=\(cfg)", "-n"], ["-f\(cfg)", "-n"], ["-nf\(cfg)"],
                      ["-qnf", cfg], ["-n", "--", cfg]] {
            let r = try host.swxl(["create"] + words)
            #expect(r.status == 0 && r.stdout == reference.stdout && r.stderr == "", "\(words)")
        }
        // Overrides after -f FILE, options between them.
        #expect(try host.swxl(["create", "-n", "name=web9"]).status == 6)
        let override = try host.swxl(["create", "-f", cfg, "name=web9", "-n"])
        let direct = try host.swxl(["create", cfg, "name=web9", "--dryrun"])
        #expect(override.status == 0 && override.stdout == direct.stdout && override.stdout.contains("web9"))
        // As xl's main_create: KEY=VALUE words are overrides wherever they are; a second file is a usage error.
        let overrideFirst = try host.swxl(["create", "name=web9", cfg, "-n"])
        #expect(overrideFirst.status == 0 && overrideFirst.stdout == direct.stdout)
        #expect(try host.swxl(["create", cfg, cfg]).status == 2)

        // -d prints the config on stderr, after xl's "Parsing config from", then creates.
        let debug = try host.swxl(["create", cfg, "-d", "-p"])
        #expect(debug.status == 0)
        #expect(debug.stdout == "")
        #expect(debug.stderr == "Parsing config from \(cfg)\n" + reference.stdout)
        #expect(try host.domains().last?["state"] as? String == "paused")
        #expect(try host.swxl(["destroy", "web1", "-f"]).status == 0)

        let quiet = try host.swxl(["create", cfg, "--quiet"])
        #expect(quiet.status == 0 && quiet.stdout == "" && quiet.stderr == "")
        let table = try host.swxl(["list", "web1"])
        #expect(try host.swxl(["list", "web1", "--verbose"]).stdout == (try host.swxl(["list", "-v", "web1"])).stdout)
        #expect(try host.swxl(["list", "web1", "--long"]).stdout == (try host.swxl(["list", "-l", "web1"])).stdout)
        #expect(table.stdout.hasPrefix("Name                                        ID   Mem VCPUs\tState\tTime(s)\nweb1 "))
        #expect(try host.swxl(["vcpu-set", "web1", "1", "--ignore-host"]).status == 0)
        let shutdown = try host.swxl(["shutdown", "web1", "--wait"])
        #expect(shutdown.status == 0)
        #expect(shutdown.stderr == "Shutting down domain 2\nWaiting for 1 domains\nDomain 2 has been shut down, reason code 0\n")
        // -w returns once the domain has shut down; the monitor destroys it (on_poweroff) after that.
        #expect(try host.waitUntil(10) { try host.domains().count == 1 })
    }

    /// `create -c` shows the console once the domain is created, until it dies.
    @Test func createThenConsole() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let cfg = try host.config(name: "brief", "sim_guest_script = \"echo guest says hello\"")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: swxlBinary)
        process.arguments = ["create", "-q", "-c", cfg]
        process.environment = ProcessInfo.processInfo.environment.merging(host.environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // What the attached console shows, read as it comes: the domain is
        // destroyed only once the line is there (a destroy closes the
        // console, and with it output the client had not read yet).
        let shown = LogText()
        out.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            shown.text.withLock { $0 += String(decoding: chunk, as: UTF8.self) }
        }
        #expect(host.waitUntil { shown.text.withLock { $0.contains("guest says hello") } })
        #expect(process.isRunning, "create -c ended early: \(String(decoding: err.fileHandleForReading.availableData, as: UTF8.self))")
        #expect(try host.swxl(["destroy", "brief"]).status == 0)
        process.waitUntilExit()
        out.fileHandleForReading.readabilityHandler = nil
        let rest = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0)
        let all = shown.text.withLock { $0 } + rest
        #expect(all == (try host.swxl(["console", "brief"])).stdout || all.hasSuffix("guest says hello\n"), "\(all)")
    }

    /// `xl help destroy` as xl 4.17 prints it (tools/xl/xl_cmdtable.c, `help` in tools/xl/xl.c).
    static let destroyHelp = """
        Usage: xl [-vtTf] destroy [options] <Domain>


        Terminate a domain immediately.

        Options:

        -f                      Permit destroying domain 0, which will only succeed
                                when run from disaggregated toolstack domain with a
                                hardware domain distinct from domain 0.

        """

    /// `xl help create`: options, dry run and force in the usage line.
    static let createHelp = """
        Usage: xl [-vtTfN] create <ConfigFile> [options] [vars]

        Create a domain from config file <filename>.

        Options:

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

        """

    /// A link named `xl` to the built swxl, in a fresh directory.
    static func xlLink() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swxl-xl-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let link = dir.appendingPathComponent("xl").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: swxlBinary)
        return link
    }

    /// `help COMMAND` prints xl's help for the command, with the program's name.
    @Test func helpForACommandIsXls() throws {
        let xl = try Self.xlLink()
        defer { try? FileManager.default.removeItem(atPath: (xl as NSString).deletingLastPathComponent) }
        for (program, name) in [(xl, "xl"), (swxlBinary, "swxl")] {
            for (command, help) in [("destroy", Self.destroyHelp), ("create", Self.createHelp)] {
                let expected = help.replacingOccurrences(of: "Usage: xl ", with: "Usage: \(name) ")
                let r = try run(program, ["help", command])
                #expect(r.status == 0 && r.stderr == "")
                #expect(r.stdout == expected, "\(name) help \(command)")
            }
        }
        // Run as xl, COMMAND -h is xl's help too (def_getopt); as swxl it stays argument-parser's.
        let dashH = try run(xl, ["destroy", "web1", "-h"])
        #expect(dashH.status == 0 && dashH.stdout == Self.destroyHelp)
        #expect(try run(swxlBinary, ["destroy", "-h"]).stdout.hasPrefix("OVERVIEW: "))
        // xl's help for a command it does not know (tools/xl/xl.c): exit 0.
        let unknown = try run(swxlBinary, ["help", "sched-rtds"])
        #expect(unknown.status == 0 && unknown.stdout == "command \"sched-rtds\" not implemented\n")
        // swxl's own commands keep argument-parser's help.
        #expect(try run(swxlBinary, ["help", "store"]).stdout.hasPrefix("OVERVIEW: Read and change xenstore"))
    }

    /// `help` lists xl's commands that swxl has, in xl's order and layout, then swxl's additions.
    @Test func helpListsTheCommands() throws {
        let xl = try Self.xlLink()
        defer { try? FileManager.default.removeItem(atPath: (xl as NSString).deletingLastPathComponent) }
        let expected = """
            Usage xl [-vfNtT] <subcommand> [args]

            xl full list of subcommands:

             create              Create a domain from config file <filename>
             list                List information about all/some domains
             destroy             Terminate a domain immediately
             shutdown            Issue a shutdown signal to a domain
             reboot              Issue a reboot signal to a domain
             pause               Pause execution of a domain
             unpause             Unpause a paused domain
             console             Attach to domain's console
             save                Save a domain state to restore later
             migrate             Migrate a domain to another host
             restore             Restore a domain from a saved state
             migrate-receive     Restore a domain from a saved state
             dump-core           Core dump a domain
             mem-max             Set the maximum amount reservation for a domain
             mem-set             Set the current memory usage for a domain
             vcpu-list           List the VCPUs for all/some domains
             vcpu-pin            Set which CPUs a VCPU can use
             vcpu-set            Set the number of active VCPUs allowed for the domain
             vm-list             List guest domains, excluding dom0, stubdoms, etc.
             info                Get information about Xen host
             sched-credit        Get/set credit scheduler parameters
             sched-credit2       Get/set credit2 scheduler parameters
             domid               Convert a domain name to domain id
             domname             Convert a domain id to domain name
             rename              Rename a domain
             sysrq               Send a sysrq to a domain
             debug-keys          Send debug keys to Xen
             dmesg               Read and/or clear dmesg buffer
             top                 Monitor a host and the domains in real time
             network-attach      Create a new virtual network device
             network-list        List virtual network interfaces for a domain
             network-detach      Destroy a domain's virtual network device
             block-attach        Create a new virtual block device
             block-list          List virtual block devices for a domain
             block-detach        Destroy a domain's virtual block device
             uptime              Print uptime for all/some domains
             cpupool-list        List CPU pools on host
             new                 Define a domain without starting it (xm's new) (swxl's addition)
             start               Start a domain defined with new (xm's start) (swxl's addition)
             delete              Forget a halted domain defined with new (xm's delete) (swxl's addition)
             config              Read, check and convert domain config files (xl.cfg, legacy xm, SXP, JSON) (swxl's addition)
             store               Read and change xenstore, like Xen's xenstore-* tools (swxl's addition)
             xenstored           Run swxl's xenstore daemon (for hosts without Xen's own) (swxl's addition)
             serve               Serve the XenAPI (XML-RPC and JSON-RPC over HTTP), as xend did (swxl's addition)

            """
        let help = try run(xl, ["help"])
        #expect(help.status == 0 && help.stderr == "" && help.stdout == expected)
        // xl with no command prints the same and fails (tools/xl/xl.c, main).
        let bare = try run(xl, [])
        #expect(bare.status == 1 && bare.stdout == expected)
        let asSwxl = try run(swxlBinary, ["help"])
        #expect(asSwxl.stdout == expected.replacingOccurrences(of: "xl [-vfNtT]", with: "swxl [-vfNtT]")
                    .replacingOccurrences(of: "\nxl full list", with: "\nswxl full list"))
    }

    /// Run through a link named `xl`, swxl names itself xl in its messages;
    /// a command neither has is xl's "command not implemented", exit 1.
    @Test func runAsXL() throws {
        let xl = try Self.xlLink()
        defer { try? FileManager.default.removeItem(atPath: (xl as NSString).deletingLastPathComponent) }
        let missing = try run(xl, ["rename", "web1"])
        #expect(missing.status == 2 && missing.stderr == "'xl rename' requires at least 2 arguments.\n\n")
        #expect(missing.stdout == "Usage: xl [-vtTf] rename <Domain> <NewDomainName>\n\nRename a domain.\n\n")
        for program in [xl, swxlBinary] {
            let unknown = try run(program, ["sched-rtds"])
            #expect(unknown.status == 1 && unknown.stdout == "" && unknown.stderr == "command not implemented\n")
        }
    }

    /// xl's global options before the command (tools/xl/xl.c, `main`).
    @Test func globalOptions() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let xl = try Self.xlLink()
        defer { try? FileManager.default.removeItem(atPath: (xl as NSString).deletingLastPathComponent) }
        let cfg = try host.config(name: "web1", "uuid = \"5b1c3e4a-1f2d-4c6e-8a9b-0c1d2e3f4a5b\"")
        let dryRun = try host.swxl(["create", "--dryrun", cfg])
        #expect(dryRun.status == 0)
        // -N is create's dry run; the others change nothing, alone or clustered.
        for words in [["-N", "create", cfg], ["-v", "-N", "create", cfg], ["-vfNtT", "create", cfg]] {
            let r = try host.swxl(words)
            #expect(r.status == 0 && r.stdout == dryRun.stdout && r.stderr == "", "\(words)")
        }
        let list = try host.swxl(["list"])
        for words in [["-v", "list"], ["-f", "-t", "-T", "list"], ["-vv", "list"]] {
            let r = try host.swxl(words)
            #expect(r.status == 0 && r.stdout == list.stdout && r.stderr == "", "\(words)")
        }
        #expect(try host.domains().count == 1)
        let notDryRun = try host.swxl(["-N", "destroy", "0"])
        #expect(notDryRun.status == 1 && notDryRun.stderr == "command does not implement -N (dryrun) option\n")
        // Run as xl, an unknown one is getopt's message and xl's, exit 1; as swxl, a usage error.
        let unknown = try run(xl, ["-x", "list"], environment: host.environment)
        #expect(unknown.status == 1 && unknown.stderr == "xl: invalid option -- 'x'\nunknown global option\n")
        let asSwxl = try host.swxl(["-x", "list"])
        #expect(asSwxl.status == 2 && asSwxl.stderr == "option `x' not supported.\n")
    }

    /// `list -Z`, `-c` and `-n` add xl's columns (list_domains in tools/xl/xl_info.c):
    /// the security label "-" (no XSM labels), the cpupool's name and the node affinity "all" (one node).
    @Test func listContextAndNUMAColumns() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        // Paused, so its time stays 0.0 between the listings.
        #expect(try host.swxl(["create", "-q", "-p", try host.config(name: "web1")]).status == 0)
        let plain = try host.swxl(["list", "web1"]).stdout.split(separator: "\n").map(String.init)
        let verbose = try host.swxl(["list", "-v", "web1"]).stdout.split(separator: "\n").map(String.init)
        #expect(plain.count == 2 && verbose.count == 2)
        let label = String(repeating: " ", count: 15) + "-"  // " %16s"
        let cases: [([String], String)] = [
            (["-Z"], plain[0] + "   Security Label\n" + plain[1] + " " + label + "\n"),
            (["--context"], plain[0] + "   Security Label\n" + plain[1] + " " + label + "\n"),
            (["-n"], plain[0] + " NODE Affinity\n" + plain[1] + " all\n"),
            (["--numa", "-Z"], plain[0] + "   Security Label NODE Affinity\n" + plain[1] + " " + label + " all\n"),
            (["-vZn"], verbose[0] + " NODE Affinity\n" + verbose[1] + " all\n"),
            // -c: the pool's name, "%16s" with no space before it.
            (["-c"], plain[0] + "         Cpupool\n" + plain[1] + "          Pool-0\n"),
            (["--cpupool", "-v", "-n"], verbose[0] + "         Cpupool NODE Affinity\n" + verbose[1] + "          Pool-0 all\n"),
        ]
        for (options, expected) in cases {
            let r = try host.swxl(["list", "web1"] + options)
            #expect(r.status == 0 && r.stderr == "" && r.stdout == expected, "\(options)")
        }
    }

    /// `shutdown -ww` waits until the domain is gone, with xl's lines on
    /// stderr (wait_for_domain_deaths in tools/xl/xl_vmcontrol.c); every
    /// domain is asked before the wait begins.
    @Test func shutdownWaitsForDeath() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        #expect(try host.swxl(["create", "-q", try host.config(name: "web1")]).status == 0)
        #expect(try host.swxl(["create", "-q", try host.config(name: "web2")]).status == 0)
        let one = try host.swxl(["shutdown", "web1", "-ww"])
        #expect(one.status == 0 && one.stdout == "")
        #expect(one.stderr == """
            Shutting down domain 1
            Waiting for 1 domains
            Domain 1 has been shut down, reason code 0
            Domain 1 continue waiting for death
            Domain 1 has been destroyed

            """)
        #expect(try host.domains().map { $0["name"] as? String } == ["Domain-0", "web2"])
        #expect(try host.swxl(["create", "-q", try host.config(name: "web3")]).status == 0)
        let all = try host.swxl(["shutdown", "--all", "--wait", "--wait"])
        #expect(all.status == 0)
        #expect(all.stderr == """
            Shutting down domain 2
            Shutting down domain 3
            Waiting for 2 domains
            Domain 2 has been shut down, reason code 0
            Domain 2 continue waiting for death
            Domain 2 has been destroyed
            Domain 3 has been shut down, reason code 0
            Domain 3 continue waiting for death
            Domain 3 has been destroyed

            """)
        #expect(try host.domains().count == 1)
    }

    /// vcpu-set, domname and rename read their arguments and fail as xl's
    /// vcpuset (tools/xl/xl_vcpu.c), main_domname and main_rename (tools/xl/xl_misc.c) do.
    @Test func numbersAndRenameAsXl() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        #expect(try host.swxl(["create", "-q", try host.config(name: "web1", "maxvcpus = 2")]).status == 0)
        let tooMany = try host.swxl(["vcpu-set", "web1", "64"])
        #expect(tooMany.status == 1 && tooMany.stdout == "")
        #expect(tooMany.stderr == "You are overcommmitting! You have 4 physical CPUs and want 64 vCPUs! Aborting, use --ignore-host to continue\n")
        let notANumber = try host.swxl(["vcpu-set", "web1", "two"])
        #expect(notANumber.status == 1 && notANumber.stderr == "Error: Invalid argument.\n")
        // strtoul: the digits at the start count.
        #expect(try host.swxl(["vcpu-set", "web1", "2vcpus"]).status == 0)
        // The guest brings the vCPU online itself, a moment later.
        #expect(try host.waitUntil { (try host.domains()).last?["vcpus"] as? Int == 2 })
        let domname = try host.swxl(["domname", "1st"])
        #expect(domname.status == 0 && domname.stdout == "web1\n")
        let rename = try host.swxl(["rename", "web1", "Domain-0"])
        #expect(rename.status == 1)
        #expect(rename.stderr == "swxl: error: domain with name \"Domain-0\" already exists (domid 0)\nCan't rename domain 'web1'.\n")
        #expect(try host.domains().map { $0["name"] as? String } == ["Domain-0", "web1"])
    }
}
