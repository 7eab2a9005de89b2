/// One step of a C library's streaming (de)compressor: take what input fits, produce
/// what output fits. `TransformFilter` drives it with bounded buffers; a plugin only
/// wraps its library's call.
public protocol StreamTransform: AnyObject {
    /// Consumes some of `input` and writes output into `output`; returns how much of
    /// each was used. It must make progress unless `output` is full, or it pauses while
    /// busy (`pausesWhenBusy`), or it wants more room than `output` has left.
    func process(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> (consumed: Int, produced: Int)
    /// Flushes the end of the stream into `output`; `done` once nothing is left.
    func finish(into output: UnsafeMutableRawBufferPointer) throws -> (produced: Int, done: Bool)
    /// True for a multi-threaded encoder whose step gives up after a short timeout while
    /// all its threads are busy, using nothing: a step that does nothing is then a pause,
    /// not the end of its data.
    var pausesWhenBusy: Bool { get }
    /// Frees what the transform holds, given up unfinished; see `ByteFilter.abandon()`.
    func abandon() async
}

extension StreamTransform {
    public var pausesWhenBusy: Bool { false }
    public func abandon() async {}

    /// `finish` for a decoder that may still hold output after its last input (brotli,
    /// gzip, lz4): one more step without input, done once `ended` says the stream ended;
    /// a step that gives nothing before then means the input was cut short.
    public func drain(into output: UnsafeMutableRawBufferPointer, ended: () -> Bool,
                      truncated: @autoclosure () -> any Error) throws -> (produced: Int, done: Bool) {
        if ended() { return (0, true) }
        let (_, produced) = try process(UnsafeRawBufferPointer(start: nil, count: 0), into: output)
        if ended() { return (produced, true) }
        guard produced > 0 else { throw truncated() }
        return (produced, false)
    }
}

/// A `StreamTransform` over a C library's one streaming call, told whether to finish the
/// stream (liblzma's action, zlib's flush, libbz2's): `process` and `finish` are that call.
public protocol SteppedTransform: StreamTransform {
    /// One call: takes what input fits, writes what output fits; `ended` once the stream
    /// is complete.
    func step(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
              finishing: Bool) throws -> (consumed: Int, produced: Int, ended: Bool)
}

extension SteppedTransform {
    public func process(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> (consumed: Int, produced: Int) {
        let step = try step(input, into: output, finishing: false)
        return (step.consumed, step.produced)
    }

    public func finish(into output: UnsafeMutableRawBufferPointer) throws -> (produced: Int, done: Bool) {
        let step = try step(UnsafeRawBufferPointer(start: nil, count: 0), into: output, finishing: true)
        return (step.produced, step.ended)
    }
}

/// A `ByteFilter` that runs a `StreamTransform` and writes its output on in chunks of
/// `chunkSize`: memory is one output chunk, whatever flows through.
public final class TransformFilter: ByteFilter {
    private let transform: any StreamTransform
    private let output: any AsyncByteSink
    private var buffer: [UInt8]
    private var filled = 0

    public init(_ transform: any StreamTransform, writingTo output: any AsyncByteSink, chunkSize: Int = 256 * 1024) {
        self.transform = transform
        self.output = output
        buffer = [UInt8](repeating: 0, count: chunkSize)
    }

    public func write(_ bytes: ArraySlice<UInt8>) async throws {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let (consumed, produced) = try bytes[offset...].withUnsafeBytes { input in
                try buffer.withUnsafeMutableBytes { raw in
                    try transform.process(input, into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
                }
            }
            offset += consumed
            filled += produced
            if filled == buffer.count {
                try await flush()
            } else if consumed == 0 && produced == 0 {
                try await idle(unused: bytes.endIndex - offset)
            }
        }
    }

    public func finish() async throws {
        while true {
            let (produced, done) = try buffer.withUnsafeMutableBytes { raw in
                try transform.finish(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
            }
            filled += produced
            if done || filled == buffer.count {
                try await flush()
                if done { return }
            } else if produced == 0 {
                try await idle(unused: 0)
            }
        }
    }

    public func abandon() async { await transform.abandon() }

    /// After a step that did nothing with room left in the buffer. A transform that pauses
    /// while busy is given time: what it made so far goes on, other tasks run, and a stop
    /// is noticed within its timeout. Any other wants the room the buffered output takes
    /// (liblz4 writes only where its worst case fits), or, with the buffer empty, has ended
    /// before its input (a decoder past the end of its data): waiting would spin for ever.
    private func idle(unused: Int) async throws {
        if transform.pausesWhenBusy {
            try Task.checkCancellation()
            try await flush()
            await Task.yield()
            return
        }
        guard filled > 0 else { throw StreamTransformStalled(unused: unused) }
        try await flush()
    }

    private func flush() async throws {
        guard filled > 0 else { return }
        try await output.write(buffer[0..<filled])
        filled = 0
    }
}

/// A stream transform that would take no more input although it had room for output: for
/// a decoder, bytes after the end of what it decodes.
public struct StreamTransformStalled: Error, CustomStringConvertible {
    public let unused: Int
    public var description: String { "\(unused) bytes follow the end of the compressed data" }
}
