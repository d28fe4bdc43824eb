import Toolstack

/// A simulated guest's answer to `control/sysrq`, as a Linux PV kernel's
/// (drivers/xen/manage.c `sysrq_handler`, drivers/tty/sysrq.c): it empties
/// the node, prints the key's `sysrq: ...` line on its console, and for
/// `b`, `o` and `c` reboots, powers off or crashes at once (no clean
/// shutdown, as the real keys do).
extension SimGuestHost {
    /// Linux's action messages by key (its `action_msg`), and the shutdown
    /// a key causes.
    static func sysrqAction(_ key: Character) -> (message: String, shutdown: ShutdownReason?) {
        switch key {
        case "b": ("Resetting", .reboot)
        case "o": ("Power Off", .poweroff)
        case "c": ("Trigger a crash", .crash)
        case "e": ("Terminate All Tasks", nil)
        case "f": ("Manual OOM execution", nil)
        case "i": ("Kill All Tasks", nil)
        case "j": ("Emergency Thaw of all frozen filesystems", nil)
        case "k": ("SAK", nil)
        case "l": ("Show backtrace of all active CPUs", nil)
        case "m": ("Show Memory", nil)
        case "n": ("Nice All RT Tasks", nil)
        case "p": ("Show Regs", nil)
        case "q": ("Show clockevent devices & pending hrtimers (no others)", nil)
        case "r": ("Keyboard mode set to system default", nil)
        case "s": ("Emergency Sync", nil)
        case "t": ("Show State", nil)
        case "u": ("Emergency Remount R/O", nil)
        case "w": ("Show Blocked State", nil)
        case "z": ("Dump ftrace buffer", nil)
        case "0"..."9": ("Changing Loglevel", nil)
        default:
            ("HELP : loglevel(0-9) reboot(b) crash(c) terminate-all-tasks(e) memory-full-oom-kill(f) kill-all-tasks(i) "
                + "thaw-filesystems(j) sak(k) show-backtrace-all-active-cpus(l) show-memory-usage(m) nice-all-RT-tasks(n) "
                + "poweroff(o) show-registers(p) show-all-timers(q) unraw(r) sync(s) show-task-states(t) unmount(u) "
                + "show-blocked-tasks(w) dump-ftrace-buffer(z)", nil)
        }
    }

    func handleSysrq(_ guest: Guest) {
        guard let value = try? guest.conn.read("control/sysrq"), let key = value.first else { return }
        // Linux writes "%c" of '\0': the node becomes empty.
        _ = try? guest.conn.write([("control/sysrq", "")], ifExists: "control/sysrq")
        let action = Self.sysrqAction(key)
        var text = "sysrq: \(action.message)\n"
        if key.isNumber { text += "sysrq: Loglevel set to \(key)\n" }
        appendConsole(guest.domid, text)
        guard let reason = action.shutdown else { return }
        detach(guest.domid)
        try? sim.shutdown(domid: guest.domid, reason: reason)
        _ = try? toolstack.applyShutdownAction(domid: guest.domid, reason: reason)
    }
}
