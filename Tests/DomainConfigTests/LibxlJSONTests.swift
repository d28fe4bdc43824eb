import DomainConfig
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The repository's root, for the harness's configs and the captured fixtures.
private let repoRoot = "/" + #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
let libxlFixtures = repoRoot + "/Tests/DomainConfigTests/Fixtures/libxl-json/"

func readText(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw FixtureMissing(path: path) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

struct FixtureMissing: Error { var path: String }

/// The host facts that differ between two domains or two runs, masked: the
/// domid and uuids (xl makes one up for a config without one).
func maskHostFacts(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
        for key in ["\"uuid\": \"", "\"domid\": "] {
            if let r = line.range(of: key) {
                let rest = line[r.upperBound...]
                let comma = rest.hasSuffix(",") ? "," : ""
                return String(line[..<r.upperBound]) + "<MASKED>" + (key.hasSuffix("\"") ? "\"" : "") + comma
            }
        }
        return String(line)
    }.joined(separator: "\n")
}

/// The lines only `a` has (`- `) and only `b` has (`+ `), by a longest common subsequence.
func lineDifferences(_ a: String, _ b: String) -> [String] {
    let x = a.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let y = b.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var lcs = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
    for i in stride(from: x.count - 1, through: 0, by: -1) {
        for j in stride(from: y.count - 1, through: 0, by: -1) {
            lcs[i][j] = x[i] == y[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
        }
    }
    var out: [String] = []
    var i = 0, j = 0
    while i < x.count || j < y.count {
        if i < x.count, j < y.count, x[i] == y[j] { i += 1; j += 1 }
        else if j < y.count, i == x.count || lcs[i][j + 1] >= lcs[i + 1][j] { out.append("+ " + y[j]); j += 1 }
        else { out.append("- " + x[i]); i += 1 }
    }
    return out
}

/// A config the harness gives xl and swxl, parsed as swxl's create -n parses it.
func harnessConfig(_ path: String) throws -> DomainConfiguration {
    try harnessParse(path).config
}

/// The same, with the keys the file set.
func harnessParse(_ path: String) throws -> (config: DomainConfiguration, keys: Set<String>?) {
    let r = DomainConfiguration.parse(text: try readText(repoRoot + "/" + path), fileName: path, format: .xl,
                                      options: fixedOptions)
    return (try #require(r.configuration, "\(path): \(r.diagnostics)"), r.keys)
}

@Suite struct LibxlJSONTests {
    /// No `cpus` or `cpus_soft`: nothing from the host.
    static let harnessHost = LibxlHostFacts()

    /// `create -n` against what xl 4.17 printed for the same file in the
    /// real-Xen harness (scripts/xen-qemu/checks-libxl-json.sh): the same
    /// text but for the uuid xl makes up, and for the fields listed here
    /// that swxl's model cannot tell apart yet (xl's line `-`, swxl's `+`).
    @Test(arguments: [
        ("scripts/xen-qemu/guest.cfg", "xl-create-n-guest", [String](), [[Int]]()),
        // No `vcpus`: xl leaves max_vcpus and avail_vcpus unset.
        ("scripts/xen-qemu/libxl-json/disk-vif.cfg", "xl-create-n-disk-vif", [], []),
        // `cpus = "0-1"` on the harness's two CPUs, for each of the 4 vCPUs (the toolstack's CPUTopology).
        ("scripts/xen-qemu/libxl-json/vcpus-actions.cfg", "xl-create-n-vcpus-actions", [], Array(repeating: [0, 1], count: 4)),
        ("scripts/xen-qemu/libxl-json/pvh-cmdline.cfg", "xl-create-n-pvh-cmdline", [], []),
        ("scripts/xen-qemu/libxl-json/hvm.cfg", "xl-create-n-hvm", [], []),
        ("scripts/xen-qemu/libxl-json/pv-vfb-channel.cfg", "xl-create-n-pv-vfb-channel", [], []),
        // maxvcpus without vcpus (max_vcpus only), vnc=0 and sdl=0 ("enable": "False").
        ("scripts/xen-qemu/libxl-json/maxvcpus-vfb-off.cfg", "xl-create-n-maxvcpus-vfb-off", [], []),
        // keyboards of the config's own after the vfb's, with their options (strtoul's hex, flags not 0 or 1)
        ("scripts/xen-qemu/libxl-json/pv-vkb.cfg", "xl-create-n-pv-vkb", [], []),
    ])
    func dryRunIsWhatXlPrints(config: String, fixture: String, knownDifferences: [String], hardAffinity: [[Int]]) throws {
        let xl = try readText(libxlFixtures + fixture)
        let parsed = try harnessParse(config)
        let swxl = parsed.config.libxlParsedJSONText(host: LibxlHostFacts(hardAffinity: hardAffinity), fileKeys: parsed.keys)
        #expect(lineDifferences(maskHostFacts(xl), maskHostFacts(swxl)) == knownDifferences, "\(config)")
    }

    /// What libxl read back from the harness's running guest and domain 0.
    static let guestFacts = LibxlRunningFacts(name: "guest", uuid: fixedUUID, onlineVCPUs: [0], targetKiB: 131072,
                                              staticMaxKiB: 131072, scheduler: "credit2", weight: 256, cap: 0)
    static let domain0Facts = LibxlRunningFacts(name: "Domain-0", uuid: nil, onlineVCPUs: [], targetKiB: 524287,
                                                staticMaxKiB: 524288, scheduler: "credit2", weight: 256, cap: 0)

    /// `list -l` of the guest xl made from the harness's guest.cfg, and of
    /// it with domain 0: the same text but for the domid and uuid.
    @Test func listLongIsWhatXlPrints() throws {
        let guest = try harnessConfig("scripts/xen-qemu/guest.cfg")
            .libxlRunningConfig(host: Self.harnessHost, running: Self.guestFacts)
        let one = libxlDomainListText([(domid: 12, config: guest)])
        #expect(lineDifferences(maskHostFacts(try readText(libxlFixtures + "xl-list-l-xl")), maskHostFacts(one)) == [])
        let all = libxlDomainListText([(domid: 0, config: Self.domain0Facts.domain0Config), (domid: 12, config: guest)])
        #expect(lineDifferences(maskHostFacts(try readText(libxlFixtures + "xl-list-l-all-xl")), maskHostFacts(all)) == [])
        // No domain whose config libxl could retrieve (one swxl made, to xl).
        #expect(libxlDomainListText([]) == (try readText(libxlFixtures + "xl-list-l-swxl")))
    }

    /// `list -l` of the harness's guest with a disk and a vif, as xl made
    /// it: what libxl's setdefaults add to the devices it keeps
    /// (colo_restore_enable, the nic's type) and the MAC it made up, which
    /// swxl keeps in its record as create resolved it.
    @Test func listLongOfDevicesIsWhatXlPrints() throws {
        var config = try harnessConfig("scripts/xen-qemu/guest-dev.cfg")
        config.vifs[0].mac = MACAddress("00:16:3e:4b:79:90")
        let facts = LibxlRunningFacts(name: "devguest", uuid: fixedUUID, onlineVCPUs: [0], targetKiB: 131072,
                                      staticMaxKiB: 131072, scheduler: "credit2", weight: 256, cap: 0)
        let text = libxlDomainListText([(domid: 38, config: config.libxlRunningConfig(host: Self.harnessHost, running: facts))])
        #expect(lineDifferences(maskHostFacts(try readText(libxlFixtures + "xl-list-l-dev-xl")), maskHostFacts(text)) == [])
    }

    /// xl.conf's output_format="sxp": the SXP form of the same two, byte for byte.
    @Test func sxpIsWhatXlPrints() throws {
        let c = try harnessConfig("scripts/xen-qemu/guest.cfg")
        #expect(c.libxlParsedConfig(host: Self.harnessHost).xlSXPText(domid: -1, uuid: nil)
                == (try readText(libxlFixtures + "xl-sxp-create-n-guest")))
        let running = c.libxlRunningConfig(host: Self.harnessHost, running: Self.guestFacts)
        let xl = try readText(libxlFixtures + "xl-sxp-list-l-xl")
        #expect(lineDifferences(xl, running.xlSXPText(domid: 12, uuid: fixedUUID.description))
                == ["+ \t(uuid \(fixedUUID))", "- \t(uuid c1997b28-0ca8-496c-9c63-15b46bd19632)"])
    }

    /// yajl's beautified layout, byte for byte: empty containers keep an empty line.
    @Test func yajlLayout() {
        let v = JSONValue.object([("a", .object([])), ("b", .array([.number("0"), .number("1")])),
                                  ("c", .string("q\"\\\u{1}\n/")), ("d", .array([]))])
        #expect(v.yajlBeautified() == """
            {
                "a": {

                },
                "b": [
                    0,
                    1
                ],
                "c": "q\\"\\\\\\u0001\\n/",
                "d": [

                ]
            }

            """)
    }

    /// yajl_string_encode's escapes: short ones for \b and \f, upper-case hex, DEL and UTF-8 as they are.
    @Test func yajlStrings() {
        #expect(JSONValue.string("\u{8}\u{c}\u{1f}\u{7f}é").yajlBeautified() == "\"\\b\\f\\u001F\u{7f}é\"\n")
    }

    /// libxl's rules for what is left out: unset values go, nested structs stay.
    @Test func unsetMembersAreLeftOut() {
        var s = LibxlStruct()
        s.integer("zero", 0)
        s.integer("weight", -1, unset: -1)
        s.integer("devid", 0, unset: -1)
        s.string("none", nil)
        s.defbool("default", nil)
        s.defbool("yes", true)
        s.memKB("unset", nil)
        s.bitmap("empty", [])
        s.bool("false", false)
        s.nested("inner", LibxlStruct())
        #expect(s.json == .object([("devid", .number("0")), ("yes", .string("True")), ("inner", .object([]))]))
    }
}
