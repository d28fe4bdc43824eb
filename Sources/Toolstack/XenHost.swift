import CXen
import Glibc

/// Which host swxl drives: real Xen (this is a dom0) or the embedded one
/// (simulated hypervisor plus swxl's own xenstored).
public enum HostKind: String, Sendable, CaseIterable {
    case xen
    case embedded

    /// The environment variable that forces a host: `SWXL_HOST=xen|embedded`.
    public static let environmentVariable = "SWXL_HOST"

    /// The host to use: `forced` (a `--host` flag) wins, then `SWXL_HOST`,
    /// then Xen when `/proc/xen/capabilities` says `control_d`, else embedded.
    /// An unknown name in the flag or the variable is an error, not a guess.
    public static func detect(forced: String? = nil) throws(HostKindError) -> HostKind {
        if let forced {
            guard let kind = HostKind(rawValue: forced) else { throw HostKindError(source: "--host", value: forced) }
            return kind
        }
        if let raw = getenv(environmentVariable) {
            let value = String(cString: raw)
            if !value.isEmpty {
                guard let kind = HostKind(rawValue: value) else {
                    throw HostKindError(source: environmentVariable, value: value)
                }
                return kind
            }
        }
        return cxen_is_control_domain() != 0 ? .xen : .embedded
    }
}

public struct HostKindError: Error, Sendable, Equatable, CustomStringConvertible {
    public var source: String
    public var value: String
    public var description: String {
        "\(source): unknown host '\(value)' (expected \(HostKind.allCases.map(\.rawValue).joined(separator: " or ")))"
    }
}
