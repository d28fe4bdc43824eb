import Foundation
import Glibc
import SwxlSystem
import Testing

@Suite struct SystemErrorTests {
    /// EINTR is retried; any other failure is thrown with the errno of
    /// that failure, not whatever errno holds later.
    @Test func interruptedCallsAreRetriedAndOthersThrown() throws {
        var results: [Int32] = [-1, -1, 7]
        var codes: [Int32] = [EINTR, EINTR, 0]
        let result = try retryingOnInterrupt("call") { () -> Int32 in
            errno = codes.removeFirst()
            return results.removeFirst()
        }
        #expect(result == 7)
        #expect(results.isEmpty)
        results = [-1, -1]
        codes = [EINTR, ENOENT]
        #expect(throws: SystemError("open /x", errno: ENOENT)) {
            try retryingOnInterrupt("open /x") { () -> Int32 in
                errno = codes.removeFirst()
                return results.removeFirst()
            }
        }
        #expect(SystemError("open /x", errno: ENOENT).description == "open /x: No such file or directory")
    }
}

@Suite struct FileIOTests {
    @Test func filesAreWrittenAtomicallyAndReadBack() throws {
        let dir = try temporaryDirectory()
        defer { FileIO.removeTree(dir) }
        let text = String(repeating: "0123456789abcdef\n", count: 1000)  // more than one read
        try FileIO.writeAtomically(dir + "/f", text, mode: 0o600)
        #expect(FileIO.read(dir + "/f") == text)
        #expect(FileIO.list(dir) == ["f"])  // no temporary file left behind
        FileIO.append(dir + "/f", "more\n")
        #expect(FileIO.read(dir + "/f") == text + "more\n")
        #expect(FileIO.read(dir + "/missing") == nil)
        #expect(throws: SystemError("open \(dir)/no/f.tmp.\(getpid())", errno: ENOENT)) {
            try FileIO.writeAtomically(dir + "/no/f", "x")
        }
    }

    @Test func makeDirectoriesMakesEveryLevelAndNamesTheOneItCannot() throws {
        let dir = try temporaryDirectory()
        defer { FileIO.removeTree(dir) }
        try FileIO.makeDirectories(dir + "/a/b/c", mode: 0o700)
        try FileIO.makeDirectories(dir + "/a/b/c")  // already there: fine
        var st = stat()
        #expect(stat(dir + "/a/b/c", &st) == 0 && st.st_mode & 0o777 == 0o700)
        try FileIO.writeAtomically(dir + "/file", "")
        #expect(throws: SystemError("mkdir \(dir)/file/x", errno: ENOTDIR, path: dir + "/file/x")) {
            try FileIO.makeDirectories(dir + "/file/x/y")
        }
        FileIO.removeTree(dir + "/a")
        #expect(!FileIO.exists(dir + "/a"))
        #expect(FileIO.exists(dir + "/file"))
    }
}

@Suite struct LockFileTests {
    /// flock locks belong to an open file, so a second open in this
    /// process stands in for another process.
    @Test func oneHolderAtATimeAndItsPidIsRecorded() throws {
        let dir = try temporaryDirectory()
        defer { FileIO.removeTree(dir) }
        let path = dir + "/x.lock"
        #expect(!LockFile.isHeld(path))
        let lock = try #require(try LockFile.tryAcquire(path))
        try lock.recordPid()
        #expect(LockFile.isHeld(path))
        #expect(try LockFile.tryAcquire(path) == nil)
        #expect(LockFile.readPid(path) == getpid())
        lock.release()
        // The kernel drops the lock when no descriptor refers to the open
        // file any more. A child another test spawns at this moment holds a
        // copy of every descriptor until its exec (O_CLOEXEC acts only
        // then), which on a loaded machine can be a while: wait for that.
        var waited = 0
        while LockFile.isHeld(path), waited < 1000 {
            usleep(10_000)
            waited += 1
        }
        #expect(!LockFile.isHeld(path))
        let again = try LockFile.acquire(path)
        #expect(LockFile.isHeld(path))
        again.release()
        #expect(throws: SystemError("open \(dir)/no/x.lock", errno: ENOENT)) { try LockFile.acquire(dir + "/no/x.lock") }
    }
}

@Suite struct CurrentProcessTests {
    @Test func environmentIsTheProcessEnvironment() {
        setenv("SWXL_SYSTEM_TEST", "a=b", 1)
        defer { unsetenv("SWXL_SYSTEM_TEST") }
        let env = CurrentProcess.environment()
        #expect(env == ProcessInfo.processInfo.environment)
        #expect(env["SWXL_SYSTEM_TEST"] == "a=b")
    }

    @Test func executablePathIsThisProgram() throws {
        let path = CurrentProcess.executablePath()
        #expect(path == (try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")))
        #expect(path.hasPrefix("/"))
    }

    @Test func descriptorLimitIsRaisedToTheHardLimit() {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        let saved = limit
        // One below the hard limit, not far below: the limit is the whole
        // process's, and tests running meanwhile open descriptors (at 64,
        // a test server's accept failed with EMFILE and its client hung).
        limit.rlim_cur = limit.rlim_max - 1
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        CurrentProcess.raiseDescriptorLimit()
        var raised = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised)
        #expect(raised.rlim_cur == raised.rlim_max)
        var restore = saved
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &restore)
    }

    @Test func clocksMeanWhatTheySay() {
        let a = SystemClock.monotonicNanoseconds()
        let b = SystemClock.monotonicNanoseconds()
        #expect(b >= a)
        let wall = Double(SystemClock.realtimeNanoseconds()) / 1e9
        #expect(abs(wall - Date().timeIntervalSince1970) < 5)
    }
}

@Suite struct UnixSocketTests {
    @Test func connectsToAListenerAndRefusesTheRest() throws {
        let dir = try temporaryDirectory()
        defer { FileIO.removeTree(dir) }
        let path = dir + "/s"
        #expect(!UnixSocket.canConnect(path))
        #expect(throws: SystemError("connect \(path)", errno: ENOENT)) { try UnixSocket.connect(path) }
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        let address = try #require(UnixSocketAddress(path: path))
        #expect(address.withSockaddr { bind(listener, $0, $1) } == 0)
        #expect(listen(listener, 1) == 0)
        #expect(UnixSocket.canConnect(path))
        let long = "/" + String(repeating: "x", count: UnixSocketAddress.maxPathLength)
        #expect(UnixSocketAddress(path: long) == nil)
        #expect(UnixSocketAddress(path: String(long.dropLast())) != nil)
        #expect(throws: SystemError("connect \(long)", errno: ENAMETOOLONG)) { try UnixSocket.connect(long) }
    }
}

@Suite struct XenCapabilitiesTests {
    @Test func controlDomainIsReadFromCapabilities() throws {
        #expect(XenCapabilities.isControlDomain(capabilities: "control_d\n"))
        #expect(XenCapabilities.isControlDomain(capabilities: "a,control_d"))
        #expect(!XenCapabilities.isControlDomain(capabilities: "control_domain\n"))
        #expect(!XenCapabilities.isControlDomain(capabilities: ""))
        #expect(!XenCapabilities.isControlDomain(capabilities: nil))
        let dir = try temporaryDirectory()
        defer { FileIO.removeTree(dir) }
        try FileIO.writeAtomically(dir + "/caps", "control_d\n")
        #expect(XenCapabilities.isControlDomain(file: dir + "/caps"))
        #expect(!XenCapabilities.isControlDomain(file: dir + "/missing"))
    }
}
