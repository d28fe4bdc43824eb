import CXen
import Foundation
import Testing
@testable import XenHost

/// The bridge's writer for a save file written around the page cache
/// (`cxen_direct_start`, libxc's `write_exact`/`writev_exact` wrapped at
/// link time, `cxen_direct_finish`): the file holds exactly the bytes
/// written, in order, whatever the caller wrote before and after, and
/// which saves use it. Needs no Xen (the test's temporary directory takes
/// O_DIRECT on ext4 and tmpfs; where it does not, the writer writes
/// through the page cache, and the bytes must be the same).
@Suite struct SaveDirectTests {
    static let mib = 1 << 20

    /// Write-only, as `swxl save` opens its file.
    func tempFile() throws -> (fd: Int32, path: String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swxl-direct-\(UUID().uuidString)").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        return (fd, path)
    }

    func bytes(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &+ seed) &* 131 &+ ($0 >> 12)) }
    }

    func writeAll(_ fd: Int32, _ data: [UInt8]) {
        let n = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        #expect(n == data.count)
    }

    /// A prefix written by the caller (not a whole block), libxc's writes
    /// through the wrapped write_exact in pieces that straddle the 4 MiB
    /// buffers, the caller's suffix after: the file is the three in order.
    @Test(arguments: [0, 1000, 4096, 5000])
    func theFileHoldsWhatWasWrittenInOrder(prefixLength: Int) throws {
        let (fd, path) = try tempFile()
        defer { close(fd); unlink(path) }
        let prefix = bytes(prefixLength, seed: 7)
        writeAll(fd, prefix)
        let w = try #require(cxen_direct_start(fd), "the link does not wrap libxc's writes")
        var stream: [UInt8] = []
        for (i, size) in [48, 4 * Self.mib - 100, 4096, 3 * Self.mib + 17, 5 * Self.mib, 123].enumerated() {
            let piece = bytes(size, seed: i)
            #expect(piece.withUnsafeBytes { cxen_libxc_write_exact(fd, $0.baseAddress, $0.count) } == 0)
            stream += piece
        }
        var direct: Int32 = -1
        #expect(cxen_direct_finish(w, 1, &direct) == 0)
        #expect(direct == 1, "nothing went around the page cache")
        #expect(lseek(fd, 0, SEEK_CUR) == off_t(prefix.count + stream.count))
        let suffix = bytes(8, seed: 99)
        writeAll(fd, suffix)
        let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(file.count == prefix.count + stream.count + suffix.count)
        #expect(file == prefix + stream + suffix)
    }

    /// Writes to another descriptor, or with no writer active, are libxc's own.
    @Test func otherDescriptorsAreWrittenAsLibxcWritesThem() throws {
        let (fd, path) = try tempFile()
        defer { close(fd); unlink(path) }
        let (other, otherPath) = try tempFile()
        defer { close(other); unlink(otherPath) }
        let w = try #require(cxen_direct_start(fd))
        let data = bytes(10_000, seed: 3)
        #expect(data.withUnsafeBytes { cxen_libxc_write_exact(other, $0.baseAddress, $0.count) } == 0)
        #expect(cxen_direct_finish(w, 1, nil) == 0)
        #expect(data.withUnsafeBytes { cxen_libxc_write_exact(fd, $0.baseAddress, $0.count) } == 0)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: otherPath))) == data)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == data)
    }

    /// A descriptor replaced under the writer (what a signal does to end
    /// the stream) fails the next write of a buffer with EINTR.
    @Test func aReplacedDescriptorEndsTheStream() throws {
        let (fd, path) = try tempFile()
        defer { close(fd); unlink(path) }
        let w = try #require(cxen_direct_start(fd))
        let null = open("/dev/null", O_RDONLY)
        #expect(dup2(null, fd) == fd)
        close(null)
        let data = bytes(4 * Self.mib, seed: 1)
        errno = 0
        #expect(data.withUnsafeBytes { cxen_libxc_write_exact(fd, $0.baseAddress, $0.count) } == -1)
        #expect(errno == EINTR)
        #expect(cxen_direct_finish(w, 0, nil) == 0)
    }

    /// Pipes and sockets (a migration's stream) are not files: no writer.
    @Test func aPipeGetsNoWriter() throws {
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        #expect(cxen_direct_start(fds[1]) == nil)
    }

    /// Around the page cache by size only when the image is larger than
    /// the memory the kernel has available; the flags decide otherwise.
    @Test func whichSavesGoAroundThePageCache() {
        let mib = Int64(Self.mib)
        #expect(cxen_save_goes_direct(0, 128 * mib, 290 * mib) == 0)
        #expect(cxen_save_goes_direct(0, 513 * mib, 290 * mib) == 1)
        #expect(cxen_save_goes_direct(0, 290 * mib, 290 * mib) == 0)
        #expect(cxen_save_goes_direct(0, 290 * mib + 1, 290 * mib) == 1)
        #expect(cxen_save_goes_direct(0, 513 * mib, -1) == 0)
        #expect(cxen_save_goes_direct(UInt32(CXEN_SAVE_DIRECT), 1, 290 * mib) == 1)
        #expect(cxen_save_goes_direct(UInt32(CXEN_SAVE_CACHED), 513 * mib, 290 * mib) == 0)
        #expect(XenHypervisor.saveFileMode(nil) == 0)
        #expect(XenHypervisor.saveFileMode("1") == UInt32(CXEN_SAVE_DIRECT))
        #expect(XenHypervisor.saveFileMode("0") == UInt32(CXEN_SAVE_CACHED))
    }
}
