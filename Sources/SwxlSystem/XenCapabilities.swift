/// Whether this host is a Xen dom0, as Linux tells it in
/// /proc/xen/capabilities: `control_d` marks the control domain.
public enum XenCapabilities {
    /// Where Linux says what this domain may do.
    public static let file = "/proc/xen/capabilities"

    /// Whether `capabilities` (the file's text, nil if it is missing) lists `control_d`.
    public static func isControlDomain(capabilities: String?) -> Bool {
        guard let capabilities else { return false }
        return capabilities.split(whereSeparator: { $0 == "\n" || $0 == " " || $0 == "," }).contains("control_d")
    }

    /// Whether the capabilities file at `path` lists `control_d`.
    public static func isControlDomain(file path: String = XenCapabilities.file) -> Bool {
        isControlDomain(capabilities: FileIO.read(path))
    }
}
