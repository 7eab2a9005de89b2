import CLZMA
import FerryCore

/// A liblzma stream, heap-allocated so its address never moves, ended and freed with
/// its owner. Encoder or decoder depending on how it was set up.
final class LZMAStream: SteppedTransform {
    private let stream: UnsafeMutablePointer<lzma_stream>
    private let what: String
    let pausesWhenBusy: Bool

    private init(what: String, pausesWhenBusy: Bool = false, setUp: (UnsafeMutablePointer<lzma_stream>) -> lzma_ret) throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: ferry_lzma_stream_init())
        self.what = what
        self.pausesWhenBusy = pausesWhenBusy
        let status = setUp(stream)
        guard status == LZMA_OK else {
            stream.deallocate()
            throw XZError(operation: "start the \(what)", status: status)
        }
    }

    deinit {
        lzma_end(stream)
        stream.deallocate()
    }

    /// A multi-threaded xz encoder at `preset` (0–9).
    static func encoder(preset: UInt32, threads: Int) throws -> LZMAStream {
        try LZMAStream(what: "xz encoder", pausesWhenBusy: true) { stream in
            var options = XZCodec.mtOptions(preset: preset, threads: threads)
            return lzma_stream_encoder_mt(stream, &options)
        }
    }

    /// An xz encoder on the calling thread, with these LZMA2 options.
    static func encoder(options: lzma_options_lzma) throws -> LZMAStream {
        try LZMAStream(what: "xz encoder") { stream in
            var options = options
            return ferry_lzma2_stream_encoder(stream, &options)
        }
    }

    /// An xz decoder for concatenated streams, refusing streams that need more than
    /// `memoryLimit` (the limiter reserves that much for it).
    static func decoder(memoryLimit: Int) throws -> LZMAStream {
        try LZMAStream(what: "xz decoder") { lzma_stream_decoder($0, UInt64(memoryLimit), FERRY_LZMA_CONCATENATED) }
    }

    /// An lzip decoder for concatenated members, refusing members that need more than
    /// `memoryLimit`.
    static func lzipDecoder(memoryLimit: Int) throws -> LZMAStream {
        try LZMAStream(what: "lzip decoder") { lzma_lzip_decoder($0, UInt64(memoryLimit), FERRY_LZMA_CONCATENATED) }
    }

    func step(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
              finishing: Bool) throws -> (consumed: Int, produced: Int, ended: Bool) {
        stream.pointee.next_in = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_in = input.count
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_out = output.count
        let status = lzma_code(stream, finishing ? LZMA_FINISH : LZMA_RUN)
        guard status == LZMA_OK || status == LZMA_STREAM_END else {
            throw XZError(operation: "run the \(what)", status: status)
        }
        return (input.count - stream.pointee.avail_in, output.count - stream.pointee.avail_out, status == LZMA_STREAM_END)
    }
}

/// A liblzma call that failed, in words.
struct XZError: Error, CustomStringConvertible {
    let operation: String
    let status: lzma_ret

    var description: String {
        let reason = switch status {
        case LZMA_MEM_ERROR: "out of memory"
        case LZMA_OPTIONS_ERROR: "unsupported options"
        case LZMA_FORMAT_ERROR: "not data of this format"
        case LZMA_MEMLIMIT_ERROR: "it needs more memory than Ferry reserves for it (a dictionary above 64 MiB)"
        case LZMA_DATA_ERROR: "the compressed data is corrupt"
        case LZMA_BUF_ERROR: "the compressed data is truncated"
        case LZMA_UNSUPPORTED_CHECK: "unsupported integrity check"
        default: "liblzma error \(status.rawValue)"
        }
        return "liblzma: cannot \(operation): \(reason)"
    }
}
