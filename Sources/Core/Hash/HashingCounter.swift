import Crypto

/// An incremental SHA-256 that also counts what it saw: exactly what a NarHash and
/// NarSize (or FileHash and FileSize) are, computed while the bytes stream past.
public struct HashingCounter {
    private var hasher = SHA256()
    /// Bytes hashed so far.
    public private(set) var count: UInt64 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
        count += UInt64(bytes.count)
    }

    /// The SHA-256 of everything hashed; the counter itself is left as it was.
    public func finalize() -> Hash {
        // SHA-256 always yields 32 bytes, so this cannot fail.
        try! Hash(algorithm: .sha256, digest: Array(hasher.finalize()))
    }
}

extension Hash {
    /// The SHA-256 of `bytes`, all at once.
    public static func sha256(of bytes: some Collection<UInt8>) -> Hash {
        var hasher = HashingCounter()
        Array(bytes).withUnsafeBytes { hasher.update($0) }
        return hasher.finalize()
    }
}
