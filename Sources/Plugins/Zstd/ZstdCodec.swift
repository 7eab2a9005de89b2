import CZstd
import FerryCore

/// Zstandard through libzstd: `level` (1–22; Nix's -1 means zstd's default, 3),
/// `threads` (0: one per core; 1: in the calling thread).
public struct ZstdCodec: Codec {
    public let compression = "zstd"
    public let level: Int
    public let threads: Int

    public init(level: Int, threads: Int) {
        self.level = level
        self.threads = threads
    }

    /// zstd's default job for multi-threaded compression: four windows, at least 1 MiB.
    private var jobSize: Int { max(1 << 20, 4 << Int(ZSTD_getCParams(Int32(level), 0, 0).windowLog)) }

    /// Workers for a NAR of `narSize`: none (compress in the caller) when it is smaller
    /// than two jobs, since it could not keep two workers busy.
    private func workers(narSize: UInt64) -> Int {
        threads > 1 && narSize >= UInt64(2 * jobSize) ? threads : 0
    }

    /// libzstd's estimate for a single-threaded stream of that size; with workers, each
    /// holds a context and the jobs in flight hold input and output buffers of a job's size.
    public func compressorMemory(narSize: UInt64) -> Int {
        let single = ZSTD_estimateCStreamSize_usingCParams(ZSTD_getCParams(Int32(level), narSize == .max ? 0 : narSize, 0))
        let workers = workers(narSize: narSize)
        guard workers > 0 else { return single }
        return (workers + 1) * single + (workers + 2) * 2 * jobSize
    }

    public func makeCompressor(narSize: UInt64, writingTo output: any AsyncByteSink) throws -> any ByteFilter {
        TransformFilter(try ZstdCompressor(level: level, workers: workers(narSize: narSize), pledgedSize: narSize),
                        writingTo: output)
    }

    /// The largest window libzstd (and so Nix) decodes by default, 128 MiB, and a block
    /// buffer. Nix compresses a NAR without telling zstd its size, so at `--ultra` levels
    /// (21 and 22) even a small NAR's frame asks for the whole window, and the decoder
    /// allocates it (but writes, and so takes, only as much of it as the NAR fills).
    public var decompressorMemory: Int { (1 << ZstdDecompressor.windowLogMax) + (1 << 20) }

    public func makeDecompressor(writingTo output: any AsyncByteSink) throws -> (any ByteFilter)? {
        TransformFilter(try ZstdDecompressor(), writingTo: output)
    }
}

extension ZstdCodec {
    public static let plugin = Plugin<any Codec>(
        kind: .codec, name: "zstd", summary: "Zstandard through libzstd; fast, multi-threaded, the default",
        options: [
            PluginOption("level", "integer", default: "3", "1 (fastest) to 19 (smallest), 20 to 22 with far more memory; -1 means the default"),
            PluginOption("threads", "integer", default: "0", "compression threads; 0 means one per core"),
        ]
    ) { settings, context in
        let level = try CodecSettings.level(settings, default: 3, range: 1...Int(ZSTD_maxCLevel()))
        let threads = try CodecSettings.threads(settings, context: context) {
            ZstdCodec(level: level, threads: $0).compressorMemory(narSize: .max)
        }
        return ZstdCodec(level: level, threads: threads)
    }
}
