/// A compression method: the name narinfos record, how much memory one stream of it
/// holds, and the streams that compress (and, where it can, decompress).
public protocol Codec: Sendable {
    /// The narinfo `Compression` value: `zstd`, `xz`, `none`, or what an exec codec records.
    var compression: String { get }
    /// Bytes of working memory one compressing stream holds for a NAR of `narSize`
    /// bytes (`UInt64.max`: the most it ever holds), for the limiter.
    func compressorMemory(narSize: UInt64) -> Int
    /// A stream that compresses the NAR of `narSize` bytes written to it into `output`.
    /// A codec may choose by size: threads do not help a NAR smaller than their jobs.
    func makeCompressor(narSize: UInt64, writingTo output: any AsyncByteSink) throws -> any ByteFilter
    /// The processors one compressing stream for a NAR of `narSize` keeps busy whatever
    /// pace the source sets (xz's threads), or 0 when the source sets the pace or the NAR
    /// is done in a moment (`CompressionCores.momentaryNarSize`). The pipeline starts such
    /// a stream only once its threads fit beside those running.
    func compressorCores(narSize: UInt64) -> Int
    /// False for a codec Ferry only reads (lzip): a pipeline refuses it as its `[codec]`
    /// before it opens anything, instead of failing every path.
    var compresses: Bool { get }
    /// The most memory one decompressing stream may take; the decompressor refuses a
    /// stream that would need more (an xz dictionary, a zstd window above it).
    var decompressorMemory: Int { get }
    /// What one decompressing stream of a NAR of `narSize` bytes takes at most, for the
    /// limiter: often far less than `decompressorMemory` (see the default).
    func decompressorMemory(narSize: UInt64) -> Int
    /// A stream that decompresses into `output`, or nil when this codec cannot.
    func makeDecompressor(writingTo output: any AsyncByteSink) throws -> (any ByteFilter)?
    /// True when `compress(smallFile:)` works: for every codec that compresses NARs (exec
    /// too, though a store URL cannot configure it), and for brotli, which Ferry writes for
    /// narinfos and listings only (as Hydra's S3 caches hold them).
    var compressesSmallFiles: Bool { get }
    /// A narinfo or a listing compressed whole, for an S3 cache that stores such files with
    /// a `Content-Encoding` (Nix's `narinfo-compression`, `ls-compression`).
    func compress(smallFile bytes: [UInt8]) async throws -> [UInt8]
}

extension Codec {
    public func compressorCores(narSize: UInt64) -> Int { 0 }
    public var compresses: Bool { true }
    public var decompressorMemory: Int { 0 }

    /// A decoder allocates the window its stream's header asks for (a small NAR Nix
    /// compressed at zstd's `--ultra` levels asks for 128 MiB), but pages become the
    /// process's only once written, and a window is written only as far as output comes
    /// out of it: the NAR, which the check stops one chunk past its NarSize. So a small
    /// NAR's decoder costs about its NarSize, not its window.
    public func decompressorMemory(narSize: UInt64) -> Int {
        decompressorMemory(narSize: narSize, bytesPerNarByte: 1)
    }

    /// `decompressorMemory(narSize:)` for a decoder that writes `bytesPerNarByte` bytes of
    /// its buffers for each byte it puts out (libbz2: four), rounded up to whole huge pages,
    /// plus its state and one output chunk past the NarSize; never more than
    /// `decompressorMemory`.
    public func decompressorMemory(narSize: UInt64, bytesPerNarByte: UInt64) -> Int {
        let (written, overflow) = narSize.multipliedReportingOverflow(by: bytesPerNarByte)
        guard !overflow, written < UInt64(decompressorMemory) else { return decompressorMemory }
        // Whole huge pages: with transparent huge pages, a first write takes 2 MiB.
        let pages = (Int(written) + hugePage - 1) / hugePage * hugePage
        return min(decompressorMemory, pages + decoderStateMemory)
    }
    public func makeDecompressor(writingTo output: any AsyncByteSink) throws -> (any ByteFilter)? { nil }
    public var compressesSmallFiles: Bool { compresses }

    /// Through the NAR compressor, told the file's size so it picks no threads.
    public func compress(smallFile bytes: [UInt8]) async throws -> [UInt8] {
        var output: [UInt8] = []
        let compressor = try makeCompressor(narSize: UInt64(bytes.count), writingTo: ClosureSink { output += $0 })
        try await compressor.write(bytes)
        try await compressor.finish()
        return output
    }
}

/// What any decoder holds besides the window it writes: its tables, block buffers
/// (zstd's two of 128 KiB), and the output chunk the check refuses past a NarSize.
private let decoderStateMemory = 1 << 20
private let hugePage = 2 << 20

/// A codec whose NARs Ferry only reads (br, lzip): caches Nix wrote with it are
/// mirrored, and a pipeline refuses it as its `[codec]` (`compresses`). Brotli still
/// compresses small files.
public protocol DecodingOnlyCodec: Codec {}

extension DecodingOnlyCodec {
    public var compresses: Bool { false }
    public func compressorMemory(narSize: UInt64) -> Int { 0 }
    public func makeCompressor(narSize: UInt64, writingTo output: any AsyncByteSink) throws -> any ByteFilter {
        // A pipeline refuses such a codec before it gets here.
        throw ConfigError("codec \(compression)", "Ferry reads \(compression) but does not write it")
    }
}

/// A stream that transforms bytes written to it (compresses, decompresses) and writes the
/// result on to another sink; `finish()` flushes what it still holds.
public protocol ByteFilter: AsyncByteSink {
    func finish() async throws
    /// Gives up the stream unfinished and returns once what it held is freed: the memory it
    /// reserved is then free again (zstd's workers finish the jobs they began first).
    func abandon() async
}

extension ByteFilter {
    public func abandon() async {}
}
