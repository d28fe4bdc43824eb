import DomainConfig
#if canImport(Glibc)
import Glibc
#endif

/// What a kernel file is, as Xen's domain builder would see it.
public enum KernelFormat: Sendable, Equatable {
    /// An ELF image with the Xen notes it carries (type → descriptor bytes).
    case elf(notes: [UInt32: [UInt8]])
    /// A Linux bzImage (its payload is not inspected).
    case bzImage
    /// A gzip-compressed file (a compressed vmlinux; its notes are not inspected).
    case gzip
}

/// A kernel that cannot be used, with the reason in words a Xen user knows.
public struct KernelImageError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "kernel \(path): \(reason)" }
}

/// The Xen ELF note types (`xen/include/public/elfnote.h`).
public enum XenElfNote: UInt32, Sendable, CaseIterable {
    case entry = 1, hypercallPage = 2, virtBase = 3, paddrOffset = 4, xenVersion = 5
    case guestOS = 6, guestVersion = 7, loader = 8, paeMode = 9, features = 10
    case bsdSymtab = 11, hvStartLow = 12, l1MFNValid = 13, suspendCancel = 14
    case initP2M = 15, modStartPFN = 16, supportedFeatures = 17, phys32Entry = 18

    /// The name in elfnote.h, e.g. `XEN_ELFNOTE_GUEST_OS`.
    public var cName: String {
        switch self {
        case .entry: "XEN_ELFNOTE_ENTRY"
        case .hypercallPage: "XEN_ELFNOTE_HYPERCALL_PAGE"
        case .virtBase: "XEN_ELFNOTE_VIRT_BASE"
        case .paddrOffset: "XEN_ELFNOTE_PADDR_OFFSET"
        case .xenVersion: "XEN_ELFNOTE_XEN_VERSION"
        case .guestOS: "XEN_ELFNOTE_GUEST_OS"
        case .guestVersion: "XEN_ELFNOTE_GUEST_VERSION"
        case .loader: "XEN_ELFNOTE_LOADER"
        case .paeMode: "XEN_ELFNOTE_PAE_MODE"
        case .features: "XEN_ELFNOTE_FEATURES"
        case .bsdSymtab: "XEN_ELFNOTE_BSD_SYMTAB"
        case .hvStartLow: "XEN_ELFNOTE_HV_START_LOW"
        case .l1MFNValid: "XEN_ELFNOTE_L1_MFN_VALID"
        case .suspendCancel: "XEN_ELFNOTE_SUSPEND_CANCEL"
        case .initP2M: "XEN_ELFNOTE_INIT_P2M"
        case .modStartPFN: "XEN_ELFNOTE_MOD_START_PFN"
        case .supportedFeatures: "XEN_ELFNOTE_SUPPORTED_FEATURES"
        case .phys32Entry: "XEN_ELFNOTE_PHYS32_ENTRY"
        }
    }
}

/// Checks a kernel file the way the domain builder does before loading it:
/// it must exist and be an ELF, a bzImage or a gzip'd image; an ELF for a
/// PV guest must carry Xen's notes (guest OS or loader, Xen version), and
/// one for PVH the PVH entry point.
public enum KernelImage {
    /// Reads what `path` is. Only the headers and note segments are read.
    public static func inspect(path: String) throws(KernelImageError) -> KernelFormat {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw KernelImageError(path: path, reason: e == ENOENT ? "No such file or directory"
                                   : String(cString: strerror(e)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw KernelImageError(path: path, reason: "not a regular file")
        }
        let head = readAt(fd, offset: 0, count: 1024)
        return try classify(head: head, path: path) { offset, count in readAt(fd, offset: offset, count: count) }
    }

    /// Checks that `path` can be loaded as a `type` guest's kernel.
    public static func check(path: String, type: DomainType) throws(KernelImageError) {
        let format = try inspect(path: path)
        guard case .elf(let notes) = format else { return }
        if type == .hvm { return }
        if notes.isEmpty {
            throw KernelImageError(path: path, reason: "not a Xen-ELF binary: it has no Xen ELF notes (\(XenElfNote.guestOS.cName), \(XenElfNote.xenVersion.cName))")
        }
        var missing: [String] = []
        if type == .pvh {
            if notes[XenElfNote.phys32Entry.rawValue] == nil { missing.append(XenElfNote.phys32Entry.cName) }
        } else {
            if notes[XenElfNote.guestOS.rawValue] == nil && notes[XenElfNote.loader.rawValue] == nil {
                missing.append(XenElfNote.guestOS.cName)
            }
            if notes[XenElfNote.xenVersion.rawValue] == nil { missing.append(XenElfNote.xenVersion.cName) }
        }
        if !missing.isEmpty {
            throw KernelImageError(path: path, reason: "missing Xen ELF note\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", "))")
        }
        if type == .pv, let version = notes[XenElfNote.xenVersion.rawValue] {
            let text = String(decoding: version.prefix { $0 != 0 }, as: UTF8.self)
            if text != "xen-3.0" {
                throw KernelImageError(path: path, reason: "\(XenElfNote.xenVersion.cName) is \"\(text)\"; Xen only loads images built for xen-3.0")
            }
        }
    }

    /// Classifies from the first bytes; `read` fetches more of the file.
    static func classify(head: [UInt8], path: String,
                         read: (Int, Int) -> [UInt8]) throws(KernelImageError) -> KernelFormat {
        if head.count >= 4 && head[0] == 0x7f && head[1] == 0x45 && head[2] == 0x4c && head[3] == 0x46 {
            return .elf(notes: try elfNotes(head: head, path: path, read: read))
        }
        if head.count >= 0x206 && head[0x202] == 0x48 && head[0x203] == 0x64 && head[0x204] == 0x72 && head[0x205] == 0x53 {
            return .bzImage  // "HdrS" at 0x202: the Linux boot protocol header
        }
        if head.count >= 2 && head[0] == 0x1f && head[1] == 0x8b { return .gzip }
        throw KernelImageError(path: path, reason: "not a kernel image: neither an ELF nor a bzImage")
    }

    static func elfNotes(head: [UInt8], path: String,
                         read: (Int, Int) -> [UInt8]) throws(KernelImageError) -> [UInt32: [UInt8]] {
        guard head.count >= 52 else { throw KernelImageError(path: path, reason: "truncated ELF header") }
        let is64 = head[4] == 2
        guard head[5] == 1 else { throw KernelImageError(path: path, reason: "not a little-endian ELF") }
        guard !is64 || head.count >= 64 else { throw KernelImageError(path: path, reason: "truncated ELF header") }
        let phoff = is64 ? Int(le64(head, 32)) : Int(le32(head, 28))
        let phentsize = Int(le16(head, is64 ? 54 : 42))
        let phnum = Int(le16(head, is64 ? 56 : 44))
        guard phnum > 0, phentsize >= (is64 ? 56 : 32), phnum < 4096 else {
            throw KernelImageError(path: path, reason: "ELF has no program headers")
        }
        let table = read(phoff, phentsize * phnum)
        guard table.count == phentsize * phnum else { throw KernelImageError(path: path, reason: "truncated ELF program headers") }
        var notes: [UInt32: [UInt8]] = [:]
        for i in 0..<phnum {
            let base = i * phentsize
            guard le32(table, base) == 4 else { continue }  // PT_NOTE
            let offset = is64 ? Int(le64(table, base + 8)) : Int(le32(table, base + 4))
            let size = is64 ? Int(le64(table, base + 32)) : Int(le32(table, base + 16))
            guard size > 0, size < 1 << 20 else { continue }
            let bytes = read(offset, size)
            var p = 0
            while p + 12 <= bytes.count {
                let namesz = Int(le32(bytes, p)), descsz = Int(le32(bytes, p + 4)), type = le32(bytes, p + 8)
                let nameStart = p + 12
                let descStart = nameStart + ((namesz + 3) & ~3)
                let next = descStart + ((descsz + 3) & ~3)
                guard namesz <= bytes.count, descsz <= bytes.count, next <= bytes.count || descStart + descsz <= bytes.count else { break }
                let name = bytes[nameStart..<min(nameStart + namesz, bytes.count)].prefix { $0 != 0 }
                if Array(name) == Array("Xen".utf8) {
                    notes[type] = Array(bytes[descStart..<min(descStart + descsz, bytes.count)])
                }
                p = next
            }
        }
        return notes
    }

    static func readAt(_ fd: Int32, offset: Int, count: Int) -> [UInt8] {
        guard count > 0, offset >= 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            done += n
        }
        return Array(buffer.prefix(done))
    }

    private static func le16(_ b: [UInt8], _ i: Int) -> UInt16 {
        guard i + 2 <= b.count else { return 0 }
        return UInt16(b[i]) | UInt16(b[i + 1]) << 8
    }
    private static func le32(_ b: [UInt8], _ i: Int) -> UInt32 {
        guard i + 4 <= b.count else { return 0 }
        return UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
    private static func le64(_ b: [UInt8], _ i: Int) -> UInt64 {
        UInt64(le32(b, i)) | UInt64(le32(b, i + 4)) << 32
    }
}
