import Foundation
import Testing

/// `block-*` and `network-*` on the embedded host: xl's tables byte for
/// byte (tools/xl/xl_block.c, xl_nic.c), xl's messages and statuses, and
/// hot-plugged devices kept in the domain's record.
@Suite(.serialized) struct DeviceCommandTests {
    static let pretend = ["SWXL_EMBEDDED_BRIDGES": "xenbr0"]
    static let blockHeader = "Vdev  BE  handle state evt-ch ring-ref BE-path                       \n"
    static let networkHeader = "Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       \n"

    /// Waits until every frontend and backend of domain `id` is Connected.
    static func connected(_ host: EmbeddedHost, _ id: Int, _ fronts: [String]) throws -> Bool {
        try host.waitUntil {
            let paths = fronts.map { "/local/domain/\(id)/device/\($0)/state" }
            return try host.xenstore("xenstore-read", paths).stdout == String(repeating: "4\n", count: paths.count)
        }
    }

    @Test func devicesAreAttachedListedAndDetachedAsXlDoes() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let a = try host.image("a"), b = try host.image("b")
        let cfg = try host.config(name: "dev", "disk = [ '\(a),raw,xvda,rw' ]\nvif = [ 'mac=00:16:3e:01:02:03' ]")
        #expect(try host.swxl(["create", "-q", cfg], environment: Self.pretend).status == 0)
        #expect(try Self.connected(host, 1, ["vbd/51712", "vif/0"]))

        // What the simulated frontends wrote is what Linux's write.
        let tree = try host.storeTree()
        let vbd = "/local/domain/1/device/vbd/51712", vif = "/local/domain/1/device/vif/0"
        #expect(["ring-ref", "event-channel", "protocol", "feature-persistent"].map { tree[vbd + "/" + $0]?.value }
                == ["8", "10", "x86_64-abi", "1"])
        #expect(["tx-ring-ref", "rx-ring-ref", "event-channel", "request-rx-copy", "feature-rx-notify", "feature-sg"]
                    .map { tree[vif + "/" + $0]?.value } == ["108", "109", "30", "1", "1", "1"])
        #expect(tree["/local/domain/0/backend/vif/1/0/hotplug-status"]?.value == "connected")
        // What Xen's block script writes for a file: its loop device.
        let be = "/local/domain/0/backend/vbd/1/51712"
        #expect(["node", "physical-device", "physical-device-path", "hotplug-status"].map { tree[be + "/" + $0]?.value }
                == ["/dev/loop0", "7:0", "/dev/loop0", "connected"])

        let attach = try host.swxl(["block-attach", "dev", "\(b),raw,xvdb,rw"])
        #expect(attach.status == 0 && attach.stdout.isEmpty && attach.stderr.isEmpty, "\(attach.stderr)")
        let nic = try host.swxl(["network-attach", "dev", "mac=00:16:3e:0a:0b:0c", "bridge=xenbr0"], environment: Self.pretend)
        #expect(nic.status == 0 && nic.stdout.isEmpty && nic.stderr.isEmpty, "\(nic.stderr)")
        #expect(try Self.connected(host, 1, ["vbd/51712", "vbd/51728", "vif/0", "vif/1"]))
        #expect(try host.storeTree()["/local/domain/0/backend/vbd/1/51728/physical-device"]?.value == "7:1")

        let blocks = try host.swxl(["block-list", "dev"])
        #expect(blocks.status == 0)
        #expect(blocks.stdout == Self.blockHeader
                + "51712 0   1      4     10     8        /local/domain/0/backend/vbd/1/51712\n"
                + "51728 0   1      4     11     10       /local/domain/0/backend/vbd/1/51728\n")
        let nics = try host.swxl(["network-list", "1"])
        #expect(nics.stdout == Self.networkHeader
                + "0   0  00:16:3e:01:02:03     0     4     30   108/109         /local/domain/0/backend/vif/1/0\n"
                + "1   0  00:16:3e:0a:0b:0c     1     4     31   110/111         /local/domain/0/backend/vif/1/1\n")
        let json = try host.swxl(["network-list", "--json", "dev"])
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(parsed?.map { $0["mac"] as? String } == ["00:16:3e:01:02:03", "00:16:3e:0a:0b:0c"])
        #expect(parsed?.map { $0["rref_rx"] as? Int } == [109, 111])

        // Unknown devices and domains, in xl's words.
        let noDisk = try host.swxl(["block-detach", "dev", "xvdz"])
        #expect(noDisk.status == 1 && noDisk.stderr == "Error: Device xvdz not connected.\n")
        let noNIC = try host.swxl(["network-detach", "dev", "7"])
        #expect(noNIC.status == 1 && noNIC.stderr == "Unknown device 7.\n")
        let listed = try host.swxl(["block-list", "nosuch", "dev"])
        #expect(listed.status == 0 && listed.stderr == "nosuch is an invalid domain identifier\n")
        #expect(listed.stdout == blocks.stdout)
        let badAttach = try host.swxl(["block-attach", "nosuch", "\(b),raw,xvdc"])
        #expect(badAttach.status == 1 && badAttach.stderr == "nosuch is an invalid domain identifier\n")
        let twice = try host.swxl(["block-attach", "dev", "\(b),raw,xvdb,rw"])
        #expect(twice.status == 1)
        #expect(twice.stderr == "swxl: error: device already exists in xenstore\nlibxl_device_disk_add failed.\n")
        let missing = try host.swxl(["block-attach", "dev", "\(host.stateDir)/none.img,raw,xvdc,rw"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "swxl: error: add disk 2: Disk vdev=xvdc failed to stat: \(host.stateDir)/none.img: No such file or directory\nlibxl_device_disk_add failed.\n")
        let noBridge = try host.swxl(["network-attach", "dev", "bridge=swxlbr9"])
        #expect(noBridge.status == 1)
        #expect(noBridge.stderr == "swxl: error: add vif 2: /etc/xen/scripts/vif-bridge online failed: Could not find bridge device swxlbr9\nlibxl_device_nic_add failed.\n")
        #expect(try host.storeTree().keys.filter { $0.contains("/51744") || $0.hasSuffix("vif/1/2") }.isEmpty)

        // Detached: gone from xenstore and from the record; the hot-plugged ones stay over a reboot.
        #expect(try host.swxl(["block-detach", "dev", "51712"]).status == 0)
        #expect(try host.swxl(["network-detach", "dev", "00:16:3e:01:02:03"]).status == 0)
        #expect(try host.swxl(["block-list", "dev"]).stdout == Self.blockHeader
                + "51728 0   1      4     11     10       /local/domain/0/backend/vbd/1/51728\n")
        #expect(try host.storeTree().keys.filter { $0.hasSuffix("/51712") || $0.hasSuffix("vif/1/0") }.isEmpty)
        #expect(try host.swxl(["reboot", "dev"]).status == 0)
        #expect(try host.waitUntil { (try host.domains().first { $0["name"] as? String == "dev" }?["domid"] as? Int) == 2 })
        // The hot-plugged vif keeps its devid (1) over the restart, as libxl's record keeps it.
        #expect(try Self.connected(host, 2, ["vbd/51728", "vif/1"]))
        #expect(try host.swxl(["block-list", "dev"]).stdout == Self.blockHeader
                + "51728 0   2      4     10     8        /local/domain/0/backend/vbd/2/51728\n")
        #expect(try host.swxl(["network-list", "dev"]).stdout == Self.networkHeader
                + "1   0  00:16:3e:0a:0b:0c     1     4     30   108/109         /local/domain/0/backend/vif/2/1\n")
        // The last vif gone, its empty parents go with it, as libxl's path cleanup takes them.
        #expect(try host.swxl(["network-detach", "dev", "1"]).status == 0)
        let detached = try host.storeTree().keys
        #expect(!detached.contains("/local/domain/0/backend/vif/2") && !detached.contains("/local/domain/2/device/vif")
                && !detached.contains("/libxl/2/device/vif"), "\(detached.sorted())")
        #expect(try host.swxl(["destroy", "dev"]).status == 0)
        let after = try host.storeTree()
        #expect(after.keys.filter { $0.contains("/2/") || $0.hasSuffix("/2") }.isEmpty, "\(after.keys.sorted())")
    }

    /// Usage as xl: too few arguments is status 2 with the command's help;
    /// `-N` prints the device without attaching it; xl's help table has them.
    @Test func theCommandsTakeXlsArguments() throws {
        let host = try EmbeddedHost()
        defer { host.close() }
        let few = try host.swxl(["block-attach", "0"])
        #expect(few.status == 2)
        #expect(few.stdout.hasPrefix("Usage: swxl [-vtTfN] block-attach <Domain> <disk-spec-component(s)>...\n"))
        let dry = try host.swxl(["-N", "block-attach", "0", "/x.img,raw,xvdb"])
        #expect(dry.status == 0)
        #expect(dry.stdout == "disk: {\n  \"target\": \"/x.img\",\n  \"format\": \"raw\",\n  \"vdev\": \"xvdb\",\n  \"access\": \"rw\",\n  \"device_type\": \"disk\"\n}\n")
        #expect(try host.swxl(["help", "block-detach"]).stdout == """
            Usage: swxl [-vtTf] block-detach [option] <Domain> <DevId>

            Destroy a domain's virtual block device.

            Options:

            -f, --force        do not wait for the domain to release the device

            """)
        #expect(try host.swxl(["network-list"]).status == 2)
        // A bad disk spec: libxlutil's lines, with xl's source "command line", status 1.
        let prefix = "command line: config parsing error in disk specification: "
        for (spec, message) in [
            ("format=qcowx,vdev=xvdb,target=/x", "unknown value for format: near `qcowx' in `format=qcowx,vdev=xvdb,target=/x'"),
            ("/x,raw,xvdb,rw,extra", "too many positional parameters: near `extra' in `/x,raw,xvdb,rw,extra'"),
            ("/x,raw", "no vdev specified in `/x,raw'"),
        ] {
            let bad = try host.swxl(["block-attach", "0", spec])
            #expect(bad.status == 1 && bad.stdout.isEmpty && bad.stderr == prefix + message + "\n", "\(spec)")
        }
        // A vif token xl's parse_nic_config refuses: its words, status 1.
        for (token, message) in [("type=xx", "Invalid parameter `type'."), ("mac=zz", "Invalid parameter `mac'."),
                                 ("foo=bar", "unrecognized argument `foo=bar'"), ("justtoken", "unrecognized argument `justtoken'")] {
            let bad = try host.swxl(["network-attach", "0", "bridge=xenbr0", token])
            #expect(bad.status == 1 && bad.stdout.isEmpty && bad.stderr == message + "\n", "\(token): \(bad.stderr)")
        }
    }
}
