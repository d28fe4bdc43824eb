import Foundation
import Testing

/// xl's create options that change what happens after the domain is made
/// (main_create and create_domain in tools/xl/xl_vmcontrol.c).
@Suite struct CreateOptionsTests {
    /// -F stays until the domain is gone for good, carrying out its actions
    /// and saying so in xl's words: a reboot restarts it (a new domid), a
    /// poweroff destroys it and ends create with status 0.
    @Test func foregroundFollowsTheDomainAcrossARestart() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let cfg = try host.config(name: "fg", "on_reboot = \"restart\"\non_poweroff = \"destroy\"")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: swxlBinary)
        process.arguments = ["create", "-F", cfg]
        process.environment = ProcessInfo.processInfo.environment.merging(host.environment) { $1 }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        func domid() throws -> Int? { try host.domains().first { $0["name"] as? String == "fg" }?["domid"] as? Int }
        #expect(host.waitUntil { (try? domid()) != nil })
        let first = try #require(try domid())
        #expect(try host.swxl(["reboot", "fg"]).status == 0)
        #expect(host.waitUntil { ((try? domid()) ?? nil).map { $0 != first } ?? false })
        let second = try #require(try domid())
        #expect(try host.swxl(["shutdown", "fg"]).status == 0)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let pid = process.processIdentifier
        #expect(text == """
            Parsing config from \(cfg)
            Waiting for domain fg (domid \(first)) to die [pid \(pid)]
            Domain \(first) has shut down, reason code 1 0x1
            Action for shutdown reason code 1 is restart
            Domain \(first) needs to be cleaned up: destroying the domain
            Done. Rebooting now
            Waiting for domain fg (domid \(second)) to die [pid \(pid)]
            Domain \(second) has shut down, reason code 0 0x0
            Action for shutdown reason code 0 is destroy
            Domain \(second) needs to be cleaned up: destroying the domain
            Done. Exiting now

            """)
        #expect(try domid() == nil)
    }

    /// -F and a `destroy` from elsewhere: xl's line, status 0.
    @Test func foregroundEndsWhenTheDomainIsDestroyed() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let cfg = try host.config(name: "fd")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: swxlBinary)
        process.arguments = ["create", "-q", "-F", cfg]
        process.environment = ProcessInfo.processInfo.environment.merging(host.environment) { $1 }
        let err = Pipe()
        process.standardError = err
        try process.run()
        #expect(host.waitUntil { ((try? host.domains()) ?? []).contains { $0["name"] as? String == "fd" } })
        let domid = try #require(try host.domains().first { $0["name"] as? String == "fd" }?["domid"] as? Int)
        #expect(try host.swxl(["destroy", "fd"]).status == 0)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text == "Waiting for domain fd (domid \(domid)) to die [pid \(process.processIdentifier)]\nDomain \(domid) has been destroyed.\n")
    }

    /// -e leaves the domain unwatched: once shut down it stays, whatever its on_poweroff says.
    @Test func unwatchedDomainStaysShutDown() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let cfg = try host.config(name: "ue", "on_poweroff = \"destroy\"")
        let made = try host.swxl(["create", "-e", cfg])
        #expect(made.status == 0, "\(made.stderr)")
        let down = try host.swxl(["shutdown", "-w", "ue"])
        #expect(down.status == 0, "\(down.stderr)")
        usleep(300_000)
        let states = try host.domains().filter { $0["name"] as? String == "ue" }.map { $0["state_letters"] as? String }
        #expect(states == ["---s--"])
    }

    /// -V and -A: swxl's domains have no VNC display; as xl's viewer child,
    /// libxl's "Cannot get vnc-port", and the create still succeeds.
    @Test(arguments: [["-V"], ["--vncviewer"], ["-A"], ["--vncviewer-autopass"]])
    func vncViewerWithoutADisplay(options: [String]) throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let r = try host.swxl(["create", "-q"] + options + [try host.config(name: "vv")])
        let domid = try #require(try host.domains().first { $0["name"] as? String == "vv" }?["domid"] as? Int)
        #expect(r.status == 0)
        #expect(r.stderr == "swxl: error: Domain \(domid):Cannot get vnc-port\n")
    }
}

/// xl's global -T: the lines libxl would log start with the date, the zone
/// and the pid, as xl's logger writes them (xtl_logger_stdio.c).
@Suite struct GlobalTimestampTests {
    @Test func timestampsOnLoggedLines() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let plain = try host.swxl(["destroy", "99"])
        let stamped = try host.swxl(["-T", "destroy", "99"])
        #expect(plain.status == stamped.status)
        let pattern = #/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Za-z0-9+-]+ \[\d+\] (.*)$/#
        let match = try #require(try pattern.wholeMatch(in: stamped.stderr.trimmingCharacters(in: .newlines)), "\(stamped.stderr)")
        #expect(String(match.1) + "\n" == plain.stderr)
    }
}

/// shutdown/reboot -F: the ACPI fallback is only for an HVM guest whose PV
/// drivers are not up; a guest that can be asked (every simulated guest)
/// is asked, with xl's line for each domain.
@Suite struct ShutdownFallbackTests {
    @Test func fallbackAsksAGuestThatCanBeAsked() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        #expect(try host.swxl(["create", "-q", try host.config(name: "sf", "on_reboot = \"restart\"")]).status == 0)
        let first = try #require(try host.domains().first { $0["name"] as? String == "sf" }?["domid"] as? Int)
        let reboot = try host.swxl(["reboot", "-F", "-w", "sf"])
        #expect(reboot.status == 0)
        #expect(reboot.stderr == "Rebooting domain \(first)\nWaiting for 1 domains\nDomain \(first) has been shut down, reason code 1\n")
        #expect(host.waitUntil { ((try? host.domains()) ?? []).contains { $0["name"] as? String == "sf" && $0["domid"] as? Int != first } })
        let down = try host.swxl(["shutdown", "sf", "-F", "-ww"])
        #expect(down.status == 0, "\(down.stderr)")
        #expect(down.stderr.hasPrefix("Shutting down domain "), "\(down.stderr)")
        #expect(try host.domains().count == 1)
    }
}

/// restore's -F, -V and -A are create's (xl's create_domain serves both).
@Suite struct RestoreOptionsTests {
    /// restore -e, as create -e: the restored domain is left unwatched.
    @Test func unwatchedRestoreStaysShutDown() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        #expect(try host.swxl(["create", "-q", try host.config(name: "ru", "on_poweroff = \"destroy\"")]).status == 0)
        let file = host.stateDir + "/ru.save"
        #expect(try host.swxl(["save", "ru", file]).status == 0)
        let restored = try host.swxl(["restore", "-e", file])
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(try host.swxl(["shutdown", "-w", "ru"]).status == 0)
        usleep(300_000)
        #expect(try host.domains().filter { $0["name"] as? String == "ru" }.map { $0["state_letters"] as? String } == ["---s--"])
    }

    @Test func restoreFollowsAndConnectsAsCreateDoes() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        #expect(try host.swxl(["create", "-q", try host.config(name: "rf", "on_poweroff = \"destroy\"")]).status == 0)
        let file = host.stateDir + "/rf.save"
        let saved = try host.swxl(["save", "rf", file])
        #expect(saved.status == 0, "\(saved.stderr)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: swxlBinary)
        process.arguments = ["restore", "-V", "-F", file]
        process.environment = ProcessInfo.processInfo.environment.merging(host.environment) { $1 }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        func domid() throws -> Int? { try host.domains().first { $0["name"] as? String == "rf" }?["domid"] as? Int }
        #expect(host.waitUntil { (try? domid()) != nil })
        let id = try #require(try domid())
        usleep(200_000)
        #expect(try host.swxl(["shutdown", "rf"]).status == 0)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.hasSuffix("""
            swxl: error: Domain \(id):Cannot get vnc-port
            Waiting for domain rf (domid \(id)) to die [pid \(process.processIdentifier)]
            Domain \(id) has shut down, reason code 0 0x0
            Action for shutdown reason code 0 is destroy
            Domain \(id) needs to be cleaned up: destroying the domain
            Done. Exiting now

            """), "\(text)")
        #expect(try domid() == nil)
    }
}
