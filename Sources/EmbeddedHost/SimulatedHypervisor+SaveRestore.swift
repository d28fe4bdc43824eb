import Glibc
import SaveFormat
import SwxlSystem
import Toolstack

/// Save and restore on the embedded host: the simulated guest's image
/// (``SimulatedImage``).
///
/// A simulated guest's state outside the hypervisor's table lives under
/// `<hypervisor dir>/guests/<domid>/`: `memory/`, the directory its
/// script sees as `SWXL_GUEST_MEMORY` (its memory: what it keeps there
/// survives a save and restore), `script`, its program once it ran, and
/// `resumed`, there after a restore until the guest host has resumed it.
extension SimulatedHypervisor {
    public var imageFormat: ImageFormat { .simulated }

    public func guestDir(_ domid: UInt32) -> String { dir + "/guests/\(domid)" }
    public func memoryDir(_ domid: UInt32) -> String { guestDir(domid) + "/memory" }

    /// The guest's program as it was saved with it (a restored guest), or
    /// as the guest host first ran it.
    public func guestScript(_ domid: UInt32) -> String? { FileIO.read(guestDir(domid) + "/script") }

    public func setGuestScript(_ domid: UInt32, _ script: String) {
        try? FileIO.makeDirectories(memoryDir(domid))
        try? FileIO.writeAtomically(guestDir(domid) + "/script", script)
    }

    /// Whether the domain was restored and not yet resumed; clears the mark.
    public func takeResumed(_ domid: UInt32) -> Bool {
        unlink(guestDir(domid) + "/resumed") == 0
    }

    /// As on Xen: a PV guest's dirty pages are tracked by shadow paging's
    /// log-dirty mode, which this host has unless `SWXL_SIM_SHADOW=0`.
    public func canSaveLive(domid: UInt32) throws(HypervisorError) -> Bool {
        guard try domainInfo(domid: domid) != nil else { throw Self.noSuchDomain("save domain", domid) }
        return hostSpec.shadowPaging
    }

    public func saveImage(domid: UInt32, to fd: Int32, live: Bool, debug: Bool,
                          suspend: () -> Bool, progress: (UInt64, UInt64) -> Void) throws(HypervisorError) {
        let op = "save domain"
        guard let r = try load(domid, op) else { throw Self.noSuchDomain(op, domid) }
        guard r.built, r.state == "running" || r.state == "paused" else {
            throw HypervisorError(op, errno: EINVAL, "domain \(domid) is not running: Invalid argument")
        }
        // As libxc: log-dirty mode cannot be enabled without shadow paging,
        // and the caller must not have asked (canSaveLive said so).
        if live && !hostSpec.shadowPaging {
            throw HypervisorError(op, errno: EOPNOTSUPP, "live save needs shadow paging, which this host does not have: Operation not supported")
        }
        let writer = DescriptorWriter(fd: fd, destination: "the save stream")
        let total = r.currentMemoryKiB / 4
        func write(_ bytes: [UInt8], _ what: String) throws(HypervisorError) {
            do { try writer.write(bytes, what) } catch {
                let e: Int32 = if case .io(let n) = error.kind { n } else { EIO }
                throw HypervisorError(op, errno: e, error.message)
            }
        }
        func sendPages() throws(HypervisorError) {
            var first: UInt64 = 0
            progress(0, total)
            while first < total {
                let count = min(SimulatedImage.pagesPerRecord, total - first)
                try write(SimulatedImage.pages(first: first, count: count), "pages")
                first += count
                progress(first, total)
            }
        }
        let domain = SimulatedImage.Domain(type: r.type, maxVCPUs: r.maxVCPUs, onlineVCPUs: r.onlineVCPUs,
                                           memoryKiB: r.currentMemoryKiB, cpuNs: r.cpuTime(now: SystemClock.realtimeNanoseconds()),
                                           kernel: r.kernel)
        try write(SimulatedImage.header() + SimulatedImage.record(.domain, Array(domain.text.utf8)), "image header")
        // Live: every page while the guest runs, then it stops for the last
        // round (its dirty pages: none, a simulated guest's pages stay zero).
        if live { try sendPages() }
        guard suspend() else { throw HypervisorError(op, errno: EINVAL, "the guest did not suspend") }
        guard let now = try load(domid, op), now.state == "shutdown", now.reason == .suspend else {
            throw HypervisorError(op, errno: EINVAL, "domain \(domid) is not in suspended state")
        }
        if !live { try sendPages() }
        if let script = guestScript(domid) { try write(SimulatedImage.record(.script, Array(script.utf8)), "script") }
        for file in memoryFiles(memoryDir(domid), prefix: "") {
            try write(SimulatedImage.file(file), "memory file")
        }
        try write(SimulatedImage.record(.end, []), "image end")
        if debug { log("Domain \(domid): saved \(total) pages (\(live ? "live" : "suspended"))") }
    }

    /// The files under `dir`, by relative path, in a stable order.
    private func memoryFiles(_ dir: String, prefix: String) -> [SimulatedImage.MemoryFile] {
        var out: [SimulatedImage.MemoryFile] = []
        for name in FileIO.list(dir).sorted() {
            let path = dir + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            if st.st_mode & S_IFMT == S_IFDIR {
                out += memoryFiles(path, prefix: prefix + name + "/")
            } else if st.st_mode & S_IFMT == S_IFREG, let bytes = FileIO.readBytes(path) {
                out.append(.init(path: prefix + name, mode: UInt32(st.st_mode & 0o777), contents: bytes))
            }
        }
        return out
    }

    public func resumeAfterSave(domid: UInt32) throws(HypervisorError) {
        let paused = unlink(guestDir(domid) + "/paused-on-resume") == 0
        try modify(domid, "resume domain") { (r: inout Record, _: inout Host) throws(HypervisorError) in
            guard r.state == "shutdown", r.reason == .suspend else {
                throw HypervisorError("resume domain", errno: EINVAL, "domain \(domid) is not suspended: Invalid argument")
            }
            r.reason = nil
            if paused {
                r.state = "paused"
            } else {
                r.state = "running"
                r.sinceNs = SystemClock.realtimeNanoseconds()
            }
        }
        log("Domain \(domid) resumed (suspend cancelled)")
    }

    public func restoreImage(domid: UInt32, from fd: Int32, spec: RestoreSpec,
                             progress: ((UInt64, UInt64) -> Void)?) throws(HypervisorError) -> BuildResult {
        let op = "restore domain"
        guard !spec.checkpointed else { throw HypervisorError(op, errno: EINVAL, "checkpointed streams are not supported") }
        let contents: SimulatedImage.Contents
        do {
            contents = try SimulatedImage.read(from: DescriptorReader(fd: fd, source: "the restore stream"), progress: progress ?? { _, _ in })
        } catch {
            let e: Int32 = if case .io(let n) = error.kind { n } else { EPROTO }
            throw HypervisorError(op, errno: e, error.message)
        }
        let d = contents.domain
        guard d.type == spec.type else {
            throw HypervisorError(op, errno: EINVAL, "the image is of a \(d.type.rawValue) guest, the config of a \(spec.type.rawValue) one")
        }
        try modify(domid, op) { (r: inout Record, _: inout Host) throws(HypervisorError) in
            guard d.memoryKiB <= r.maxMemoryKiB else {
                throw HypervisorError(op, errno: ENOMEM, "the image has \(d.memoryKiB) kB, the domain may have \(r.maxMemoryKiB) kB: Out of memory")
            }
            guard d.maxVCPUs <= r.maxVCPUs else {
                throw HypervisorError(op, errno: EINVAL, "the image has \(d.maxVCPUs) vcpus, the domain \(r.maxVCPUs): Invalid argument")
            }
            r.currentMemoryKiB = d.memoryKiB
            r.onlineVCPUs = max(1, min(d.onlineVCPUs, r.maxVCPUs))
            r.cpuNs = d.cpuNs
            r.kernel = d.kernel
            r.built = true
        }
        let guest = guestDir(domid)
        FileIO.removeTree(guest)
        do throws(SystemError) {
            try FileIO.makeDirectories(memoryDir(domid))
            for file in contents.files {
                let path = memoryDir(domid) + "/" + file.path
                if let slash = path.lastIndex(of: "/") { try FileIO.makeDirectories(String(path[..<slash])) }
                let fd = try FileIO.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode: mode_t(file.mode))
                defer { close(fd) }
                let written = file.contents.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> SystemError? in
                    do throws(SystemError) { try FileIO.writeAll(fd, raw); return nil } catch { return error }
                }
                if let written { throw written }
            }
            if let script = contents.script { try FileIO.writeAtomically(guest + "/script", script) }
            try FileIO.writeAtomically(guest + "/resumed", "")
        } catch {
            FileIO.removeTree(guest)
            throw HypervisorError(op, errno: error.errno, "guest memory: \(error.description)")
        }
        log("Domain \(domid) restored (\(contents.pages) pages)")
        return Self.ringPages(domid)
    }
}
