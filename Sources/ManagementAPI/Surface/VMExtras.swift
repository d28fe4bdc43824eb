#if canImport(Glibc)
import Glibc
#endif
import SwxlSystem

/// What XAPI keeps of a VM that the domain model has no place for: its
/// `other_config` and the lower end of its dynamic memory range (swxl,
/// like xl, has one balloon target: the range's upper end). The server
/// keeps them by VM uuid in `<state>/xapi/vm-extras.json`, written whole
/// (atomically) on every change; an entry goes with its VM.
final class VMExtras: @unchecked Sendable {
    struct Entry: Equatable {
        var otherConfig: [String: String] = [:]
        /// Bytes; nil: the range is the target alone.
        var dynamicMin: UInt64?
        var isEmpty: Bool { otherConfig.isEmpty && dynamicMin == nil }
    }

    let path: String
    private let lock = PlainLock()
    private var entries: [String: Entry] = [:]

    /// Reads `path` if it is there; one that cannot be read is set aside
    /// (renamed `.bad`) and the server starts without it.
    init(path: String) {
        self.path = path
        guard let text = FileIO.read(path) else { return }
        if let loaded = Self.decode(text) {
            entries = loaded
        } else {
            _ = rename(path, path + ".bad")
        }
    }

    func entry(_ uuid: String) -> Entry { lock.withLock { entries[uuid] ?? Entry() } }

    /// Changes `uuid`'s entry and writes the file; on a failed write the
    /// entry is as it was and the error is thrown.
    func update(_ uuid: String, _ change: (inout Entry) throws(XenAPIError) -> Void) throws(XenAPIError) {
        try lock.withLock { () throws(XenAPIError) in
            let old = entries[uuid]
            var entry = old ?? Entry()
            try change(&entry)
            entries[uuid] = entry.isEmpty ? nil : entry
            do {
                try save()
            } catch {
                entries[uuid] = old
                throw .internalError("cannot write \(path): \(error)")
            }
        }
    }

    /// How long a VM may be missing before its entry is forgotten: a
    /// domain restarted (a reboot: destroyed, created again with its uuid)
    /// is missing for a moment.
    static let graceSeconds = 30.0
    private var missingSince: [String: UInt64] = [:]

    /// Forgets the entries of VMs not in `uuids` (every VM there is) for
    /// longer than ``graceSeconds``.
    func keepOnly(_ uuids: Set<String>) {
        let now = SystemClock.monotonicNanoseconds()
        lock.withLock {
            var gone: [String] = []
            for uuid in entries.keys {
                if uuids.contains(uuid) {
                    missingSince[uuid] = nil
                } else if let since = missingSince[uuid] {
                    if Double(now - since) / 1e9 > Self.graceSeconds { gone.append(uuid) }
                } else {
                    missingSince[uuid] = now
                }
            }
            for uuid in missingSince.keys where entries[uuid] == nil { missingSince[uuid] = nil }
            guard !gone.isEmpty else { return }
            for uuid in gone {
                entries[uuid] = nil
                missingSince[uuid] = nil
            }
            try? save()
        }
    }

    /// Lock held.
    private func save() throws {
        var top: [String: XenAPIValue] = [:]
        for (uuid, entry) in entries {
            var e: [String: XenAPIValue] = ["other_config": .struct(entry.otherConfig.mapValues { .string($0) })]
            if let min = entry.dynamicMin { e["memory_dynamic_min"] = .string(String(min)) }
            top[uuid] = .struct(e)
        }
        let dir = String(path[..<path.lastIndex(of: "/")!])
        try FileIO.makeDirectories(dir, mode: 0o700)
        try FileIO.writeAtomically(path, JSONWriter.text(.struct(top)) + "\n", mode: 0o600)
    }

    static func decode(_ text: String) -> [String: Entry]? {
        guard let document = try? JSONReader.parse(Array(text.utf8)), case .struct(let top) = document.value else { return nil }
        var out: [String: Entry] = [:]
        for (uuid, value) in top {
            guard case .struct(let e) = value else { return nil }
            var entry = Entry()
            if case .struct(let other)? = e["other_config"] {
                for (key, v) in other {
                    guard case .string(let s) = v else { return nil }
                    entry.otherConfig[key] = s
                }
            }
            if case .string(let min)? = e["memory_dynamic_min"] {
                guard let n = UInt64(min) else { return nil }
                entry.dynamicMin = n
            }
            out[uuid] = entry
        }
        return out
    }
}
