#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSwxlSystem

/// A pseudo-terminal pair made with `posix_openpt`: the master, which its
/// maker reads and writes, and the slave's path (`/dev/pts/N`), which a
/// program opens as its terminal. The embedded host's guest consoles are
/// made of these, as xenconsoled makes a guest's console of one.
public struct PseudoTerminal: Sendable {
    /// The master side (close-on-exec, blocking unless the maker says otherwise).
    public let master: Int32
    /// The slave's path, as `ptsname` gives it.
    public let slavePath: String

    /// A new pair, its slave unlocked and ready to open.
    public static func open() throws(SystemError) -> PseudoTerminal {
        var name = [CChar](repeating: 0, count: 128)
        let fd = swxl_open_pty_master(&name, name.count)
        guard fd >= 0 else { throw SystemError("posix_openpt") }
        let length = name.firstIndex(of: 0) ?? name.count
        return PseudoTerminal(master: fd, slavePath: String(decoding: name[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// Opens the slave (never as our controlling terminal, close-on-exec).
    public func openSlave(_ flags: Int32 = O_RDWR) throws(SystemError) -> Int32 {
        try FileIO.open(slavePath, flags | O_NOCTTY)
    }
}

/// A terminal's settings, saved so they can be put back: what a console
/// client does to its own terminal (raw while attached, restored after).
public struct TerminalMode: Sendable {
    /// The terminal.
    public let descriptor: Int32
    /// Its settings before the change.
    public let saved: termios

    /// Puts the terminal on `fd` in raw mode (`cfmakeraw`: no line editing,
    /// no echo, no signals from keys, no output processing, 8 bits) and
    /// returns its settings before; nil if `fd` is not a terminal.
    public static func makeRaw(_ fd: Int32) -> TerminalMode? {
        var old = termios()
        guard tcgetattr(fd, &old) == 0 else { return nil }
        var raw = old
        cfmakeraw(&raw)
        _ = tcsetattr(fd, TCSANOW, &raw)
        return TerminalMode(descriptor: fd, saved: old)
    }

    /// Puts the saved settings back.
    public func restore() {
        var old = saved
        _ = tcsetattr(descriptor, TCSANOW, &old)
    }

    /// The settings of the terminal on `fd` now, as raw bytes (to compare
    /// two states: termios has no Equatable); nil if `fd` is not a terminal.
    public static func snapshot(_ fd: Int32) -> [UInt8]? {
        var t = termios()
        guard tcgetattr(fd, &t) == 0 else { return nil }
        return withUnsafeBytes(of: &t) { Array($0) }
    }
}
