import Foundation
import Glibc
import Synchronization
import Testing
import SwxlSystem

/// What a child started by `BackgroundProcess` gets: its own session, no
/// blocked or ignored signal, no descriptor of ours, the environment asked for.
@Suite struct BackgroundProcessTests {
    @Test func aSpawnedChildStartsWithACleanSlate() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/out"
        // What a test's thread may pass on: a blocked SIGTERM, and a
        // descriptor without close-on-exec. (Signals 32 and 33 are glibc's
        // own, not the child's to reset: only 1-31 count as ignored.)
        let stray = open("/dev/null", O_RDONLY)
        try #require(stray > 2)
        defer { close(stray) }
        var term = sigset_t()
        sigemptyset(&term)
        sigaddset(&term, SIGTERM)
        var saved = sigset_t()
        pthread_sigmask(SIG_BLOCK, &term, &saved)
        // The masks are read by the spawned process itself (grep of its own
        // /proc/self/status): a shell reading /proc/$$/status from a child
        // sees the shell's mask while it waits for that child, which dash
        // blocks then.
        let masks = dir + "/masks"
        let pids: [pid_t]
        do {
            defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
            pids = [
                try BackgroundProcess.spawn(executable: "/bin/grep", arguments: ["-E", "^Sig(Blk|Ign):", "/proc/self/status"],
                                            output: .append(masks)),
                try BackgroundProcess.spawn(
                    executable: "/bin/sh",
                    arguments: ["-c", """
                        echo fds:
                        ls /proc/$$/fd
                        echo "session leader: $(test "$(cut -d' ' -f6 /proc/$$/stat)" = $$ && echo yes || echo no)"
                        echo "env: ${SWXL_BP_SET-unset} ${SWXL_BP_GONE-unset}"
                        echo "stdin: $(readlink /proc/$$/fd/0)"
                        echo to-stderr >&2
                        """],
                    environment: ["SWXL_BP_SET": "set", "SWXL_BP_GONE": nil],
                    output: .append(out)),
            ]
        }
        for pid in pids {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            #expect(status == 0)
        }
        // Nothing blocked; nothing ignored among the signals 1-31 (32 and 33 are glibc's own).
        let maskLines = try String(contentsOfFile: masks, encoding: .utf8).split(separator: "\n")
        #expect(maskLines.count == 2)
        let blocked = maskLines.first { $0.hasPrefix("SigBlk:") }.flatMap { UInt64($0.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16) }
        let ignored = maskLines.first { $0.hasPrefix("SigIgn:") }.flatMap { UInt64($0.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16) }
        #expect(blocked == 0)
        #expect(ignored.map { $0 & 0x7fff_ffff } == 0)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text == """
            fds:
            0
            1
            2
            session leader: yes
            env: set unset
            stdin: /dev/null
            to-stderr

            """)
    }

    @Test func runWaitsAndGivesTheExitStatus() {
        #expect(BackgroundProcess.run(executable: "/bin/sh", arguments: ["-c", "exit 3"]) == 3)
        #expect(BackgroundProcess.run(executable: "/bin/sh", arguments: ["-c", "kill -9 $$"]) == 128 + 9)
        #expect(BackgroundProcess.run(executable: "/nonexistent/program") == 127)
    }

    @Test func aProgramThatCannotStartIsAnError() {
        #expect(throws: SystemError("posix_spawn /nonexistent/program", errno: ENOENT)) {
            try BackgroundProcess.spawn(executable: "/nonexistent/program")
        }
    }

    /// The error pipe carries the child's stderr (not its stdout), and
    /// reads end of file once the child exits: no other process holds
    /// its write end. The child sees only 0, 1 and 2. (Another test's
    /// spawn, cloned while the write end was still open here, holds a copy
    /// until its exec closes it; so an empty pipe is waited on, 10 s at
    /// most, rather than taken for a leak at once.)
    @Test func theErrorPipeCarriesStderrUntilTheChildExits() throws {
        let (pid, errors) = try BackgroundProcess.spawnWithErrorPipe(
            executable: "/bin/sh", arguments: ["-c", "echo out; exec 1>&2; ls /proc/$$/fd; true"])
        defer { close(errors) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        #expect(status == 0)
        #expect(fcntl(errors, F_GETFD) & FD_CLOEXEC != 0)
        #expect(fcntl(errors, F_GETFL) & O_NONBLOCK != 0)
        var text: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        var atEnd = false
        while !atEnd {
            let n = buffer.withUnsafeMutableBytes { read(errors, $0.baseAddress, $0.count) }
            if n < 0 && errno == EAGAIN {
                var p = pollfd(fd: errors, events: Int16(POLLIN), revents: 0)
                try #require(poll(&p, 1, 10_000) == 1, "no end of file: a write end is still open somewhere")
                continue
            }
            try #require(n >= 0, "read: errno \(errno)")
            if n == 0 { atEnd = true } else { text += buffer[..<n] }
        }
        #expect(String(decoding: text, as: UTF8.self) == "0\n1\n2\n")
    }

    /// Descriptors that other threads open (without close-on-exec) while
    /// we spawn never reach the child: it closes them itself.
    @Test func descriptorsOpenedMeanwhileDoNotLeak() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let stop = Atomic(false)
        let opener = Thread {
            while !stop.load(ordering: .relaxed) {
                let fd = open("/dev/null", O_RDONLY)
                if fd >= 0 { close(fd) }
            }
        }
        opener.start()
        defer { stop.store(true, ordering: .relaxed) }
        for round in 0..<20 {
            let out = dir + "/fds\(round)"
            let pid = try BackgroundProcess.spawn(executable: "/bin/sh", arguments: ["-c", "ls /proc/$$/fd; true"], output: .append(out))
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            #expect(try String(contentsOfFile: out, encoding: .utf8) == "0\n1\n2\n")
        }
    }
}
