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
        try ExecFilter(command: command, output: output, expecting: CompressionMagic(compression: compression))
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
    /// Returns the first bytes of the output, as many as the magic has (or fewer, if the
    /// output was shorter).
    private let pump: Task<[UInt8], any Error>
    /// Why the pump stopped early: output that is not the compression, or a sink that
    /// failed. The command is then killed (nobody reads its output any more, and it would
    /// block, and with it every write), and a write that fails for that says why.
    private let pumpFailure = PumpFailure()

    private final class PumpFailure: Sendable {
        let error = Mutex<(any Error)?>(nil)
    }

    /// The output sink, used only by the pump task until `finish` or `abandon` has awaited it.
    private struct Output: @unchecked Sendable { let sink: any AsyncByteSink }

    private let magic: CompressionMagic?

    init(command: [String], output: any AsyncByteSink, expecting magic: CompressionMagic?) throws {
        // Its own process group: stopping it stops what a `sh -c` command started too.
        let process = try ChildProcess(arguments: command, ownProcessGroup: true)
        let out = Output(sink: output)
        self.process = process
        self.magic = magic
        pump = Task { [pumpFailure] in
            var head: [UInt8] = []
            do {
                while true {
                    let bytes = try await process.output.read(maxLength: 256 * 1024)
                    if bytes.isEmpty { return head }
                    if let magic, head.count < magic.length {
                        head += bytes.prefix(magic.length - head.count)
                        guard magic.mayStart(head) else { throw magic.mismatch(head) }
                    }
                    do { try await out.sink.write(bytes) } catch { throw SinkFailed(error: error) }
                }
            } catch {
                pumpFailure.error.withLock { $0 = error }
                process.kill(SIGKILL)
                throw error
            }
        }
    }

    func write(_ bytes: ArraySlice<UInt8>) async throws {
        do {
            try await process.input.write(bytes)
        } catch {
            throw failure(pumpFailure.error.withLock { $0 } ?? error)
        }
    }

    /// The command's exit comes first: one that failed is named as failing, whatever it
    /// wrote; one that succeeded must have written the whole of the magic.
    func finish() async throws {
        process.closeInput()
        let head: [UInt8]
        do {
            // The pump is a task of its own: a stopped run must stop it too.
            head = try await withTaskCancellationHandler { try await pump.value } onCancel: { [pump] in pump.cancel() }
        } catch {
            // The pump killed the command on its way out.
            throw failure(error)
        }
        let status = await process.wait()
        guard status == 0 else { throw failure(because: "it \(ChildProcess.describe(waitStatus: status))") }
        if let magic, !magic.isStart(of: head) { throw failure(magic.mismatch(head)) }
    }

    /// Stops the command and the pump before the writer is aborted: the pump may be in the
    /// middle of a write to it.
    func abandon() async {
        process.kill(SIGKILL)
        pump.cancel()
        _ = try? await pump.value
    }

    private func failure(because reason: String) -> ExecCodecError {
        ExecCodecError(command: process.command, reason: reason, stderr: process.stderr)
    }

    /// `error` as the command's failure, except a cancellation, which stays one, and the
    /// output's own, which is not the command's.
    private func failure(_ error: any Error) -> any Error {
        if let sink = error as? SinkFailed { return sink.error }
        return error is CancellationError ? error : failure(because: "\(error)")
    }

    /// The output sink's error, as the pump passes it on.
    private struct SinkFailed: Error {
        let error: any Error
    }

    deinit {
        pump.cancel()
        process.kill(SIGKILL)
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
