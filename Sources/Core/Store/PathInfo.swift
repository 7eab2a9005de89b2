/// What a store knows about one valid path: the metadata that travels with its NAR.
///
/// This is Nix's `ValidPathInfo` less the local-database fields Ferry never needs.
public struct PathInfo: Hashable, Sendable {
    public var path: StorePath
    public var deriver: StorePath?
    /// SHA-256 of the uncompressed NAR.
    public var narHash: Hash
    public var narSize: UInt64
    public var references: Set<StorePath>
    /// Signatures as `keyname:base64`, kept sorted and unique as Nix keeps them.
    public var signatures: Set<String>
    /// Content address (`fixed:r:sha256:…`, `text:sha256:…`), when the path has one.
    public var contentAddress: String?

    public init(path: StorePath, deriver: StorePath? = nil, narHash: Hash, narSize: UInt64,
                references: Set<StorePath> = [], signatures: Set<String> = [], contentAddress: String? = nil) {
        self.path = path
        self.deriver = deriver
        self.narHash = narHash
        self.narSize = narSize
        self.references = references
        self.signatures = signatures
        self.contentAddress = contentAddress
    }

    /// References sorted by base name, as Nix iterates its `StorePathSet`.
    public var sortedReferences: [StorePath] { references.sorted() }

    /// Signatures in Nix's order (a sorted `std::set<std::string>`).
    public var sortedSignatures: [String] { signatures.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }

    /// The string a signature signs:
    /// `1;<path>;<sha256:nix32 NarHash>;<NarSize>;<comma-separated full reference paths>`.
    public var fingerprint: String {
        "1;\(path.path);\(narHash.rendered(.nix32));\(narSize);"
            + sortedReferences.map(\.path).joined(separator: ",")
    }
}
