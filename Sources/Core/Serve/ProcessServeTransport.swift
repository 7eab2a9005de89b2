/// The serve protocol over a local child process, `nix-store --serve --write` by default.
///
/// The same transport runs any command that speaks the protocol on its stdin and
/// stdout (a store root through `--store`, or the system `ssh` binary running the
/// remote `nix-store`).
public final class ProcessServeTransport: ServeTransport {
    public let peer: String
    private let process: ChildProcess
    private let onClose: @Sendable () -> Void

    /// Runs `command` (default: `nix-store --serve --write`); `onClose` removes what the
    /// command needed while it ran (a known_hosts file of its own). It runs on every
    /// `close`, which a failing connection may get more than once.
    public init(command: [String], peer: String, environment: [String: String] = [:],
                ioTimeout: Duration? = nil, onClose: @escaping @Sendable () -> Void = {}) throws {
        self.peer = peer
        self.onClose = onClose
        // A group of its own: Ctrl-C at a terminal reaches Ferry alone, which then ends the
        // copy in order, and ending the child ends what it started (ssh's ProxyJump).
        process = try ChildProcess(arguments: command, environment: environment, ioTimeout: ioTimeout,
                                   ownProcessGroup: true)
    }

    /// `nix-store --serve --write`, for the local store or the store at `root`.
    public static func localStore(root: String? = nil, program: String = "nix-store",
                                  ioTimeout: Duration? = nil) throws -> ProcessServeTransport {
        var command = [program, "--serve", "--write"]
        if let root { command += ["--store", root] }
        return try ProcessServeTransport(command: command, peer: root.map { "store \($0)" } ?? "local store",
                                         ioTimeout: ioTimeout)
    }

    public var peerDiagnostics: String { process.stderr }

    public func read(maxLength: Int) async throws -> [UInt8] {
        try await process.output.read(maxLength: maxLength)
    }

    public func write(_ bytes: ArraySlice<UInt8>) async throws {
        try await process.input.write(bytes)
    }

    /// End-of-file first, as Nix closes its serve connections; a peer that does not exit
    /// within two seconds (stopped, or an ssh whose remote is gone or silent) is
    /// terminated, and at once when the task is cancelled: a stop does not wait. Its
    /// output is closed too, so one still sending a NAR nobody reads (a stopped copy)
    /// fails its write and ends at once.
    public func close() async {
        process.output.close()
        await process.terminate(grace: Task.isCancelled ? .zero : .seconds(2))
        onClose()
    }

    /// The child's process id, for tests that stop or kill the peer.
    public var processID: Int32 { process.pid }
}
