import Synchronization
import Foundation
import Testing
import Toolstack
@testable import XenHost

/// The parts of the real-Xen side that need no Xen.
/// (The real hypervisor is exercised by scripts/xen-qemu/run.)
@Suite struct XenHostTests {
    /// A temporary directory, removed by the caller's `defer`.
    static func tempDir() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("swxl-xenhost-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func openingXenWithoutXenFailsClearly() throws {
        // This test machine has no hypervisor; a dom0 (the QEMU harness) does.
        try #require(!FileManager.default.fileExists(atPath: "/dev/xen/privcmd"))
        do {
            _ = try XenHypervisor(kernelCache: nil)
            Issue.record("opened a hypervisor that is not there")
        } catch {
            #expect(error.operation == "open hypervisor")
            #expect(error.errno == ENOENT)
            #expect(error.message.contains("/dev/xen/privcmd"))
        }
    }

    @Test func kernelCacheDirectoryFromEnvironment() {
        #expect(XenKernelCache.defaultDirectory(environment: ["SWXL_KERNEL_CACHE": "/k"]) == "/k")
        #expect(XenKernelCache.defaultDirectory(environment: ["SWXL_KERNEL_CACHE": "off", "SWXL_STATE_DIR": "/s"]) == nil)
        #expect(XenKernelCache.defaultDirectory(environment: ["SWXL_STATE_DIR": "/s"]) == "/s/kernels")
        #expect(XenKernelCache.defaultDirectory(environment: [:]) == (geteuid() == 0 ? "/var/lib/swxl/kernels" : nil))
    }
}

/// The kernel cache: compressed kernels are unpacked once, byte for byte.
@Suite struct XenKernelCacheTests {
    let dir: URL
    var cache: String { dir.appendingPathComponent("cache/kernels").path }

    init() throws { dir = try XenHostTests.tempDir() }

    /// Some bytes that look like an ELF kernel, different for each seed.
    static func fakeELF(seed: UInt8, size: Int = 300_000) -> Data {
        var d = Data([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0])
        var x = UInt32(seed) &* 2_654_435_761 | 1
        while d.count < size {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5
            d.append(UInt8(truncatingIfNeeded: x % 7))   // compressible
        }
        return d
    }

    /// Runs a compressor (gzip -c, xz -c ...) on `data`.
    static func compress(_ data: Data, _ tool: String, _ args: [String]) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + args
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        let writer = Thread { input.fileHandleForWriting.write(data); try? input.fileHandleForWriting.close() }
        writer.start()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        return out
    }

    /// A minimal bzImage: a setup header whose payload fields point at `payload`.
    static func bzImage(payload: Data) -> Data {
        var d = Data(count: 2 * 512)                      // boot sector + 1 setup sector
        d[0x1f1] = 1                                      // setup_sects
        d.replaceSubrange(0x202..<0x206, with: Array("HdrS".utf8))
        d[0x206] = 0x0f; d[0x207] = 0x02                  // boot protocol 2.15
        let offset = UInt32(64)                           // from the protected-mode start
        withUnsafeBytes(of: offset.littleEndian) { d.replaceSubrange(0x248..<0x24c, with: $0) }
        withUnsafeBytes(of: UInt32(payload.count).littleEndian) { d.replaceSubrange(0x24c..<0x250, with: $0) }
        d.append(Data(count: Int(offset)))
        d.append(payload)
        d.append(Data(count: 100))                        // what follows the payload
        return d
    }

    func write(_ data: Data, _ name: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    func cleanup() { try? FileManager.default.removeItem(at: dir) }

    @Test func gzipKernelIsUnpackedOnceThenReused() throws {
        defer { cleanup() }
        let elf = Self.fakeELF(seed: 1)
        let path = try write(try Self.compress(elf, "gzip", ["-c"]), "vmlinux.gz")
        let first = try XenKernelCache.loadablePath(for: path, directory: cache)
        #expect(first.hasPrefix(cache + "/"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: first)) == elf)
        let inode = try FileManager.default.attributesOfItem(atPath: first)[.systemFileNumber] as? Int
        let second = try XenKernelCache.loadablePath(for: path, directory: cache)
        #expect(second == first)
        // The same file, not unpacked again (that would write a new one and rename it).
        #expect(try FileManager.default.attributesOfItem(atPath: second)[.systemFileNumber] as? Int == inode)
        // Only the entry: no temporary files left.
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache).count == 1)
        // The directory is root's (our user's) alone.
        let mode = try FileManager.default.attributesOfItem(atPath: cache)[.posixPermissions] as? Int
        #expect(mode == 0o700)
    }

    /// Several creates may unpack at once (threads of one process here):
    /// each must get its own kernel, whole.
    @Test func concurrentUnpacksDoNotMix() throws {
        defer { cleanup() }
        let seeds: [UInt8] = Array(10..<18)
        var elves: [Data] = []
        var paths: [String] = []
        for seed in seeds {
            let elf = Self.fakeELF(seed: seed, size: 3_000_000)
            elves.append(elf)
            let tool = seed % 2 == 0 ? ("gzip", ["-c"]) : ("xz", ["-c", "-0", "--check=crc32"])
            let packed = try Self.compress(elf, tool.0, tool.1)
            paths.append(try write(seed % 2 == 0 ? packed : Self.bzImage(payload: packed), "k\(seed)"))
        }
        let results = Mutex<[Int: String]>([:])
        let inputs = paths, cache = cache
        DispatchQueue.concurrentPerform(iterations: inputs.count) { i in
            let got = try? XenKernelCache.loadablePath(for: inputs[i], directory: cache)
            results.withLock { $0[i] = got }
        }
        let got = results.withLock { $0 }
        for i in paths.indices {
            let path = try #require(got[i])
            #expect(path.hasPrefix(cache + "/"), "kernel \(i) was not unpacked")
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == elves[i], "kernel \(i) unpacked wrong")
        }
    }

    @Test func bzImageWithXZPayloadIsUnpacked() throws {
        defer { cleanup() }
        let elf = Self.fakeELF(seed: 2)
        let payload = try Self.compress(elf, "xz", ["-c", "--check=crc32"])
        let path = try write(Self.bzImage(payload: payload), "bzImage")
        let got = try XenKernelCache.loadablePath(for: path, directory: cache)
        #expect(got != path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: got)) == elf)
    }

    @Test func bzImageWithGzipPayloadIsUnpacked() throws {
        defer { cleanup() }
        let elf = Self.fakeELF(seed: 3)
        let path = try write(Self.bzImage(payload: try Self.compress(elf, "gzip", ["-c"])), "bzImage")
        let got = try XenKernelCache.loadablePath(for: path, directory: cache)
        #expect(try Data(contentsOf: URL(fileURLWithPath: got)) == elf)
    }

    @Test func plainKernelsAndOtherFilesAreUsedAsTheyAre() throws {
        defer { cleanup() }
        let elf = try write(Self.fakeELF(seed: 4), "vmlinux")
        #expect(try XenKernelCache.loadablePath(for: elf, directory: cache) == elf)
        let text = try write(Data("hello".utf8), "notes.txt")
        #expect(try XenKernelCache.loadablePath(for: text, directory: cache) == text)
        // A bzImage whose payload we do not unpack (bzip2) goes to libxenguest as is.
        let bz = try write(Self.bzImage(payload: Data("BZh91AY&SY".utf8) + Data(count: 50)), "bzImage-bz2")
        #expect(try XenKernelCache.loadablePath(for: bz, directory: cache) == bz)
    }

    @Test func noCacheDirectoryMeansTheOriginal() throws {
        defer { cleanup() }
        let path = try write(try Self.compress(Self.fakeELF(seed: 5), "gzip", ["-c"]), "vmlinux.gz")
        #expect(try XenKernelCache.loadablePath(for: path, directory: nil) == path)
    }

    @Test func aDirectoryOthersMayWriteIsNotTrusted() throws {
        defer { cleanup() }
        let path = try write(try Self.compress(Self.fakeELF(seed: 6), "gzip", ["-c"]), "vmlinux.gz")
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o777])
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: cache)
        #expect(try XenKernelCache.loadablePath(for: path, directory: cache) == path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache).isEmpty)
    }

    @Test func corruptDataFallsBackAndLeavesNothing() throws {
        defer { cleanup() }
        var gz = try Self.compress(Self.fakeELF(seed: 7), "gzip", ["-c"])
        for i in stride(from: 20, to: min(gz.count, 2000), by: 3) { gz[i] ^= 0x5a }
        let path = try write(gz, "broken.gz")
        #expect(try XenKernelCache.loadablePath(for: path, directory: cache) == path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache).isEmpty)
    }

    @Test func aChangedKernelGetsANewEntry() throws {
        defer { cleanup() }
        let path = dir.appendingPathComponent("vmlinux.gz").path
        try Self.compress(Self.fakeELF(seed: 8), "gzip", ["-c"]).write(to: URL(fileURLWithPath: path))
        let first = try XenKernelCache.loadablePath(for: path, directory: cache)
        let newer = Self.fakeELF(seed: 9)
        try Self.compress(newer, "gzip", ["-c"]).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: path)
        let second = try XenKernelCache.loadablePath(for: path, directory: cache)
        #expect(second != first)
        #expect(try Data(contentsOf: URL(fileURLWithPath: second)) == newer)
    }

    @Test func unusedEntriesAndStaleTemporariesArePruned() throws {
        defer { cleanup() }
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let old = Date(timeIntervalSinceNow: -31 * 24 * 3600)
        func make(_ name: String, modified: Date) throws {
            let path = cache + "/" + name
            try Data("x".utf8).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: path)
        }
        try make("1-2-3-4.000000000.elf", modified: old)                         // unused for 31 days
        try make("1-2-3-5.000000000.elf", modified: Date())                      // in use
        try make("1-2-3-6.000000000.elf.Ab12Cd", modified: Date(timeIntervalSinceNow: -7200))  // crashed unpack
        try make("1-2-3-7.000000000.elf.Ef34Gh", modified: Date())               // an unpack going on now
        try make("README", modified: old)                                        // not ours
        let path = try write(try Self.compress(Self.fakeELF(seed: 10), "gzip", ["-c"]), "vmlinux.gz")
        let entry = try XenKernelCache.loadablePath(for: path, directory: cache)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: cache))
        #expect(left == ["1-2-3-5.000000000.elf", "1-2-3-7.000000000.elf.Ef34Gh", "README",
                         URL(fileURLWithPath: entry).lastPathComponent])
    }

    @Test func usingAnEntryMarksItUsed() throws {
        defer { cleanup() }
        let path = try write(try Self.compress(Self.fakeELF(seed: 11), "gzip", ["-c"]), "vmlinux.gz")
        let entry = try XenKernelCache.loadablePath(for: path, directory: cache)
        let old = Date(timeIntervalSinceNow: -20 * 24 * 3600)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: entry)
        #expect(try XenKernelCache.loadablePath(for: path, directory: cache) == entry)
        let used = try #require(try FileManager.default.attributesOfItem(atPath: entry)[.modificationDate] as? Date)
        #expect(used > Date(timeIntervalSinceNow: -3600))
    }

    @Test func ramdisksAreUnpackedOnlyFromGzip() throws {
        defer { cleanup() }
        let cpio = Self.fakeELF(seed: 12)    // any bytes will do for a ramdisk
        let gz = try write(try Self.compress(cpio, "gzip", ["-c"]), "initrd.gz")
        let unpacked = try XenKernelCache.loadableRamdiskPath(for: gz, directory: cache)
        #expect(unpacked != gz)
        #expect(try Data(contentsOf: URL(fileURLWithPath: unpacked)) == cpio)
        // libxenguest loads other formats as they are, and so do we.
        let xz = try write(try Self.compress(cpio, "xz", ["-c"]), "initrd.xz")
        #expect(try XenKernelCache.loadableRamdiskPath(for: xz, directory: cache) == xz)
        let bz = try write(Self.bzImage(payload: try Self.compress(cpio, "gzip", ["-c"])), "initrd.bz")
        #expect(try XenKernelCache.loadableRamdiskPath(for: bz, directory: cache) == bz)
        let missing = dir.appendingPathComponent("none").path
        #expect(throws: HypervisorError("build domain", errno: ENOENT, "ramdisk \(missing): No such file or directory")) {
            try XenKernelCache.loadableRamdiskPath(for: missing, directory: cache)
        }
    }

    @Test func aMissingKernelIsAnError() throws {
        defer { cleanup() }
        let path = dir.appendingPathComponent("nope").path
        #expect(throws: HypervisorError("build domain", errno: ENOENT, "kernel \(path): No such file or directory")) {
            try XenKernelCache.loadablePath(for: path, directory: cache)
        }
    }
}
