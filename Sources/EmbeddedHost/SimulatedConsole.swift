#if canImport(Glibc)
import Glibc
#endif
import CEpoll
import SwxlSystem
import XenStoreClient
import XenStoreProtocol

/// One simulated guest's console, served as xenconsoled serves a real
/// guest's (tools/console/daemon/io.c): a pseudo-terminal whose slave's
/// path is published under the console's `tty` key, for `swxl console` (or
/// xenconsole) to open; its slave held open here, in raw mode, as
/// xenconsoled holds it, so the master never sees a hang-up between clients.
///
/// Where a real guest has its `hvc0` behind the console ring, the
/// simulated guest's script (if it has one: the pty is opened for it) has a second pseudo-terminal as its standard
/// input, output and error: a terminal with line editing and echo, as a
/// shell on `hvc0` has, but without output processing, so the console log
/// holds exactly what the script wrote (as before it had a terminal). What
/// the script writes goes to the log and to the client's pty (with the
/// carriage return a Linux console adds before each newline); what the
/// client types goes to the script.
final class SimulatedConsole {
    let domid: UInt32
    /// The clients' side: its slave's path is the `tty` key's value.
    let client: PseudoTerminal
    private var clientSlave: Int32
    /// The script's side, opened for the first script.
    private(set) var guest: PseudoTerminal?
    let log: ConsoleLog
    /// Whether the `tty` key holds the client's path yet.
    var published = false
    /// Whether the guest side is open (a script has it and has not ended).
    private var guestOpen = false

    /// The epoll keys of the two masters: the domid in the low 32 bits.
    static let guestKeyTag: UInt64 = 1 << 32
    static let clientKeyTag: UInt64 = 2 << 32

    init(domid: UInt32, log: ConsoleLog) throws(SystemError) {
        self.domid = domid
        self.log = log
        client = try PseudoTerminal.open()
        do {
            clientSlave = try client.openSlave(O_RDONLY)
        } catch {
            Glibc.close(client.master)
            throw error
        }
        _ = TerminalMode.makeRaw(clientSlave)
        _ = fcntl(client.master, F_SETFL, fcntl(client.master, F_GETFL) | O_NONBLOCK)
    }

    /// Opens the script's terminal for a new script (the caller closes it
    /// once the script has it): echo and line editing on, output as written.
    func openGuestTerminal(epfd: Int32) throws(SystemError) -> Int32 {
        let guest: PseudoTerminal
        if let opened = self.guest {
            guest = opened
        } else {
            guest = try PseudoTerminal.open()
            _ = fcntl(guest.master, F_SETFL, fcntl(guest.master, F_GETFL) | O_NONBLOCK)
            self.guest = guest
            watch(guest.master, tag: Self.guestKeyTag, epfd: epfd)
        }
        let fd = try guest.openSlave()
        guestOpen = true
        var mode = termios()
        if tcgetattr(fd, &mode) == 0 {
            mode.c_oflag &= ~tcflag_t(OPOST)
            _ = tcsetattr(fd, TCSANOW, &mode)
        }
        return fd
    }

    /// Adds the client's master to the epoll set `epfd` (the guest's is added when opened).
    func register(epfd: Int32) {
        watch(client.master, tag: Self.clientKeyTag, epfd: epfd)
    }

    private func watch(_ fd: Int32, tag: UInt64, epfd: Int32) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = tag | UInt64(domid)
        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event)
    }

    /// Serves the master an epoll event with `key` came for: the script's
    /// output to the log and the client, or the client's keys to the script.
    func serve(key: UInt64, epfd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        if key & Self.guestKeyTag != 0 {
            guard guestOpen, let guest else { return }
            let n = buffer.withUnsafeMutableBytes { read(guest.master, $0.baseAddress, $0.count) }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
            guard n > 0 else {
                // Every holder of the script's terminal has gone (EIO): no
                // more output, and no more events from this master.
                epoll_ctl(epfd, EPOLL_CTL_DEL, guest.master, nil)
                guestOpen = false
                return
            }
            let text = buffer[0..<n]
            log.append(domid, String(decoding: text, as: UTF8.self))
            toClient(text)
        } else {
            let n = buffer.withUnsafeMutableBytes { read(client.master, $0.baseAddress, $0.count) }
            guard n > 0 else { return }
            if guestOpen, let guest { _ = buffer.withUnsafeBytes { write(guest.master, $0.baseAddress, n) } }
        }
    }

    /// Text the simulated kernel prints (not the script): to the log and the client.
    func printKernel(_ text: String) {
        log.append(domid, text)
        toClient(Array(text.utf8)[...])
    }

    /// Output for the client, each newline after a carriage return. When
    /// no client reads and the pty's buffer is full, the oldest output is
    /// dropped, so a client that attaches later sees the newest.
    private func toClient(_ text: ArraySlice<UInt8>) {
        var out: [UInt8] = []
        out.reserveCapacity(text.count + 16)
        for byte in text {
            if byte == UInt8(ascii: "\n") { out.append(UInt8(ascii: "\r")) }
            out.append(byte)
        }
        var done = 0
        var flushed = false
        while done < out.count {
            let n = out[done...].withUnsafeBytes { write(client.master, $0.baseAddress, $0.count) }
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            guard n < 0 && errno == EAGAIN && !flushed else { return }
            tcflush(clientSlave, TCIFLUSH)
            flushed = true
        }
    }

    /// Closes both pairs (a client still attached sees its pty hang up).
    func close() {
        if clientSlave >= 0 { Glibc.close(clientSlave) }
        clientSlave = -1
        Glibc.close(client.master)
        if let guest { Glibc.close(guest.master) }
    }
}

extension SimGuestHost {
    /// Makes `domid`'s console if it has none, and publishes its pty under
    /// the console's `tty` key once the domain's console node is there (in
    /// one transaction with that check: a create rolled back meanwhile must
    /// not get a node back).
    ///
    /// A pty is a descriptor here (two with its slave held open) and one of
    /// the machine's few (`/proc/sys/kernel/pty/max`, 4096 by default, for
    /// every user): at most ``maxConsoles`` domains have one at a time. A
    /// domain past that, or whose pty could not be opened, has its console
    /// log and no `tty` key (`swxl console` then fails as xenconsole does,
    /// `Could not read tty from store`); its log says why, once.
    func serveConsole(_ domid: UInt32) {
        if guestConsoles[domid] == nil {
            guard !consolesRefused.contains(domid) else { return }
            let console: SimulatedConsole
            do throws(SystemError) {
                guard guestConsoles.count < maxConsoles else {
                    throw SystemError("at most \(maxConsoles) domains have one at a time (\(Self.consoleLimitVariable))", errno: 0)
                }
                console = try SimulatedConsole(domid: domid, log: consoles)
            } catch {
                consolesRefused.insert(domid)
                consoles.append(domid, "swxl: no console pty for domain \(domid): \(error.errno == 0 ? error.what : "\(error)")\n")
                return
            }
            console.register(epfd: epfd)
            guestConsoles[domid] = console
        }
        guard let console = guestConsoles[domid], !console.published else { return }
        let node = XSPath.domainPath(domid) + "/console"
        let written = try? control.client.withTransaction { tx -> Bool in
            guard try tx.exists(node + "/type") else { return false }
            try tx.write(node + "/tty", console.client.slavePath)
            return true
        }
        console.published = written == true
    }

    /// Closes `domid`'s console (its domain is gone).
    func closeConsole(_ domid: UInt32) {
        guestConsoles.removeValue(forKey: domid)?.close()
    }

    /// The variable that sets ``maxConsoles`` (default 1000).
    static let consoleLimitVariable = "SWXL_SIM_CONSOLES"

    static func consoleLimit(_ environment: [String: String]) -> Int {
        environment[consoleLimitVariable].flatMap { Int($0) }.map { max(0, $0) } ?? 1000
    }
}
