import CXen
import Testing
@testable import XenHost

/// When a restore lets the page cache forget what libxc has read of the
/// save file (the bridge's `cxen_restore_drops_behind`): a file that fits
/// in half of the available memory stays cached; needs no Xen.
@Suite struct RestoreDropBehindTests {
    static let mib: Int64 = 1 << 20

    @Test func automaticallyOnlyAFileLargerThanHalfTheAvailableMemory() {
        let auto = UInt32(CXEN_DROP_BEHIND_AUTO)
        // dom0 of the harness: about 400 MiB available
        #expect(cxen_restore_drops_behind(auto, 128 * Self.mib, 400 * Self.mib) == 0)
        #expect(cxen_restore_drops_behind(auto, 513 * Self.mib, 400 * Self.mib) == 1)
        #expect(cxen_restore_drops_behind(auto, 200 * Self.mib, 400 * Self.mib) == 0)
        #expect(cxen_restore_drops_behind(auto, 200 * Self.mib + 1, 400 * Self.mib) == 1)
        // unknown memory: dropped, as before there was a choice
        #expect(cxen_restore_drops_behind(auto, 1, -1) == 1)
    }

    @Test func neverAndAlwaysWhateverTheSizes() {
        for (left, available) in [(1, 400 * Self.mib), (513 * Self.mib, 400 * Self.mib), (1, -1)] as [(Int64, Int64)] {
            #expect(cxen_restore_drops_behind(UInt32(CXEN_DROP_BEHIND_NEVER), left, available) == 0)
            #expect(cxen_restore_drops_behind(UInt32(CXEN_DROP_BEHIND_ALWAYS), left, available) == 1)
        }
    }

    @Test func theEnvironmentSettingChoosesTheMode() {
        #expect(XenHypervisor.dropBehindMode(nil) == UInt32(CXEN_DROP_BEHIND_AUTO))
        #expect(XenHypervisor.dropBehindMode("0") == UInt32(CXEN_DROP_BEHIND_NEVER))
        #expect(XenHypervisor.dropBehindMode("1") == UInt32(CXEN_DROP_BEHIND_ALWAYS))
        #expect(XenHypervisor.dropBehindMode("") == UInt32(CXEN_DROP_BEHIND_AUTO))
    }
}
