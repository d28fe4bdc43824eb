#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import Toolstack

/// `create -V`/`-A`: once the domain runs, xl starts a VNC viewer on the
/// display its device model published (libxl_vncviewer_exec in
/// tools/libs/light/libxl_console.c: `console/vnc-port`, `vnc-listen`,
/// `vnc-pass`; `$VNCVIEWER` or `vncviewer`). swxl runs no device model, so a
/// domain it made has no display: it says so as libxl does and the create
/// still succeeds (exit 0), as xl's does when its viewer child fails.
enum VNCViewer {
    static func connect(_ t: Toolstack, domid: UInt32, autopass: Bool) {
        let base = "/local/domain/\(domid)/console/"
        guard let port = (try? t.store.read(base + "vnc-port")) ?? nil else {
            DomainCLI.printError("Domain \(domid):Cannot get vnc-port")
            return
        }
        let listen = ((try? t.store.read(base + "vnc-listen")) ?? nil) ?? "localhost"
        let display = (DomainCLI.signedLeadingNumber(port) ?? 0) - 5900
        if autopass, ((try? t.store.read(base + "vnc-pass")) ?? nil) != nil {
            DomainCLI.printError("vncviewer -autopass: swxl cannot hand the viewer the display's password")
            return
        }
        let program = CurrentProcess.environment()["VNCVIEWER"] ?? "vncviewer"
        guard let path = executablePath(program) else {
            DomainCLI.printError("\(program): not found")
            return
        }
        do {
            _ = try BackgroundProcess.spawn(executable: path, arguments: ["\(listen):\(display)"], output: .standardError)
        } catch {
            DomainCLI.printError("\(program): \(error)")
        }
    }

    /// `program` as execvp finds it: a path with a slash as it is, else the first on PATH.
    static func executablePath(_ program: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        let path = CurrentProcess.environment()["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(program)" }.first { access($0, X_OK) == 0 }
    }
}
