import DomainConfig
import SaveFormat
import Toolstack

/// The embedded host's image of a simulated guest: what stands where
/// libxc's stream stands on real Xen (after libxl's
/// `SWXL_SIMULATED_CONTEXT` record). Self-delimited, read exactly, with
/// libxc's framing: a header, then records of an 8-byte header (type,
/// body length, little-endian) and a body padded to 8, ending with END.
///
///     header  "SWXLSIMG", u32 version 1, u32 0
///     DOMAIN  key=value lines: type, max_vcpus, online_vcpus, memory_kib, cpu_ns, kernel
///     PAGES   u64 first pfn, u64 count: a run of the guest's pages (a
///             simulated guest's pages are all zero, so no data follows)
///     SCRIPT  the guest's program (its "kernel code")
///     FILE    u32 mode, u32 path length, path, contents: one file of the
///             guest's memory directory
///     END
public enum SimulatedImage {
    public static let magic: [UInt8] = Array("SWXLSIMG".utf8)
    public static let version: UInt32 = 1
    /// Pages per PAGES record, and so per progress report.
    public static let pagesPerRecord: UInt64 = 8192
    public static let maxRecordLength: UInt32 = 64 << 20

    public enum RecordType: UInt32, Sendable {
        case end = 0, domain = 1, pages = 2, script = 3, file = 4

        var name: String {
            switch self {
            case .end: "END"
            case .domain: "DOMAIN"
            case .pages: "PAGES"
            case .script: "SCRIPT"
            case .file: "FILE"
            }
        }
    }

    public struct Domain: Sendable, Equatable {
        public var type: DomainType
        public var maxVCPUs: UInt32
        public var onlineVCPUs: UInt32
        public var memoryKiB: UInt64
        public var cpuNs: UInt64
        public var kernel: String

        var text: String {
            "type=\(type.rawValue)\nmax_vcpus=\(maxVCPUs)\nonline_vcpus=\(onlineVCPUs)\nmemory_kib=\(memoryKiB)\ncpu_ns=\(cpuNs)\nkernel=\(kernel)\n"
        }

        init(type: DomainType, maxVCPUs: UInt32, onlineVCPUs: UInt32, memoryKiB: UInt64, cpuNs: UInt64, kernel: String) {
            self.type = type
            self.maxVCPUs = maxVCPUs
            self.onlineVCPUs = onlineVCPUs
            self.memoryKiB = memoryKiB
            self.cpuNs = cpuNs
            self.kernel = kernel
        }

        init(text: String) throws(SaveFormatError) {
            var kv: [String: String] = [:]
            for line in text.split(separator: "\n") {
                guard let eq = line.firstIndex(of: "=") else { throw SaveFormatError(.invalid, "simulated image: bad DOMAIN line") }
                kv[String(line[..<eq])] = String(line[line.index(after: eq)...])
            }
            guard let type = kv["type"].flatMap({ DomainType(rawValue: $0) }),
                  let maxVCPUs = kv["max_vcpus"].flatMap({ UInt32($0) }),
                  let online = kv["online_vcpus"].flatMap({ UInt32($0) }),
                  let memory = kv["memory_kib"].flatMap({ UInt64($0) }),
                  let cpu = kv["cpu_ns"].flatMap({ UInt64($0) }) else {
                throw SaveFormatError(.invalid, "simulated image: the DOMAIN record lacks a field")
            }
            self.init(type: type, maxVCPUs: maxVCPUs, onlineVCPUs: online, memoryKiB: memory, cpuNs: cpu, kernel: kv["kernel"] ?? "")
        }
    }

    /// One file of the guest's memory directory.
    public struct MemoryFile: Sendable, Equatable {
        public var path: String
        public var mode: UInt32
        public var contents: [UInt8]
    }

    /// Everything an image holds besides its pages.
    public struct Contents: Sendable, Equatable {
        public var domain: Domain
        public var script: String?
        public var files: [MemoryFile]
        /// Pages the image covered.
        public var pages: UInt64
    }

    public static func header() -> [UInt8] {
        magic + LittleEndian.u32(version) + LittleEndian.u32(0)
    }

    public static func record(_ type: RecordType, _ body: [UInt8]) -> [UInt8] {
        LittleEndian.u32(type.rawValue) + LittleEndian.u32(UInt32(body.count)) + body
            + [UInt8](repeating: 0, count: LibxlStream.padding(body.count))
    }

    public static func pages(first: UInt64, count: UInt64) -> [UInt8] {
        record(.pages, LittleEndian.u64(first) + LittleEndian.u64(count))
    }

    public static func file(_ f: MemoryFile) -> [UInt8] {
        record(.file, LittleEndian.u32(f.mode) + LittleEndian.u32(UInt32(f.path.utf8.count)) + Array(f.path.utf8) + f.contents)
    }

    /// Whether a memory file's path stays inside the memory directory.
    static func isSafePath(_ path: String) -> Bool {
        !path.isEmpty && !path.hasPrefix("/") && !path.split(separator: "/", omittingEmptySubsequences: false).contains { $0 == ".." || $0 == "." || $0.isEmpty }
    }

    /// Reads an image up to and including its END, nothing more.
    public static func read(from reader: any ExactReader, progress: (UInt64, UInt64) -> Void) throws(SaveFormatError) -> Contents {
        let head = try reader.read(exactly: 16, "simulated image header")
        guard Array(head[0..<8]) == magic else {
            throw SaveFormatError(.invalid, "not a simulated guest's image (bad magic)")
        }
        let v = LittleEndian.u32(head, at: 8)
        guard v == version else { throw SaveFormatError(.unsupported, "simulated image version \(v) (this swxl reads \(version))") }
        var domain: Domain?
        var script: String?
        var files: [MemoryFile] = []
        var nextPage: UInt64 = 0
        while true {
            let h = try reader.read(exactly: 8, "simulated image record header")
            let rawType = LittleEndian.u32(h, at: 0), length = LittleEndian.u32(h, at: 4)
            guard let type = RecordType(rawValue: rawType) else {
                throw SaveFormatError(.invalid, "simulated image: unknown record type 0x\(String(rawType, radix: 16))")
            }
            guard length <= maxRecordLength else { throw SaveFormatError(.invalid, "simulated image: \(type.name) record of \(length) bytes") }
            let padded = Int(length) + LibxlStream.padding(Int(length))
            let body = Array(try reader.read(exactly: padded, "simulated image \(type.name) record").prefix(Int(length)))
            switch type {
            case .end:
                guard let domain else { throw SaveFormatError(.invalid, "simulated image: END before DOMAIN") }
                let total = domain.memoryKiB / 4
                guard nextPage == total else {
                    throw SaveFormatError(.invalid, "simulated image: \(nextPage) of \(total) pages")
                }
                return Contents(domain: domain, script: script, files: files, pages: nextPage)
            case .domain:
                guard domain == nil else { throw SaveFormatError(.invalid, "simulated image: two DOMAIN records") }
                domain = try Domain(text: String(decoding: body, as: UTF8.self))
            case .pages:
                guard let domain else { throw SaveFormatError(.invalid, "simulated image: PAGES before DOMAIN") }
                guard body.count == 16 else { throw SaveFormatError(.invalid, "simulated image: PAGES record of \(body.count) bytes") }
                let first = LittleEndian.u64(body, at: 0), count = LittleEndian.u64(body, at: 8)
                let total = domain.memoryKiB / 4
                // Pages come in order; a live save's later rounds send some again.
                guard first <= nextPage, count <= total, first <= total - count else {
                    throw SaveFormatError(.invalid, "simulated image: pages \(first)+\(count) out of order or beyond \(total)")
                }
                nextPage = max(nextPage, first + count)
                progress(nextPage, total)
            case .script:
                script = String(decoding: body, as: UTF8.self)
            case .file:
                guard body.count >= 8 else { throw SaveFormatError(.invalid, "simulated image: short FILE record") }
                let mode = LittleEndian.u32(body, at: 0), n = Int(LittleEndian.u32(body, at: 4))
                guard body.count - 8 >= n else { throw SaveFormatError(.invalid, "simulated image: FILE path beyond its record") }
                let path = String(decoding: body[8..<8 + n], as: UTF8.self)
                guard isSafePath(path) else { throw SaveFormatError(.invalid, "simulated image: memory file path \"\(path)\"") }
                files.append(MemoryFile(path: path, mode: mode & 0o777, contents: Array(body[(8 + n)...])))
            }
        }
    }
}
