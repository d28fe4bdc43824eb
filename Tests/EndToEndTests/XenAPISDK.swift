import Synchronization
import Foundation
import Glibc

/// The XenAPI SDK from PyPI (`XenAPI`, unmodified) in a virtual environment
/// made once per test run under the temporary directory (and removed when
/// the tests end). Scripts run with its Python. Needs python3's venv and
/// network access to PyPI (scripts/setup installs python3-venv).
enum XenAPISDK {
    private static let made: Result<String, Error> = Result {
        var template = Array((FileManager.default.temporaryDirectory.path + "/swxl-sdk-XXXXXX").utf8CString)
        guard let dir = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno)!) }
        let root = String(cString: dir)
        atexit { XenAPISDK.removeAtExit() }
        directory.withLock { $0 = root }
        let venv = try EndToEndTests.run("/usr/bin/python3", ["-m", "venv", root + "/venv"])
        guard venv.status == 0 else { throw SDKError("python3 -m venv failed (is python3-venv installed?): \(venv.stderr)") }
        let pip = try EndToEndTests.run(root + "/venv/bin/pip", ["install", "--quiet", "--disable-pip-version-check", "XenAPI"])
        guard pip.status == 0 else { throw SDKError("pip install XenAPI failed: \(pip.stderr)") }
        return root + "/venv/bin/python"
    }

    private static let directory = Mutex<String?>(nil)

    private static func removeAtExit() {
        if let dir = directory.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// The venv's python, made on first use.
    static func python() throws -> String { try made.get() }

    /// Runs a Python script with the SDK importable; `arguments` are its sys.argv[1:].
    static func run(script: String, _ arguments: [String] = []) throws -> RunResult {
        try EndToEndTests.run(try python(), ["-c", script] + arguments)
    }

    /// The URL the SDK's `UDSTransport` turns into `path` (it maps '_' to '/'),
    /// as `xapi_local()` does for /var/lib/xcp/xapi.
    static func localURL(socket path: String) throws -> String {
        guard !path.contains("_") else { throw SDKError("the SDK cannot reach a socket whose path has '_': \(path)") }
        return "http://" + path.replacingOccurrences(of: "/", with: "_")
    }

    struct SDKError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

