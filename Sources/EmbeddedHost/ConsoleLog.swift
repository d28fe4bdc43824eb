#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import Toolstack

/// The embedded host's guest consoles: one file per domain,
/// `<state>/toolstack/console/<domid>.log`, holding what the simulated
/// kernel printed and what its `sim_guest_script` wrote. (On real Xen a
/// guest's console is a ring that xenconsoled serves; swxl keeps no file.)
///
/// A log comes and goes with its domain: the embedded host's toolstack
/// removes it when it forgets the domain (``Toolstack/onDomainForgotten``).
public struct ConsoleLog: Sendable, Equatable {
    /// The directory of the logs.
    public let directory: String

    /// The logs of the host whose state directory is `stateDir`.
    public init(stateDir: String) {
        directory = stateDir + "/toolstack/console"
    }

    /// The log of `domid`.
    public func path(_ domid: UInt32) -> String { directory + "/\(domid).log" }

    /// Adds `text` to the log of `domid` (the directory is made if missing).
    public func append(_ domid: UInt32, _ text: String) {
        try? FileIO.makeDirectories(directory)
        FileIO.append(path(domid), text)
    }

    /// Removes the log of `domid`; a missing log is not an error.
    public func remove(_ domid: UInt32) {
        unlink(path(domid))
    }

    /// Gives `output` the log of `domid` as it grows: everything written so
    /// far, then, for as long as `keepFollowing()` says so (asked after each
    /// read), what is added, looking five times a second. A missing log is
    /// empty (the guest may not have written yet).
    public func follow(_ domid: UInt32, pollMicroseconds: UInt32 = 200_000,
                       keepFollowing: () -> Bool = { false }, output: (String) -> Void) {
        var offset = 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let fd = open(path(domid), O_RDONLY | O_CLOEXEC)
            if fd >= 0 {
                while true {
                    let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
                    if n <= 0 { break }
                    offset += n
                    output(String(decoding: buffer[0..<n], as: UTF8.self))
                }
                close(fd)
            }
            guard keepFollowing() else { return }
            usleep(pollMicroseconds)
        }
    }
}
