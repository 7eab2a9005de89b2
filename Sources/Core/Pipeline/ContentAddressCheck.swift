import Crypto

/// Checks a NAR against its path's content address while it streams, as Nix does when it
/// imports a content-addressed path: `fixed:r:` hashes the whole NAR, `fixed:` and `text:`
/// the one regular file the NAR must then be. With this check, an address that makes its
/// path's own store path certifies the path as a signature would.
struct ContentAddressCheck {
    private let address: ContentAddress
    private let path: StorePath
    /// For a `fixed:r:` address: the whole NAR.
    private var narHasher: AnyHasher
    /// For a flat or text address: the NAR's shape, and the file's contents hashed.
    private var parser: NarParser?
    private var file: SingleFile

    init(_ address: ContentAddress, of path: StorePath) {
        self.address = address
        self.path = path
        narHasher = AnyHasher(address.hash.algorithm)
        parser = address.method == .recursive ? nil : NarParser()
        file = SingleFile(hasher: AnyHasher(address.hash.algorithm))
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) throws {
        if parser == nil {
            narHasher.update(bytes)
        } else {
            _ = try parser!.feed(bytes, to: &file)
        }
    }

    func finish() throws {
        if parser != nil && !file.isOnlyAFile {
            throw CopyError.narMismatch(path, "its content address (\(address.method.rawValue)) is of one file, but the NAR holds more")
        }
        let hash = parser == nil ? narHasher.finalize() : file.hasher.finalize()
        guard hash == address.hash else {
            throw CopyError.narMismatch(path, "its content hashes to \(hash), not to its content address's \(address.hash)")
        }
    }

    /// Feeds the contents of a NAR that is a single regular file to a hasher, and notes
    /// anything else the NAR holds.
    private struct SingleFile: NarVisitor {
        var hasher: AnyHasher
        private(set) var isOnlyAFile = true

        mutating func directory(at path: NarEntryPath) throws { isOnlyAFile = false }
        mutating func symlink(at path: NarEntryPath, target: [UInt8]) throws { isOnlyAFile = false }
        mutating func regularFile(at path: NarEntryPath, executable: Bool, size: UInt64, offset: UInt64) throws {
            if !path.isRoot { isOnlyAFile = false }
        }
        mutating func fileContents(_ bytes: UnsafeRawBufferPointer) throws { hasher.update(bytes) }
    }
}

/// An incremental hash in any algorithm Nix names.
struct AnyHasher {
    private enum State {
        case md5(Insecure.MD5), sha1(Insecure.SHA1), sha256(SHA256), sha512(SHA512)
    }

    private var state: State
    private let algorithm: HashAlgorithm

    init(_ algorithm: HashAlgorithm) {
        self.algorithm = algorithm
        state = switch algorithm {
        case .md5: .md5(Insecure.MD5())
        case .sha1: .sha1(Insecure.SHA1())
        case .sha256: .sha256(SHA256())
        case .sha512: .sha512(SHA512())
        }
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch state {
        case .md5(var hasher): hasher.update(bufferPointer: bytes); state = .md5(hasher)
        case .sha1(var hasher): hasher.update(bufferPointer: bytes); state = .sha1(hasher)
        case .sha256(var hasher): hasher.update(bufferPointer: bytes); state = .sha256(hasher)
        case .sha512(var hasher): hasher.update(bufferPointer: bytes); state = .sha512(hasher)
        }
    }

    func finalize() -> Hash {
        let digest: [UInt8] = switch state {
        case .md5(let hasher): Array(hasher.finalize())
        case .sha1(let hasher): Array(hasher.finalize())
        case .sha256(let hasher): Array(hasher.finalize())
        case .sha512(let hasher): Array(hasher.finalize())
        }
        // Each function yields its algorithm's length, so this cannot fail.
        return try! Hash(algorithm: algorithm, digest: digest)
    }
}
