#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSQLite

/// A SQLite VFS over the default one that writes each commit's log frames
/// with one `pwrite` instead of two per page.
///
/// SQLite appends a commit to the write-ahead log frame by frame, each frame
/// as two writes (its 24-byte header, then the page), so a commit of three
/// pages costs six system calls, a third of the daemon's time for a write
/// request. Here writes that extend the log are gathered in memory and
/// written together when SQLite writes the page of the frame that carries
/// the commit mark, still inside SQLite's commit: if that write fails,
/// SQLite sees its own write fail and takes the commit back, as before.
/// Anything else SQLite does with the log (read, sync, truncate, size,
/// writes elsewhere than its end) first writes out what was gathered, so
/// the file always looks to SQLite as if every write had gone through.
/// Only the log is wrapped; the database file and everything else go
/// straight to the default VFS.
enum WALGathering {
    static let name = "swxl-wal-gathering"

    /// Registers the VFS (once) and returns its name, for `sqlite3_open_v2`.
    static func register() -> String {
        _ = registered
        return name
    }

    /// The default VFS, which does the real work (read only once set).
    nonisolated(unsafe) private static var base: UnsafeMutablePointer<sqlite3_vfs>?

    private static let registered: Bool = {
        guard let base = sqlite3_vfs_find(nil) else { return false }
        Self.base = base
        let vfs = UnsafeMutablePointer<sqlite3_vfs>.allocate(capacity: 1)
        vfs.initialize(to: base.pointee)
        vfs.pointee.zName = UnsafePointer(strdup(name))
        vfs.pointee.pNext = nil
        // Our file: the sqlite3_file header, then a pointer to its Swift side.
        vfs.pointee.szOsFile = max(base.pointee.szOsFile, Int32(headerSize + MemoryLayout<UnsafeRawPointer>.size))
        // The default VFS's other methods are used as they are (they get our
        // copy of its structure, pAppData included).
        vfs.pointee.xOpen = { _, path, file, flags, outFlags in
            let base = WALGathering.base!
            guard flags & SQLITE_OPEN_WAL != 0 else {
                return base.pointee.xOpen(base, path, file, flags, outFlags)
            }
            // The real file lives in its own memory, of the size the default VFS wants.
            let real = UnsafeMutableRawPointer.allocate(byteCount: Int(base.pointee.szOsFile), alignment: 16)
                .bindMemory(to: sqlite3_file.self, capacity: 1)
            real.pointee.pMethods = nil
            let rc = base.pointee.xOpen(base, path, real, flags, outFlags)
            guard rc == SQLITE_OK else {
                // Even a failed open may need closing.
                if let methods = real.pointee.pMethods { _ = methods.pointee.xClose(real) }
                real.deallocate()
                file!.pointee.pMethods = nil
                return rc
            }
            let log = GatheredLog(real: real)
            UnsafeMutableRawPointer(file!).storeBytes(of: Unmanaged.passRetained(log).toOpaque(), toByteOffset: headerSize,
                                                      as: UnsafeMutableRawPointer.self)
            file!.pointee.pMethods = UnsafePointer(methods)
            return SQLITE_OK
        }
        return sqlite3_vfs_register(vfs, 0) == SQLITE_OK
    }()

    private static let headerSize = MemoryLayout<sqlite3_file>.stride

    /// Writes out anything still gathered for `db`'s log. After a commit
    /// there is nothing (its last frame wrote it): this is a safety net
    /// should SQLite ever end a commit otherwise.
    static func flush(_ db: OpaquePointer?) -> Int32 {
        var file: UnsafeMutablePointer<sqlite3_file>?
        guard sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &file) == SQLITE_OK, let file,
              file.pointee.pMethods == UnsafePointer(methods) else { return SQLITE_OK }
        return log(file).flush()
    }

    /// The Swift side of one of our files.
    fileprivate static func log(_ file: UnsafeMutablePointer<sqlite3_file>?) -> GatheredLog {
        let raw = UnsafeMutableRawPointer(file!).load(fromByteOffset: headerSize, as: UnsafeMutableRawPointer.self)
        return Unmanaged<GatheredLog>.fromOpaque(raw).takeUnretainedValue()
    }

    /// The log's methods: writes are gathered (``GatheredLog/write(_:_:at:)``); any
    /// other call that could see the file writes out what was gathered first,
    /// then does what the real file does. Built once, then only read.
    nonisolated(unsafe) private static let methods: UnsafeMutablePointer<sqlite3_io_methods> = {
        let m = UnsafeMutablePointer<sqlite3_io_methods>.allocate(capacity: 1)
        m.initialize(to: sqlite3_io_methods(
            // Version 1: the log has no shared memory and is not memory-mapped.
            iVersion: 1,
            xClose: { file in
                let log = WALGathering.log(file)
                let rc = log.flush()
                let closed = log.real.pointee.pMethods.pointee.xClose(log.real)
                log.real.deallocate()
                Unmanaged.passUnretained(log).release()
                return rc != SQLITE_OK ? rc : closed
            },
            xRead: { file, buffer, amount, offset in
                let log = WALGathering.log(file)
                let rc = log.flush()
                return rc != SQLITE_OK ? rc : log.real.pointee.pMethods.pointee.xRead(log.real, buffer, amount, offset)
            },
            xWrite: { file, buffer, amount, offset in
                WALGathering.log(file).write(buffer!, Int(amount), at: offset)
            },
            xTruncate: { file, size in
                let log = WALGathering.log(file)
                let rc = log.flush()
                return rc != SQLITE_OK ? rc : log.real.pointee.pMethods.pointee.xTruncate(log.real, size)
            },
            xSync: { file, flags in
                let log = WALGathering.log(file)
                let rc = log.flush()
                return rc != SQLITE_OK ? rc : log.real.pointee.pMethods.pointee.xSync(log.real, flags)
            },
            xFileSize: { file, size in
                let log = WALGathering.log(file)
                let rc = log.flush()
                return rc != SQLITE_OK ? rc : log.real.pointee.pMethods.pointee.xFileSize(log.real, size)
            },
            xLock: { file, level in
                let log = WALGathering.log(file)
                return log.real.pointee.pMethods.pointee.xLock(log.real, level)
            },
            xUnlock: { file, level in
                let log = WALGathering.log(file)
                let rc = log.flush()
                return rc != SQLITE_OK ? rc : log.real.pointee.pMethods.pointee.xUnlock(log.real, level)
            },
            xCheckReservedLock: { file, result in
                let log = WALGathering.log(file)
                return log.real.pointee.pMethods.pointee.xCheckReservedLock(log.real, result)
            },
            xFileControl: { file, op, arg in
                let log = WALGathering.log(file)
                let rc = log.flush()
                return rc != SQLITE_OK ? rc : log.real.pointee.pMethods.pointee.xFileControl(log.real, op, arg)
            },
            xSectorSize: { file in
                let log = WALGathering.log(file)
                return log.real.pointee.pMethods.pointee.xSectorSize(log.real)
            },
            xDeviceCharacteristics: { file in
                let log = WALGathering.log(file)
                return log.real.pointee.pMethods.pointee.xDeviceCharacteristics(log.real)
            },
            xShmMap: nil, xShmLock: nil, xShmBarrier: nil, xShmUnmap: nil, xFetch: nil, xUnfetch: nil))
        return m
    }()
}

/// The write-ahead log's file and the appends gathered for it.
final class GatheredLog {
    let real: UnsafeMutablePointer<sqlite3_file>
    /// Bytes to write at `start`, in order, not yet written.
    private var pending: [UInt8] = []
    private var start: Int64 = 0
    /// Where the log ends, as SQLite sees it (gathered bytes included); -1: not known yet.
    private var end: Int64 = -1
    /// The last frame header gathered marks a commit: its page ends the commit.
    private var commitFrameOpen = false
    /// A frame header's size (a 32-bit page number and commit size, two salts, two checksums).
    private static let frameHeaderSize = 24
    /// Gathered bytes beyond which they are written anyway (a large transaction).
    private static let limit = 1 << 20

    init(real: UnsafeMutablePointer<sqlite3_file>) { self.real = real }

    func write(_ buffer: UnsafeRawPointer, _ count: Int, at offset: Int64) -> Int32 {
        // Only appends are gathered: at the end of the log, or a new log's
        // header at 0. Anything else (SQLite rewriting earlier frames) goes
        // through at once, after what was gathered.
        guard offset == end || (offset == 0 && pending.isEmpty) else {
            let rc = flush()
            if rc != SQLITE_OK { return rc }
            end = max(end, offset + Int64(count))
            return real.pointee.pMethods.pointee.xWrite(real, buffer, Int32(count), offset)
        }
        if pending.isEmpty { start = offset }
        pending.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: count))
        end = offset + Int64(count)
        if count == Self.frameHeaderSize {
            // Bytes 4 to 7 (big-endian): the database size in pages after a commit, 0 in other frames.
            let bytes = buffer.assumingMemoryBound(to: UInt8.self)
            commitFrameOpen = bytes[4] | bytes[5] | bytes[6] | bytes[7] != 0
            return SQLITE_OK
        }
        if commitFrameOpen || pending.count >= Self.limit {
            return flush()
        }
        return SQLITE_OK
    }

    /// The most the default VFS writes in one call: its `seekAndWrite()`
    /// keeps only the low 17 bits of the count (SQLite itself never writes
    /// more than a page), so a longer write would be cut short and taken
    /// for a full disk. 64 KiB stays well inside.
    static let largestWrite = 1 << 16

    /// Writes what was gathered, with as few calls as the default VFS allows
    /// (one for any commit of up to about 60 pages).
    func flush() -> Int32 {
        guard !pending.isEmpty else { return SQLITE_OK }
        let rc = pending.withUnsafeBytes { bytes -> Int32 in
            var done = 0
            while done < bytes.count {
                let count = min(Self.largestWrite, bytes.count - done)
                let rc = real.pointee.pMethods.pointee.xWrite(real, bytes.baseAddress! + done, Int32(count), start + Int64(done))
                if rc != SQLITE_OK { return rc }
                done += count
            }
            return SQLITE_OK
        }
        pending.removeAll(keepingCapacity: true)
        commitFrameOpen = false
        return rc
    }
}
