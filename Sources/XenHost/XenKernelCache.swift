import Toolstack
import CXen
import Glibc

/// Unpacked copies of compressed kernels (and gzip'd ramdisks), so that
/// libxenguest does not inflate the same files on every create (see
/// docs/real-xen.md).
public enum XenKernelCache {
    /// The file to hand the domain builder for the kernel at `path`: when it
    /// is a compressed kernel (gzip'd ELF, or a bzImage with a gzip, xz or
    /// lzma payload) and `directory` is usable, its unpacked copy there
    /// (made on first use); otherwise `path` itself. Throws only when `path`
    /// cannot be opened; any trouble with the cache falls back to `path`.
    public static func loadablePath(for path: String, directory: String?) throws(HypervisorError) -> String {
        try unpacked(path, directory, what: "kernel", cxen_kernel_uncompressed)
    }

    /// The same for a ramdisk, but only a gzip'd one: libxenguest unpacks
    /// those itself before loading them, so the guest sees the same bytes.
    public static func loadableRamdiskPath(for path: String, directory: String?) throws(HypervisorError) -> String {
        try unpacked(path, directory, what: "ramdisk", cxen_ramdisk_uncompressed)
    }

    private static func unpacked(
        _ path: String, _ directory: String?, what: String,
        _ unpack: (UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, Int) -> Int32
    ) throws(HypervisorError) -> String {
        var out = [CChar](repeating: 0, count: 4096)
        let rc = unpack(path, directory, &out, out.count)
        guard rc == 0 else {
            throw HypervisorError("build domain", errno: -rc, "\(what) \(path): \(String(cString: strerror(-rc)))")
        }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `SWXL_KERNEL_CACHE` (a directory, or `off`), else `<state>/kernels`
    /// with `<state>` as the architecture defines it (`SWXL_STATE_DIR`, else
    /// `/var/lib/swxl` for root; no cache for other users).
    public static func defaultDirectory(environment env: [String: String]) -> String? {
        if let v = env["SWXL_KERNEL_CACHE"], !v.isEmpty { return v == "off" ? nil : v }
        if let v = env["SWXL_STATE_DIR"], !v.isEmpty { return v + "/kernels" }
        return geteuid() == 0 ? "/var/lib/swxl/kernels" : nil
    }
}
