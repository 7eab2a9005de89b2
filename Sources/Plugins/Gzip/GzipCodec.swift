import CZlib
import FerryCore

/// gzip through zlib, for reading caches Nix wrote with `compression=gzip` (NAR files
/// without an extension) and narinfos served with `Content-Encoding: gzip`. It
/// decompresses only: Ferry writes xz or zstd.
public struct GzipCodec: DecodingOnlyCodec {
    public let compression = "gzip"
    /// zlib's inflate state and its 32 KiB window.
    public var decompressorMemory: Int { 1 << 20 }

    public init() {}

    public func makeDecompressor(writingTo output: any AsyncByteSink) throws -> (any ByteFilter)? {
        TransformFilter(try GzipDecompressor(), writingTo: output)
    }

    public static let plugin = Plugin<any Codec>(
        kind: .codec, name: "gzip", summary: "gzip through zlib; reading caches only", options: []
    ) { _, _ in GzipCodec() }
}

/// zlib's inflate of gzip members, one after another as `gzip -d` reads them (pigz and
/// concatenated files write several), with its `z_stream` on the heap.
final class GzipDecompressor: StreamTransform {
    private let stream: UnsafeMutablePointer<z_stream>
    /// The last member ended, and no byte of another has come.
    private var ended = false

    /// 15 window bits, plus 16: a gzip header and trailer, not zlib's.
    private static let gzipWindowBits: Int32 = 15 + 16

    init() throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = ferry_inflate_init(stream, Self.gzipWindowBits)
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
