import ArgumentParser
import DomainConfig
import SwxlSystem
#if canImport(Glibc)
import Glibc
#endif

var configBenchmarks: [any ParsableCommand.Type] { [ConfigBench.self] }

/// `swxl-bench config`: parse throughput of the config reader.
struct ConfigBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Config parsing: MB/s for one 10,000-line xl.cfg file, files/s for 1000 small ones.",
        discussion: "Run it through scripts/bench-config (a release build)"
    )

    @Option(help: "Lines in the large file.")
    var lines = 10_000

    @Option(help: "Number of small files.")
    var files = 1000

    @Option(help: "Repetitions of each measurement (the median is reported).")
    var runs = 5

    func run() throws {
        let big = largeConfig(lines: lines)
        let megabytes = Double(big.utf8.count) / 1_000_000
        let options = ParseOptions(makeUUID: { DomainUUID.random() })

        // Sanity: the generated file is valid, so the full path (model + checks) is measured.
        let check = DomainConfiguration.parse(text: big, fileName: "big.cfg", format: .xl, options: options)
        guard check.configuration != nil else {
            throw ValidationError("the generated file does not parse: \(check.errors.prefix(3))")
        }

        let grammar = median(runs) {
            _ = DomainConfiguration.parseRaw(text: big, fileName: "big.cfg")
        }
        let full = median(runs) {
            _ = DomainConfiguration.parse(text: big, fileName: "big.cfg", format: .xl, options: options)
        }
        print("config parse, one file of \(lines) lines (\(formatted(megabytes * 1000, 1)) kB):")
        print("  grammar only (xl.cfg to raw values): \(formatted(megabytes / grammar, 1)) MB/s  (\(formatted(grammar * 1000, 2)) ms)")
        print("  full (model, devices, validation):   \(formatted(megabytes / full, 1)) MB/s  (\(formatted(full * 1000, 2)) ms)")

        // 1000 small files on disk, each read, parsed, validated (kernel file checked).
        let dir = try makeTemporaryDirectory()
        defer { FileIO.removeTree(dir) }
        let kernel = dir + "/vmlinuz"
        try writeFile(kernel, "not really a kernel\n")
        var paths: [String] = []
        for i in 0..<files {
            let path = dir + "/guest\(i).cfg"
            try writeFile(path, smallConfig(i))
            paths.append(path)
        }
        var failures = 0
        let small = median(runs) {
            for p in paths where DomainConfiguration.load(path: p).configuration == nil { failures += 1 }
        }
        guard failures == 0 else { throw ValidationError("\(failures) small files failed to parse") }
        print("config load, \(files) small files (read + parse + validate):")
        print("  \(formatted(Double(files) / small, 0)) files/s  (\(formatted(small * 1000, 2)) ms for all)")
    }

    /// Seconds: the median of `n` timed runs.
    func median(_ n: Int, _ body: () -> Void) -> Double {
        var times: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<max(1, n) {
            let d = clock.measure(body)
            times.append(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
        }
        times.sort()
        return times[times.count / 2]
    }
}

/// A valid xl.cfg file of about `lines` lines: settings, comments, long
/// multi-line device lists, strings with escapes.
private func largeConfig(lines: Int) -> String {
    var out = """
    # A large generated config for the benchmark.
    name = "bench"
    type = "pv"
    kernel = "/boot/vmlinuz"
    memory = 2048
    maxmem = 4096
    vcpus = 4
    maxvcpus = 8
    cpus = "0-7,^3"
    cmdline = "console=hvc0 root=/dev/xvda1 \\"quoted\\" \\t tab"

    """
    var n = 10
    var disk = 0
    var vif = 0
    while n < lines - 4 {
        // A block of comments and a repeated scalar (the last one wins).
        out += "# section \(n): comments, a setting, a list\n"
        out += "extra = 'section \(n) of the generated file, with \\'quotes\\' and \\\\ backslashes'\n"
        n += 2
        out += "disk += [\n"
        n += 1
        for _ in 0..<20 where n < lines - 4 {
            out += "    'format=raw, vdev=xvd\(vdevSuffix(disk)), access=rw, target=/dev/vg/bench-\(disk)',  # disk \(disk)\n"
            disk += 1
            n += 1
        }
        out += "]\n"
        n += 1
        out += "vif += [ 'mac=00:16:3e:\(hex2(vif >> 16)):\(hex2(vif >> 8)):\(hex2(vif)),bridge=xenbr0,vifname=b\(vif)' ]\n"
        vif += 1
        n += 1
    }
    return out
}

/// a, b, ..., z, aa, ab, ...: a vdev letter suffix for disk number n.
private func vdevSuffix(_ n: Int) -> String {
    var n = n
    var s = ""
    repeat {
        s = String(UnicodeScalar(UInt8(97 + n % 26))) + s
        n = n / 26 - 1
    } while n >= 0
    return s
}

private func hex2(_ v: Int) -> String {
    let s = String(v & 0xff, radix: 16)
    return s.count == 1 ? "0" + s : s
}

private func smallConfig(_ i: Int) -> String {
    """
    # guest \(i)
    name = "guest\(i)"
    kernel = "vmlinuz"
    memory = \(128 + i % 512)
    vcpus = \(1 + i % 4)
    disk = [ 'phy:/dev/vg/guest\(i),xvda,w', 'file:/srv/guest\(i)-swap.img,xvdb,w' ]
    vif = [ 'mac=00:16:3e:00:\(hex2(i >> 8)):\(hex2(i)),bridge=xenbr0' ]
    on_crash = "restart"

    """
}

private struct BenchIOError: Error, CustomStringConvertible {
    var description: String
}

private func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/swxl-bench-config-XXXXXX".utf8CString)
    guard let p = mkdtemp(&template) else { throw BenchIOError(description: "mkdtemp failed") }
    return String(decoding: UnsafeRawBufferPointer(start: p, count: strlen(p)), as: UTF8.self)
}

private func writeFile(_ path: String, _ text: String) throws {
    do throws(SystemError) {
        try FileIO.writeAtomically(path, text)
    } catch {
        throw BenchIOError(description: "cannot write \(path): \(String(cString: strerror(error.errno)))")
    }
}

private func formatted(_ v: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let r = (v * scale).rounded() / scale
    if decimals == 0 { return String(Int(r)) }
    var s = String(r)
    if let dot = s.firstIndex(of: ".") {
        let have = s.distance(from: dot, to: s.endIndex) - 1
        if have < decimals { s += String(repeating: "0", count: decimals - have) }
    }
    return s
}
