import Testing
@testable import DomainConfig

/// xl.conf read as xl 4.17's parse_global_config reads it (tools/xl/xl.c).
@Suite struct XLGlobalSettingsTests {
    @Test func everySettingXlReads() {
        let text = """
            # a comment, and keys xl does not know, ignored as xl ignores them
            autoballoon = "off"
            run_hotplug_scripts = 0
            lockfile = "/run/xl.lock"
            vif.default.script = "vif-route"
            vif.default.bridge = "br9"
            vif.default.gatewaydev = "eth1"
            vif.default.backend = "netdom"
            output_format = "sxp"
            blkdev_start = "xvdq"
            claim_mode = 0
            max_grant_frames = 0x40
            max_maptrack_frames = 1024
            max_grant_version = 1
            vm.cpumask = "0-3"
            vm.pv.cpumask = "1,2"
            vm.hvm.cpumask = "all"
            domid_policy = "random"
            remus.default.netbufscript = "/x"
            no_such_setting = [ "a", "b" ]
            """
        let r = XLGlobalSettings.read(text: text, fileName: "xl.conf")
        var e = XLGlobalSettings()
        e.autoballoon = .off
        e.runHotplugScripts = 0
        e.lockfile = "/run/xl.lock"
        e.vifScript = "vif-route"
        e.vifBridge = "br9"
        e.vifGatewaydev = "eth1"
        e.vifBackend = "netdom"
        e.outputSXP = true
        e.blkdevStart = "xvdq"
        e.claimMode = 0
        e.maxGrantFrames = 64
        e.maxMaptrackFrames = 1024
        e.maxGrantVersion = 1
        e.vmCPUMask = "0-3"
        e.pvCPUMask = "1,2"
        e.hvmCPUMask = "all"
        e.domidPolicy = .random
        #expect(r.settings == e)
        #expect(r.messages == [])
        #expect(!r.fails)
        // Nothing set: xl's defaults.
        let empty = XLGlobalSettings.read(text: "", fileName: "xl.conf")
        #expect(empty.settings == XLGlobalSettings() && empty.messages == [] && !empty.fails)
        #expect(empty.settings.autoballoon == .auto && empty.settings.lockfile == "/var/lock/xl" && empty.settings.claimMode == 1)
    }

    /// xl's words for what it does not take, and the deprecated spellings (which still count).
    @Test func messagesAsXlPrintsThem() {
        let r = XLGlobalSettings.read(text: """
            autoballoon = "maybe"
            vifscript = "vif-nat"
            defaultbridge = "br1"
            output_format = "xml"
            run_hotplug_scripts = "yes"
            lockfile = [ "/a" ]
            domid_policy = "sequential"
            """, fileName: "/etc/xen/xl.conf")
        #expect(r.messages == [
            "invalid autoballoon option",
            "/etc/xen/xl.conf:5: warning: parameter `run_hotplug_scripts' is not a valid number\n",
            "/etc/xen/xl.conf:6: warning: parameter `lockfile' is a list but should be a single value\n",
            "the global config option vifscript is deprecated, please switch to vif.default.script\n",
            "the global config option defaultbridge is deprecated, please switch to vif.default.bridge\n",
            "invalid default output format \"xml\"\n",
            "invalid domid_policy option",
        ])
        #expect(!r.fails)
        #expect(r.settings.vifScript == "vif-nat" && r.settings.vifBridge == "br1")
        #expect(r.settings.autoballoon == .auto && r.settings.runHotplugScripts == 1 && !r.settings.outputSXP)
        #expect(r.settings.lockfile == "/var/lock/xl" && r.settings.domidPolicy == .xen)
        // The new spelling wins over the old.
        let both = XLGlobalSettings.read(text: "vif.default.bridge = \"new\"\ndefaultbridge = \"old\"\n", fileName: "c")
        #expect(both.settings.vifBridge == "new")
    }

    /// A grant setting that is not a number from 0 to INT_MAX ends xl, without a word;
    /// a file that does not parse ends it with the parser's message and xl's.
    @Test func whatEndsXl() {
        for bad in ["max_grant_frames = \"-1\"", "max_maptrack_frames = \"many\"", "max_grant_version = 2147483648"] {
            let r = XLGlobalSettings.read(text: bad, fileName: "c")
            #expect(r.fails, "\(bad)")
            #expect(r.messages == [], "\(bad)")
        }
        let r = XLGlobalSettings.read(text: "autoballoon = \"on\"\nthis is not xl.cfg\n", fileName: "c")
        #expect(r.fails)
        #expect(r.messages.last == "Failed to parse config file: Invalid argument\n")
        #expect(r.messages.count == 2 && r.messages[0].hasPrefix("c:2:"), "\(r.messages)")
    }

    /// xl's set_default_nic_values: xl.conf's defaults first, the spec's own keys over them.
    @Test func vifDefaults() throws {
        var s = XLGlobalSettings()
        s.vifBridge = "br9"
        s.vifScript = "vif-route"
        s.vifGatewaydev = "eth1"
        let own = try NetworkInterface.parse("bridge=br0,mac=00:16:3e:00:00:01").get()
        let bare = try NetworkInterface.parse("").get()
        let v = s.applyingDefaults(to: own), w = s.applyingDefaults(to: bare)
        #expect(v.bridge == "br0" && v.script == "vif-route" && v.gatewaydev == "eth1" && v.backend == nil)
        #expect(w.bridge == "br9" && w.script == "vif-route")
        #expect(XLGlobalSettings().applyingDefaults(to: own) == own)
    }

    /// What xl.conf puts in libxl's config (create -n): c_info.run_hotplug_scripts,
    /// b_info's blkdev_start, grant limits (the config's own first) and claim_mode.
    @Test func libxlJSONCarriesXlConf() throws {
        var s = XLGlobalSettings()
        s.runHotplugScripts = 0
        s.blkdevStart = "xvdq"
        s.maxGrantFrames = 64
        s.maxMaptrackFrames = 128
        s.claimMode = 0
        let c = try #require(DomainConfiguration.parse(text: "name = \"g\"\nkernel = \"/k\"\nmax_maptrack_frames = 7\n",
                                                      fileName: "g.cfg", options: fixedOptions).configuration)
        let json = c.libxlParsedJSONText(host: LibxlHostFacts(), xl: s)
        for line in ["\"run_hotplug_scripts\": \"False\"", "\"blkdev_start\": \"xvdq\"", "\"max_grant_frames\": 64,",
                     "\"max_maptrack_frames\": 7,", "\"claim_mode\": \"False\""] {
            #expect(json.contains(line), "\(line)\n\(json)")
        }
        let plain = c.libxlParsedJSONText(host: LibxlHostFacts())
        #expect(!plain.contains("blkdev_start") && !plain.contains("max_grant_frames") && plain.contains("\"claim_mode\": \"True\""))
    }
}
