import ArgumentParser
import DomainConfig
import Toolstack

/// How `create` and `new` read a domain's config, one way for both: the
/// file with its KEY=VALUE overrides, its diagnostics said, xl.conf's
/// defaults (vif.default.*, the grant limits, the vCPU affinity masks
/// unless ignored), then resolved as create resolves it.
enum ConfigIntake {
    /// The file's parse (its keys for -n/-d), the config with xl.conf's
    /// defaults, and that config resolved. A bad config is said (every
    /// diagnostic, or `file: error: ...`) and exits 1.
    static func read(_ file: String, overrides: [String], hostOptions: HostOptions,
                     ignoreAffinityMasks: Bool) throws -> (ParseResult, DomainConfiguration, DomainConfiguration) {
        let result = DomainConfiguration.load(path: file, overrides: overrides)
        guard let parsed = result.configuration, result.errors.isEmpty else {
            for diagnostic in result.diagnostics { Terminal.errLine(diagnostic.description) }
            throw ExitCode.failure
        }
        for warning in result.warnings { Terminal.errLine(warning.description) }
        // xl.conf's vif.default.* for the vifs that do not say (xl's set_default_nic_values).
        var config = XLGlobalConfig.settings.applyingGrantDefaults(to: XLGlobalConfig.settings.applyingVIFDefaults(to: parsed))
        // xl.conf's vCPU affinity masks, unless -i (the host's CPUs are asked only when there are some).
        if !ignoreAffinityMasks, XLGlobalConfig.settings.hasAffinityMasks,
           let masked = try AffinityMasks.applied(to: config, toolstack: try hostOptions.open().toolstack) {
            config = masked
        }
        // What create would refuse (no kernel, a bad name) is a bad config: said now, dry run or not.
        do { return (result, config, try config.resolved()) } catch {
            Terminal.errLine("\(file): error: \(error)")
            throw ExitCode.failure
        }
    }

    /// No key dropped in silence: those this host cannot apply are refused
    /// (exit 1), the others not applied are warned about.
    static func checkKeys(_ resolved: DomainConfiguration, file: String, on kind: HostKind) throws {
        let keys = ConfigKeyStatus.problems(resolved, on: kind)
        for ignored in keys.ignored { Terminal.errLine("\(file): warning: \(ignored)") }
        guard keys.refused.isEmpty else {
            for refused in keys.refused { Terminal.errLine("\(file): error: \(refused)") }
            throw ExitCode.failure
        }
    }
}
