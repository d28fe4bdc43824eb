import DomainConfig
import SwxlSystem

/// What swxl follows of xl's global config file, /etc/xen/xl.conf (xl 4.17
/// reads that one path, XL_GLOBAL_CONFIG, with the xl.cfg syntax; a missing
/// or unreadable file leaves xl's defaults).
enum XLGlobalConfig {
    static let path = "/etc/xen/xl.conf"

    /// `output_format="sxp"`: `list -l` and `create -n` print xl's SXP form
    /// instead of libxl's JSON (xl's parse_global_config; any other value is JSON).
    static var printsSXP: Bool {
        guard let text = FileIO.read(path) else { return false }
        let (raw, _) = DomainConfiguration.parseRaw(text: text, fileName: path)
        return raw["output_format"]?.value.stringValue == "sxp"
    }
}
