/// A stream of bytes read in pieces: a pipe, an SSH channel, a decompressor.
///
/// Implementations are classes used by one task at a time; with nonisolated async
/// methods running on their caller's executor they need not be `Sendable`.
public protocol AsyncByteSource: AnyObject {
    /// The next bytes, at most `maxLength` and at least one; empty only at the end.
    func read(maxLength: Int) async throws -> [UInt8]
}

/// A stream that bytes are written to: a pipe, a file, a compressor, an upload.
public protocol AsyncByteSink: AnyObject {
    func write(_ bytes: ArraySlice<UInt8>) async throws
}

extension AsyncByteSink {
    public func write(_ bytes: [UInt8]) async throws { try await write(bytes[...]) }
}

/// A sink that hands every write to a closure: the bridge from a filter's output to a
/// callback such as `StoreSource.streamNar`'s.
public final class ClosureSink: AsyncByteSink {
    private let body: (ArraySlice<UInt8>) async throws -> Void

    public init(_ body: @escaping (ArraySlice<UInt8>) async throws -> Void) { self.body = body }

    public func write(_ bytes: ArraySlice<UInt8>) async throws { try await body(bytes) }
}
