/// Checks a NAR against its path info while it streams: its size as it grows, its
/// NarHash at the end, and its content address when it has one; and builds its `.ls`
/// listing when asked.
struct NarCheck {
    private let expected: PathInfo
    private var hasher = HashingCounter()
    private var parser: NarParser?
    private var listing = NarListing()
    /// A content address other than the NAR's own SHA-256, which the NarHash check covers.
    private var contentAddress: ContentAddressCheck?
    private var narAddress: Hash?

    init(expected: PathInfo, buildListing: Bool) {
        self.expected = expected
        parser = buildListing ? NarParser() : nil
        if let address = expected.checkableContentAddress {
            if address.isNarHash {
                narAddress = address.hash
            } else {
                contentAddress = ContentAddressCheck(address, of: expected.path)
            }
        }
    }

    mutating func update(_ chunk: ArraySlice<UInt8>) throws {
        guard hasher.count + UInt64(chunk.count) <= expected.narSize else {
            throw CopyError.narMismatch(expected.path, "the NAR is longer than its NarSize \(expected.narSize)")
        }
        try chunk.withUnsafeBytes { bytes in
            hasher.update(bytes)
            _ = try parser?.feed(bytes, to: &listing)
            try contentAddress?.update(bytes)
        }
    }

    /// Throws unless the NAR had exactly the size and hash its path info promised;
    /// returns the listing when one was built.
    func finish() throws -> NarListing? {
        guard hasher.count == expected.narSize else {
            throw CopyError.narMismatch(expected.path, "the NAR has \(hasher.count) bytes but its NarSize is \(expected.narSize)")
        }
        let hash = hasher.finalize()
        guard hash == expected.narHash else {
            throw CopyError.narMismatch(expected.path, "its NarHash is \(hash) but the source said \(expected.narHash)")
        }
        if let narAddress, narAddress != hash {
            throw CopyError.narMismatch(expected.path, "its NAR hashes to \(hash), not to its content address's \(narAddress)")
        }
        try contentAddress?.finish()
        try parser?.finish()
        guard parser != nil else { return nil }
        var done = listing
        done.close()
        return done
    }
}

/// A `NarCheck` as a sink, for a decompressor to write into; counts what it checks into
/// the run's `streamed`.
final class NarCheckSink: AsyncByteSink {
    private var check: NarCheck
    private let streamed: StreamedBytes
    /// Bytes this sink counted, to take back when its copy fails.
    private(set) var counted: UInt64 = 0

    init(_ check: NarCheck, counting streamed: StreamedBytes) {
        self.check = check
        self.streamed = streamed
    }

    func write(_ bytes: ArraySlice<UInt8>) async throws {
        try check.update(bytes)
        streamed.add(bytes.count)
        counted += UInt64(bytes.count)
    }

    func finish() throws -> NarListing? { try check.finish() }
}
