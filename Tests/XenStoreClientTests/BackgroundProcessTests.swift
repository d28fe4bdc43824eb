import Foundation
import Glibc
import Testing
import XenStoreClient

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
        let pid: pid_t
        do {
            defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
            pid = try BackgroundProcess.spawn(
                executable: "/bin/sh",
                arguments: ["-c", """
                    grep '^SigBlk:' /proc/$$/status
                    echo "ignored: $(( 0x$(grep '^SigIgn:' /proc/$$/status | cut -f2) & 0x7fffffff ))"
                    echo fds:
                    ls /proc/$$/fd
                    echo "session leader: $(test "$(cut -d' ' -f6 /proc/$$/stat)" = $$ && echo yes || echo no)"
                    echo "env: ${SWXL_BP_SET-unset} ${SWXL_BP_GONE-unset}"
                    echo "stdin: $(readlink /proc/$$/fd/0)"
                    echo to-stderr >&2
                    """],
                environment: ["SWXL_BP_SET": "set", "SWXL_BP_GONE": nil],
                output: .append(out))
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        #expect(status == 0)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text == """
            SigBlk:\t0000000000000000
            ignored: 0
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
        #expect(throws: XenStoreError.system("posix_spawn /nonexistent/program", ENOENT)) {
            try BackgroundProcess.spawn(executable: "/nonexistent/program")
        }
    }
}
