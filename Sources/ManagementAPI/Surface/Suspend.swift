#if canImport(Glibc)
import Glibc
#endif
import DomainConfig
import SaveFormat
import SwxlSystem
import Toolstack

/// VM.suspend and VM.resume: `swxl save` and `swxl restore` of a defined
/// VM, its image kept in the state dir (`<state>/xapi/suspended/<uuid>`)
/// while it is Suspended. A VM that is not defined cannot be suspended:
/// with its domain gone, nothing would be left to resume.
extension XenAPISurface {
    var suspendDirectory: String { host.paths.stateDir + "/xapi/suspended" }
    func suspendImage(_ uuid: String) -> String { suspendDirectory + "/" + uuid }

    func registerSuspend() {
        register("VM.suspend", ["vm"], changes: true) { [self] call throws(XenAPIError) in
            let view = try vm(call, in: ["Running", "Paused"])
            guard view.managed else {
                throw .notAllowed("VM \(view.name) is not defined (swxl new): once suspended there would be nothing to resume")
            }
            try suspend(view)
            return .str("")
        }
        register("VM.resume", ["vm", "start_paused", "force"], alsoTaking: [2], changes: true) { [self] call throws(XenAPIError) in
            let view = try vm(call, in: ["Suspended"])
            try resume(view, paused: try call.args.bool(1, "start_paused"))
            return .str("")
        }
    }

    /// Saves the domain to its image and destroys it; on any failure the
    /// guest runs on and no image is left. Lock held.
    private func suspend(_ view: VMView) throws(XenAPIError) {
        let domid = view.domid!
        let json = try toolstackCall { () throws(ToolstackError) in
            try toolstack.savedConfigJSON(domid: domid, override: nil, preserveDomid: false)
        }
        do { try FileIO.makeDirectories(suspendDirectory, mode: 0o700) } catch {
            throw .internalError("\(suspendDirectory): \(error)")
        }
        let path = suspendImage(view.uuid), partial = path + ".partial"
        let fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .internalError("\(partial): \(String(cString: strerror(errno)))") }
        func undo(_ why: String) -> XenAPIError {
            unlink(partial)
            try? toolstack.resumeAfterSave(domid: domid)
            return .internalError(why)
        }
        do {
            try toolstack.writeSaveStream(domid: domid, to: fd, destination: partial, configJSON: json,
                                          options: SaveStreamOptions(), note: { _ in }, progress: { _, _ in })
        } catch {
            close(fd)
            throw undo(error.error.description)
        }
        guard close(fd) == 0 else { throw undo("\(partial): \(String(cString: strerror(errno)))") }
        guard rename(partial, path) == 0 else { throw undo("\(path): \(String(cString: strerror(errno)))") }
        do { try toolstack.destroy(domid: domid) } catch {
            unlink(path)
            try? toolstack.resumeAfterSave(domid: domid)
            throw .toolstack(error)
        }
    }

    /// Restores the domain from its image (the config saved with it) and
    /// removes the image; on failure the image stays, Suspended. Lock held.
    private func resume(_ view: VMView, paused: Bool) throws(XenAPIError) {
        let path = suspendImage(view.uuid)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .internalError("\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let reader = DescriptorReader(fd: fd, source: path)
        let incoming = try toolstackCall { () throws(ToolstackError) in try Toolstack.readStreamHeader(reader) }
        var config = view.config!
        if let text = incoming.configText, incoming.configIsJSON,
           let saved = DomainConfiguration.fromLibxlJSON(text).configuration, saved.uuid == config.uuid {
            config = saved
        }
        try checkKeys(config)
        _ = try toolstackCall { () throws(ToolstackError) in
            try toolstack.restore(config, from: reader, paused: paused, progress: nil)
        }
        unlink(path)
        host.ensureWatcher()
    }

    /// Forgets a suspended VM's image (hard_shutdown of a Suspended VM).
    func discardSuspendImage(_ view: VMView) {
        unlink(suspendImage(view.uuid))
    }
}
