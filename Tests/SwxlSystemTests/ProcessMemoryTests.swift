#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem
import Testing

/// glibc's malloc as a restore tunes it (`ProcessMemory.keepLargeBlocks`):
/// a large block comes from the heap, not from a mapping of its own (48
/// MiB: glibc maps a block that large on its own whatever it has learnt,
/// its moving threshold stops at 32 MiB).
@Suite struct ProcessMemoryTests {
    @Test func largeBlocksComeFromTheHeapOnceTuned() throws {
        ProcessMemory.keepLargeBlocks()
        let before = ProcessMemory.mappedBytes
        let block = try #require(malloc(48 << 20))
        let mapped = ProcessMemory.mappedBytes - before
        free(block)
        #expect(mapped < 48 << 20, "a 48 MiB block was mapped on its own")
    }

    /// `prefaultHeap`: the next large block lands on pages already there,
    /// so touching it all faults (almost) nowhere, where a block past
    /// them faults at each page. On a thread of its own, whose page faults
    /// are counted alone (RUSAGE_THREAD); the block past them without
    /// transparent huge pages (one would fault once for 512 pages, and the
    /// count would show nothing).
    @Test func aPrefaultedHeapTakesTheNextLargeBlockWithoutFaults() throws {
        ProcessMemory.keepLargeBlocks()
        let block = 8 << 20, pages = block / 4096
        let result = try onThreadOfItsOwn { () -> (populated: Int, prefaulted: Int, control: Int) in
            // (a little over the block: the heap's top may move by a few bytes meanwhile)
            let populated = ProcessMemory.prefaultHeap(bytes: block + (256 << 10))
            var before = threadFaults()
            let first = malloc(block)!
            memset(first, 1, block)
            let prefaulted = threadFaults() - before
            before = threadFaults()
            let second = malloc(block)!
            let page = UInt(4096), start = (UInt(bitPattern: second) + page - 1) & ~(page - 1)
            _ = madvise(UnsafeMutableRawPointer(bitPattern: start), block - Int(page), MADV_NOHUGEPAGE)
            memset(second, 1, block)
            let control = threadFaults() - before
            free(second)
            free(first)
            return (populated, prefaulted, control)
        }
        #expect(result.populated >= pages, "populated \(result.populated) pages (-errno when refused)")
        #expect(result.control >= pages * 3 / 4, "the block past the prefaulted pages faulted \(result.control) times: the count shows nothing")
        #expect(result.prefaulted < pages / 16, "the prefaulted block faulted \(result.prefaulted) times, against \(result.control) past it")
    }
}

/// This thread's minor page faults so far.
private func threadFaults() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(1 /* RUSAGE_THREAD */), &usage)
    return usage.ru_minflt
}

/// Runs `body` on a new thread and waits for it.
private func onThreadOfItsOwn<T>(_ body: @escaping () -> T) throws -> T {
    var result: T?
    let box = ThreadBody { result = body() }
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { raw in
        Unmanaged<ThreadBody>.fromOpaque(raw!).takeUnretainedValue().body()
        return nil
    }, Unmanaged.passUnretained(box).toOpaque())
    try #require(rc == 0)
    pthread_join(thread, nil)
    return try #require(result)
}

private final class ThreadBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}
