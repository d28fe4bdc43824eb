import Testing
@testable import XenHost

/// How much of the heap a restore populates before libxc starts
/// (`XenHypervisor.restorePrefaultDefault`): libxc's record block and a
/// little over, and its per-page tables of the guest; needs no Xen.
@Suite struct RestorePrefaultTests {
    @Test func theRecordBlockAndTheGuestsTables() {
        let block = 17 << 18   // 4.25 MiB: 1024 pages, their pfns and the record's header, and over
        #expect(XenHypervisor.restorePrefaultDefault(pages: 0) == block)
        // the harness's 128 MiB guest: 512 KiB of tables
        #expect(XenHypervisor.restorePrefaultDefault(pages: 32768) == block + (512 << 10))
        #expect(XenHypervisor.restorePrefaultDefault(pages: 131072) == block + (2 << 20))
    }

    @Test func neverMoreThan64MiB() {
        #expect(XenHypervisor.restorePrefaultDefault(pages: 16 << 20) == 64 << 20)
        #expect(XenHypervisor.restorePrefaultDefault(pages: .max) == 64 << 20)
    }
}
