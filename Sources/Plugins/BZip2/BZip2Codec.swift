import CBZip2
import FerryCore

/// bzip2 through libbz2: `level` 1–9, the block size in 100k units (Nix's -1 means 9),
/// as Nix's `compression=bzip2` writes `.nar.bz2` files, and for reading caches that still
/// hold them (a narinfo without `Compression` means bzip2).
public struct BZip2Codec: Codec {
    public let compression = "bzip2"
    public let level: Int

    public init(level: Int = 9) { self.level = level }

    /// libbz2's compressor: 400 KiB and 8 bytes per byte of its block.
    public func compressorMemory(narSize: UInt64) -> Int { (400 << 10) + 8 * level * 100_000 }

    public func makeCompressor(narSize: UInt64, writingTo output: any AsyncByteSink) throws -> any ByteFilter {
        TransformFilter(try BZip2Compressor(blockSize: Int32(level)), writingTo: output)
    }

    /// One processor: bzip2 compresses about 10 MiB a second, slower than any source.
    public func compressorCores(narSize: UInt64) -> Int { narSize < CompressionCores.momentaryNarSize ? 0 : 1 }

    /// libbz2's decompressor needs about 64 KiB plus 400 KiB per 100k block size, at most 900k.
    public var decompressorMemory: Int { 4 << 20 }

    /// Of those 400 KiB per 100k, a block writes four bytes for each byte it puts out.
    public func decompressorMemory(narSize: UInt64) -> Int { decompressorMemory(narSize: narSize, bytesPerNarByte: 4) }

    public func makeDecompressor(writingTo output: any AsyncByteSink) throws -> (any ByteFilter)? {
        TransformFilter(try BZip2Decompressor(), writingTo: output)
    }

    public static let plugin = Plugin<any Codec>(
        kind: .codec, name: "bzip2", summary: "bzip2 through libbz2, as Nix's compression=bzip2; slow",
        options: [PluginOption("level", "integer", default: "9", "1 to 9: the block size in 100k; -1 means the default")]
    ) { settings, _ in BZip2Codec(level: try CodecSettings.level(settings, default: 9, range: 1...9)) }
}

/// libbz2's streaming compressor writing one stream, with its `bz_stream` on the heap.
final class BZip2Compressor: SteppedTransform {
    private let stream: UnsafeMutablePointer<bz_stream>

    init(blockSize: Int32) throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: bz_stream())
        let status = BZ2_bzCompressInit(stream, blockSize, 0, 0)
        guard status == BZ_OK else {
            stream.deallocate()
            throw BZip2Error(status: status)
        }
    }

    deinit {
        BZ2_bzCompressEnd(stream)
        stream.deallocate()
    }

    func step(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
              finishing: Bool) throws -> (consumed: Int, produced: Int, ended: Bool) {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: CChar.self))
        stream.pointee.avail_in = UInt32(input.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: CChar.self)
        stream.pointee.avail_out = UInt32(output.count)
        let status = BZ2_bzCompress(stream, finishing ? BZ_FINISH : BZ_RUN)
        guard [BZ_RUN_OK, BZ_FINISH_OK, BZ_STREAM_END].contains(status) else { throw BZip2Error(status: status) }
        return (input.count - Int(stream.pointee.avail_in), output.count - Int(stream.pointee.avail_out), status == BZ_STREAM_END)
    }
}

/// libbz2's streaming decompressor, with its `bz_stream` on the heap.
final class BZip2Decompressor: StreamTransform {
    private let stream: UnsafeMutablePointer<bz_stream>
    private var ended = false

    init() throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: bz_stream())
        let status = BZ2_bzDecompressInit(stream, 0, 0)
        guard status == BZ_OK else {
            stream.deallocate()
            throw BZip2Error(status: status)
        }
    }

    deinit {
        BZ2_bzDecompressEnd(stream)
        stream.deallocate()
    }

    /// Input after the end of a stream starts the next one: pbzip2 and lbzip2 write a file
    /// as several streams, which Nix (through libarchive) reads as one.
    func process(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> (consumed: Int, produced: Int) {
        if ended {
            if input.isEmpty { return (0, 0) }
            try startNextStream()
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: CChar.self))
        stream.pointee.avail_in = UInt32(input.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: CChar.self)
        stream.pointee.avail_out = UInt32(output.count)
        let status = BZ2_bzDecompress(stream)
        guard status == BZ_OK || status == BZ_STREAM_END else { throw BZip2Error(status: status) }
        ended = status == BZ_STREAM_END
        return (input.count - Int(stream.pointee.avail_in), output.count - Int(stream.pointee.avail_out))
    }

    private func startNextStream() throws {
        BZ2_bzDecompressEnd(stream)
        stream.initialize(to: bz_stream())
        let status = BZ2_bzDecompressInit(stream, 0, 0)
        guard status == BZ_OK else { throw BZip2Error(status: status) }
        ended = false
    }

    func finish(into output: UnsafeMutableRawBufferPointer) throws -> (produced: Int, done: Bool) {
        guard ended else { throw BZip2Error(status: BZ_UNEXPECTED_EOF, detail: "the compressed data is truncated") }
        return (0, true)
    }
}

struct BZip2Error: Error, CustomStringConvertible {
    let status: Int32
    var detail: String?
    var description: String { "bzip2: \(detail ?? "libbz2 error \(status)")" }
}
