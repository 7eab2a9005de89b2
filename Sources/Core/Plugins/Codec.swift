/// A compression method: the name narinfos record, how much memory one stream of it
/// holds, and the streams that compress (and, where it can, decompress).
public protocol Codec: Sendable {
    /// The narinfo `Compression` value: `zstd`, `xz`, `none`, or what an exec codec records.
    var compression: String { get }
    /// Bytes of working memory one compressing stream holds, for the limiter.
    var compressorMemory: Int { get }
    /// A stream that compresses what is written to it into `output`.
    func makeCompressor(writingTo output: any AsyncByteSink) throws -> any ByteFilter
    /// A stream that decompresses into `output`, or nil when this codec cannot.
    func makeDecompressor(writingTo output: any AsyncByteSink) throws -> (any ByteFilter)?
}

extension Codec {
    public func makeDecompressor(writingTo output: any AsyncByteSink) throws -> (any ByteFilter)? { nil }
}

/// A stream that transforms bytes written to it (compresses, decompresses) and writes the
/// result on to another sink; `finish()` flushes what it still holds.
public protocol ByteFilter: AsyncByteSink {
    func finish() async throws
}
