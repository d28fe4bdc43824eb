#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import Toolstack

/// A Xen dump-core file, laid out as libxenguest's `xc_domain_dumpcore`
/// writes a PV guest's (tools/libs/guest/xg_core.c, Xen 4.17): an ELF64
/// core with no program headers and seven sections, in this order:
///
///     ELF header (64 bytes), then the 7 section headers (64 bytes each)
///     .note.Xen        the notes "none", "header", "xen_version", "format_version"
///     .xen_prstatus    one vcpu_guest_context_any_t per initialised vCPU
///     .xen_shared_info one page
///     (zeros up to the next page boundary)
///     .xen_pages       the guest's pages, in pfn order
///     .xen_p2m         (pfn, gmfn) pairs of 64-bit words, one per page
///     .shstrtab        the section names
///
/// The section headers are in the order null, .shstrtab, .note.Xen,
/// .xen_prstatus, .xen_shared_info, .xen_pages, .xen_p2m; the names in
/// `.shstrtab` in the order they were given. The embedded host writes the
/// same layout for its simulated guests (which have no memory contents:
/// their pages, registers and shared info are zeros, written sparse).
public struct XenCoreFile: Sendable, Equatable {
    public static let pageSize: UInt64 = 4096
    /// XEN_ELFNOTE_DUMPCORE_* (public/elfnote.h).
    public static let noteNone: UInt32 = 0x200_0000, noteHeader: UInt32 = 0x200_0001
    public static let noteXenVersion: UInt32 = 0x200_0002, noteFormatVersion: UInt32 = 0x200_0003
    /// XC_CORE_MAGIC (PV guests; XC_CORE_MAGIC_HVM is ...EE).
    public static let magic: UInt64 = 0xF00F_EBED
    /// Format 0.1 (XEN_DUMPCORE_FORMAT_VERSION_CURRENT).
    public static let formatVersion: UInt64 = 1
    public static let sectionNames = [".shstrtab", ".note.Xen", ".xen_prstatus", ".xen_shared_info", ".xen_pages", ".xen_p2m"]
    /// The xen_version note's descriptor: major, minor (8 each), extra (16),
    /// compile info (64 + 16 + 32 + 32), capabilities (1024), changeset
    /// (64), platform parameters (8), page size (8).
    public static let xenVersionDescriptorSize = 1280

    public var vcpus: Int
    public var pages: UInt64
    /// The size of one vCPU's context (`vcpu_guest_context_any_t`, 5168 on x86).
    public var vcpuContextSize: Int

    public init(vcpus: Int, pages: UInt64, vcpuContextSize: Int) {
        self.vcpus = vcpus
        self.pages = pages
        self.vcpuContextSize = vcpuContextSize
    }

    /// One section: where it is and how big.
    public struct Section: Sendable, Equatable {
        public var name: String
        public var type: UInt32
        public var offset: UInt64
        public var size: UInt64
        public var align: UInt64
        public var entrySize: UInt64
    }

    static let noteSize: UInt64 = 16 + (16 + 32) + UInt64(16 + xenVersionDescriptorSize) + (16 + 8)

    /// The section headers in file order (the null section first), with the
    /// offsets and sizes libxenguest gives them.
    public var sections: [Section] {
        let headers: UInt64 = 64 + 7 * 64
        let notes = Section(name: ".note.Xen", type: 7, offset: headers, size: Self.noteSize, align: 0, entrySize: 0)
        let prstatus = Section(name: ".xen_prstatus", type: 1, offset: notes.offset + notes.size,
                               size: UInt64(vcpuContextSize * vcpus), align: 8, entrySize: UInt64(vcpuContextSize))
        let shared = Section(name: ".xen_shared_info", type: 1, offset: prstatus.offset + prstatus.size,
                             size: Self.pageSize, align: 8, entrySize: Self.pageSize)
        let end = shared.offset + shared.size
        let pagesStart = (end + Self.pageSize - 1) / Self.pageSize * Self.pageSize
        let pageSection = Section(name: ".xen_pages", type: 1, offset: pagesStart, size: pages * Self.pageSize,
                                  align: Self.pageSize, entrySize: Self.pageSize)
        let p2m = Section(name: ".xen_p2m", type: 1, offset: pageSection.offset + pageSection.size, size: pages * 16,
                          align: 8, entrySize: 16)
        let strtab = Section(name: ".shstrtab", type: 3, offset: p2m.offset + p2m.size, size: UInt64(Self.stringTable.count),
                             align: 0, entrySize: 0)
        return [Section(name: "", type: 0, offset: 0, size: 0, align: 0, entrySize: 0), strtab, notes, prstatus, shared, pageSection, p2m]
    }

    /// The file's whole size.
    public var fileSize: UInt64 { sections[1].offset + sections[1].size }

    static var stringTable: [UInt8] { [0] + sectionNames.flatMap { Array($0.utf8) + [0] } }

    static func nameIndex(_ name: String) -> UInt32 {
        guard !name.isEmpty, let i = sectionNames.firstIndex(of: name) else { return 0 }
        return UInt32(1 + sectionNames[..<i].reduce(0) { $0 + $1.utf8.count + 1 })
    }

    /// Everything before `.xen_pages`: the headers, the notes, the vCPU
    /// contexts and the shared info page (all zeros here), and the padding.
    func head(version: HypervisorVersion) -> [UInt8] {
        var out: [UInt8] = []
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func text(_ s: String, _ width: Int) { out += Array(s.utf8.prefix(width - 1)); out += [UInt8](repeating: 0, count: width - min(s.utf8.count, width - 1)) }
        let sections = self.sections
        // ELF header: 64-bit, little-endian, SYSV, ABI version 1, a core for x86-64.
        out += [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0]
        u16(4); u16(62); u32(1); u64(0); u64(0); u64(64); u32(0)
        u16(64); u16(56); u16(0); u16(64); u16(UInt16(sections.count)); u16(1)
        for s in sections {
            u32(Self.nameIndex(s.name)); u32(s.type); u64(0); u64(0); u64(s.offset); u64(s.size)
            u32(0); u32(0); u64(s.align); u64(s.entrySize)
        }
        func note(_ type: UInt32, _ size: Int) { u32(4); u32(UInt32(size)); u32(type); out += Array("Xen".utf8) + [0] }
        note(Self.noteNone, 0)
        note(Self.noteHeader, 32)
        u64(Self.magic); u64(UInt64(vcpus)); u64(pages); u64(Self.pageSize)
        note(Self.noteXenVersion, Self.xenVersionDescriptorSize)
        u64(UInt64(version.major)); u64(UInt64(version.minor)); text(version.extra, 16)
        text(version.compiler, 64); text(version.compiledBy, 16); text(version.compileDomain, 32); text(version.compileDate, 32)
        text(version.capabilities, 1024); text(version.changeset, 64); u64(version.virtStart); u64(UInt64(version.pageSize))
        note(Self.noteFormatVersion, 8)
        u64(Self.formatVersion)
        out += [UInt8](repeating: 0, count: Int(sections[5].offset) - out.count)
        return out
    }

    /// Writes the core to `path` (created 0600, or truncated, as libxenguest
    /// opens it), the pages as a hole; `gmfn(pfn)` gives each page's frame.
    public func write(to path: String, version: HypervisorVersion, gmfn: (UInt64) -> UInt64) throws(SystemError) {
        let fd = try FileIO.open(path, O_CREAT | O_RDWR | O_TRUNC, mode: 0o600)
        defer { close(fd) }
        func put(_ bytes: [UInt8]) throws(SystemError) {
            var failure: SystemError?
            bytes.withUnsafeBytes { b in
                do throws(SystemError) { try FileIO.writeAll(fd, b) } catch { failure = error }
            }
            if let failure { throw failure }
        }
        try put(head(version: version))
        let sections = self.sections
        guard lseek(fd, off_t(sections[6].offset), SEEK_SET) >= 0 else { throw SystemError("lseek \(path)", errno: errno, path: path) }
        var table: [UInt8] = []
        table.reserveCapacity(Int(min(pages, 65536)) * 16)
        var pfn: UInt64 = 0
        while pfn < pages {
            withUnsafeBytes(of: pfn.littleEndian) { table += $0 }
            withUnsafeBytes(of: gmfn(pfn).littleEndian) { table += $0 }
            pfn += 1
            if table.count >= 1 << 20 || pfn == pages {
                try put(table)
                table.removeAll(keepingCapacity: true)
            }
        }
        try put(Self.stringTable)
    }
}
