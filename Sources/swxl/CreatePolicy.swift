import DomainConfig
#if canImport(Glibc)
import Glibc
#endif
import Toolstack

/// What xl.conf's `autoballoon`, `lockfile` and `domid_policy` mean to a
/// create, as xl 4.17's create_domain (tools/xl/xl_vmcontrol.c) and
/// parse_global_config (tools/xl/xl.c) give them meaning.
enum CreatePolicy {
    /// `autoballoon` as xl settles it: "auto" is on unless Xen's command
    /// line sets dom0_mem (xl's auto_autoballoon; on when it cannot tell).
    static func autoballoon(_ toolstack: Toolstack) -> Bool {
        switch XLGlobalConfig.settings.autoballoon {
        case .on: return true
        case .off: return false
        case .auto:
            guard let line = try? toolstack.hypervisor.version().commandLine else { return true }
            return !line.split(separator: " ").contains { $0.hasPrefix("dom0_mem=") && $0.count > "dom0_mem=".count }
        }
    }

    /// With autoballoon, xl holds `lockfile` (a POSIX write lock, so xl's
    /// and swxl's creates wait for each other) while it frees memory and
    /// creates. Gives the open descriptor to release, or nil (autoballoon
    /// off, or the embedded host, where no xl runs to share it with); a
    /// lock that cannot be taken fails the create with xl's words.
    static func acquireLock(_ toolstack: Toolstack, on kind: HostKind) -> Result<Int32?, Failure> {
        guard kind == .xen, autoballoon(toolstack) else { return .success(nil) }
        let path = XLGlobalConfig.settings.lockfile
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, S_IWUSR)
        guard fd >= 0 else { return .failure(Failure(message: "cannot open the lockfile \(path) errno=\(errno)\n")) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        while fcntl(fd, F_SETLKW, &lock) < 0 {
            if errno == EINTR { continue }
            let e = errno
            close(fd)
            return .failure(Failure(message: "fcntl F_SETLKW errno=\(e)\n"))
        }
        return .success(fd)
    }

    struct Failure: Error { var message: String }

    static func releaseLock(_ fd: Int32?) {
        guard let fd else { return }
        var lock = flock()
        lock.l_type = Int16(F_UNLCK)
        lock.l_whence = Int16(SEEK_SET)
        _ = fcntl(fd, F_SETLK, &lock)
        close(fd)
    }

    /// What swxl says it does not do of xl's create: it does not balloon
    /// Domain-0 down (with autoballoon, xl would, when free memory is short
    /// of what the domain needs), and it takes the hypervisor's next domid
    /// (xl's domid_policy="random" picks one at random).
    static func warnings(_ config: DomainConfiguration, _ toolstack: Toolstack, autoballoon: Bool) -> [String] {
        var out: [String] = []
        if autoballoon, let free = try? toolstack.hypervisor.physInfo().freeKiB, free < config.memory_static_max >> 10 {
            out.append("warning: xl.conf's autoballoon: swxl does not balloon Domain-0 down; free memory \(free >> 10) MiB, "
                       + "the domain needs \(config.memory_static_max >> 20) MiB")
        }
        if XLGlobalConfig.settings.domidPolicy == .random {
            out.append("warning: xl.conf's domid_policy=\"random\" is not applied: the hypervisor picks the domid")
        }
        return out
    }
}
