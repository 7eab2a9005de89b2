import FerryCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Compression by any command that filters stdin to stdout, such as `["pigz", "-c"]`
/// or `["zstd", "-19", "-T0", "-c"]`; `compression` names what the narinfo records.
public struct ExecCodec: Codec {
    public let command: [String]
    public let compression: String
    /// What the command holds in memory; it runs outside Ferry, but the budget is the machine's.
    public let memory: Int

    public init(command: [String], compression: String, memory: Int) {
        self.command = command
        self.compression = compression
        self.memory = memory
    }

    public func compressorMemory(narSize: UInt64) -> Int { memory }

    public func makeCompressor(narSize: UInt64, writingTo output: any AsyncByteSink) throws -> any ByteFilter {
        try ExecFilter(command: command, output: output, expecting: CompressionMagic.byName[compression].map { (compression, $0) })
    }

    public static let plugin = Plugin<any Codec>(
        kind: .codec, name: "exec", summary: "any command that filters stdin to stdout",
        options: [
            PluginOption("command", "strings", "the command and its arguments, e.g. [\"pigz\", \"-c\"]"),
            PluginOption("compression", "string", "the Compression value narinfos record (xz, zstd, bzip2, br, …); the output must start as that format does (br has no mark to check)"),
            PluginOption("memory", "size", default: "64MiB", "what the command holds, counted against the budget"),
            PluginOption("level", "integer", "ignored: give the level in the command"),
            PluginOption("threads", "integer", "ignored: give threads in the command"),
        ]
    ) { settings, _ in
        guard var command = try settings.strings("command"), !command.isEmpty else {
            throw settings.error("command", "is missing: which command compresses?")
        }
        command[0] = settings.program(command[0])
        let compression = try settings.required("compression", "what does the narinfo record (xz, zstd, …)?")
        // A cache takes a `none` file to be the NAR itself (its FileHash is the NarHash).
        guard compression != NoneCodec().compression else {
            throw settings.error("compression", "is 'none', which says the file is the NAR as it is; use the none codec")
        }
        return ExecCodec(command: command, compression: compression, memory: try settings.size("memory") ?? 64 << 20)
    }
}

/// Feeds the command's stdin from `write` while a task pumps its stdout to the output,
/// checking that it starts as the compression it is said to be does.
final class ExecFilter: ByteFilter {
    private let process: ChildProcess
    private let pump: Task<Void, any Error>
    /// Set by the pump when the output is not what it should be; the command is then
    /// killed, and a write that fails for that says why.
    private let mismatch = Mismatch()

    private final class Mismatch: Sendable {
        let found = Mutex<CompressionMismatch?>(nil)
    }

    /// The output sink, used only by the pump task until `finish` has awaited it.
    private struct Output: @unchecked Sendable { let sink: any AsyncByteSink }

    init(command: [String], output: any AsyncByteSink, expecting magic: (compression: String, bytes: [UInt8])?) throws {
        // Its own process group: stopping it stops what a `sh -c` command started too.
        let process = try ChildProcess(arguments: command, ownProcessGroup: true)
        let out = Output(sink: output)
        self.process = process
        pump = Task { [mismatch] in
            var head: [UInt8] = []
            func check(_ bytes: [UInt8], ended: Bool) throws {
                guard let magic, head.count < magic.bytes.count else { return }
                head += bytes.prefix(magic.bytes.count - head.count)
                guard magic.bytes.starts(with: head), !ended || head.count == magic.bytes.count else {
                    let error = CompressionMismatch(compression: magic.compression, expected: magic.bytes, got: head)
                    mismatch.found.withLock { $0 = error }
                    process.kill(SIGKILL)
                    throw error
                }
            }
            while true {
                let bytes = try await process.output.read(maxLength: 256 * 1024)
                try check(bytes, ended: bytes.isEmpty)
                if bytes.isEmpty { return }
                try await out.sink.write(bytes)
            }
        }
    }

    func write(_ bytes: ArraySlice<UInt8>) async throws {
        do {
            try await process.input.write(bytes)
        } catch {
            throw failure(mismatch.found.withLock { $0 } ?? error)
        }
    }

    func finish() async throws {
        process.closeInput()
        do {
            // The pump is a task of its own: a stopped run must stop it too.
            try await withTaskCancellationHandler { try await pump.value } onCancel: { [pump] in pump.cancel() }
        } catch {
            process.kill()
            throw failure(error)
        }
        let status = await process.wait()
        guard status == 0 else { throw failure(because: "it \(ChildProcess.describe(waitStatus: status))") }
    }

    private func failure(because reason: String) -> ExecCodecError {
        ExecCodecError(command: process.command, reason: reason, stderr: process.stderr)
    }

    /// `error` as the command's failure, except a cancellation, which stays one.
    private func failure(_ error: any Error) -> any Error {
        error is CancellationError ? error : failure(because: "\(error)")
    }

    deinit {
        pump.cancel()
        process.kill(9)
    }
}

/// The compression command failed.
struct ExecCodecError: Error, CustomStringConvertible {
    let command: String
    let reason: String
    let stderr: String
    var description: String {
        "compression command '\(command)' failed: \(reason)" + (stderr.isEmpty ? "" : "; it said: \(stderr.trimmingWhitespace)")
    }
}
