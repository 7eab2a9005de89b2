import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// glibc's (2.34+) `posix_spawn_file_actions_addclosefrom_np`, which Swift's Glibc module
/// does not export (it is a GNU extension).
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func spawnActionsAddCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

/// A child process whose stdin and stdout are async byte streams and whose stderr is
/// drained continuously into a bounded tail (so the child never blocks on a full pipe,
/// and errors can quote what it said last).
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let command: String
    /// The child's standard input; `closeInput()` sends end-of-file.
    public let input: FileDescriptorStream
    /// The child's standard output.
    public let output: FileDescriptorStream
    private let stderrTail: Mutex<TailBuffer>
    private let stderrDone = DispatchSemaphore(value: 0)
    /// The raw wait status, and when it was known; set once stderr is drained.
    private let ended = Mutex<(status: Int32, at: ContinuousClock.Instant)?>(nil)
    /// Set as soon as `waitpid` has freed the child's id, before its stderr is drained.
    private let reaped = Atomic<Bool>(false)
    /// The child leads a process group of its own, and signals go to the whole group.
    private let ownsGroup: Bool

    /// Starts `arguments[0]` (looked up in `PATH`) with the rest as its arguments.
    /// The child inherits the environment, plus `environment`. With `ownProcessGroup`
    /// it leads a group of its own, and `kill` reaches everything it started too (a
    /// `sh -c` pipeline's commands), even after the child itself has exited.
    public init(arguments: [String], environment: [String: String] = [:],
                ioTimeout: Duration? = nil, stderrLimit: Int = 16 * 1024, ownProcessGroup: Bool = false) throws {
        precondition(!arguments.isEmpty, "a command needs a program")
        ChildProcess.ignoreSigpipe
        command = arguments.joined(separator: " ")
        ownsGroup = ownProcessGroup
        let stdinPipe = try ChildProcess.pipe(), stdoutPipe = try ChildProcess.pipe(), stderrPipe = try ChildProcess.pipe()
        #if os(Linux)
        // F_SETPIPE_SZ (a GNU extension Glibc's module does not export): a 1 MiB pipe
        // lets the child run ahead while Ferry hashes and compresses.
        _ = fcntl(stdoutPipe.read, 1031, 1 << 20)
        #endif
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe.read, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe.write, 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe.write, 2)
        // Nothing else crosses into the child. Descriptors are marked close-on-exec only after
        // they are made, so a child spawned by another thread in between would inherit them:
        // one holding the write end of another child's stdout keeps that pipe from ever ending.
        guard spawnActionsAddCloseFrom(&actions, 3) == 0 else { throw SystemError("posix_spawn_file_actions_addclosefrom_np", arguments[0]) }

        // The child starts with no signal blocked and SIGPIPE at its default, whatever this
        // thread blocks or this process ignores: otherwise it could not be told to stop.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), defaults = sigset_t()
        sigemptyset(&noSignals)
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if ownProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        var env = ChildProcess.currentEnvironment()
        for (key, value) in environment { env[key] = value }
        let envStrings = env.map { "\($0.key)=\($0.value)" }
        var spawned: pid_t = 0
        let status = ChildProcess.withCStrings(arguments) { argv in
            ChildProcess.withCStrings(envStrings) { envp in
                posix_spawnp(&spawned, arguments[0], &actions, &attributes, argv, envp)
            }
        }
        for fd in [stdinPipe.read, stdoutPipe.write, stderrPipe.write] { _ = Glibc.close(fd) }
        guard status == 0 else {
            for fd in [stdinPipe.write, stdoutPipe.read, stderrPipe.read] { _ = Glibc.close(fd) }
            throw SystemError("spawn", arguments[0], errno: status)
        }
        pid = spawned
        input = FileDescriptorStream(fd: stdinPipe.write, name: "stdin of \(arguments[0])", ioTimeout: ioTimeout)
        output = FileDescriptorStream(fd: stdoutPipe.read, name: "stdout of \(arguments[0])", ioTimeout: ioTimeout)
        stderrTail = Mutex(TailBuffer(limit: stderrLimit))
        drainStderr(fd: stderrPipe.read)
        reap()
    }

    /// What the child wrote to stderr, its last `stderrLimit` bytes.
    public var stderr: String {
        stderrTail.withLock { String(decoding: $0.bytes, as: UTF8.self) }
    }

    /// A raw wait status, in words: "exited with status N" or "was killed by signal N".
    public static func describe(waitStatus status: Int32) -> String {
        status & 0x7f == 0 ? "exited with status \(status >> 8)" : "was killed by signal \(status & 0x7f)"
    }

    /// Sends end-of-file to the child's stdin, once a write in progress has ended.
    public func closeInput() { input.close() }

    /// True once the child has exited and its stderr is closed (or was waited for as long
    /// as `reap` waits).
    public var hasExited: Bool { ended.withLock { $0 != nil } }

    /// When the child was reaped, its stderr drained. Unlike the time `wait` returns, it does
    /// not depend on when Swift's busy threads run the waiting task again.
    public var exitedAt: ContinuousClock.Instant? { ended.withLock { $0?.at } }

    /// Sends `signal` to the child, or to its whole group when it leads one. A child's own
    /// id goes no further once it is reaped, since another process may then take it; a
    /// group's goes on until its stderr is closed, as a member may still hold that (a
    /// group's id stays reserved while any member lives).
    public func kill(_ signal: Int32 = SIGTERM) {
        guard !hasExited else { return }
        if ownsGroup {
            _ = Glibc.kill(-pid, signal)
        } else if !reaped.load(ordering: .acquiring) {
            _ = Glibc.kill(pid, signal)
        }
    }

    /// Waits for the child to exit and for its stderr to be drained; returns the raw wait status.
    @discardableResult
    public func wait() async -> Int32 {
        while true {
            if let status = await wait(within: .seconds(3600)) { return status }
        }
    }

    /// Waits at most `limit` for the child to exit; nil if it is still running.
    public func wait(within limit: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + limit
        while true {
            if let status = ended.withLock({ $0?.status }) {
                input.close()
                output.close()
                return status
            }
            if ContinuousClock.now >= deadline { return nil }
            await ChildProcess.pause()
        }
    }

    /// 20 ms that a cancelled task sits out too (its own `Task.sleep` would end at once, and
    /// `wait` would spin): a stop ends children with `terminate`, in cancelled tasks.
    private static func pause() async {
        await Task { try? await Task.sleep(for: .milliseconds(20)) }.value
    }

    /// Ends the child: end-of-file on its stdin, then SIGTERM after `grace`, then SIGKILL.
    /// Returns once it has exited; it never waits on a child that does not react.
    @discardableResult
    public func terminate(grace: Duration = .seconds(5)) async -> Int32 {
        closeInput()
        if let status = await wait(within: grace) { return status }
        kill(SIGTERM)
        if let status = await wait(within: .seconds(1)) { return status }
        kill(SIGKILL)
        return await wait()
    }

    /// Reaps the child on a thread of its own as soon as it exits (and its stderr is drained).
    /// Its stderr is waited for while its group lives (when it leads one): `kill` reaches
    /// those members. What holds it outside the group (a daemon that left it, or anything a
    /// child without a group of its own started) no signal of Ferry's reaches, so that is
    /// waited for two seconds at most.
    private func reap() {
        DispatchQueue(label: "ferry.wait.\(pid)").async { [self] in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && currentErrno() == EINTR {}
            reaped.store(true, ordering: .releasing)
            // The semaphore is signalled once: a wait that took it leaves nothing to wait for.
            var drained = false
            while ownsGroup, !drained {
                drained = stderrDone.wait(timeout: .now() + .seconds(1)) == .success
                if !drained && Glibc.kill(-pid, 0) != 0 && currentErrno() == ESRCH { break }
            }
            if !drained { _ = stderrDone.wait(timeout: .now() + .seconds(2)) }
            ended.withLock { $0 = (status, .now) }
        }
    }

    private func drainStderr(fd: Int32) {
        let thread = DispatchQueue(label: "ferry.stderr.\(pid)")
        thread.async { [self] in
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
                if n < 0 && currentErrno() == EINTR { continue }
                if n <= 0 { break }
                self.stderrTail.withLock { $0.append(chunk[0..<n]) }
            }
            _ = Glibc.close(fd)
            self.stderrDone.signal()
        }
    }

    private static let ignoreSigpipe: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    private static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard Glibc.pipe(&fds) == 0 else { throw SystemError("pipe", "child process") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }

    private static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let string = String(cString: entry)
            if let equals = string.firstIndex(of: "=") {
                result[String(string[..<equals])] = String(string[string.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
