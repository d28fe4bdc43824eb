// The differential test: Xen's own libxlutil (Debian's libxen-dev) and swxl's
// DomainConfig read the same xl.cfg files and disk specs, and must agree on
// every key's value, apart from the two escape bugs of libxlutil 4.17 that
// swxl fixes on purpose (`\xHH` is rejected, `\ooo` is dropped).

import DomainConfig
import Foundation
import Testing

/// The helper, built once from `libxlutilDumpSource`, or why it could not be.
let libxlutilHelper: Result<String, HelperUnavailable> = buildLibxlutilHelper()

/// Where the helper was built (removed at exit).
nonisolated(unsafe) var helperDirectory: String?

struct HelperUnavailable: Error, CustomStringConvertible {
    var description: String
}

func buildLibxlutilHelper() -> Result<String, HelperUnavailable> {
    let cc = ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang"].first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let cc else { return .failure(HelperUnavailable(description: "no C compiler (cc) found: differential test skipped")) }
    guard FileManager.default.fileExists(atPath: "/usr/include/libxlutil.h") else {
        return .failure(HelperUnavailable(description: "libxlutil.h not installed (apt-get install libxen-dev): differential test skipped"))
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swxl-xlu-\(getpid())-\(UUID().uuidString)")
    do {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // The helper serves the whole test run; its directory goes when the process exits.
        helperDirectory = dir.path
        atexit {
            if let dir = helperDirectory { try? FileManager.default.removeItem(atPath: dir) }
        }
        let source = dir.appendingPathComponent("xlu_dump.c")
        try libxlutilDumpSource.write(to: source, atomically: true, encoding: .utf8)
        let binary = dir.appendingPathComponent("xlu_dump").path
        let (status, _, err) = try run(cc, [source.path, "-o", binary, "-lxlutil", "-lxenlight"])
        guard status == 0 else {
            return .failure(HelperUnavailable(description: "could not build the libxlutil helper (libxlutil missing?): \(err)"))
        }
        return .success(binary)
    } catch {
        return .failure(HelperUnavailable(description: "could not build the libxlutil helper: \(error)"))
    }
}

@discardableResult
func run(_ tool: String, _ args: [String]) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

var helperAvailable: Bool {
    if case .success = libxlutilHelper { return true }
    if case .failure(let why) = libxlutilHelper { print("note: \(why)") }
    return false
}

/// A value as the helper prints it.
indirect enum XV: Equatable, CustomStringConvertible {
    case s(String)
    case l([XV])

    init(_ v: ConfigValue) {
        switch v {
        case .string(let s, _): self = .s(s)
        case .list(let items, _): self = .l(items.map(XV.init))
        }
    }

    var description: String {
        switch self {
        case .s(let s): return "\"\(s)\""
        case .l(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

/// Parses `s:"..."` / `l[...]` as printed by the helper.
struct HelperValueParser {
    var bytes: [UInt8]
    var pos = 0

    mutating func value() -> XV? {
        if bytes[pos...].starts(with: Array("s:".utf8)) {
            pos += 2
            return string().map(XV.s)
        }
        guard bytes[pos...].starts(with: Array("l[".utf8)) else { return nil }
        pos += 2
        var items: [XV] = []
        while pos < bytes.count, bytes[pos] != UInt8(ascii: "]") {
            guard let v = value() else { return nil }
            items.append(v)
            if bytes[pos...].starts(with: Array(", ".utf8)) { pos += 2 }
        }
        pos += 1
        return .l(items)
    }

    mutating func string() -> String? {
        guard bytes[pos] == UInt8(ascii: "\"") else { return nil }
        pos += 1
        var out: [UInt8] = []
        while bytes[pos] != UInt8(ascii: "\"") {
            if bytes[pos] == UInt8(ascii: "\\") {
                if bytes[pos + 1] == UInt8(ascii: "x") {
                    out.append(UInt8(String(decoding: bytes[(pos + 2)..<(pos + 4)], as: UTF8.self), radix: 16)!)
                    pos += 4
                } else {
                    out.append(bytes[pos + 1])
                    pos += 2
                }
            } else {
                out.append(bytes[pos])
                pos += 1
            }
        }
        pos += 1
        return String(decoding: out, as: UTF8.self)
    }
}

/// What libxlutil read from a file: each key's value, and its status (0 = ok).
func libxlutilRead(_ text: String) throws -> (values: [String: XV], status: Int) {
    guard case .success(let helper) = libxlutilHelper else { throw HelperUnavailable(description: "no helper") }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("swxl-xlu-\(UUID().uuidString).cfg")
    try text.write(to: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: file) }
    let (_, out, _) = try run(helper, ["cfg", file.path])
    var values: [String: XV] = [:]
    var status = -1
    for line in out.split(separator: "\n") {
        let parts = line.split(separator: "\t", maxSplits: 1)
        guard parts.count == 2 else { continue }
        if parts[0] == "status" {
            status = Int(parts[1])!
        } else {
            var p = HelperValueParser(bytes: Array(parts[1].utf8))
            values[String(parts[0])] = p.value()
        }
    }
    return (values, status)
}

func ourRead(_ text: String) -> (values: [String: XV], ok: Bool) {
    let (raw, diagnostics) = DomainConfiguration.parseRaw(text: text, fileName: "t.cfg")
    var values: [String: XV] = [:]
    for s in raw.settings { values[s.key] = XV(s.value) }
    return (values, !diagnostics.contains { $0.severity == .error })
}

/// Files both must read, with the same values.
let agreeingCorpus: [String] = [
    """
    # every token of the grammar
    name = "grammar"
    number = 42
    hex = 0x1f
    octal = 0755
    odd = 12abc
    dq = "double \\" \\' \\\\ \\a\\b\\f\\n\\r\\t\\v quoted"
    sq = 'single " quoted \\' too'
    utf8 = "grüße, ☃"
    empty = ""
    list = [ 1, "two", 'three' ]
    nested = [ [ "a", [ "b" ] ], [], ]
    multi = [
        "one",    # a comment inside a list
        "two",
    ]
    a = 1; b = 2;; c = 3
    last = "first"
    last = "second"
    grow = "abc"
    grow += "def"
    items = [ 1 ]
    items += [ 2, 3 ]
    fresh += "new"
    dotted.key_1 = 1
    tabs<TAB>=<TAB>"tab separated"
    final = "no newline at the end"
    """,
    """
    name="compact";memory=512;vcpus=2
    disk=['phy:/dev/vg/x,xvda,w','file:/img/x.img,xvdb,r']
    vif=['mac=00:16:3e:00:00:01,bridge=xenbr0','']
    """,
    "\n\n# only comments\n\n",
    "",
    "a=1#c\n", "a = [1,#c\n2]\n", "a = 0x\n", "a = 00\n", "a = 1x2f\n", "a = \"x\";\n", "\n\n  a = 1\n",
    "a = [\n\n]\n", "a = \"x\" # ok\nb = [ \"y\" ] ;\n", "a = 1 ;; b = 2\n", "a+=\"x\"\n",
]

/// Files both must refuse.
let refusedCorpus: [String] = [
    "a = 1.5\n", "Name = 1\n", "_a = 1\n", "a = [,]\n", "a = [1 2]\n", "a = b\n", "a\n", "= 1\n",
    "a = \"x\"\na += [1]\n", "l = [1]\nl += \"x\"\n", "a = \"unterminated\n", "a = -1\n", "import os\n",
    "a = \"\\q\"\n", "a = 1 = 2\n", "a = 1\r\n", "a = (1, 2)\n", "a = 0x1F\n",
    "a = xf\n", "a = \"x\";b\n", "a = 'x\n'\n", "a = [1]]\n", "[1]\n", "a = \"\\x\"\n",
]

@Suite(.enabled(if: helperAvailable, "needs cc and libxlutil (libxen-dev)"))
struct LibxlutilDifferentialTests {
    @Test(arguments: agreeingCorpus.indices)
    func filesReadTheSame(index: Int) throws {
        let text = agreeingCorpus[index].replacingOccurrences(of: "<TAB>", with: "\t")
        let theirs = try libxlutilRead(text)
        let ours = ourRead(text)
        #expect(theirs.status == 0)
        #expect(ours.ok)
        #expect(ours.values == theirs.values)
    }

    @Test func xenExamplesReadTheSame() throws {
        let files = ["xlexample.hvm", "xlexample.pvlinux", "xlexample.pvhlinux"].map { "/etc/xen/" + $0 }
            .filter { FileManager.default.fileExists(atPath: $0) }
        try #require(!files.isEmpty, "Xen's example configs are not in /etc/xen")
        for file in files {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let theirs = try libxlutilRead(text)
            let ours = ourRead(text)
            #expect(theirs.status == 0, "\(file)")
            #expect(ours.values == theirs.values, "\(file)")
        }
    }

    @Test func repositoryExamplesReadTheSame() throws {
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples")
        let files = try FileManager.default.contentsOfDirectory(atPath: examples.path)
            .filter { $0.hasSuffix(".cfg") && $0 != "legacy-xm.cfg" }
        try #require(!files.isEmpty)
        for name in files {
            let text = try String(contentsOf: examples.appendingPathComponent(name), encoding: .utf8)
            let theirs = try libxlutilRead(text)
            let ours = ourRead(text)
            #expect(theirs.status == 0, "\(name)")
            #expect(ours.values == theirs.values, "\(name)")
        }
    }

    @Test(arguments: refusedCorpus)
    func bothRefuse(text: String) throws {
        let theirs = try libxlutilRead(text)
        #expect(theirs.status != 0)
        #expect(!ourRead(text).ok)
    }

    /// The two escape bugs of libxlutil 4.17, which swxl fixes.
    @Test func escapeBugsAreTheOnlyDifference() throws {
        let hex = "a = \"\\x41\"\n"
        #expect(try libxlutilRead(hex).status != 0)  // libxlutil skips the first digit and fails
        #expect(ourRead(hex).values == ["a": .s("A")])

        let octal = "a = \"x\\101y\"\n"
        let theirs = try libxlutilRead(octal)
        #expect(theirs.status == 0)
        #expect(theirs.values == ["a": .s("xy")])  // libxlutil reads the digits as decimal and drops the character
        #expect(ourRead(octal).values == ["a": .s("xAy")])
    }
}

// MARK: - Disk specs through xlu_disk_parse

struct DiskView: Equatable, CustomStringConvertible {
    var target: String?
    var vdev: String?
    var format: String
    var backend: String
    var backendDomain: String?
    var script: String?
    var readwrite: Bool
    var cdrom: Bool
    var directIOSafe: Bool
    var discard: String

    var description: String {
        "target=\(target ?? "nil") vdev=\(vdev ?? "nil") format=\(format) backend=\(backend) dom=\(backendDomain ?? "nil") "
            + "script=\(script ?? "nil") rw=\(readwrite) cdrom=\(cdrom) dio=\(directIOSafe) discard=\(discard)"
    }

    init(_ d: DiskDevice) {
        target = d.target
        vdev = d.vdev
        format = d.format.rawValue
        backend = d.backendType?.rawValue ?? "unknown"
        backendDomain = d.backendDomain
        script = d.script
        readwrite = d.access == .readWrite
        cdrom = d.deviceType == .cdrom
        directIOSafe = d.directIOSafe
        discard = d.discardEnable.map { $0 ? "True" : "False" } ?? "<default>"
    }

    init?(helperOutput: String) {
        var f: [String: String] = [:]
        for line in helperOutput.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1)
            if parts.count == 2 { f[String(parts[0])] = String(parts[1]) }
        }
        guard f["status"] == "0" else { return nil }
        func str(_ k: String) -> String? {
            guard let v = f[k], v != "null" else { return nil }
            var p = HelperValueParser(bytes: Array(v.utf8))
            return p.string()
        }
        // An empty target is "no target" in the model.
        target = str("pdev_path").flatMap { $0.isEmpty ? nil : $0 }
        vdev = str("vdev")
        format = f["format"] ?? "?"
        backend = f["backend"] ?? "?"
        backendDomain = str("backend_domname")
        script = str("script")
        readwrite = f["readwrite"] == "1"
        cdrom = f["is_cdrom"] == "1"
        directIOSafe = f["direct_io_safe"] == "1"
        discard = f["discard_enable"] ?? "?"
    }
}

let diskSpecs: [String] = [
    "/dev/vg/guest-volume,raw,xvda,rw",
    "/dev/vg/x,,xvda",
    "/x,qcow2,xvda",
    "/x,vhd,hda,r",
    "/x,qed,xvdb,ro",
    "/x,raw,xvda,w",
    "phy:/dev/vg/x,xvda,w",
    "file:/img/x.img,xvdb,r",
    "tap:aio:/x.img,xvdb,r",
    "tap:qcow2:/x.qcow2,xvdc,w",
    "tap2:vhd:/x.vhd,xvdd,w",
    "aio:/x.img,xvde",
    "raw:/x.img,xvdf,w",
    "qcow:/x.qcow,xvdg",
    "iscsi:iqn.2001-05.com.example:disk,xvda,w",
    "nbd:host:1234,xvda,w",
    "drbd:resource,xvda,w",
    ",,hdc:cdrom,r",
    "/iso/x.iso,raw,hdc:cdrom,r",
    "file:/x.iso,hdc:cdrom,r",
    "vdev=hdc,cdrom",
    "vdev=hdc,devtype=cdrom,target=/x.iso",
    "format=qcow2,vdev=xvda,target=/a,b,c",
    "vdev=xvda,access=ro,target=/x",
    "vdev=xvda,discard,direct-io-safe,backendtype=qdisk,backend=driver,script=block-x,target=/x",
    "no-discard,/x,raw,xvda",
    "backendtype=phy,/dev/x,raw,xvda",
    "backendtype=tap,/x,raw,xvda",
    " /x , raw, xvda",
    "vdev=xvda, target=/x",
    "/x,,xvda,",
    "/x,raw,xvda,rw,",
    "devtype=disk,/x,raw,xvda",
]

let badDiskSpecs: [String] = [
    "/x", "foo:/x,xvda", "/x,raw,xvda,rw,extra", "/x,qcow3,xvda", "/x,raw,xvda,rx", "vdev=xvda",
    "/x,raw,xvda,format=qcow2", "bogus=1,/x,raw,xvda", "/x,raw,xvda:floppy", "backendtype=nope,/x,raw,xvda",
    "vdev=xvda,vdev=xvdb,target=/x", "devtype=tape,/x,raw,xvda", "",
    "target=/x,vdev=xvda",  // target= takes the rest: the vdev is part of the target

]

@Suite(.enabled(if: helperAvailable, "needs cc and libxlutil (libxen-dev)"))
struct LibxlutilDiskDifferentialTests {
    @Test(arguments: diskSpecs)
    func specsParseTheSame(spec: String) throws {
        guard case .success(let helper) = libxlutilHelper else { return }
        let (_, out, err) = try run(helper, ["disk", spec])
        let theirs = try #require(DiskView(helperOutput: out), "libxlutil refused `\(spec)`: \(err)")
        let ours = try DiskDevice.parse(spec).get()
        #expect(DiskView(ours) == theirs)
    }

    @Test(arguments: badDiskSpecs)
    func badSpecsAreRefusedByBoth(spec: String) throws {
        guard case .success(let helper) = libxlutilHelper else { return }
        let (_, out, _) = try run(helper, ["disk", spec])
        #expect(DiskView(helperOutput: out) == nil)
        #expect(throws: DiskSpecError.self) { try DiskDevice.parse(spec).get() }
    }
}

// MARK: - PCI specs through xlu_pci_parse_spec_string

struct PCIView: Equatable, CustomStringConvertible {
    var domain, bus, dev, function, vdevfn: Int
    var allFunctions: Bool
    var permissive, msitranslate, seize, powerManagement: Bool
    var rdmPolicy: String

    var description: String {
        "\(domain):\(bus):\(dev).\(allFunctions ? "*" : String(function)) vdevfn=\(vdevfn) p=\(permissive) m=\(msitranslate) "
            + "s=\(seize) pm=\(powerManagement) rdm=\(rdmPolicy)"
    }

    init(_ p: PCIDevice) {
        domain = p.domain
        bus = p.bus
        dev = p.device
        function = p.function
        vdevfn = (p.vslot ?? 0) << 3
        allFunctions = p.allFunctions
        permissive = p.permissive ?? false
        msitranslate = p.msitranslate ?? false
        seize = p.seize ?? false
        powerManagement = p.powerManagement ?? false
        rdmPolicy = p.rdmPolicy ?? "invalid"
    }

    init?(helperOutput: String) {
        var f: [String: String] = [:]
        for line in helperOutput.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1)
            if parts.count == 2 { f[String(parts[0])] = String(parts[1]) }
        }
        guard f["status"] == "0", f["name"] == "null" else { return nil }
        func n(_ k: String) -> Int { Int(f[k] ?? "") ?? -1 }
        domain = n("domain")
        bus = n("bus")
        dev = n("dev")
        function = n("func")
        vdevfn = n("vdevfn")
        allFunctions = f["vfunc_mask"] == "4294967295"
        permissive = n("permissive") != 0
        msitranslate = n("msitranslate") != 0
        seize = n("seize") != 0
        powerManagement = n("power_mgmt") != 0
        rdmPolicy = f["rdm_policy"] ?? "?"
    }
}

let pciSpecs: [String] = [
    "0000:03:00.1", "03:00.1", "3:0.1", "00:02.*", "0000:03:00.1@4", "03:00.1@1f", "ffff:ff:1f.7",
    "03:00.1,permissive=1,seize=1", "03:00.1,msitranslate=0,power_mgmt=1,rdm_policy=relaxed",
    "bdf=03:00.1,vslot=5", "vslot=5,bdf=0000:03:00.1", "03:00.1,vslot=3", "0000:03:00.1,seize=2",
    "03:00.1,rdm_policy=strict", "0A:1B.2",
]

let badPCISpecs: [String] = [
    "03:00.1@20", "03:20.0", "03:1f.8", "100:00.0", "10000:00:00.0", "03:00.1,frob=1", "permissive,03:00.1",
    "03:00.1,permissive", "", "03:00", " 03:00.1", "03:00.1@", "bdf=03:00.1,03:00.2", "03:00.1,rdm_policy=bad",
    "03:00.1, permissive=1", "g3:00.1",
]

@Suite(.enabled(if: helperAvailable, "needs cc and libxlutil (libxen-dev)"))
struct LibxlutilPCIDifferentialTests {
    @Test(arguments: pciSpecs)
    func specsParseTheSame(spec: String) throws {
        guard case .success(let helper) = libxlutilHelper else { return }
        let (_, out, err) = try run(helper, ["pci", spec])
        let theirs = try #require(PCIView(helperOutput: out), "libxlutil refused `\(spec)`: \(err)")
        let ours = try PCIDevice.parse(spec).get()
        #expect(PCIView(ours) == theirs)
    }

    @Test(arguments: badPCISpecs)
    func badSpecsAreRefusedByBoth(spec: String) throws {
        guard case .success(let helper) = libxlutilHelper else { return }
        let (_, out, _) = try run(helper, ["pci", spec])
        #expect(PCIView(helperOutput: out) == nil)
        #expect(throws: DeviceSpecError.self) { try PCIDevice.parse(spec).get() }
    }
}

// MARK: - vif rates through xlu_vif_parse_rate

let rates: [String] = [
    "10Mb/s", "10MB/s", "1GB/s", "1Gb/s", "100KB/s", "100Kb/s", "7B/s", "9b/s", "10Mb/s@20ms", "10Mb/s@20us",
    "10Mb/s@2s", "10Mb/s@2", "10Mb/s@20m", "10Mb/s@20u", "4294967295B/s", "3Gb/s@1s",
]
let badRates: [String] = [
    "", "fast", "10Mb", "10kb/s", "0MB/s", "10Mb/s@", "10Mb/s@0ms", "10Mb/s@20h", "4294967296B/s", "10 Mb/s", "@20ms",
    "10Mb/s@20ms@1", "-1Mb/s",
]

@Suite(.enabled(if: helperAvailable, "needs cc and libxlutil (libxen-dev)"))
struct LibxlutilRateDifferentialTests {
    func theirs(_ rate: String) throws -> (UInt64, UInt32)? {
        guard case .success(let helper) = libxlutilHelper else { return nil }
        let (_, out, _) = try run(helper, ["rate", rate])
        var f: [String: String] = [:]
        for line in out.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1)
            if parts.count == 2 { f[String(parts[0])] = String(parts[1]) }
        }
        guard f["status"] == "0", let b = f["bytes_per_interval"].flatMap({ UInt64($0) }),
              let i = f["interval_usecs"].flatMap({ UInt32($0) }) else { return nil }
        return (b, i)
    }

    @Test(arguments: rates)
    func ratesReadTheSame(rate: String) throws {
        let t = try #require(try theirs(rate), "libxlutil refused `\(rate)`")
        var vif = NetworkInterface()
        vif.rate = rate
        let ours = try #require(vif.rateLimit, "swxl refused `\(rate)`")
        #expect(ours.bytesPerInterval == t.0)
        #expect(ours.intervalMicroseconds == t.1)
    }

    @Test(arguments: badRates)
    func badRatesAreRefusedByBoth(rate: String) throws {
        #expect(try theirs(rate) == nil)
        var vif = NetworkInterface()
        vif.rate = rate
        #expect(vif.rateLimit == nil)
    }
}
