#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSwxlSystem

/// Starting another program the way swxl starts its daemons, the simulated
/// guests' host and guest scripts: one place for the details that matter
/// when the child may outlive us.
///
/// The child gets a clean slate:
/// - stdin on /dev/null (or a terminal), stdout and stderr where ``Output`` says;
/// - no other descriptor of ours: a daemon holding a caller's pipe (or the
///   socket Foundation's `Process` watches) would keep that caller waiting
///   for as long as the daemon lives. The child closes them itself
///   (a closefrom file action), so a descriptor that another thread opens
///   while we spawn cannot slip through, as it could between listing
///   /proc/self/fd and spawning;
/// - no signal blocked or ignored: Dispatch's worker threads block nearly
///   all, and a daemon that inherited that mask would never see SIGTERM;
/// - our environment with the given changes.
public enum BackgroundProcess {
    /// Where the child's stdout and stderr go.
    public enum Output: Sendable, Equatable {
        /// /dev/null (stdin too).
        case discard
        /// Appended to this file, created if missing (stdin on /dev/null).
        case append(String)
        /// Our own stderr (stdin on /dev/null): where libxl sends a hotplug
        /// script's output, so that the person at the shell sees it.
        case standardError
        /// stdin, stdout and stderr all on this descriptor of ours: a
        /// pseudo-terminal's slave, for a program that talks to a console.
        case terminal(Int32)
        /// stdin from `input`, stdout to `output` (descriptors of ours, e.g.
        /// pipes), stderr ours: a transport such as xl migrate's `ssh`.
        case pipes(input: Int32, output: Int32)
    }

    /// Starts `executable` with `arguments` and returns its pid without
    /// waiting. In `newSession` (the default) it leaves our session and
    /// process group, so a terminal's Ctrl-C does not reach it, and it
    /// leads its own process group (`kill(-pid, ...)` reaches its children
    /// too). `environment` changes ours: a name set to nil is removed.
    /// The caller reaps the child (or leaves it to init when it exits first).
    public static func spawn(executable: String, arguments: [String] = [],
                             environment: [String: String?] = [:], output: Output = .discard,
                             newSession: Bool = true) throws(SystemError) -> pid_t {
        try launch(executable: executable, arguments: arguments, environment: environment,
                   output: output, stderr: nil, newSession: newSession)
    }

    /// Starts `executable` like ``spawn(executable:arguments:environment:output:newSession:)``
    /// with stdin and stdout on /dev/null and stderr into a pipe, and
    /// returns its pid and the pipe's read end (non-blocking, close-on-exec;
    /// the caller closes it). The child holds the only write end: the pipe
    /// reads end of file once the child and whatever it passed stderr to
    /// are gone, or have closed it. For a daemon whose start-up errors the
    /// caller reports.
    public static func spawnWithErrorPipe(executable: String, arguments: [String] = [],
                                          environment: [String: String?] = [:],
                                          newSession: Bool = true) throws(SystemError) -> (pid: pid_t, errors: Int32) {
        var ends: [Int32] = [-1, -1]
        guard swxl_pipe_cloexec(&ends) == 0 else { throw SystemError("pipe") }
        defer { close(ends[1]) }
        _ = fcntl(ends[0], F_SETFL, O_NONBLOCK)
        do throws(SystemError) {
            let pid = try launch(executable: executable, arguments: arguments, environment: environment,
                                 output: .discard, stderr: ends[1], newSession: newSession)
            return (pid, ends[0])
        } catch {
            close(ends[0])
            throw error
        }
    }

    /// Runs `executable` to its end in our session; its exit status
    /// (128 + the signal if one killed it, 127 if it could not start).
    @discardableResult
    public static func run(executable: String, arguments: [String] = [],
                           environment: [String: String?] = [:], output: Output = .discard) -> Int32 {
        guard let pid = try? spawn(executable: executable, arguments: arguments, environment: environment,
                                   output: output, newSession: false) else { return 127 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return 127 }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// The one posix_spawn set-up. `stderr` is a descriptor of ours for
    /// the child's stderr; nil sends it where `output` sends stdout.
    private static func launch(executable: String, arguments: [String], environment: [String: String?],
                               output: Output, stderr: Int32?, newSession: Bool) throws(SystemError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        switch output {
        case .discard:
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        case .append(let path):
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        case .standardError:
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, 2, 1)
        case .terminal(let fd):
            posix_spawn_file_actions_adddup2(&actions, fd, 0)
            posix_spawn_file_actions_adddup2(&actions, fd, 1)
        case .pipes(let input, let output):
            posix_spawn_file_actions_adddup2(&actions, input, 0)
            posix_spawn_file_actions_adddup2(&actions, output, 1)
        }
        // One open file for stdout and stderr, so appends keep their order
        // (with pipes, stderr stays ours: the pipes carry a protocol).
        if case .pipes = output {
            posix_spawn_file_actions_adddup2(&actions, stderr ?? 2, 2)
        } else {
            posix_spawn_file_actions_adddup2(&actions, stderr ?? 1, 2)
        }
        // Everything else is closed in the child, after the dups above.
        let rc = swxl_spawn_file_actions_addclosefrom(&actions, 3)
        guard rc == 0 else { throw SystemError("posix_spawn_file_actions_addclosefrom_np", errno: rc) }

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attr, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attr, &allSignals)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) | (newSession ? swxl_spawn_setsid : 0))

        var env = CurrentProcess.environmentEntries().filter {
            environment.index(forKey: String($0.prefix(while: { $0 != "=" }))) == nil
        }
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) {
            if let value { env.append("\(name)=\(value)") }
        }

        var cArgs = ([executable] + arguments).map { strdup($0) } + [nil]
        var cEnv = env.map { strdup($0) } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attr, &cArgs, &cEnv)
        guard spawned == 0 else { throw SystemError("posix_spawn \(executable)", errno: spawned) }
        return pid
    }
}
