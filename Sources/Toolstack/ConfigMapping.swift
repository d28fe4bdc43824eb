import DomainConfig
import SwxlSystem

/// The config key naming a program to run as the simulated guest.
public let simGuestScriptKey = "sim_guest_script"

extension DomainPlan {
    /// Where an HVM guest's firmware loader lives when the config names no kernel.
    public static let hvmLoader = "/usr/lib/xen-4.17/boot/hvmloader"

    /// The plan for a parsed config: what create needs, resolved.
    /// `macSeed` makes the MACs of vifs that have none (xl picks random
    /// ones in Xen's 00:16:3e prefix).
    public init(config c: DomainConfiguration,
                randomByte: () -> UInt8 = { UInt8.random(in: 0...255) }) throws(ToolstackError) {
        let type = GuestType(rawValue: c.type.rawValue) ?? .pv
        let kernel: String
        if let k = c.PV_kernel, !k.isEmpty {
            kernel = k
        } else if type == .hvm {
            kernel = Self.hvmLoader
        } else {
            throw .invalidPlan("no kernel: a \(type.rawValue) guest needs `kernel = \"...\"` (bootloaders are not supported)")
        }
        func action(_ a: DomainAction) -> ShutdownAction { ShutdownAction(rawValue: a.rawValue) ?? .destroy }
        let disks = c.disks.map { d in
            DiskPlan(vdev: d.vdev, target: d.params, mode: d.mode, deviceType: d.deviceType.rawValue,
                     backendKind: d.backendKind,
                     backendType: d.backendType.map { $0 == .standalone ? "phy" : $0.rawValue }
                        ?? (d.backendKind == "qdisk" ? "qdisk" : "phy"),
                     format: d.format.rawValue, script: d.script,
                     backendDomid: d.backendDomain.flatMap { UInt32($0) } ?? 0)
        }
        let vifs = c.vifs.map { v in
            let mac = v.mac?.description ?? {
                let tail = (0..<3).map { _ in randomByte() }
                return "00:16:3e:" + tail.map { b in
                    let s = String(b & 0x7f, radix: 16)
                    return s.count == 1 ? "0" + s : s
                }.joined(separator: ":")
            }()
            return VifPlan(mac: mac, bridge: v.bridge, script: v.script ?? "vif-bridge", ip: v.ip,
                           type: v.type ?? "vif", backendDomid: v.backend.flatMap { UInt32($0) } ?? 0)
        }
        self.init(name: c.name_label, uuid: c.uuid.bytes, type: type,
                  memoryMiB: c.memory_dynamic_max >> 20, maxMemoryMiB: c.memory_static_max >> 20,
                  vcpus: UInt32(max(c.VCPUs_at_startup, 1)), maxVCPUs: UInt32(max(c.VCPUs_max, 1)),
                  kernel: kernel, ramdisk: c.PV_ramdisk, cmdline: c.PV_args ?? "",
                  onPoweroff: action(c.actions_after_shutdown), onReboot: action(c.actions_after_reboot),
                  onCrash: action(c.actions_after_crash), videoramKiB: type == .hvm ? 8192 : nil,
                  disks: disks, vifs: vifs, vkbs: c.vkbs.count, vfbs: c.vfbs.count,
                  simGuestScript: c.platform[simGuestScriptKey], configJSON: c.jsonText())
    }
}

/// What `swxl create` read from a config file.
public struct LoadedConfig: Sendable {
    public var plan: DomainPlan
    /// The resolved config as JSON (`create -n`).
    public var json: String
    /// Warnings, as `file:line:col: warning: ...` lines.
    public var warnings: [String]
}

/// A config that cannot be used: every diagnostic, as lines.
public struct ConfigLoadError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [String]
    public var description: String { diagnostics.joined(separator: "\n") }
}

/// Reads a config file (xl.cfg, xm or SXP) with its overrides into a plan.
public enum ConfigLoader {
    public static func load(file: String, overrides: [String]) throws(ConfigLoadError) -> LoadedConfig {
        guard let text = FileIO.read(file) else {
            throw ConfigLoadError(diagnostics: ["\(file): error: cannot read the config file"])
        }
        let base = file.contains("/") ? String(file[..<file.lastIndex(of: "/")!]) : "."
        let options = ParseOptions(baseDirectory: base, fileExists: { FileIO.exists($0) })
        let result = DomainConfiguration.parse(text: text, fileName: file, overrides: overrides, options: options)
        let warnings = result.warnings
        guard let config = result.configuration, result.errors.isEmpty else {
            throw ConfigLoadError(diagnostics: result.diagnostics.filter { $0.severity == .error || warnings.contains($0) }.map(\.description))
        }
        let plan: DomainPlan
        do { plan = try DomainPlan(config: config) } catch {
            throw ConfigLoadError(diagnostics: ["\(file): error: \(error)"])
        }
        return LoadedConfig(plan: plan, json: config.jsonText(), warnings: warnings.map(\.description))
    }
}

/// A plan as JSON, for domains whose config JSON was not kept.
public enum PlanJSON {
    public static func render(_ p: DomainPlan) -> String {
        let q = JSONText.quoted
        return """
            {
                "name_label": \(q(p.name)),
                "uuid": \(q(DomainHandle.format(p.uuid))),
                "type": \(q(p.type.rawValue)),
                "memory": \(p.memoryMiB),
                "maxmem": \(p.maxMemoryMiB),
                "vcpus": \(p.vcpus),
                "maxvcpus": \(p.maxVCPUs),
                "kernel": \(q(p.kernel)),
                "cmdline": \(q(p.cmdline))
            }
            """
    }
}
