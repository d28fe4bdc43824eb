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
}
