import Foundation
import SwxlSystem
import XenStoreProtocol

/// A `swxl xenstored --foreground` of the test's own, in its own temporary
/// state directory, stopped (and the directory removed) when released.
final class XenStoreDaemon {
    let stateDir: String
    let extraArguments: [String]
    private(set) var process: Process?

    var socket: String { stateDir + "/xenstored/socket" }
    var readOnlySocket: String { socket + "_ro" }
    func domainSocket(_ domid: UInt32) -> String { stateDir + "/domains/\(domid)/xenbus" }

    static var swxlBinary: String {
        if let path = ProcessInfo.processInfo.environment["SWXL_BIN"], !path.isEmpty { return path }
        // The test bundle lives in .build/<config>/; so does swxl.
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("swxl").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return "swxl"
    }

    /// The daemon's descriptor limit (`ulimit -n`), if it should have a low one.
    let descriptorLimit: Int?

    /// The daemon's address-space limit in KiB (`ulimit -v`), if it should have one.
    var addressSpaceLimitKiB: Int?

    init(_ extraArguments: [String] = [], descriptorLimit: Int? = nil, stateDir: String? = nil,
         addressSpaceLimitKiB: Int? = nil) throws {
        self.addressSpaceLimitKiB = addressSpaceLimitKiB
        self.stateDir = stateDir
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("swxl-interop-\(UUID().uuidString.prefix(8))").path
        self.extraArguments = extraArguments
        self.descriptorLimit = descriptorLimit
        try FileManager.default.createDirectory(atPath: self.stateDir, withIntermediateDirectories: true)
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: stateDir)
    }

    /// Starts the daemon and waits until it accepts connections.
    func start() throws {
        let p = Process()
        let arguments = ["xenstored", "--foreground", "--state-dir", stateDir] + extraArguments
        let limits = (descriptorLimit.map { ["ulimit -n \($0)"] } ?? []) + (addressSpaceLimitKiB.map { ["ulimit -v \($0)"] } ?? [])
        if !limits.isEmpty {
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", (limits + ["exec \"$0\" \"$@\""]).joined(separator: " && "), Self.swxlBinary] + arguments
        } else {
            p.executableURL = URL(fileURLWithPath: Self.swxlBinary)
            p.arguments = arguments
        }
        var env = ProcessInfo.processInfo.environment
        env["XENSTORED_PATH"] = nil
        env["SWXL_STATE_DIR"] = nil
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if !p.isRunning { throw DaemonError("xenstored exited with status \(p.terminationStatus)") }
            if (try? WireClient(socket)) != nil { return }
            usleep(10_000)
        }
        throw DaemonError("xenstored did not come up on \(socket)")
    }

    /// SIGTERM and wait.
    func stop() {
        guard let p = process, p.isRunning else { return }
        p.terminate()
        p.waitUntilExit()
        process = nil
    }

    /// SIGKILL and wait: no chance to clean up.
    func kill9() {
        guard let p = process else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    var isRunning: Bool { process?.isRunning ?? false }
}

struct DaemonError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The result of running a command.
struct Output: Equatable, CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var description: String { "status \(status), stdout \(stdout.debugDescription), stderr \(stderr.debugDescription)" }
}

/// Runs one of Xen's tools (or any program) with `XENSTORED_PATH=socket`.
func run(_ program: String, _ arguments: [String], socket: String, stdin: String? = nil) throws -> Output {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: program.hasPrefix("/") ? program : "/usr/bin/" + program)
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["XENSTORED_PATH"] = socket
    p.environment = env
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Output(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
}

/// A minimal blocking client speaking raw frames, for what the tools cannot do.
final class WireClient {
    /// -1 once closed: a throwing init still runs deinit, and closing a
    /// descriptor twice closes whatever another thread opened under its number.
    private(set) var fd: Int32
    private var decoder = XSFrameDecoder()
    private var nextID: UInt32 = 1

    init(_ path: String, timeoutSeconds: Int = 10) throws {
        do {
            fd = try UnixSocket.connect(path)
        } catch {
            fd = -1
            throw DaemonError("\(error)")
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { if fd >= 0 { close(fd) } }

    func sendRaw(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// The next message, or nil when the daemon closed the connection (or 10 s passed).
    func receive() -> XSMessage? {
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            if let m = try? decoder.next() { return m }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            decoder.append(buffer[0..<n])
        }
    }

    /// Sends a request and returns its reply, skipping watch events (kept in `events`).
    @discardableResult
    func request(_ type: XSType, _ args: [String], tx: UInt32 = 0, payload: [UInt8]? = nil) -> XSMessage? {
        let id = nextID
        nextID += 1
        sendRaw(XSMessage(type, requestID: id, transactionID: tx, payload: payload ?? XSPayload.strings(args)).encoded())
        while let m = receive() {
            if m.kind == .watchEvent { events.append(XSPayload.split(m.payload)); continue }
            return m
        }
        return nil
    }

    var events: [[String]] = []

    /// "OK", a value, or "ERROR:ENAME" for a reply.
    func call(_ type: XSType, _ args: [String], tx: UInt32 = 0, payload: [UInt8]? = nil) -> String {
        guard let m = request(type, args, tx: tx, payload: payload) else { return "closed" }
        if m.kind == .error { return "ERROR:" + XSError(payload: m.payload).rawValue }
        return XSPayload.split(m.payload).joined(separator: ",")
    }

    func write(_ path: String, _ value: String, tx: UInt32 = 0) -> String {
        call(.write, [], tx: tx, payload: Array(path.utf8) + [0] + Array(value.utf8))
    }
}
