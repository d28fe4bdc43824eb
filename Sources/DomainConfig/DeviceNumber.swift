// Virtual disk names (`xvda`, `hdc`, `sdb2`, `d0p1`, `51712`) and the Xen
// device numbers they stand for: the numbering libxl uses for a disk's
// xenstore device id (see xen's docs/misc/vbd-interface.txt).

extension DiskDevice {
    /// The Xen virtual device number of this disk's `vdev` (its xenstore
    /// device id), or nil if `vdev` is not a name Xen knows.
    public var deviceNumber: Int? { Self.deviceNumber(ofVdev: vdev) }

    /// `xvdX[N]`: (202 << 8) | (disk << 4) | N for disks 0-15 and partitions 0-15,
    /// else (1 << 28) | (disk << 8) | N; `dNpM` likewise; `hdX[N]` (hda-hdd,
    /// N ≤ 63): major 3 or 22; `sdX[N]` (sda-sdp, N ≤ 15): major 8; a plain
    /// number is taken as the device number itself.
    public static func deviceNumber(ofVdev vdev: String) -> Int? {
        if let (disk, partition) = dForm(vdev) ?? lettered(vdev, prefix: "xvd", maxDisk: (1 << 20) - 1, maxPartition: 255) {
            if disk <= 15 && partition <= 15 { return (202 << 8) | (disk << 4) | partition }
            return (1 << 28) | (disk << 8) | partition
        }
        if let n = parseCInteger(vdev), n >= 0, n <= Int(Int32.max) { return n }
        if let (disk, partition) = lettered(vdev, prefix: "hd", maxDisk: 3, maxPartition: 63) {
            return ((disk < 2 ? 3 : 22) << 8) | ((disk & 1) << 6) | partition
        }
        if let (disk, partition) = lettered(vdev, prefix: "sd", maxDisk: 15, maxPartition: 15) {
            return (8 << 8) | (disk << 4) | partition
        }
        return nil
    }

    /// `d<disk>p<partition>`.
    private static func dForm(_ v: String) -> (Int, Int)? {
        guard v.hasPrefix("d"), let p = v.firstIndex(of: "p") else { return nil }
        let diskText = v[v.index(after: v.startIndex)..<p]
        let partText = v[v.index(after: p)...]
        guard !diskText.isEmpty, !partText.isEmpty, diskText.allSatisfy(\.isASCIIDigit), partText.allSatisfy(\.isASCIIDigit),
              let disk = Int(diskText), let part = Int(partText), disk < (1 << 20), part < 256 else { return nil }
        return (disk, part)
    }

    /// PREFIX, drive letters (a..z, aa.. as a bijective base 26), an optional
    /// partition number without leading zeroes.
    private static func lettered(_ v: String, prefix: String, maxDisk: Int, maxPartition: Int) -> (Int, Int)? {
        guard v.hasPrefix(prefix) else { return nil }
        let rest = Array(v.utf8.dropFirst(prefix.utf8.count))
        var i = 0
        var disk = -1
        while i < rest.count, rest[i] >= UInt8(ascii: "a"), rest[i] <= UInt8(ascii: "z") {
            disk = (disk + 1) * 26 + Int(rest[i] - UInt8(ascii: "a"))
            guard disk <= maxDisk else { return nil }
            i += 1
        }
        guard disk >= 0 else { return nil }
        if i == rest.count { return (disk, 0) }
        guard rest[i] != UInt8(ascii: "0"), rest[i...].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              rest.count - i <= 4, let part = Int(String(decoding: rest[i...], as: UTF8.self)), part <= maxPartition else { return nil }
        return (disk, part)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
