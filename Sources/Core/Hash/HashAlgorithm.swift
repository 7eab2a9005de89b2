/// The hash algorithms Nix names in hash strings (`md5 sha1 sha256 sha512`).
public enum HashAlgorithm: String, Sendable, CaseIterable, Hashable {
    case md5, sha1, sha256, sha512

    /// The digest length in bytes.
    public var byteCount: Int {
        switch self {
        case .md5: 16
        case .sha1: 20
        case .sha256: 32
        case .sha512: 64
        }
    }
}
