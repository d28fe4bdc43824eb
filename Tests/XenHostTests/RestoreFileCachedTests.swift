import CXen
import Foundation
import Testing

/// Whether a restore's save file is already in the page cache (the
/// bridge's `cxen_file_cached`: a cached file is read without the
/// read-ahead thread); needs no Xen.
@Suite struct RestoreFileCachedTests {
    /// A file of `bytes` just written (so in the page cache), open for reading.
    func written(_ bytes: Int) throws -> (fd: Int32, path: String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swxl-cached-\(UUID().uuidString)").path
        try Data(repeating: 0x5a, count: bytes).write(to: URL(fileURLWithPath: path))
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        return (fd, path)
    }

    @Test func aFileJustWrittenIsCachedOneDroppedIsNot() throws {
        let (fd, path) = try written(8 << 20)
        defer { close(fd); unlink(path) }
        #expect(cxen_file_cached(fd, 0) == 1)
        #expect(cxen_file_cached(fd, 4 << 20) == 1)
        // Written back, then forgotten: read from the disk again.
        #expect(fsync(fd) == 0)
        #expect(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0)
        #expect(cxen_file_cached(fd, 0) == 0)
        // Half of it read again: still not 7/8.
        var buffer = [UInt8](repeating: 0, count: 4 << 20)
        #expect(pread(fd, &buffer, buffer.count, 4 << 20) == buffer.count)
        #expect(cxen_file_cached(fd, 0) == 0)
        // ...but all of what lies past the position read.
        #expect(cxen_file_cached(fd, 4 << 20) == 1)
        // Nothing left past the end: nothing to read ahead.
        #expect(cxen_file_cached(fd, 8 << 20) == 1)
    }

    /// Past 8 MiB the pages are looked at in 32 windows spread over the
    /// file, not one by one: the answer is the same for a file resident
    /// from some point to its end (what a save leaves) either side of 7/8.
    @Test func aLargeFileIsJudgedByWindowsSpreadOverIt() throws {
        let mib = 32
        let (fd, path) = try written(mib << 20)
        defer { close(fd); unlink(path) }
        #expect(cxen_file_cached(fd, 0) == 1)
        #expect(fsync(fd) == 0)
        #expect(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0)
        #expect(cxen_file_cached(fd, 0) == 0)
        var buffer = [UInt8](repeating: 0, count: mib << 20)
        // The last 27/32 resident: under 7/8 of it.
        #expect(pread(fd, &buffer, (mib - 5) << 20, 5 << 20) == (mib - 5) << 20)
        #expect(cxen_file_cached(fd, 0) == 0)
        #expect(cxen_file_cached(fd, 5 << 20) == 1)
        // The last 29/32: over 7/8.
        #expect(pread(fd, &buffer, 2 << 20, 3 << 20) == 2 << 20)
        #expect(cxen_file_cached(fd, 0) == 1)
        // The first half alone.
        #expect(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0)
        #expect(pread(fd, &buffer, (mib / 2) << 20, 0) == (mib / 2) << 20)
        #expect(cxen_file_cached(fd, 0) == 0)
        #expect(cxen_file_cached(fd, Int64(mib / 2) << 20) == 0)
        #expect(cxen_file_cached(fd, Int64(mib - 1) << 20) == 0)
    }

    @Test func aPipeCannotBeTold() throws {
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        #expect(cxen_file_cached(fds[0], 0) == -1)
        let (fd, path) = try written(4096)
        defer { close(fd); unlink(path) }
        #expect(cxen_file_cached(fd, -1) == -1)
    }
}
