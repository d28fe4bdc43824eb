import DomainConfig
#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem

/// xl's global config file as swxl reads it: /etc/xen/xl.conf (xl 4.17
/// reads that one path, XL_GLOBAL_CONFIG; `SWXL_XL_CONF` names another,
/// swxl's addition for tests and for users without root), with the xl.cfg
/// grammar, before any of xl's commands runs, as xl does
/// (XLGlobalSettings has the settings and xl's messages).
enum XLGlobalConfig {
    static let defaultPath = "/etc/xen/xl.conf"

    static var path: String {
        if let p = CurrentProcess.environment()["SWXL_XL_CONF"], !p.isEmpty { return p }
        return defaultPath
    }

    nonisolated(unsafe) private static var cached: XLGlobalSettings?

    /// The settings (read once; xl's defaults when the file is missing).
    static var settings: XLGlobalSettings {
        if let cached { return cached }
        let reading = read()
        cached = reading.settings
        return reading.settings
    }

    /// Reads the file, printing what xl prints while reading it; gives
    /// xl's exit status (1) when xl would stop there.
    static func load() -> Int32? {
        let reading = read()
        for message in reading.messages { Terminal.err(message) }
        if reading.fails { return 1 }
        cached = reading.settings
        return nil
    }

    private static func read() -> XLGlobalSettings.Reading {
        let path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        let e = errno
        if fd >= 0 { close(fd) }
        guard fd >= 0, let text = FileIO.read(path) else {
            // xl says so and goes on with its defaults; a file that is not
            // there at all (a host without Xen's tools) is not worth a word.
            var messages: [String] = []
            if fd < 0 && e != ENOENT { messages.append("Failed to read config file: \(path): \(String(cString: strerror(e)))\n") }
            return XLGlobalSettings.Reading(settings: XLGlobalSettings(), messages: messages, fails: false)
        }
        return XLGlobalSettings.read(text: text, fileName: path)
    }

    /// `output_format="sxp"`: `list -l` and `create -n` print xl's SXP form
    /// instead of libxl's JSON (any other value is JSON).
    static var printsSXP: Bool { settings.outputSXP }
}
