import CLZ4
import FerryCore

/// LZ4 frames through liblz4, for reading caches Nix wrote with `compression=lz4`
/// (`.nar.lz4`). It decompresses only.
public struct LZ4Codec: DecodingOnlyCodec {
    public let compression = "lz4"
    /// Two of the largest blocks a frame has (4 MiB each) and the 128 KiB liblz4 keeps for linked blocks.
    public var decompressorMemory: Int { 9 << 20 }

    public init() {}

    public func makeDecompressor(writingTo output: any AsyncByteSink) throws -> (any ByteFilter)? {
        TransformFilter(try LZ4Decompressor(), writingTo: output)
    }

    public static let plugin = Plugin<any Codec>(
        kind: .codec, name: "lz4", summary: "lz4 frames through liblz4; reading caches only", options: []
    ) { _, _ in LZ4Codec() }
}

/// liblz4's frame decoder, one frame after another. It may hold decoded bytes after it
/// has taken the last input, so `finish` drains it until the frame ends.
final class LZ4Decompressor: StreamTransform {
    private let context: OpaquePointer
    /// The last frame ended, and no byte of another has come.
    private var ended = false

    init() throws {
        var context: OpaquePointer?
        let code = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(code) == 0, let context else { throw LZ4Error(code: code) }
        self.context = context
    }

    deinit { LZ4F_freeDecompressionContext(context) }

    func process(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> (consumed: Int, produced: Int) {
        if ended && input.isEmpty { return (0, 0) }
        var consumed = input.count
        var produced = output.count
        let hint = LZ4F_decompress(context, output.baseAddress, &produced, input.baseAddress, &consumed, nil)
        guard LZ4F_isError(hint) == 0 else { throw LZ4Error(code: hint) }
        // 0: a frame ended here (input after it starts the next one).
        ended = hint == 0
        return (consumed, produced)
    }

    func finish(into output: UnsafeMutableRawBufferPointer) throws -> (produced: Int, done: Bool) {
        try drain(into: output, ended: { ended }, truncated: LZ4Error(code: nil))
    }
}

struct LZ4Error: Error, CustomStringConvertible {
    /// liblz4's error code; nil for input that ends inside a frame.
    let code: Int?
    var description: String {
        guard let code else { return "lz4: the compressed data is truncated" }
        return "lz4: " + String(cString: LZ4F_getErrorName(code))
    }
}
