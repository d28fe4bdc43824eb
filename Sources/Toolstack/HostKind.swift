import Glibc
import SwxlSystem

/// Which host swxl drives: real Xen (this is a dom0) or the embedded one
/// (simulated hypervisor plus swxl's own xenstored).
public enum HostKind: String, Sendable, CaseIterable {
    case xen
    case embedded

    /// The environment variable that forces a host: `SWXL_HOST=xen|embedded`.
    public static let environmentVariable = "SWXL_HOST"

    /// The host to use: `forced` (a `--host` flag) wins, then `SWXL_HOST`,
    /// then Xen when the capabilities file says `control_d`, else embedded.
    /// An unknown name in the flag or the variable is an error, not a guess.
    public static func detect(forced: String? = nil,
                              environment: [String: String] = CurrentProcess.environment(),
                              capabilitiesFile: String = XenCapabilities.file) throws(HostKindError) -> HostKind {
        if let forced {
            guard let kind = HostKind(rawValue: forced) else { throw HostKindError(source: "--host", value: forced) }
            return kind
        }
        if let value = environment[environmentVariable], !value.isEmpty {
            guard let kind = HostKind(rawValue: value) else {
                throw HostKindError(source: environmentVariable, value: value)
            }
            return kind
        }
        return XenCapabilities.isControlDomain(file: capabilitiesFile) ? .xen : .embedded
    }
}

public struct HostKindError: Error, Sendable, Equatable, CustomStringConvertible {
    public var source: String
    public var value: String
    public var description: String {
        "\(source): unknown host '\(value)' (expected \(HostKind.allCases.map(\.rawValue).joined(separator: " or ")))"
    }
}
