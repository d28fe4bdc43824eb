import ArgumentParser
import Toolstack

/// `swxl info`: the host and its hypervisor, line for line as Xen 4.17's
/// `xl info` prints them, or as one JSON object (``HostInfo``).
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Information about the host, as `xl info` prints it.").parsedAlone
    @OptionGroup var hostOptions: HostOptions
    @Flag(name: [.customShort("n"), .customLong("numa")], help: "Also list the host's CPU, device and NUMA topology (an ITEM is then ignored, as xl ignores it).")
    var numa = false
    @Flag(name: .long, help: "One JSON object, for scripts: numbers as numbers, virt_caps as a list (swxl's addition).")
    var json = false
    @Argument(help: "Only the lines that start with this (e.g. free_memory), values only, as xl prints them.")
    var item: String?

    func run() throws {
        let t = try hostOptions.open().toolstack
        let fields = try DomainCLI.reporting { try HostInfo.fields(of: t.hypervisor) }
        if numa && !json {
            Terminal.out(HostInfo.text(fields, topology: try DomainCLI.reporting { try t.hypervisor.topology() }))
            return
        }
        if numa { throw ValidationError("--json does not take -n (the topology is xl's text only)") }
        Terminal.out(json ? HostInfo.json(fields, item: item) : HostInfo.text(fields, item: item))
    }
}
