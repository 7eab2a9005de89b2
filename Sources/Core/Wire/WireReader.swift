/// Reads Nix's wire format (u64s, padded strings, string lists) from an async byte
/// source through a buffer, and hands buffered bytes to parsers that stream (NARs).
///
/// Every string read takes a maximum length, checked before anything is allocated.
public final class WireReader {
    private let source: AsyncByteSource
    private let readSize: Int
    private var buffer: [UInt8] = []
    private var start = 0

    public init(source: AsyncByteSource, readSize: Int = 128 * 1024) {
        self.source = source
        self.readSize = readSize
    }

    /// The bytes read from the source and not yet consumed.
    public var buffered: ArraySlice<UInt8> { buffer[start...] }

    /// Marks `count` buffered bytes as consumed.
    public func consume(_ count: Int) {
        precondition(count <= buffer.count - start)
        start += count
    }

    /// Reads more from the source; throws `WireError.unexpectedEnd` at its end.
    public func fill() async throws {
        let more = try await source.read(maxLength: readSize)
        guard !more.isEmpty else { throw WireError.unexpectedEnd }
        if start == buffer.count {
            buffer = more
        } else {
            buffer = Array(buffer[start...]) + more
        }
        start = 0
    }

    private func ensure(_ count: Int) async throws {
        while buffer.count - start < count { try await fill() }
    }

    public func u64() async throws -> UInt64 {
        try await ensure(8)
        var value: UInt64 = 0
        for k in 0..<8 { value |= UInt64(buffer[start + k]) << (8 * UInt64(k)) }
        start += 8
        return value
    }

    public func bool() async throws -> Bool { try await u64() != 0 }

    /// A length-prefixed, zero-padded string of at most `maxLength` bytes.
    public func bytes(maxLength: Int) async throws -> [UInt8] {
        let length = try await u64()
        guard length <= UInt64(maxLength) else { throw WireError.tooLong(length: length, limit: maxLength) }
        let padded = Int(length) + WireEncoder.paddingLength(for: length)
        try await ensure(padded)
        let value = Array(buffer[start..<(start + Int(length))])
        guard buffer[(start + Int(length))..<(start + padded)].allSatisfy({ $0 == 0 }) else {
            throw WireError.nonZeroPadding
        }
        start += padded
        return value
    }

    public func string(maxLength: Int) async throws -> String {
        String(decoding: try await bytes(maxLength: maxLength), as: UTF8.self)
    }

    /// A count, then that many strings. The count is not trusted for allocation: the
    /// list grows as its strings actually arrive.
    public func strings(maxLength: Int, maxCount: Int = 10_000_000) async throws -> [String] {
        let count = try await u64()
        guard count <= UInt64(maxCount) else { throw WireError.tooMany(count: count, limit: maxCount) }
        var values: [String] = []
        for _ in 0..<count { values.append(try await string(maxLength: maxLength)) }
        return values
    }
}

/// A wire-format reply that breaks the framing.
public enum WireError: Error, CustomStringConvertible, Equatable {
    case unexpectedEnd
    case nonZeroPadding
    case tooLong(length: UInt64, limit: Int)
    case tooMany(count: UInt64, limit: Int)

    public var description: String {
        switch self {
        case .unexpectedEnd: "unexpected end of stream"
        case .nonZeroPadding: "non-zero padding in a string"
        case .tooLong(let length, let limit): "a string of \(length) bytes where at most \(limit) are allowed"
        case .tooMany(let count, let limit): "a list of \(count) items where at most \(limit) are allowed"
        }
    }
}
