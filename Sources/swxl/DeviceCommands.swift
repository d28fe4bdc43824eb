import ArgumentParser
import DomainConfig
import EmbeddedHost
#if canImport(Glibc)
import Glibc
#endif
import Toolstack

/// `swxl block-attach`, `block-detach`, `block-list`, `network-attach`,
/// `network-detach` and `network-list`: xl's arguments, output, messages
/// and exit statuses (tools/xl/xl_block.c, xl_nic.c in Xen 4.17), on either
/// host; the `-list` commands also print JSON (`--json`).
var deviceCommands: [any ParsableCommand.Type] {
    [NetworkAttachCommand.self, NetworkListCommand.self, NetworkDetachCommand.self,
     BlockAttachCommand.self, BlockListCommand.self, BlockDetachCommand.self]
}

enum DeviceCLI {
    /// xl's usage error for a command given fewer arguments than it needs: exit 2.
    static func tooFewArguments(_ command: String) -> ExitCode {
        if let spec = XLHelp.spec(command) {
            Terminal.err(XLHelp.tooFewArguments(spec, program: XLInvocation.program))
            Terminal.out(XLHelp.text(spec, program: XLInvocation.program))
        }
        return ExitCode(UsageErrors.status)
    }

    /// `libxl_domain_qualifier_to_domid`'s failure as block-attach and
    /// block-list say it (no rc, unlike `find_domain`'s).
    static func qualifierDomid(_ toolstack: Toolstack, _ identifier: String) -> UInt32? {
        if let id = try? toolstack.resolve(identifier) { return id }
        Terminal.err("\(identifier) is an invalid domain identifier\n")
        return nil
    }

    /// The reason, then xl's own line (`libxl_device_disk_add failed.`), exit 1.
    static func failed(_ error: any Error, _ line: String) -> ExitCode {
        DomainCLI.printError("\(error)")
        Terminal.err(line + "\n")
        return ExitCode.failure
    }

    /// C's `%-Nd`.
    static func left(_ n: Int, _ width: Int) -> String { Fmt.left(String(n), width) }
    /// C's `%Nd`.
    static func right(_ n: Int, _ width: Int) -> String { Fmt.right(String(n), width) }

    /// The `-list` commands' JSON: one object per device.
    static func json(_ rows: [(domid: UInt32, info: DeviceInfo)], vif: Bool) -> String {
        let items: [JSONValue] = rows.map { row in
            var members: [(String, JSONValue)] = [("domid", .number("\(row.domid)")), ("devid", .number("\(row.info.devid)"))]
            if vif { members.append(("mac", .string(row.info.mac))) }
            members += [("backend_id", .number("\(row.info.backendID)")), ("frontend_id", .number("\(row.info.frontendID)")),
                        ("state", .number("\(row.info.state)")), ("evtch", .number("\(row.info.eventChannel)"))]
            members += vif ? [("rref_tx", .number("\(row.info.ringRef)")), ("rref_rx", .number("\(row.info.rxRingRef)"))]
                : [("rref", .number("\(row.info.ringRef)"))]
            members.append(("backend", .string(row.info.backend)))
            return .object(members)
        }
        return JSONValue.array(items).serialized() + "\n"
    }
}

struct BlockAttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "block-attach", abstract: "Create a new virtual block device.",
        discussion: "The disk spec is xl-disk-configuration(5)'s, in one or more parts (joined with commas).").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Flag(name: .customLong("dryrun"), help: ArgumentHelp("Print the disk and do nothing (xl's global -N).", visibility: .hidden))
    var dryRun = false
    @Argument(help: "The domain (name or domid).") var domain: String
    @Argument(parsing: .remaining, help: "The disk spec's parts.") var spec: [String] = []

    func run() throws {
        guard !spec.isEmpty else { throw DeviceCLI.tooFewArguments("block-attach") }
        let host = try hostOptions.open()
        let t = host.toolstack
        guard let domid = DeviceCLI.qualifierDomid(t, domain) else { throw ExitCode.failure }
        let disk: DiskDevice
        switch DiskDevice.parse(spec.joined(separator: ",")) {
        case .success(let d): disk = d
        case .failure(let e):
            // libxlutil's words, with xl's config source for the command line.
            Terminal.err(e.xlMessages.map { "command line: config parsing error in disk specification: \($0)\n" }.joined())
            throw ExitCode.failure
        }
        if dryRun {
            Terminal.out("disk: " + disk.jsonValue.serialized() + "\n")
            return
        }
        do { try t.attachDisk(domid: domid, disk) } catch { throw DeviceCLI.failed(error, "libxl_device_disk_add failed.") }
    }
}

struct BlockListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "block-list", abstract: "List virtual block devices for a domain.").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Flag(name: .long, help: "Print JSON instead of xl's table.") var json = false
    @Argument(help: "The domains (names or domids).") var domains: [String] = []

    func run() throws {
        guard !domains.isEmpty else { throw DeviceCLI.tooFewArguments("block-list") }
        let t = try hostOptions.open().toolstack
        var text = json ? "" : ["Vdev", "BE", "handle", "state", "evt-ch", "ring-ref", "BE-path"]
            .enumerated().map { Fmt.left($1, [5, 3, 6, 5, 6, 8, 30][$0]) }.joined(separator: " ") + "\n"
        var rows: [(domid: UInt32, info: DeviceInfo)] = []
        for domain in domains {
            guard let domid = DeviceCLI.qualifierDomid(t, domain) else { continue }
            for info in t.deviceInfo(domid: domid, kind: "vbd") {
                rows.append((domid, info))
                text += DeviceCLI.left(Int(info.devid), 5) + " " + DeviceCLI.left(Int(info.backendID), 3) + " "
                    + DeviceCLI.left(Int(info.frontendID), 6) + " " + DeviceCLI.left(info.state, 5) + " "
                    + DeviceCLI.left(info.eventChannel, 6) + " " + DeviceCLI.left(info.ringRef, 8) + " "
                    + Fmt.left(info.backend, 30) + "\n"
            }
        }
        Terminal.out(json ? DeviceCLI.json(rows, vif: false) : text)
    }
}

struct BlockDetachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "block-detach", abstract: "Destroy a domain's virtual block device.").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Flag(name: [.customShort("f"), .long], help: "Do not wait for the domain to release the device.") var force = false
    @Argument(help: "The domain (name or domid).") var domain: String
    @Argument(help: "The device: its vdev (xvdb) or devid (51728).") var device: String

    func run() throws {
        let t = try hostOptions.open().toolstack
        let domid = try DomainCLI.resolve(t, domain)
        guard let disk = t.disk(domid: domid, device) else {
            Terminal.err("Error: Device \(device) not connected.\n")
            throw ExitCode.failure
        }
        do { try t.detach(disk, force: force) } catch {
            throw DeviceCLI.failed(error, "libxl_device_disk_\(force ? "destroy" : "safe_remove") failed.")
        }
    }
}

struct NetworkAttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network-attach", abstract: "Create a new virtual network device.",
        discussion: "Each argument is a part of an xl-network-configuration(5) spec (key=value).").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Flag(name: .customLong("dryrun"), help: ArgumentHelp("Print the vif and do nothing (xl's global -N).", visibility: .hidden))
    var dryRun = false
    @Argument(help: "The domain (name or domid).") var domain: String
    @Argument(parsing: .remaining, help: "The vif spec's parts.") var spec: [String] = []

    func run() throws {
        let host = try hostOptions.open()
        let t = host.toolstack
        let domid = try DomainCLI.resolve(t, domain)
        if let problem = Self.xlRefusal(spec) {
            Terminal.err(problem + "\n")
            throw ExitCode.failure
        }
        let vif: NetworkInterface
        switch NetworkInterface.parse(spec.joined(separator: ",")) {
        case .success(let v): vif = XLGlobalConfig.settings.applyingDefaults(to: v)  // xl.conf's vif.default.*
        case .failure(let e):
            Terminal.err(e.messages.map { "\(XLInvocation.program): error: \($0)\n" }.joined())
            throw ExitCode.failure
        }
        if dryRun {
            Terminal.out("vif: " + vif.jsonValue.serialized() + "\n")
            return
        }
        do { try t.attachNIC(domid: domid, vif) } catch { throw DeviceCLI.failed(error, "libxl_device_nic_add failed.") }
    }

    /// The keys xl 4.17's parse_nic_config knows (the colo_ ones aside).
    static let xlKeys: Set<String> = ["type", "mac", "bridge", "netdev", "gatewaydev", "ip", "script", "backend", "vifname",
                                      "model", "rate", "forwarddev", "accel", "devid", "mtu"]

    /// What xl's parse_nic_config says of a token it refuses before
    /// anything else looks at it: a bad `type` or `mac`, a key it does not
    /// know. Other problems get swxl's words from the vif reader.
    static func xlRefusal(_ parts: [String]) -> String? {
        for part in parts {
            for token in part.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                guard let eq = token.firstIndex(of: "=") else {
                    if token == "trusted" || token == "untrusted" { continue }
                    return "unrecognized argument `\(token)'"
                }
                let key = String(token[..<eq]), value = String(token[token.index(after: eq)...])
                switch key {
                case "type" where value != "vif" && value != "ioemu": return "Invalid parameter `type'."
                case "mac" where MACAddress(value) == nil: return "Invalid parameter `mac'."
                case _ where xlKeys.contains(key) || key.hasPrefix("colo_"): continue
                default: return "unrecognized argument `\(token)'"
                }
            }
        }
        return nil
    }
}

struct NetworkListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "network-list", abstract: "List virtual network interfaces for a domain.").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Flag(name: .long, help: "Print JSON instead of xl's table.") var json = false
    @Argument(help: "The domains (names or domids).") var domains: [String] = []

    func run() throws {
        guard !domains.isEmpty else { throw DeviceCLI.tooFewArguments("network-list") }
        let t = try hostOptions.open().toolstack
        var text = json ? "" : "Idx BE " + Fmt.left("Mac Addr.", 17) + " handle state evt-ch " + Fmt.right("tx-", 5) + "/rx-ring-ref "
            + Fmt.left("BE-path", 30) + "\n"
        var rows: [(domid: UInt32, info: DeviceInfo)] = []
        for domain in domains {
            // xl's find_domain: a name no domain has ends the command.
            let domid = try DomainCLI.resolve(t, domain)
            for info in t.deviceInfo(domid: domid, kind: "vif") {
                rows.append((domid, info))
                let mac = MACAddress(info.mac)?.description ?? info.mac
                text += DeviceCLI.left(Int(info.devid), 3) + " " + DeviceCLI.left(Int(info.backendID), 2) + " " + mac
                    + DeviceCLI.right(Int(info.devid), 6) + " " + DeviceCLI.right(info.state, 5) + " "
                    + DeviceCLI.right(info.eventChannel, 6) + " " + DeviceCLI.right(info.ringRef, 5) + "/"
                    + DeviceCLI.left(info.rxRingRef, 11) + " " + Fmt.left(info.backend, 30) + "\n"
            }
        }
        Terminal.out(json ? DeviceCLI.json(rows, vif: true) : text)
    }
}

struct NetworkDetachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "network-detach", abstract: "Destroy a domain's virtual network device.").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Argument(help: "The domain (name or domid).") var domain: String
    @Argument(help: "The device: its devid or its MAC.") var device: String

    func run() throws {
        let t = try hostOptions.open().toolstack
        let domid = try DomainCLI.resolve(t, domain)
        guard let vif = t.nic(domid: domid, device) else {
            Terminal.err("Unknown device \(device).\n")
            throw ExitCode.failure
        }
        do { try t.detach(vif, force: false) } catch { throw DeviceCLI.failed(error, "libxl_device_nic_del failed.") }
    }
}
