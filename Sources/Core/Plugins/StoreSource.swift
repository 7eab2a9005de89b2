/// Where store paths come from: a Nix store (local or over SSH) or a binary cache.
///
/// A source may be used by several copies at once; it pools its own connections.
public protocol StoreSource: Sendable {
    /// For messages: `local store`, `ssh://builder`, `https://cache.example.org`.
    var description: String { get }
    /// The paths and everything they reference, directly or not.
    func closure(of paths: [StorePath]) async throws -> Set<StorePath>
    /// Path infos of the valid ones among `paths`.
    func pathInfos(_ paths: [StorePath]) async throws -> [PathInfo]
    /// Keeps `paths` from garbage collection on the source until `close()`; returns
    /// those that are valid there.
    func protect(_ paths: [StorePath]) async throws -> Set<StorePath>
    /// True when what it serves must carry a trusted signature to be copied (a binary
    /// cache anyone could have written), false for a Nix store.
    var requiresSignatures: Bool { get }
    /// Bytes streaming the NAR of `info` holds in memory (a decompressor), for the limiter.
    func readMemory(for info: PathInfo) -> Int
    /// Streams the uncompressed NAR of `info.path` to `sink`, in order.
    func streamNar(of info: PathInfo, into sink: @escaping (ArraySlice<UInt8>) async throws -> Void) async throws
    /// Starts opening what streaming needs (a connection) while the run plans, so the
    /// first NAR does not wait for a handshake. A failure is left for that first use.
    func openAhead()
    func close() async
}

extension StoreSource {
    public func openAhead() {}
    public var requiresSignatures: Bool { false }
    public func readMemory(for info: PathInfo) -> Int { 0 }
}

/// A source that holds NARs compressed (a binary cache) and can hand them over as they
/// are, so a destination that wants the same compression gets the same bytes.
public protocol CompressedNarSource: StoreSource {
    /// How the source stores the NAR of `path`, when it knows.
    func storedNar(of path: StorePath) async -> StoredNarForm?
    /// Streams the stored (compressed) bytes of the NAR of `info.path`.
    func streamStoredNar(of info: PathInfo, into sink: (ArraySlice<UInt8>) async throws -> Void) async throws
}

/// A NAR as a binary cache stores it: its compression, and its file's hash and size.
public struct StoredNarForm: Sendable, Equatable {
    public var compression: String
    public var fileHash: Hash?
    public var fileSize: UInt64?

    public init(compression: String, fileHash: Hash?, fileSize: UInt64?) {
        self.compression = compression
        self.fileHash = fileHash
        self.fileSize = fileSize
    }
}
