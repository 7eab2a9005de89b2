import CLZMA
import FerryCore

/// xz through liblzma: `level` 0–9 (Nix's -1 means 6), `threads` (0: one per core),
/// multi-threaded with `lzma_stream_encoder_mt` as Nix's `parallel-compression` does.
public struct XZCodec: Codec {
    public let compression = "xz"
    public let preset: UInt32
    public let threads: Int

    public init(preset: UInt32, threads: Int) {
        self.preset = preset
        self.threads = threads
    }

    /// Threads for a NAR of `narSize`: one when it is smaller than two of the encoder's
    /// blocks (three dictionaries each), which it could not split between threads.
    private func threads(narSize: UInt64) -> Int {
        narSize >= 6 * UInt64(presetOptions().dict_size) ? threads : 1
    }

    private func presetOptions() -> lzma_options_lzma {
        var options = lzma_options_lzma()
        _ = lzma_lzma_preset(&options, preset)
        return options
    }

    /// The preset's options for one thread, with a dictionary no larger than the NAR (4 KiB
    /// at least): a larger one finds nothing more, yet the encoder would take all of it (a
    /// 1 KiB NAR at -9 reserved 675 MiB, and waited behind big ones for it), and so would
    /// every reader's decoder.
    private func singleThreadOptions(narSize: UInt64) -> lzma_options_lzma {
        var options = presetOptions()
        options.dict_size = UInt32(min(UInt64(options.dict_size), max(UInt64(FERRY_LZMA_DICT_SIZE_MIN), narSize)))
        return options
    }

    /// liblzma's own figure for the encoder it will build.
    public func compressorMemory(narSize: UInt64) -> Int {
        let threads = threads(narSize: narSize)
        guard threads > 1 else {
            var options = singleThreadOptions(narSize: narSize)
            return Int(ferry_lzma2_encoder_memusage(&options))
        }
        var options = XZCodec.mtOptions(preset: preset, threads: threads)
        return Int(lzma_stream_encoder_mt_memusage(&options))
    }

    /// Every thread: xz compresses a few MiB a second per core, slower than any source.
    public func compressorCores(narSize: UInt64) -> Int {
        narSize < CompressionCores.momentaryNarSize ? 0 : threads(narSize: narSize)
    }

    /// With a timeout, as the xz tool sets it: `lzma_code` would otherwise block until a
    /// thread is free, for as long as a whole block takes (seconds), holding one of Swift's
    /// few threads and deaf to a stop. After it, the step returns having done nothing,
    /// which `TransformFilter` takes as a pause (`pausesWhenBusy`).
    static func mtOptions(preset: UInt32, threads: Int) -> lzma_mt {
        var options = lzma_mt()
        options.timeout = 300
        options.threads = UInt32(threads)
        options.preset = preset
        options.check = LZMA_CHECK_CRC64
        return options
    }

    public func makeCompressor(narSize: UInt64, writingTo output: any AsyncByteSink) throws -> any ByteFilter {
        let threads = threads(narSize: narSize)
        let encoder = threads > 1
            ? try LZMAStream.encoder(preset: preset, threads: threads)
            : try LZMAStream.encoder(options: singleThreadOptions(narSize: narSize))
        return TransformFilter(encoder, writingTo: output)
    }

    /// Enough for every xz preset (`-9` needs 65 MiB for its 64 MiB dictionary).
    public var decompressorMemory: Int { Self.decoderMemory }

    /// What an xz or lzip decoder may hold: the largest preset's dictionary, and its tables.
    static let decoderMemory = 66 << 20

    public func makeDecompressor(writingTo output: any AsyncByteSink) throws -> (any ByteFilter)? {
        TransformFilter(try LZMAStream.decoder(memoryLimit: decompressorMemory), writingTo: output)
    }
}

extension XZCodec {
    public static let plugin = Plugin<any Codec>(
        kind: .codec, name: "xz", summary: "xz through liblzma; smallest files, slowest; multi-threaded",
        options: [
            PluginOption("level", "integer", default: "6", "0 (fastest) to 9 (smallest); -1 means the default"),
            PluginOption("threads", "integer", default: "0", "compression threads; 0 means one per core"),
        ]
    ) { settings, context in
        let level = try CodecSettings.level(settings, default: 6, range: 0...9)
        let threads = try CodecSettings.threads(settings, context: context) {
            XZCodec(preset: UInt32(level), threads: $0).compressorMemory(narSize: .max)
        }
        return XZCodec(preset: UInt32(level), threads: threads)
    }
}
