import CLZMA
import FerryCore

/// lzip through liblzma's `.lz` decoder, for reading caches Nix wrote with
/// `compression=lzip` (`.nar.lzip`). It decompresses only.
public struct LzipCodec: DecodingOnlyCodec {
    public let compression = "lzip"
    /// As for xz: enough for the 32 MiB dictionary of `lzip -9`, and more.
    public var decompressorMemory: Int { XZCodec.decoderMemory }

    public init() {}

    public func makeDecompressor(writingTo output: any AsyncByteSink) throws -> (any ByteFilter)? {
        TransformFilter(try LZMAStream.lzipDecoder(memoryLimit: decompressorMemory), writingTo: output)
    }

    public static let plugin = Plugin<any Codec>(
        kind: .codec, name: "lzip", summary: "lzip through liblzma; reading caches only", options: []
    ) { _, _ in LzipCodec() }
}
