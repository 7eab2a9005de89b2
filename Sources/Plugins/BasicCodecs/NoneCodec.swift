import FerryCore

/// No compression: NARs are stored as they are (`Compression: none`, `nar/….nar`).
public struct NoneCodec: Codec {
    public let compression = "none"
    public func compressorMemory(narSize: UInt64) -> Int { 0 }

    public init() {}

    public func makeCompressor(narSize: UInt64, writingTo output: any AsyncByteSink) throws -> any ByteFilter {
        PassThrough(output)
    }
    public func makeDecompressor(writingTo output: any AsyncByteSink) throws -> (any ByteFilter)? { PassThrough(output) }

    public static let plugin = Plugin<any Codec>(
        kind: .codec, name: "none", summary: "no compression: NARs are stored as they are", options: []
    ) { _, _ in NoneCodec() }
}
