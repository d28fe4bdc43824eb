import Synchronization
import Foundation
import Testing
@testable import Toolstack

/// Host selection: real Xen on a dom0, else the embedded host.
@Suite struct HostKindTests {
    /// A temporary directory, removed by the caller's `defer`.
    static func tempDir() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("swxl-xenhost-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func capabilities(_ text: String?, in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("capabilities").path
        if let text { try text.write(toFile: path, atomically: true, encoding: .utf8) }
        return path
    }

    @Test func controlDomainMeansXen() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let caps = try Self.capabilities("control_d\n", in: dir)
        #expect(try HostKind.detect(environment: [:], capabilitiesFile: caps) == .xen)
    }

    @Test func otherDomainsAndNoXenMeanEmbedded() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let domU = try Self.capabilities("\n", in: dir)
        #expect(try HostKind.detect(environment: [:], capabilitiesFile: domU) == .embedded)
        let missing = dir.appendingPathComponent("none").path
        #expect(try HostKind.detect(environment: [:], capabilitiesFile: missing) == .embedded)
        // A word that merely contains control_d is not it.
        let other = try Self.capabilities("not_control_d_really", in: dir)
        #expect(try HostKind.detect(environment: [:], capabilitiesFile: other) == .embedded)
    }

    @Test func environmentForcesEitherHost() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let dom0 = try Self.capabilities("control_d", in: dir)
        #expect(try HostKind.detect(environment: ["SWXL_HOST": "embedded"], capabilitiesFile: dom0) == .embedded)
        let none = dir.appendingPathComponent("none").path
        #expect(try HostKind.detect(environment: ["SWXL_HOST": "xen"], capabilitiesFile: none) == .xen)
        // Empty means unset.
        #expect(try HostKind.detect(environment: ["SWXL_HOST": ""], capabilitiesFile: dom0) == .xen)
    }

    @Test func flagWinsOverEnvironment() throws {
        #expect(try HostKind.detect(forced: "xen", environment: ["SWXL_HOST": "embedded"],
                                    capabilitiesFile: "/nonexistent") == .xen)
        #expect(try HostKind.detect(forced: "embedded", environment: ["SWXL_HOST": "xen"],
                                    capabilitiesFile: "/nonexistent") == .embedded)
    }

    @Test func unknownNamesAreErrors() {
        #expect(throws: HostKindError(source: "--host", value: "kvm")) {
            try HostKind.detect(forced: "kvm", environment: [:], capabilitiesFile: "/nonexistent")
        }
        #expect(throws: HostKindError(source: "SWXL_HOST", value: "Xen")) {
            try HostKind.detect(environment: ["SWXL_HOST": "Xen"], capabilitiesFile: "/nonexistent")
        }
        #expect(HostKindError(source: "SWXL_HOST", value: "Xen").description
                == "SWXL_HOST: unknown host 'Xen' (expected xen or embedded)")
    }
}
