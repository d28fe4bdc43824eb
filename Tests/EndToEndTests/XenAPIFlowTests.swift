import Foundation
import Testing

/// The XenAPI SDK from PyPI (unmodified) driving `swxl serve` on the
/// embedded host through a VM's whole life, over the Unix socket and over
/// TCP with a password; then a domain `swxl create` made on the command line.
@Suite(.serialized) struct XenAPIFlowTests {
    static let kernel = packageRoot.appendingPathComponent("examples/kernels/tiny-pv").path

    /// The flow, for one connection (argv: how to connect, the VM's name, the kernel).
    static let flow = """
        import sys, time, XenAPI
        how, name, kernel = sys.argv[1], sys.argv[2], sys.argv[3]
        if how.startswith("unix:"):
            s = XenAPI.Session(how[5:], transport=XenAPI.UDSTransport())
            s.xenapi.login_with_password("root", "", "1.0", "swxl-tests")
        else:
            s = XenAPI.Session("http://" + how[4:])
            s.xenapi.login_with_password("root", "hunter2", "1.0", "swxl-tests")
        x = s.xenapi
        def until(what, seconds=20):
            deadline = time.time() + seconds
            while time.time() < deadline:
                if what(): return True
                time.sleep(0.05)
            return False
        host = x.host.get_all()[0]
        print("hosts", len(x.host.get_all()), x.host.get_software_version(host)["product_brand"])
        print("dom0", [r["name_label"] for r in x.VM.get_all_records().values() if r["is_control_domain"]])
        token = x.event_from(["vm"], "", 0.0)["token"]
        config = 'name = "%s"\\nkernel = "%s"\\nmemory = 64\\nsim_guest_script = "xenstore-write data/ip-address 10.0.0.9; echo up; sleep 1000"\\n' % (name, kernel)
        vm = x.host.call_plugin(host, "swxl", "create", {"config": config})
        print("defined", x.VM.get_power_state(vm), x.VM.get_name_label(vm))
        x.VM.start(vm, False, False)
        record = x.VM.get_record(vm)
        print("started", record["power_state"], int(record["domid"]) > 0, record["memory_static_max"])
        gm = record["guest_metrics"]
        print("guest data", until(lambda: x.VM_guest_metrics.get_other(gm).get("data/ip-address") == "10.0.0.9"))
        print("metrics", x.VM_metrics.get_memory_actual(record["metrics"]) != "0")
        states = []
        def watch(want):
            global token
            deadline = time.time() + 20
            while time.time() < deadline:
                batch = x.event_from(["vm/" + vm], token, 5.0)
                token = batch["token"]
                for e in batch["events"]:
                    states.append(e["snapshot"]["power_state"])
                if want in states: return True
            return False
        print("event running", watch("Running"))
        x.VM.pause(vm)
        print("paused", x.VM.get_power_state(vm))
        x.VM.unpause(vm)
        print("unpaused", x.VM.get_power_state(vm))
        x.VM.set_memory_target_live(vm, str(32 << 20))
        print("memory", x.VM.get_memory_target(vm))
        domid = x.VM.get_domid(vm)
        x.VM.hard_reboot(vm)
        print("hard reboot", x.VM.get_power_state(vm), x.VM.get_domid(vm) != domid)
        domid = x.VM.get_domid(vm)
        x.VM.clean_reboot(vm)
        print("clean reboot", x.VM.get_power_state(vm), x.VM.get_domid(vm) != domid)
        task = x.Async.VM.clean_shutdown(vm)
        print("task", until(lambda: x.task.get_status(task) != "pending"), x.task.get_status(task), x.task.get_result(task) == "")
        x.task.destroy(task)
        print("halted", x.VM.get_power_state(vm), x.VM.get_domid(vm))
        print("event halted", watch("Halted"))
        try:
            x.VM.destroy(vm) if x.VM.get_power_state(vm) == "Halted" else None
            x.VM.get_record(vm)
        except XenAPI.Failure as failure:
            print("destroyed", failure.details[0])
        x.logout()
        """

    static let expected = """
        hosts 1 swxl
        dom0 ['Domain-0']
        defined Halted NAME
        started Running True 67108864
        guest data True
        metrics True
        event running True
        paused Paused
        unpaused Running
        memory 33554432
        hard reboot Running True
        clean reboot Running True
        task True success True
        halted Halted -1
        event halted True
        destroyed HANDLE_INVALID

        """

    @Test func aManagedVMsLifeThroughTheSDKOverTheSocketAndTCP() throws {
        let serve = try ServeFixture(tcp: true)
        defer { serve.stop() }
        for (how, name) in [("unix:" + (try XenAPISDK.localURL(socket: serve.socket)), "sdk-local"),
                            ("tcp:" + (try #require(serve.tcpAddress)), "sdk-tcp")] {
            let r = try XenAPISDK.run(script: Self.flow, [how, name, Self.kernel])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout == Self.expected.replacingOccurrences(of: "NAME", with: name), "\(r.stderr)")
        }
    }

    @Test func aDomainTheCommandLineCreatedThroughTheSDK() throws {
        let serve = try ServeFixture()
        defer { serve.stop() }
        let cfg = serve.directory + "/cli.cfg"
        try "name = \"cli\"\nkernel = \"\(Self.kernel)\"\nmemory = 48\nsim_guest_script = \"echo up; sleep 1000\"\n"
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        let env = ["SWXL_STATE_DIR": serve.directory, "SWXL_HOST": "embedded", "XENSTORED_PATH": ""]
        let script = """
            import sys, time, XenAPI
            s = XenAPI.Session(sys.argv[1], transport=XenAPI.UDSTransport())
            s.xenapi.login_with_password("root", "")
            x = s.xenapi
            token = x.event_from(["vm"], "", 0.0)["token"]
            sys.stdout.write("ready\\n"); sys.stdout.flush()
            sys.stdin.readline()
            seen = None
            deadline = time.time() + 20
            while time.time() < deadline and seen is None:
                batch = x.event_from(["vm"], token, 5.0)
                token = batch["token"]
                for e in batch["events"]:
                    if e["snapshot"]["name_label"] == "cli" and e["snapshot"]["power_state"] == "Running":
                        seen = e["ref"]
            vm = x.VM.get_by_name_label("cli")[0]
            print("seen", seen == vm)
            r = x.VM.get_record(vm)
            print(r["power_state"], r["memory_target"], r["PV_kernel"] == sys.argv[2], len(r["consoles"]))
            x.VM.clean_shutdown(vm)
            try:
                x.VM.get_record(vm)
            except XenAPI.Failure as failure:
                print("gone", failure.details[0])
            """
        // The client waits in event.from while the command line creates the domain.
        let python = try XenAPISDK.python()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", script, try XenAPISDK.localURL(socket: serve.socket), Self.kernel]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = errors
        try p.run()
        let ready = output.fileHandleForReading
        var first = Data()
        while !first.contains(UInt8(ascii: "\n")) {
            let chunk = ready.availableData
            if chunk.isEmpty { break }
            first += chunk
        }
        #expect(String(decoding: first, as: UTF8.self) == "ready\n")
        let created = try run(swxlBinary, ["create", "-q", cfg], environment: env)
        #expect(created.status == 0, "\(created.stderr)")
        input.fileHandleForWriting.write("go\n".data(using: .utf8)!)
        p.waitUntilExit()
        let out = String(decoding: ready.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 0, "\(err)")
        #expect(out == "seen True\nRunning \(48 << 20) True 1\ngone HANDLE_INVALID\n", "\(err)")
    }
}
