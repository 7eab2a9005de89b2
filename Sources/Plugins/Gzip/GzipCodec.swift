import CZlib
import FerryCore

/// gzip through zlib: `level` 1–9 (Nix's -1 means zlib's 6), as Nix's `compression=gzip`
/// writes NAR files (with no extension), and for reading such caches and narinfos served
/// with `Content-Encoding: gzip`.
public struct GzipCodec: Codec {
    public let compression = "gzip"
    public let level: Int

    public init(level: Int = 6) { self.level = level }

    /// deflate's window and hash tables, 256 KiB at zlib's defaults.
    public func compressorMemory(narSize: UInt64) -> Int { 1 << 20 }

    public func makeCompressor(narSize: UInt64, writingTo output: any AsyncByteSink) throws -> any ByteFilter {
        TransformFilter(try GzipCompressor(level: Int32(level)), writingTo: output)
    }

    /// zlib's inflate state and its 32 KiB window.
    public var decompressorMemory: Int { 1 << 20 }

    public func makeDecompressor(writingTo output: any AsyncByteSink) throws -> (any ByteFilter)? {
        TransformFilter(try GzipDecompressor(), writingTo: output)
    }

    public static let plugin = Plugin<any Codec>(
        kind: .codec, name: "gzip", summary: "gzip through zlib, as Nix's compression=gzip",
        options: [PluginOption("level", "integer", default: "6", "1 (fastest) to 9 (smallest); -1 means the default")]
    ) { settings, _ in GzipCodec(level: try CodecSettings.level(settings, default: 6, range: 1...9)) }
}

/// 15 window bits, plus 16: a gzip header and trailer, not zlib's.
private let gzipWindowBits: Int32 = 15 + 16

/// zlib's deflate writing one gzip member, with its `z_stream` on the heap. The header
/// carries no name and no time, so the same NAR always gives the same bytes.
final class GzipCompressor: SteppedTransform {
    private let stream: UnsafeMutablePointer<z_stream>

    init(level: Int32) throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = ferry_deflate_init(stream, level, gzipWindowBits)
        guard status == Z_OK else {
            stream.deallocate()
            throw GzipError(status: status, message: nil)
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    func step(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
              finishing: Bool) throws -> (consumed: Int, produced: Int, ended: Bool) {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let status = deflate(stream, finishing ? Z_FINISH : Z_NO_FLUSH)
        // Z_BUF_ERROR: no room to make progress in, which the caller makes by flushing.
        guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
            throw GzipError(status: status, message: stream.pointee.msg.map { String(cString: $0) })
        }
        return (input.count - Int(stream.pointee.avail_in), output.count - Int(stream.pointee.avail_out), status == Z_STREAM_END)
    }
}

/// zlib's inflate of gzip members, one after another as `gzip -d` reads them (pigz and
/// concatenated files write several), with its `z_stream` on the heap.
final class GzipDecompressor: StreamTransform {
    private let stream: UnsafeMutablePointer<z_stream>
    /// The last member ended, and no byte of another has come.
    private var ended = false

    init() throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = ferry_inflate_init(stream, gzipWindowBits)
        guard status == Z_OK else {
            stream.deallocate()
            throw GzipError(status: status, message: nil)
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    func process(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> (consumed: Int, produced: Int) {
        if ended {
            if input.isEmpty { return (0, 0) }
            // Input after a member's trailer starts the next member.
            guard inflateReset(stream) == Z_OK else { throw GzipError(status: Z_STREAM_ERROR, message: nil) }
            ended = false
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let status = inflate(stream, Z_NO_FLUSH)
        let consumed = input.count - Int(stream.pointee.avail_in)
        let produced = output.count - Int(stream.pointee.avail_out)
        switch status {
        case Z_STREAM_END: ended = true
        case Z_OK: break
        case Z_BUF_ERROR where consumed == 0 && produced == 0 && input.isEmpty: break  // nothing to do yet
        default: throw GzipError(status: status, message: stream.pointee.msg.map { String(cString: $0) })
        }
        return (consumed, produced)
    }

    func finish(into output: UnsafeMutableRawBufferPointer) throws -> (produced: Int, done: Bool) {
        try drain(into: output, ended: { ended }, truncated: GzipError(status: Z_BUF_ERROR, message: "the compressed data is truncated"))
    }
}

struct GzipError: Error, CustomStringConvertible {
    let status: Int32
    let message: String?
    var description: String { "gzip: \(message ?? "zlib error \(status)")" }
}
