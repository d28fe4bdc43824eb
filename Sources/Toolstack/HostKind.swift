import Glibc

/// Which host swxl drives: real Xen (this is a dom0) or the embedded one
/// (simulated hypervisor plus swxl's own xenstored).
public enum HostKind: String, Sendable, CaseIterable {
    case xen
    case embedded

    /// The environment variable that forces a host: `SWXL_HOST=xen|embedded`.
    public static let environmentVariable = "SWXL_HOST"
    /// Where Linux says what this domain may do; `control_d` marks a dom0.
    public static let capabilitiesFile = "/proc/xen/capabilities"

    /// The host to use: `forced` (a `--host` flag) wins, then `SWXL_HOST`,
    /// then Xen when the capabilities file says `control_d`, else embedded.
    /// An unknown name in the flag or the variable is an error, not a guess.
    public static func detect(forced: String? = nil,
                              environment: [String: String] = processEnvironment(),
                              capabilitiesFile: String = HostKind.capabilitiesFile) throws(HostKindError) -> HostKind {
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
        return isControlDomain(capabilitiesFile: capabilitiesFile) ? .xen : .embedded
    }

    /// Whether the capabilities file lists `control_d`.
    static func isControlDomain(capabilitiesFile: String) -> Bool {
        let fd = open(capabilitiesFile, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 256)
        let n = read(fd, &buf, buf.count)
        guard n > 0 else { return false }
        return String(decoding: buf[..<n], as: UTF8.self)
            .split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == " " })
            .contains("control_d")
    }
}

public struct HostKindError: Error, Sendable, Equatable, CustomStringConvertible {
    public var source: String
    public var value: String
    public var description: String {
        "\(source): unknown host '\(value)' (expected \(HostKind.allCases.map(\.rawValue).joined(separator: " or ")))"
    }
}

/// The process's environment as a dictionary.
public func processEnvironment() -> [String: String] {
    var env: [String: String] = [:]
    var p = environ
    while let entry = p.pointee {
        let s = String(cString: entry)
        if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
        p += 1
    }
    return env
}
