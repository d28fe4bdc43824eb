import ArgumentParser
import DomainConfig
import EmbeddedHost
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import SwxlSystem
import Toolstack

/// Set by SIGINT/SIGTERM in batch mode: the loop ends after this sample, as xentop's.
private let topStopRequested = Atomic<Bool>(false)

/// `swxl top`: xentop (tools/xentop/xentop.c, Xen 4.17). xl's `top` runs
/// xentop with no options; swxl's is xentop itself and takes xentop's
/// options, so `swxl top -b -i 2 -d 1` prints what `xentop -b -i 2 -d 1`
/// prints, line for line: the table's header and one row per domain, each
/// sample.
struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top", abstract: "Monitor a host and the domains in real time (xentop).",
        discussion: "Interactive keys as xentop's: D delay, N networks, B block devices, V vCPUs, R repeat header, S sort order, arrows scroll, Q quit.").parsedAlone
    @Option(name: [.customShort("d"), .customLong("delay")], help: "Seconds between updates (default 3).")
    var delay: String?
    @Flag(name: [.customShort("n"), .customLong("networks")], help: "Output vif network data.") var networks = false
    @Flag(name: [.customShort("x"), .customLong("vbds")], help: "Output vbd block device data.") var vbds = false
    @Flag(name: [.customShort("r"), .customLong("repeat-header")], help: "Repeat the table header before each domain.")
    var repeatHeader = false
    @Flag(name: [.customShort("v"), .customLong("vcpus")], help: "Output vcpu data.") var vcpus = false
    @Flag(name: [.customShort("b"), .customLong("batch")], help: "Output in batch mode, no user input accepted.") var batch = false
    @Option(name: [.customShort("i"), .customLong("iterations")], help: "Number of iterations before exiting.")
    var iterations: String?
    @Flag(name: [.customShort("f"), .customLong("full-name")], help: "Output the full domain name (not truncated).")
    var fullName = false
    @Flag(name: [.customShort("V"), .customLong("version")], help: "Output version information and exit.") var version = false
    @Flag(name: .long, help: "Batch mode as JSON: one object per sample, for scripts (swxl's addition).") var json = false
    @OptionGroup var hostOptions: HostOptions

    /// C's atoi: leading blanks, a sign, digits; anything else is 0.
    static func atoi(_ text: String) -> Int { Int(Int32(truncatingIfNeeded: DomainCLI.signedLeadingNumber(text) ?? 0)) }

    func run() throws {
        if version {
            Terminal.out("xentop 1.0\nWritten by Judy Fischbach, David Hendricks, Josh Triplett\n\n"
                         + "Copyright (C) 2005  IBM Corp\nThis is free software; see the source for copying conditions.There is NO\n"
                         + "warranty; not even for MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.\n")
            return
        }
        let host = try hostOptions.open()
        let source: any DeviceStatisticsSource = host.kind == .xen
            ? LinuxDeviceStatistics() : StoreDeviceStatistics(store: host.toolstack.store)
        var text = XentopText()
        text.showVCPUs = vcpus
        text.showNetworks = networks
        text.showBlockDevices = vbds
        text.repeatHeader = repeatHeader
        text.fullName = fullName
        let delaySeconds = delay.map(Self.atoi) ?? 3
        // xentop: -i N stops after N samples (0 counts down through the whole unsigned range).
        var remaining: UInt32? = iterations.map { UInt32(truncatingIfNeeded: Self.atoi($0)) }
        func sample() throws -> XentopText.Sample {
            let stats = try DomainCLI.reporting { () throws -> HostStatistics in
                do { return try host.toolstack.statistics(devices: source) } catch {
                    Terminal.err("Failed to retrieve statistics from libxenstat\n")
                    throw ExitCode.failure
                }
            }
            return XentopText.Sample(stats: stats, timeUs: SystemClock.realtimeNanoseconds() / 1000)
        }
        func countDown() -> Bool {
            guard var n = remaining else { return false }
            n &-= 1
            remaining = n
            return n == 0
        }
        guard batch || json else {
            var screen = Interactive(text: text, delay: delaySeconds, sample: sample, countDown: countDown)
            try screen.run()
            return
        }
        for sig in [SIGINT, SIGTERM] { signal(sig) { _ in topStopRequested.store(true, ordering: .relaxed) } }
        var previous: XentopText.Sample?
        repeat {
            let current = try sample()
            Terminal.out(json ? Self.json(current, previous) : text.table(current, previous: previous).joined())
            previous = current
            if countDown() { break }
            sleep(UInt32(clamping: max(delaySeconds, 0)))
        } while !topStopRequested.load(ordering: .relaxed)
    }

    /// A sample as one line of JSON: the host, then each domain's numbers.
    static func json(_ s: XentopText.Sample, _ previous: XentopText.Sample?) -> String {
        func q(_ text: String) -> String { JSONText.quoted(text) }
        let domains = s.stats.domains.map { d -> String in
            let cpuPercent = XentopText.c("%.1f", XentopText.cpuPercent(d, s, previous))
            let nets = d.networks.map { n in
                "{\"id\":\(n.id),\"rx_bytes\":\(n.rxBytes),\"rx_packets\":\(n.rxPackets),\"rx_errors\":\(n.rxErrors),\"rx_drops\":\(n.rxDrops),"
                    + "\"tx_bytes\":\(n.txBytes),\"tx_packets\":\(n.txPackets),\"tx_errors\":\(n.txErrors),\"tx_drops\":\(n.txDrops)}"
            }
            let vbds = d.blockDevices.map { v in
                "{\"device\":\(v.device),\"error\":\(v.error),\"oo_req\":\(v.outOfRequests),\"rd_req\":\(v.readRequests),"
                    + "\"wr_req\":\(v.writeRequests),\"rd_sect\":\(v.readSectors),\"wr_sect\":\(v.writeSectors)}"
            }
            let vcpus = d.vcpus.map { "{\"vcpu\":\($0.vcpu),\"online\":\($0.online),\"cpu_ns\":\($0.cpuTimeNs)}" }
            return "{\"domid\":\(d.info.domid),\"name\":\(q(d.name)),\"state\":\(q(XentopText.state(d.info))),"
                + "\"cpu_ns\":\(d.info.cpuTimeNs),\"cpu_percent\":\(cpuPercent),\"memory_kib\":\(d.info.currentMemoryKiB),"
                + "\"max_memory_kib\":\(d.maxMemoryUnlimited ? "null" : "\(d.info.maxMemoryKiB)"),\"vcpus\":[\(vcpus.joined(separator: ","))],"
                + "\"networks\":[\(nets.joined(separator: ","))],\"vbds\":[\(vbds.joined(separator: ","))],\"ssid\":\(d.info.ssidref)}"
        }
        return "{\"time_us\":\(s.timeUs),\"xen_version\":\(q(s.stats.xenVersion)),\"memory_total_kib\":\(s.stats.totalBytes / 1024),"
            + "\"memory_free_kib\":\(s.stats.freeBytes / 1024),\"cpus\":\(s.stats.cpus),\"cpu_mhz\":\(s.stats.cpuHz / 1_000_000),"
            + "\"domains\":[\(domains.joined(separator: ","))]}\n"
    }
}

/// xentop's interactive screen on a terminal: the summary, the table
/// (as many rows as fit) and the key line, redrawn every `delay` seconds
/// and after each key.
private struct Interactive {
    var text: XentopText
    var delay: Int
    let sample: () throws -> XentopText.Sample
    let countDown: () -> Bool
    var first = 0
    var prompt: String?
    var promptValue = ""

    init(text: XentopText, delay: Int, sample: @escaping () throws -> XentopText.Sample, countDown: @escaping () -> Bool) {
        self.text = text
        self.delay = delay
        self.sample = sample
        self.countDown = countDown
    }

    static func screenSize() -> (rows: Int, columns: Int) {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 { return (Int(size.ws_row), Int(size.ws_col)) }
        return (24, 80)
    }

    func draw(_ current: XentopText.Sample, _ previous: XentopText.Sample?) {
        let (rows, columns) = Self.screenSize()
        var clock = [CChar](repeating: 0, count: 16)
        var t = time_t(current.timeUs / 1_000_000)
        var tmv = tm()
        localtime_r(&t, &tmv)
        let length = strftime(&clock, clock.count, "%H:%M:%S", &tmv)
        let lines = (text.summary(current, clock: String(decoding: clock.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)) + text.table(current, previous: previous, first: first).joined())
            .split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        var screen = "\u{1b}[H"
        for (i, line) in lines.prefix(rows - 1).enumerated() {
            let cut = String(line.prefix(columns))
            // The table's header in reverse video, as xentop's.
            screen += (i >= 3 && line.contains("NAME  STATE") ? "\u{1b}[7m" + cut + "\u{1b}[0m" : cut) + "\u{1b}[K\r\n"
        }
        screen += "\u{1b}[J\u{1b}[\(rows);3H"
        if let prompt {
            screen += "\(prompt): \(promptValue)"
        } else {
            func key(_ letter: String, _ rest: String) -> String { "\u{1b}[7m\(letter)\u{1b}[0m\(rest)" }
            screen += key("D", "elay  ") + key("N", "etworks  ") + "v" + key("B", "ds  ") + key("V", "CPUs  ")
                + key("R", "epeat header  ") + key("S", "ort order  ") + key("Q", "uit  ")
        }
        Terminal.out(screen)
    }

    /// The keys typed, or nil after half a second (curses' halfdelay(5)):
    /// each byte a key, an arrow's escape sequence one key. End of input quits.
    static func readKeys() -> [[UInt8]]? {
        var fds = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        guard poll(&fds, 1, 500) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(STDIN_FILENO, &buffer, buffer.count)
        guard n > 0 else { return [[UInt8(ascii: "q")]] }
        var keys: [[UInt8]] = []
        var i = 0
        while i < n {
            if buffer[i] == 27, i + 2 < n, buffer[i + 1] == 91, buffer[i + 2] == 65 || buffer[i + 2] == 66 {
                keys.append(Array(buffer[i...(i + 2)]))
                i += 3
            } else {
                keys.append([buffer[i]])
                i += 1
            }
        }
        return keys
    }

    /// xentop's `handle_key`; false to quit.
    mutating func handle(_ key: [UInt8]) -> Bool {
        if prompt != nil {
            switch key.first {
            case 13, 10:
                let value = TopCommand.atoi(promptValue)
                if value > 0 { delay = value }
                prompt = nil
            case 27: prompt = nil
            case 127, 8: if !promptValue.isEmpty { promptValue.removeLast() }
            case let c? where c >= 32 && c < 127 && promptValue.count + 1 < 80: promptValue.append(Character(UnicodeScalar(c)))
            default: break
            }
            return true
        }
        if key == [27, 91, 66] { first += 1; return true }  // down
        if key == [27, 91, 65] { first = max(0, first - 1); return true }  // up
        switch key.first.map({ Character(UnicodeScalar($0)).lowercased() }) {
        case "n": text.showNetworks.toggle()
        case "b": text.showBlockDevices.toggle()
        case "r": text.repeatHeader.toggle()
        case "v": text.showVCPUs.toggle()
        case "s": text.sortField = XentopText.Field(rawValue: (text.sortField.rawValue + 1) % XentopText.Field.allCases.count)!
        case "d": prompt = "Delay(sec)"; promptValue = ""
        case "q", "\u{1b}": return false
        case "\u{0c}": Terminal.out("\u{1b}[2J")
        default: break
        }
        return true
    }

    mutating func run() throws {
        let mode = TerminalMode.makeRaw(STDIN_FILENO)
        Terminal.out("\u{1b}[?1049h\u{1b}[?25l\u{1b}[2J")
        defer {
            Terminal.out("\u{1b}[?25h\u{1b}[?1049l")
            mode?.restore()
        }
        var previous: XentopText.Sample?
        var last: UInt64 = 0
        var typed = false
        while true {
            let now = SystemClock.realtimeNanoseconds()
            if typed || now - last >= UInt64(max(delay, 0)) * 1_000_000_000 {
                let current = try sample()
                draw(current, previous)
                previous = current
                last = now
                if countDown() { break }
            }
            let keys = Self.readKeys()
            typed = keys != nil
            var quit = false
            for key in keys ?? [] where !quit { quit = !handle(key) }
            if quit { break }
        }
    }
}
