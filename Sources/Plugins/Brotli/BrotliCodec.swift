import CBrotli
import FerryCore

/// Brotli through libbrotlidec, for reading caches Nix wrote with `compression=br`
/// (`.nar.br`) and narinfos an S3 cache serves with `Content-Encoding: br`. It
/// decompresses only: Ferry writes xz or zstd.
public struct BrotliCodec: DecodingOnlyCodec {
    public let compression = "br"
    /// The ring buffer of the largest window a standard stream has (16 MiB), and the
    /// decoder's tables; a large-window stream is refused (Nix never writes one).
    public var decompressorMemory: Int { 18 << 20 }

    public init() {}

    public func makeDecompressor(writingTo output: any AsyncByteSink) throws -> (any ByteFilter)? {
        TransformFilter(try BrotliDecompressor(), writingTo: output)
    }

    public static let plugin = Plugin<any Codec>(
        kind: .codec, name: "br", summary: "brotli through libbrotlidec; reading caches only", options: []
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
