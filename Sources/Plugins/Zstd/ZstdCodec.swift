import CZstd
import FerryCore

/// Zstandard through libzstd: `level` (1–19; Nix's -1 means zstd's default, 3),
/// `threads` (0: one per core; 1: in the calling thread).
public struct ZstdCodec: Codec {
    public let compression = "zstd"
    public let level: Int
    public let threads: Int

    public init(level: Int, threads: Int) {
        self.level = level
        self.threads = threads
    }

    /// libzstd's estimate for a single-threaded stream; with workers, each holds a
    /// context and its jobs hold input and output buffers of the job size (4 windows).
    public var compressorMemory: Int {
        let single = ZSTD_estimateCStreamSize(Int32(level))
        guard threads > 1 else { return single }
        let parameters = ZSTD_getCParams(Int32(level), 0, 0)
        let jobSize = max(1 << 20, 4 << Int(parameters.windowLog))
        return (threads + 1) * single + (threads + 2) * 2 * jobSize
    }

    public func makeCompressor(writingTo output: any AsyncByteSink) throws -> any ByteFilter {
        TransformFilter(try ZstdCompressor(level: level, workers: threads > 1 ? threads : 0), writingTo: output)
    }

    public func makeDecompressor(writingTo output: any AsyncByteSink) throws -> (any ByteFilter)? {
        TransformFilter(try ZstdDecompressor(), writingTo: output)
    }
}

extension ZstdCodec {
    public static let plugin = Plugin<any Codec>(
        kind: .codec, name: "zstd", summary: "Zstandard through libzstd; fast, multi-threaded, the default",
        options: [
            PluginOption("level", "integer", default: "3", "1 (fastest) to 19 (smallest); -1 means the default"),
            PluginOption("threads", "integer", default: "0", "compression threads; 0 means one per core"),
        ]
    ) { settings, context in
        let requested = try settings.int("level") ?? -1
        let level = requested == -1 ? 3 : requested
        guard (1...Int(ZSTD_maxCLevel())).contains(level) else {
            throw ConfigError(settings.location, key: "level", "zstd levels go from 1 to \(ZSTD_maxCLevel()), found \(level)")
        }
        let threads = try CodecThreads.resolve(settings, context: context) { ZstdCodec(level: level, threads: $0).compressorMemory }
        return ZstdCodec(level: level, threads: threads)
    }
}
