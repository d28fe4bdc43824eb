import ArgumentParser
import EmbeddedHost
import Logging
import ManagementAPI
import SwxlSystem
import Toolstack
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `swxl serve`.
var serveCommands: [any ParsableCommand.Type] { [Serve.self] }

/// `swxl serve`: the XenAPI (XAPI's dialect) over HTTP, as xend served it.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the XenAPI (XML-RPC and JSON-RPC over HTTP), as xend did.",
        discussion: """
            XML-RPC at any POST path, JSON-RPC at /jsonrpc. Listens on a Unix socket:
            /var/lib/xcp/xapi for root on a Xen host (where XAPI's local clients look),
            else <state>/xapi/socket; made 0600, so only its owner (and root) can connect,
            and calls there need no password. With --tcp also on TCP, where logging in
            checks the user's password against --credentials FILE (lines user:HASH, the
            hash as `openssl passwd -6` prints it). TCP carries passwords in clear text:
            keep it on loopback (the default for --tcp PORT) or put TLS in front.
            Without --foreground it detaches once it is listening. See docs/api.md.
            """
    ).parsedAlone

    @OptionGroup var hostOptions: HostOptions

    @Flag(name: [.short, .long], help: "Stay in the foreground (do not detach); log to stderr.")
    var foreground = false

    @Option(name: .long, help: "State directory (default: SWXL_STATE_DIR, /var/lib/swxl for root, else ~/.local/state/swxl).")
    var stateDir: String?

    @Option(name: .long, help: "The Unix socket (default: /var/lib/xcp/xapi for root on a Xen host, else <state>/xapi/socket).")
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("Also listen on TCP: PORT or :PORT (loopback), ADDRESS:PORT, [IPV6]:PORT; port 0 picks a free one.", valueName: "addr:port"))
    var tcp: String?

    @Option(name: .long, help: ArgumentHelp("Users who may log in over TCP: lines of user:HASH (crypt's SHA-512, openssl passwd -6). Required with --tcp.", valueName: "file"))
    var credentials: String?

    @Option(name: .long, help: "The pid file, also the lock (default: <state>/xapi/serve.pid).")
    var pidFile: String?

    @Flag(inversion: .prefixedNo, help: "Serve as a Xen host's (default: only in a Xen control domain); chooses the default socket.")
    var xenHost: Bool?

    @Option(name: .long, help: "Connections served at once; more are answered 503 and closed.")
    var maxConnections = XenAPIServerConfiguration().maximumConnections

    @Option(name: .long, help: "The largest request body in bytes; a larger one is answered 413 and its connection closed.")
    var maxRequestBytes = HTTPRequestReader.Limits().bodyBytes

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (default: notice).")
    var logLevel: String?

    @Flag(name: [.short, .long], help: "Log each call (debug level).")
    var verbose = false

    func validate() throws {
        if let tcp {
            do throws(WireError) { _ = try TCPListenAddress(parsing: tcp) } catch { throw ValidationError("--tcp \(error)") }
            if credentials == nil { throw ValidationError("--tcp needs --credentials FILE: logins over TCP are checked against it") }
        }
        if credentials != nil && tcp == nil { throw ValidationError("--credentials is for --tcp (the Unix socket needs no password)") }
        if maxConnections < 1 { throw ValidationError("--max-connections must be 1 or more") }
        if maxRequestBytes < 1024 { throw ValidationError("--max-request-bytes must be 1024 or more") }
        if let logLevel, Logger.Level(rawValue: logLevel) == nil { throw ValidationError("unknown log level '\(logLevel)'") }
    }

    func run() throws {
        let environment = CurrentProcess.environment()
        let paths = stateDir.map { HostPaths(stateDir: $0) } ?? HostPaths(environment: environment, uid: getuid())
        let onXen = xenHost ?? XenCapabilities.isControlDomain()
        let socketPath = socket ?? (onXen && geteuid() == 0 ? HostPaths.xapiSystemSocket : paths.xapiSocket)
        let pidPath = pidFile ?? paths.xapiPidFile
        do throws(ServeError) {
            var configuration = XenAPIServerConfiguration(unixSocketPath: socketPath)
            configuration.maximumConnections = maxConnections
            configuration.limits.bodyBytes = maxRequestBytes
            if let tcp {
                configuration.tcp = try? TCPListenAddress(parsing: tcp)
                configuration.credentials = try readCredentials()
            }
            if foreground {
                let level = logLevel.flatMap(Logger.Level.init(rawValue:)) ?? (verbose ? .debug : .notice)
                var logger = Logger(label: "swxl-serve") { StreamLogHandler.standardError(label: $0) }
                logger.logLevel = level
                var surface: XenAPISurface?
                defer { surface?.stop() }
                try ServeDaemon.run(configuration, pidFile: pidPath, logger: logger) { () throws(ServeError) -> any XenAPIDispatching in
                    let made = XenAPISurface(host: try openHost(paths: paths))
                    surface = made
                    return made
                }
            } else {
                var arguments = Array(CommandLine.arguments.dropFirst())
                arguments.append("--foreground")
                arguments.append(onXen ? "--xen-host" : "--no-xen-host")
                _ = try ServeDaemon.spawnDetached(executable: CurrentProcess.executablePath(), arguments: arguments,
                                                  socketPath: socketPath, pidFile: pidPath)
            }
        } catch {
            let text = "\(error)"
            Terminal.err((text.hasPrefix("swxl serve: ") ? text : "swxl serve: " + text) + "\n")
            throw ExitCode(1)
        }
    }

    /// The host the command line would drive, with `--state-dir`'s state.
    private func openHost(paths: HostPaths) throws(ServeError) -> ToolstackHost {
        do {
            var environment = CurrentProcess.environment()
            environment["SWXL_STATE_DIR"] = paths.stateDir
            return try ToolstackHost.open(kind: try hostOptions.kind(), environment: environment,
                                          program: CurrentProcess.executablePath(), startDaemon: true)
        } catch {
            throw ServeError("\(error)")
        }
    }

    private func readCredentials() throws(ServeError) -> Credentials {
        guard let path = credentials else { throw ServeError("--tcp needs --credentials FILE") }
        guard let bytes = FileIO.readBytes(path) else {
            throw ServeError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw ServeError("\(path) is not UTF-8 text") }
        let parsed: Credentials
        do throws(WireError) {
            parsed = try Credentials(text: text, source: path)
        } catch {
            throw ServeError("\(error)")
        }
        if parsed.users.isEmpty { throw ServeError("\(path) lists no users: nobody could log in over TCP") }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
            Terminal.err("swxl serve: warning: \(path) can be read by others (chmod 600 it)\n")
        }
        return parsed
    }
}
