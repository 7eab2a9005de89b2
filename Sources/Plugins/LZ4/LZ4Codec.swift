import CLZ4
import FerryCore

/// LZ4 frames through liblz4: `level` (1, Nix's default, is the fast mode; 3–12 the
/// slower high-compression one), as Nix's `compression=lz4` writes `.nar.lz4` files, and
/// for reading such caches.
public struct LZ4Codec: Codec {
    public let compression = "lz4"
    public let level: Int

    public init(level: Int = 1) { self.level = level }

    /// liblz4's compression context and its 64 KiB window, more at high levels.
    public func compressorMemory(narSize: UInt64) -> Int { 1 << 20 }

    public func makeCompressor(narSize: UInt64, writingTo output: any AsyncByteSink) throws -> any ByteFilter {
        TransformFilter(try LZ4Compressor(level: Int32(level)), writingTo: output)
    }

    /// Two of the largest blocks a frame has (4 MiB each) and the 128 KiB liblz4 keeps for linked blocks.
    public var decompressorMemory: Int { 9 << 20 }

    /// A small NAR's blocks are small: a block's input and output, two bytes for each it puts out.
    public func decompressorMemory(narSize: UInt64) -> Int { decompressorMemory(narSize: narSize, bytesPerNarByte: 2) }

    public func makeDecompressor(writingTo output: any AsyncByteSink) throws -> (any ByteFilter)? {
        TransformFilter(try LZ4Decompressor(), writingTo: output)
    }

    public static let plugin = Plugin<any Codec>(
        kind: .codec, name: "lz4", summary: "lz4 frames through liblz4, as Nix's compression=lz4; fastest",
        options: [PluginOption("level", "integer", default: "1", "1 (fast mode) to 12 (smallest); -1 means the default")]
    ) { settings, _ in LZ4Codec(level: try CodecSettings.level(settings, default: 1, range: 1...12)) }
}

/// liblz4's frame encoder writing one frame of independent 64 KiB blocks (as libarchive,
/// and so Nix, writes them) with a content checksum. Blocks are cut where liblz4's buffer
/// fills, not where the input's pieces end, and none refers to another, so the same NAR
/// gives the same bytes however it arrives. A piece is taken only where its worst
/// case (with what liblz4 holds) fits the room left, since liblz4 writes nowhere else.
final class LZ4Compressor: StreamTransform {
    private let context: OpaquePointer
    private var preferences = LZ4F_preferences_t()
    private var begun = false

    /// The input one call takes at most.
    private static let piece = 64 << 10

    init(level: Int32) throws {
        var context: OpaquePointer?
        let code = LZ4F_createCompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(code) == 0, let context else { throw LZ4Error(code: code) }
        self.context = context
        preferences.compressionLevel = level
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        preferences.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled
    }

    deinit { LZ4F_freeCompressionContext(context) }

    func process(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> (consumed: Int, produced: Int) {
        guard let header = try begin(into: output) else { return (0, 0) }
        let room = UnsafeMutableRawBufferPointer(rebasing: output[header...])
        let piece = min(input.count, Self.piece)
        guard piece > 0, LZ4F_compressBound(piece, &preferences) <= room.count else { return (0, header) }
        let written = LZ4F_compressUpdate(context, room.baseAddress, room.count, input.baseAddress, piece, nil)
        guard LZ4F_isError(written) == 0 else { throw LZ4Error(code: written) }
        return (piece, header + written)
    }

    func finish(into output: UnsafeMutableRawBufferPointer) throws -> (produced: Int, done: Bool) {
        guard let header = try begin(into: output) else { return (0, false) }
        let room = UnsafeMutableRawBufferPointer(rebasing: output[header...])
        guard LZ4F_compressBound(0, &preferences) <= room.count else { return (header, false) }
        let written = LZ4F_compressEnd(context, room.baseAddress, room.count, nil)
        guard LZ4F_isError(written) == 0 else { throw LZ4Error(code: written) }
        return (header + written, true)
    }

    /// The frame's header, once, at the start of `output`: its size (0 once written), or
    /// nil when it does not fit yet.
    private func begin(into output: UnsafeMutableRawBufferPointer) throws -> Int? {
        guard !begun else { return 0 }
        guard output.count >= Int(LZ4F_HEADER_SIZE_MAX) else { return nil }
        let written = LZ4F_compressBegin(context, output.baseAddress, output.count, &preferences)
        guard LZ4F_isError(written) == 0 else { throw LZ4Error(code: written) }
        begun = true
        return written
    }
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
