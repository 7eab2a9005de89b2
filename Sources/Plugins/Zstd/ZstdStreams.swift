import CZstd
import FerryCore
import Foundation

/// libzstd's streaming compressor: one `ZSTD_CCtx`, freed with the stream.
final class ZstdCompressor: StreamTransform {
    private let context: OpaquePointer
    /// Freed by `abandon()` (or never made to end): deinit has nothing left to do.
    private var freed = false

    /// `pledgedSize` goes into the frame header and lets zstd size its window to the input.
    init(level: Int, workers: Int, pledgedSize: UInt64) throws {
        guard let context = ZSTD_createCCtx() else { throw ZstdError(operation: "ZSTD_createCCtx", code: 0) }
        self.context = context
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, Int32(level)), "set level \(level)")
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1), "enable checksums")
        try check(ZSTD_CCtx_setPledgedSrcSize(context, pledgedSize), "announce the size")
        if workers > 0 {
            try check(ZSTD_CCtx_setParameter(context, ZSTD_c_nbWorkers, Int32(workers)), "use \(workers) threads")
        }
    }

    deinit {
        if !freed { ZSTD_freeCCtx(context) }
    }

    /// Frees the context on a thread of its own: freeing a frame left unended waits for the
    /// jobs its workers have begun, which at high levels take seconds, and would hold one
    /// of Swift's few threads meanwhile. A stopped run does not wait for it: no copy will
    /// take the memory back, and the stop must be quick.
    func abandon() async {
        guard !freed else { return }
        freed = true
        let abandoned = AbandonedContext(pointer: context)
        let free: @Sendable () -> Void = { ZSTD_freeCCtx(abandoned.pointer) }
        if Task.isCancelled {
            Thread.detachNewThread(free)
        } else {
            await onOwnThread(free)
        }
    }

    /// A context no one else uses any more, handed to the thread that frees it.
    private struct AbandonedContext: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    func process(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> (consumed: Int, produced: Int) {
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        try check(ZSTD_compressStream2(context, &outBuffer, &inBuffer, ZSTD_e_continue), "compress")
        return (inBuffer.pos, outBuffer.pos)
    }

    func finish(into output: UnsafeMutableRawBufferPointer) throws -> (produced: Int, done: Bool) {
        var inBuffer = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let remaining = ZSTD_compressStream2(context, &outBuffer, &inBuffer, ZSTD_e_end)
        try check(remaining, "finish the frame")
        return (outBuffer.pos, remaining == 0)
    }
}

/// libzstd's streaming decompressor; concatenated frames are read as one stream.
final class ZstdDecompressor: StreamTransform {
    private let context: OpaquePointer
    private var midFrame = false

    /// libzstd's own default limit (`ZSTD_WINDOWLOG_LIMIT_DEFAULT`), set here so the
    /// memory reserved for a decoder is never less than it may take.
    static let windowLogMax: Int32 = 27

    init() throws {
        guard let context = ZSTD_createDCtx() else { throw ZstdError(operation: "ZSTD_createDCtx", code: 0) }
        self.context = context
        try check(ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, ZstdDecompressor.windowLogMax), "set the window limit")
    }

    deinit { ZSTD_freeDCtx(context) }

    func process(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> (consumed: Int, produced: Int) {
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let hint = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
        try check(hint, "decompress")
        midFrame = hint != 0
        return (inBuffer.pos, outBuffer.pos)
    }

    func finish(into output: UnsafeMutableRawBufferPointer) throws -> (produced: Int, done: Bool) {
        guard !midFrame else { throw ZstdError(operation: "decompress", code: 0, message: "the compressed stream is truncated") }
        return (0, true)
    }
}

/// A libzstd call that failed, with zstd's own words for it.
struct ZstdError: Error, CustomStringConvertible {
    let operation: String
    let code: Int
    var message: String?

    init(operation: String, code: Int, message: String? = nil) {
        self.operation = operation
        self.code = code
        self.message = message ?? (code == 0 ? nil : String(cString: ZSTD_getErrorName(code)))
    }

    var description: String { "zstd: \(operation) failed: \(message ?? "out of memory")" }
}

private func check(_ code: Int, _ operation: String) throws {
    if ferry_zstd_is_error(code) != 0 { throw ZstdError(operation: operation, code: code) }
}
