import DomainConfig
#if canImport(Glibc)
import Glibc
#endif
import SaveFormat
import SwxlSystem
import XenStoreProtocol

/// How long the suspend handshake waits, as libxl waits: 60 s for the
/// guest to acknowledge `control/shutdown` = `suspend`, then 60 s for it
/// to show shut down with reason suspend (libxl_dom_suspend.c).
public struct SuspendTimeouts: Sendable, Equatable {
    public var acknowledgeMs: Int = 60_000
    public var suspendMs: Int = 60_000
    public init(acknowledgeMs: Int = 60_000, suspendMs: Int = 60_000) {
        self.acknowledgeMs = acknowledgeMs
        self.suspendMs = suspendMs
    }

    /// libxl's, or both set by `SWXL_SUSPEND_TIMEOUT_MS` (milliseconds:
    /// for tests, and for guests known to take longer).
    public init(environment env: [String: String]) {
        self.init()
        if let ms = env["SWXL_SUSPEND_TIMEOUT_MS"].flatMap({ Int($0) }), ms > 0 {
            acknowledgeMs = ms
            suspendMs = ms
        }
    }
}

/// What a save or migration stream carries and how it is made.
public struct SaveStreamOptions: Sendable, Equatable {
    /// Copy memory while the guest runs, suspending it for the last round.
    public var live = false
    /// xl's `--debug` (`XCFLAGS_DEBUG`).
    public var debug = false
    /// xl's `-D`: the config keeps the domid (otherwise 0, as xl writes).
    public var preserveDomid = false
    public init(live: Bool = false, debug: Bool = false, preserveDomid: Bool = false) {
        self.live = live
        self.debug = debug
        self.preserveDomid = preserveDomid
    }
}

/// A stream that failed after the guest may have been suspended: the
/// caller resumes it (``Toolstack/resumeAfterSave(domid:)``).
public struct SaveStreamFailure: Error, Sendable {
    public var error: ToolstackError
    /// Whether the suspend request was made (the guest may be suspended).
    public var suspendRequested: Bool
}

/// What the suspend callback saw, for the save's error.
private final class SuspendAttempt {
    var requested = false
    var error: ToolstackError?
}

extension Toolstack {
    // MARK: the config in the stream

    /// The libxl JSON of the domain's config, as `xl save` and `xl
    /// migrate` put it in the stream (libxl_retrieve_domain_configuration,
    /// then domid 0 unless `preserveDomid`): from `override` when given
    /// (xl's CONFIG argument, `migrate -C`), else from the domain's record.
    public func savedConfigJSON(domid: UInt32, override: DomainConfiguration?, preserveDomid: Bool) throws(ToolstackError) -> String {
        let summary = try info(domid)
        var config: DomainConfiguration
        if let override {
            config = try override.resolved()
        } else {
            guard let recorded = record(domid) else {
                throw .invalid("unable to retrieve domain configuration")
            }
            config = recorded
        }
        if config.type == .hvm, config.PV_kernel == DomainConfiguration.hvmLoader { config.PV_kernel = nil }
        let scheduler = (try? hypervisor.physInfo())?.scheduler ?? "credit2"
        var facts = runningFacts(summary, scheduler: scheduler)
        if override != nil {
            facts.name = config.name_label
            facts.uuid = config.uuid
        }
        let libxl = config.libxlRunningConfig(host: libxlHostFacts(config), running: facts).json
        return Self.withCreateInfoDomid(libxl, preserveDomid ? domid : 0).yajlBeautified()
    }

    /// `c_info.domid` set as xl save sets it (0, left out as libxl leaves
    /// out a zero domid; or the domain's own with -D).
    static func withCreateInfoDomid(_ config: JSONValue, _ domid: UInt32) -> JSONValue {
        guard case .object(var members) = config, let i = members.firstIndex(where: { $0.0 == "c_info" }),
              case .object(var c) = members[i].1 else { return config }
        if let j = c.firstIndex(where: { $0.0 == "domid" }) {
            if domid == 0 { c.remove(at: j) } else { c[j].1 = .number("\(domid)") }
        } else if domid != 0 {
            let at = (c.firstIndex(where: { $0.0 == "name" }).map { $0 + 1 }) ?? c.count
            c.insert(("domid", .number("\(domid)")), at: at)
        }
        members[i].1 = .object(c)
        return .object(members)
    }

    // MARK: the stream

    /// Writes a whole save stream for `domid` to `fd`: xl's header with
    /// `configJSON`, libxl's stream header, the context record of this
    /// host's image format, the image (the guest suspended through the
    /// handshake on the way), libxl's END. `note` gets xl's "Saving to"
    /// line. On failure the guest may be suspended: see ``SaveStreamFailure``.
    public func writeSaveStream(domid: UInt32, to fd: Int32, destination: String, configJSON: String,
                                options: SaveStreamOptions, note: (String) -> Void,
                                progress: (UInt64, UInt64) -> Void) throws(SaveStreamFailure) {
        let writer = DescriptorWriter(fd: fd, destination: destination)
        let suspend = SuspendAttempt()
        func failure(_ e: ToolstackError) -> SaveStreamFailure { SaveStreamFailure(error: e, suspendRequested: suspend.requested) }
        let header = XLSaveHeader(jsonConfig: configJSON)
        do {
            try writer.write(header.encoded(), "header")
            note(header.savingLine(to: destination))
            try writer.write(LibxlStream.header() + LibxlStream.encode(LibxlRecord(type: hypervisor.imageFormat.contextRecord)),
                             "stream header")
        } catch { throw failure(.system(error.message)) }
        do throws(HypervisorError) {
            try hypervisor.saveImage(domid: domid, to: fd, live: options.live, debug: options.debug, suspend: {
                suspend.requested = true
                do throws(ToolstackError) { try suspendGuest(domid: domid) } catch {
                    suspend.error = error
                    return false
                }
                return true
            }, progress: progress)
        } catch { throw failure(suspend.error ?? .hypervisor(error)) }
        do {
            try writer.write(LibxlStream.encode(LibxlRecord(type: .end)), "END record")
        } catch { throw failure(.system(error.message)) }
    }

    // MARK: the suspend handshake

    /// Asks the guest to suspend and waits until it has, as libxl does for
    /// a PV guest: `control/shutdown` = `suspend`; the guest acknowledges
    /// by changing it (Linux writes ""); then the hypervisor must show the
    /// domain shut down with reason suspend. An unanswered request is
    /// cancelled (put back to "" unless the guest answered meanwhile, in
    /// one transaction).
    public func suspendGuest(domid: UInt32) throws(ToolstackError) {
        let path = XSPath.domainPath(domid) + "/control/shutdown"
        do {
            try store.write(path, "suspend")
            PhaseTrace.mark("suspend: requested")
            let acked = try store.wait(for: [path], timeoutMs: suspendTimeouts.acknowledgeMs) { $0[0] != "suspend" }
            if !acked {
                if try store.replace(path, ifEqual: "suspend", with: "") {
                    throw ToolstackError.timedOut("guest didn't acknowledge suspend, cancelling request")
                }
                // The guest answered at the last moment.
            }
            PhaseTrace.mark("suspend: acknowledged")
        } catch let e as ToolstackError {
            throw e
        } catch let e as StoreError {
            throw .store(e)
        } catch {
            throw .system("\(error)")
        }
        let deadline = SystemClock.monotonicNanoseconds() + UInt64(suspendTimeouts.suspendMs) * 1_000_000
        while true {
            let info: DomainInfo?
            do { info = try hypervisor.domainInfo(domid: domid) } catch { throw .hypervisor(error) }
            guard let info, !info.dying else {
                throw .invalid("guest we were suspending has been destroyed")
            }
            if info.shutdown {
                guard info.shutdownReason == .suspend else {
                    throw .invalid("guest we were suspending has shut down with unexpected reason code \(info.shutdownReason?.rawValue ?? 0)")
                }
                PhaseTrace.mark("suspend: shut down for suspend")
                return
            }
            if SystemClock.monotonicNanoseconds() >= deadline { throw .timedOut("guest did not suspend, timed out") }
            usleep(5_000)
        }
    }

    /// Lets a guest run on after a save that failed or was asked to keep
    /// it, as `libxl_domain_resume(suspend_cancel=1)`: the hypervisor
    /// cancels the suspend, xenstored is told. A guest that never
    /// suspended (its request was refused or cancelled) is left as it is.
    public func resumeAfterSave(domid: UInt32) throws(ToolstackError) {
        let info: DomainInfo?
        do { info = try hypervisor.domainInfo(domid: domid) } catch { throw .hypervisor(error) }
        guard let info else { throw .noSuchDomain("\(domid)") }
        guard info.shutdown, info.shutdownReason == .suspend else { return }
        do { try hypervisor.resumeAfterSave(domid: domid) } catch { throw .hypervisor(error) }
        do { try store.resume(domid: domid) } catch { throw .store(error) }
    }

    // MARK: restore

    /// What a save stream's container said, read up to its image.
    public struct IncomingStream {
        public var header: XLSaveHeader
        /// The config the stream carries (libxl JSON or xl.cfg text), if any.
        public var configText: String?
        public var configIsJSON: Bool { header.mandatoryFlags.contains(.json) }
    }

    /// Reads xl's header and its config from `reader` (nothing beyond).
    public static func readStreamHeader(_ reader: any ExactReader) throws(ToolstackError) -> IncomingStream {
        do {
            let header = try XLSaveHeader.read(from: reader)
            return IncomingStream(header: header, configText: try header.configText())
        } catch { throw .invalid(error.message) }
    }

    /// Restores a domain from the rest of a stream whose xl header was read:
    /// libxl's header, the context record (refused by name when it is
    /// the other kind of host's image), the image, END; then everything
    /// create does after a build (xenstore with the restored ring pages,
    /// INTRODUCE, the console, the devices with their devids, the record),
    /// and unpause unless `paused`. All or nothing, as create. `progress`
    /// gets the pages restored so far; nil when nothing shows them (then
    /// the host spends nothing on reporting them).
    public func restore(_ config: DomainConfiguration, from reader: DescriptorReader, paused: Bool,
                        progress: ((UInt64, UInt64) -> Void)?) throws(ToolstackError) -> UInt32 {
        let format = hypervisor.imageFormat
        do {
            try LibxlStream.readHeader(from: reader)
        } catch { throw .invalid(error.message) }
        let context: LibxlRecord
        do {
            context = try LibxlStream.readRecord(from: reader)
        } catch { throw .invalid(error.message) }
        switch context.type {
        case format.contextRecord:
            break
        case .libxcContext, .swxlSimulatedContext:
            let other: ImageFormat = context.type == .libxcContext ? .libxc : .simulated
            throw .invalid("\(reader.source) holds an image saved on \(other.hostDescription); "
                           + "this host (\(format.hostDescription)) cannot restore it")
        default:
            throw .invalid("\(reader.source): expected the \(format.contextRecord.name) record, found \(context.type.name)")
        }
        guard context.body.isEmpty else { throw .invalid("\(context.type.name) record with a body") }
        let resolved = try config.resolved()
        let spec = RestoreSpec(type: resolved.type, memoryKiB: resolved.memoryMiB << 10)
        return try create(resolved, paused: paused, image: { [self] (domid: UInt32) throws(HypervisorError) -> BuildResult in
            let built = try hypervisor.restoreImage(domid: domid, from: reader.fd, spec: spec, progress: progress)
            // libxl's END follows the image; nothing else may.
            do {
                let end = try LibxlStream.readRecord(from: reader)
                guard end.type == .end else {
                    throw SaveFormatError(.invalid, "unexpected \(end.type.name) record after the image")
                }
            } catch let e as SaveFormatError {
                throw HypervisorError("restore domain", errno: EPROTO, e.message)
            } catch {
                throw HypervisorError("restore domain", errno: EPROTO, "\(error)")
            }
            return built
        }, waitForConsole: true)
    }
}
