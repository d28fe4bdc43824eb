import Glibc
import Testing
import Toolstack
@testable import XenHost

/// What a save or restore on real Xen does to the process around libxc's
/// blocking calls (SaveStreamIO); needs no Xen.
// Serialized: two of these tests install and restore the process's
// SIGINT/SIGTERM/SIGHUP handlers; side by side, one restored the default
// action while the other raised SIGINT, and the test process died (CI run
// on 3f3433b).
@Suite(.serialized) struct SaveStreamIOTests {
    static func pipePair() throws -> (read: Int32, write: Int32) {
        // Close-on-exec: a process another test spawns meanwhile must not
        // keep a copy of the read end (a write to the "closed" pipe then
        // succeeded instead of failing with EPIPE, seen in a full run).
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }

    static func isNonBlocking(_ fd: Int32) -> Bool { fcntl(fd, F_GETFL) & O_NONBLOCK != 0 }

    @Test func aNonBlockingDescriptorIsBlockingForTheCallAndPutBackAfter() throws {
        let (r, w) = try Self.pipePair()
        defer { close(r); close(w) }
        #expect(fcntl(w, F_SETFL, fcntl(w, F_GETFL) | O_NONBLOCK) == 0)
        let before = fcntl(w, F_GETFL)
        let inside = try SaveStreamIO.withBlocking(w, "save domain") { () throws(HypervisorError) -> Bool in
            Self.isNonBlocking(w)
        }
        #expect(inside == false)
        #expect(fcntl(w, F_GETFL) == before)
        #expect(Self.isNonBlocking(w))
    }

    @Test func aBlockingDescriptorIsLeftAsItIs() throws {
        let (r, w) = try Self.pipePair()
        defer { close(r); close(w) }
        let before = fcntl(r, F_GETFL)
        let inside = try SaveStreamIO.withBlocking(r, "restore domain") { () throws(HypervisorError) -> Int32 in
            fcntl(r, F_GETFL)
        }
        #expect(inside == before)
        #expect(fcntl(r, F_GETFL) == before)
    }

    /// (-1, not a closed descriptor: another test may reuse its number.)
    @Test func aBadDescriptorIsAnErrorAndTheBodyDoesNotRun() throws {
        let w: Int32 = -1
        var ran = false
        #expect(throws: HypervisorError("save domain", errno: EBADF,
                                        "the stream's descriptor \(w): \(String(cString: strerror(EBADF)))")) {
            try SaveStreamIO.withBlocking(w, "save domain") { () throws(HypervisorError) in ran = true }
        }
        #expect(!ran)
    }

    /// A reader that went away: the write fails with EPIPE instead of the
    /// signal killing the process; afterwards SIGPIPE is handled as before.
    @Test func aWriteToAClosedPipeFailsWithEPIPEAndTheDispositionComesBack() throws {
        var before = sigaction()
        #expect(sigaction(SIGPIPE, nil, &before) == 0)
        let (r, w) = try Self.pipePair()
        close(r)
        defer { close(w) }
        let (written, error) = SaveStreamIO.withSIGPIPEIgnored { () -> (Int, Int32) in
            var byte: UInt8 = 1
            let n = write(w, &byte, 1)
            return (n, errno)
        }
        #expect(written == -1)
        #expect(error == EPIPE)
        var after = sigaction()
        #expect(sigaction(SIGPIPE, nil, &after) == 0)
        #expect(unsafeBitCast(after.__sigaction_handler.sa_handler, to: Int.self)
                == unsafeBitCast(before.__sigaction_handler.sa_handler, to: Int.self))
    }
}

extension SaveStreamIOTests {
    /// A Ctrl-C while libxc writes: the stream's descriptor becomes a
    /// read-only /dev/null, so the next write fails (EBADF) and the save
    /// fails cleanly; the signal is reported and the handler put back.
    @Test func aSignalEndsTheStreamNotTheProcess() throws {
        var before = sigaction()
        #expect(sigaction(SIGINT, nil, &before) == 0)
        let (r, w) = try Self.pipePair()
        defer { close(r); close(w) }
        let ((firstWrite, secondWrite, secondErrno), signal) = SaveStreamIO.withInterruptsEndingStream(w) {
            () -> (Int, Int, Int32) in
            var byte: UInt8 = 7
            let first = write(w, &byte, 1)
            // (the test runner's threads may block it: a terminal's SIGINT
            // goes to whichever thread does not)
            var set = sigset_t(), old = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGINT)
            pthread_sigmask(SIG_UNBLOCK, &set, &old)
            raise(SIGINT)
            pthread_sigmask(SIG_SETMASK, &old, nil)
            let second = write(w, &byte, 1)
            return (first, second, errno)
        }
        #expect(firstWrite == 1)
        #expect(secondWrite == -1)
        #expect(secondErrno == EBADF)
        #expect(signal == SIGINT)
        var after = sigaction()
        #expect(sigaction(SIGINT, nil, &after) == 0)
        #expect(unsafeBitCast(after.__sigaction_handler.sa_handler, to: Int.self)
                == unsafeBitCast(before.__sigaction_handler.sa_handler, to: Int.self))
    }

    @Test func withoutASignalNothingChanges() throws {
        let (r, w) = try Self.pipePair()
        defer { close(r); close(w) }
        let (written, signal) = SaveStreamIO.withInterruptsEndingStream(w) { () -> Int in
            var byte: UInt8 = 7
            return write(w, &byte, 1)
        }
        #expect(written == 1)
        #expect(signal == 0)
        var byte: UInt8 = 0
        #expect(read(r, &byte, 1) == 1)
        #expect(byte == 7)
    }
}
