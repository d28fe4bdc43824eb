import DomainConfig
import Foundation
import SaveFormat
import Testing
@testable import Toolstack

/// Restore's refusals before any image is read, on either kind of host:
/// a stream made on the other kind is refused by name and nothing is left.
@Suite struct ToolstackRestoreTests {
    /// A stream up to its image: libxl's header and the context record of `format`.
    func stream(_ format: ImageFormat, extra: [UInt8] = []) throws -> (reader: DescriptorReader, close: () -> Void) {
        let bytes = LibxlStream.header() + LibxlStream.encode(LibxlRecord(type: format.contextRecord)) + extra
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        _ = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        return (DescriptorReader(fd: fds[0], source: "f.save"), { close(fds[0]) })
    }

    @Test(arguments: [(ImageFormat.libxc, ImageFormat.simulated), (.simulated, .libxc)])
    func aStreamOfTheOtherHostIsRefusedByName(host: ImageFormat, saved: ImageFormat) throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        rig.sim.imageFormat = host
        let (reader, done) = try stream(saved)
        defer { done() }
        let before = rig.store.nodes.keys.sorted()
        do {
            _ = try rig.toolstack.restore(rig.config("moved"), from: reader, paused: false, progress: { _, _ in })
            Issue.record("restored a \(saved) stream on a \(host) host")
        } catch {
            #expect(error == .invalid("f.save holds an image saved on \(saved.hostDescription); "
                                      + "this host (\(host.hostDescription)) cannot restore it"))
        }
        #expect(rig.leftovers() == [])
        #expect(rig.store.nodes.keys.sorted() == before)
    }

    @Test func aStreamThatIsNotLibxlsIsRefused() throws {
        let rig = try Rig()
        defer { rig.cleanup() }
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        let junk = Array("LibxlFmX\0\0\0\u{2}\0\0\0\0".utf8)
        _ = junk.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        defer { close(fds[0]) }
        #expect(throws: ToolstackError.invalid("Invalid ident: expected 0x4c6962786c466d74, got 0x4c6962786c466d58")) {
            _ = try rig.toolstack.restore(rig.config("x"), from: DescriptorReader(fd: fds[0], source: "s"), paused: false,
                                          progress: { _, _ in })
        }
        #expect(rig.leftovers() == [])
    }
}
