import CBrotli
import FerryCore

/// Brotli: libbrotlidec reads caches Nix wrote with `compression=br` (`.nar.br`) and
/// narinfos an S3 cache serves with `Content-Encoding: br`; libbrotlienc writes the
/// narinfos and listings of an S3 cache with `narinfo-compression=br` or `ls-compression=br`
/// (Hydra's). NARs it does not write: brotli's best level, which Nix uses, takes
/// some 100 MiB and a second per half MB.
public struct BrotliCodec: DecodingOnlyCodec {
    public let compression = "br"
    /// The ring buffer of the largest window a standard stream has (16 MiB), and the
    /// decoder's tables; a large-window stream is refused (Nix never writes one).
    public var decompressorMemory: Int { 18 << 20 }
    public var compressesSmallFiles: Bool { true }

    public init() {}

    public func makeDecompressor(writingTo output: any AsyncByteSink) throws -> (any ByteFilter)? {
        TransformFilter(try BrotliDecompressor(), writingTo: output)
    }

    /// At Nix's settings, brotli's defaults: quality 11, a 4 MiB window. That takes about a
    /// second per half MB, so it runs on a thread of its own, not the tasks' pool.
    public func compress(smallFile bytes: [UInt8]) async throws -> [UInt8] {
        try await onOwnThread { () throws(BrotliError) -> [UInt8] in
            var output = [UInt8](repeating: 0, count: BrotliEncoderMaxCompressedSize(bytes.count))
            var size = output.count
            let done = bytes.withUnsafeBufferPointer { input in
                BrotliEncoderCompress(BROTLI_DEFAULT_QUALITY, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC,
                                      input.count, input.baseAddress, &size, &output)
            }
            guard done == BROTLI_TRUE else { throw BrotliError("cannot compress \(bytes.count) bytes") }
            return Array(output[..<size])
        }
    }

    public static let plugin = Plugin<any Codec>(
        kind: .codec, name: "br", summary: "brotli through libbrotli; reading caches, and writing S3 narinfos and listings", options: []
    ) { _, _ in BrotliCodec() }
}

/// libbrotlidec's streaming decoder. It may hold decoded bytes after it has taken the last
/// input, so `finish` drains it until the stream says it ended.
final class BrotliDecompressor: StreamTransform {
    private let state: OpaquePointer
    private var ended = false

    init() throws {
        guard let state = BrotliDecoderCreateInstance(nil, nil, nil) else { throw BrotliError("cannot make a decoder") }
        self.state = state
    }

    deinit { BrotliDecoderDestroyInstance(state) }

    func process(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> (consumed: Int, produced: Int) {
        if ended {
            guard input.isEmpty else { throw BrotliError("data after the end of the stream") }
            return (0, 0)
        }
        var availableIn = input.count
        var nextIn = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        var availableOut = output.count
        var nextOut = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let result = BrotliDecoderDecompressStream(state, &availableIn, &nextIn, &availableOut, &nextOut, nil)
        switch result {
        case BROTLI_DECODER_RESULT_ERROR:
            throw BrotliError(String(cString: BrotliDecoderErrorString(BrotliDecoderGetErrorCode(state))))
        case BROTLI_DECODER_RESULT_SUCCESS: ended = true
        default: break  // needs more input, or more room for output
        }
        return (input.count - availableIn, output.count - availableOut)
    }

    func finish(into output: UnsafeMutableRawBufferPointer) throws -> (produced: Int, done: Bool) {
        try drain(into: output, ended: { ended }, truncated: BrotliError("the compressed data is truncated"))
    }
}

struct BrotliError: Error, CustomStringConvertible {
    let detail: String
    init(_ detail: String) { self.detail = detail }
    var description: String { "brotli: \(detail)" }
}
