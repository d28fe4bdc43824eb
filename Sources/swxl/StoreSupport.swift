#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import SwxlSystem
import XenStoreClient

/// An operation of a `swxl store` command failed: what to print, and why.
struct StoreFailure: Error {
    var message: String
    var cause: XenStoreError
}

/// What the `swxl store` commands share: connecting, running in a
/// transaction, printing and failing like Xen's `xenstore-*` tools.
enum StoreCLI {
    /// The daemon, found as libxenstore finds it; on a host without Xen,
    /// swxl's own, started from this very binary when none answers.
    static func connect(_ command: String) throws -> XenStoreClient {
        do {
            return try XenStoreConnector.current(daemonCommand: [CurrentProcess.executablePath(), "xenstored"]).connect()
        } catch {
            throw fail(command, "xs_open: \(reason(error))")
        }
    }

    /// Runs `body` on the connection, or in a transaction (retried on
    /// conflicts) when `atomically`. A failure prints its message and exits 1.
    static func perform<T>(_ command: String, _ client: XenStoreClient, atomically: Bool,
                           _ body: (any XenStoreOperations) throws -> T) throws -> T {
        do {
            if atomically {
                return try client.withTransaction { tx in try body(tx) }
            }
            return try body(client)
        } catch let failure as StoreFailure {
            throw fail(command, "\(failure.message): \(reason(failure.cause))")
        } catch let error as XenStoreError {
            // Outside any one step: starting or committing the transaction, or the connection.
            throw fail(command, atomically ? "transaction failed: \(reason(error))" : reason(error))
        }
    }

    /// Runs one step; an error becomes a ``StoreFailure`` with `message`,
    /// except a conflict (EAGAIN), which the transaction retries.
    static func attempt<T>(_ message: @autoclosure () -> String, _ body: () throws(XenStoreError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            if error == .xs(.EAGAIN) { throw error }
            throw StoreFailure(message: message(), cause: error)
        }
    }

    /// Why an operation failed, in words: `No such file or directory`.
    static func reason(_ error: any Error) -> String {
        switch error as? XenStoreError {
        case .xs(let e)?: e.message
        case let other?: other.description
        case nil: "\(error)"
        }
    }

    /// Prints `swxl store <command>: message` on stderr and gives exit status 1.
    static func fail(_ command: String, _ message: String) -> ExitCode {
        warn(command, message)
        return ExitCode(1)
    }

    /// `swxl store <command>: message` on stderr.
    static func warn(_ command: String, _ message: String) {
        Terminal.err("swxl store \(command): \(message)\n")
    }

    /// The terminal's width when stdout is one.
    static func terminalColumns() -> Int? {
        guard isatty(1) == 1 else { return nil }
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    static func readStandardInput() -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buffer[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
