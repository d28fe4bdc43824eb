import DomainConfig
import EmbeddedHost
#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import Toolstack

/// `create -F`: xl stays in the foreground until the domain dies instead of
/// leaving a daemon to watch it (create_domain in tools/xl/xl_vmcontrol.c,
/// with daemonize off), carrying out its on_* actions itself and saying on
/// stderr what happens, in xl's words: each shutdown, the action taken, each
/// restart's new domid; it returns (status 0) when the domain is gone for
/// good. While it runs it holds the domain's follower lock
/// (``Toolstack/followerLockPath(_:)``), so the monitor and the simulated
/// guests' host leave the domain to it; if it is killed, they take over.
enum CreateForeground {
    /// The lock is taken before the domain is created, so that no action
    /// can be taken by another before this process follows it.
    static func lock(_ t: Toolstack, _ config: DomainConfiguration) throws -> LockFile {
        do {
            try FileIO.makeDirectories(t.stateDir + "/toolstack")
            return try LockFile.acquire(t.followerLockPath(config.uuid))
        } catch {
            throw DomainCLI.fail(error)
        }
    }

    static func follow(_ host: ToolstackHost, domid first: UInt32, config: DomainConfiguration, lock: LockFile) throws {
        defer { lock.release() }
        let t = host.toolstack
        var domid = first
        let name = config.name_label
        while true {
            Terminal.err("Waiting for domain \(name) (domid \(domid)) to die [pid \(getpid())]\n")
            // Until it shuts down, or is destroyed (`destroy`).
            var reason: ShutdownReason?
            while true {
                guard let info = (try? t.hypervisor.domainInfo(domid: domid)) ?? nil else { break }
                if info.shutdown {
                    reason = info.shutdownReason ?? (info.crashed ? .crash : .poweroff)
                    break
                }
                if info.dying { break }
                usleep(20_000)
            }
            guard let reason else {
                Terminal.err("Domain \(domid) has been destroyed.\n")
                return
            }
            let code = reason.rawValue
            Terminal.err("Domain \(domid) has shut down, reason code \(code) 0x\(String(code, radix: 16))\n")
            if reason == .suspend {
                Terminal.err("Domain has suspended.\nDone. Exiting now\n")
                return
            }
            let action = config.action(for: reason)
            Terminal.err("Action for shutdown reason code \(code) is \(action.rawValue)\n")
            let effective = action.effective
            if effective == .preserve {
                Terminal.err("Done. Exiting now\n")
                return
            }
            Terminal.err("Domain \(domid) needs to be cleaned up: destroying the domain\n")
            let next: UInt32?
            do { next = try t.applyShutdownAction(domid: domid, reason: reason, byFollower: true) } catch { throw DomainCLI.fail(error) }
            guard let next else {
                Terminal.err("Done. Exiting now\n")
                return
            }
            Terminal.err("Done. Rebooting now\n")
            domid = next
        }
    }
}
