import CXen
import Foundation
import Testing
@testable import XenHost

/// The bridge's feed (`cxen_feed_start`/`cxen_feed_finish`): a restore's
/// save file, not cached, reaches libxc through a pipe filled around the
/// page cache; the bytes are the file's, and the file's offset ends just
/// past what was read from the pipe. Needs no Xen (O_DIRECT on the test's
/// temporary directory, which ext4 and tmpfs both have).
@Suite struct RestoreFeedTests {
    static let mib = 1 << 20

    /// A file of `bytes` (each byte a function of its offset), written
    /// back and dropped from the page cache, open at `offset`.
    func uncachedFile(_ bytes: Int, offset: Int) throws -> (fd: Int32, path: String, data: [UInt8]) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swxl-feed-\(UUID().uuidString)").path
        let data = (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ $0 >> 12) }
        try Data(data).write(to: URL(fileURLWithPath: path))
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        #expect(fsync(fd) == 0)
        #expect(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0)
        #expect(lseek(fd, off_t(offset), SEEK_SET) == off_t(offset))
        return (fd, path, data)
    }

    /// Reads `count` bytes from `fd` (fewer at its end).
    func readBytes(_ fd: Int32, _ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, count - got) }
            if n <= 0 { break }
            got += n
        }
        return Array(out[..<got])
    }

    @Test func thePipeCarriesTheFileAndTheOffsetFollowsWhatWasRead() throws {
        let size = 9 * Self.mib + 4321, start = 12345
        let (fd, path, data) = try uncachedFile(size, offset: start)
        defer { close(fd); unlink(path) }
        var pipeRead: Int32 = -1
        let feed = try #require(cxen_feed_start(fd, &pipeRead))
        // Part of it, not on any boundary, as libxc stops at its END record.
        let part = 3 * Self.mib + 77
        let got = readBytes(pipeRead, part)
        #expect(got == Array(data[start..<(start + part)]))
        #expect(cxen_feed_finish(feed) == 0)
        #expect(lseek(fd, 0, SEEK_CUR) == off_t(start + part))
        // The caller reads on from there.
        #expect(readBytes(fd, 100) == Array(data[(start + part)..<(start + part + 100)]))
    }

    @Test func toTheEndOfTheFileAndFromTheCacheWhereItHoldsTheFile() throws {
        let size = 6 * Self.mib + 100
        let (fd, path, data) = try uncachedFile(size, offset: 0)
        defer { close(fd); unlink(path) }
        // The second half cached again: spliced from the cache, not read again.
        var buffer = [UInt8](repeating: 0, count: 3 * Self.mib + 100)
        #expect(pread(fd, &buffer, buffer.count, off_t(3 * Self.mib)) == buffer.count)
        var pipeRead: Int32 = -1
        let feed = try #require(cxen_feed_start(fd, &pipeRead))
        let got = readBytes(pipeRead, size + 1)
        #expect(got.count == size)
        #expect(got == data)
        #expect(cxen_feed_finish(feed) == 0)
        #expect(lseek(fd, 0, SEEK_CUR) == off_t(size))
    }

    @Test func aDescriptorReplacedEndsThePipeEarly() throws {
        let size = 32 * Self.mib
        let (fd, path, _) = try uncachedFile(size, offset: 0)
        defer { close(fd); unlink(path) }
        var pipeRead: Int32 = -1
        let feed = try #require(cxen_feed_start(fd, &pipeRead))
        _ = readBytes(pipeRead, Self.mib)
        // As SaveStreamIO's signal handler does: /dev/null in its place.
        let null = open("/dev/null", O_RDONLY)
        try #require(null >= 0)
        #expect(dup2(null, fd) == fd)
        close(null)
        let rest = readBytes(pipeRead, size)
        // The pipe (4 MiB) and a chunk or two in flight, not the whole file.
        #expect(rest.count < 8 * Self.mib)
        #expect(cxen_feed_finish(feed) == -EINTR)
    }

    @Test func notForAPipeNorAFileReadToItsEnd() throws {
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        var pipeRead: Int32 = -1
        #expect(cxen_feed_start(fds[0], &pipeRead) == nil)
        let (fd, path, _) = try uncachedFile(4096, offset: 4096)
        defer { close(fd); unlink(path) }
        #expect(cxen_feed_start(fd, &pipeRead) == nil)
        #expect(pipeRead == -1)
    }
}
