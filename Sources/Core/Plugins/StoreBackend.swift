/// Where store paths go: a binary cache (folder, HTTP, S3) or another Nix store.
///
/// The pipeline calls `beginNar` for a path, streams its NAR (compressed when
/// `storesCompressedNars`) into the returned writer, commits it, and later publishes
/// it, in topological order, so that nothing refers to a path that is not there yet.
/// Publication comes in batches of paths that do not refer to each other: a folder
/// makes a whole batch durable at once, a server takes it in parallel.
public protocol StoreBackend: Sendable {
    var description: String { get }
    /// True for binary caches: NARs are compressed first and described by a narinfo.
    var storesCompressedNars: Bool { get }
    /// True when a path can only be added once its references are there (a Nix store
    /// registers a path together with its references).
    var needsReferencesFirst: Bool { get }
    /// True when the backend publishes what a NAR holds (a `.ls` listing, the debug-info
    /// index); the pipeline then builds its listing while the NAR streams and hands it
    /// over in `StoredNar`.
    var wantsNarListing: Bool { get }
    /// Refuses a destination paths cannot be copied to (a cache for another store
    /// directory) before it is asked what it has; writes nothing.
    func check() async throws
    /// Makes the destination ready (a cache writes its `nix-cache-info`).
    func prepare() async throws
    /// Which of `paths` the destination already has, asked in as few requests as it can.
    func presentPaths(_ paths: [StorePath]) async throws -> Set<StorePath>
    /// Bytes one NAR's writer holds in memory (an upload's buffer), for the limiter.
    func writeMemory(for info: PathInfo) -> Int
    /// Starts writing the NAR of `info`; `compression` is the codec's name.
    func beginNar(_ info: PathInfo, compression: String) async throws -> any NarWriter
    /// Makes committed NARs visible: the narinfos of a binary cache, written last. No NAR
    /// of a batch refers to another, so they may appear in any order, or together.
    /// Returns the error of each path that was not published.
    func publish(_ batch: [StoredNar]) async -> [StorePath: any Error]
    func close() async
}

extension StoreBackend {
    public func check() async throws {}
    public var wantsNarListing: Bool { false }
    public func writeMemory(for info: PathInfo) -> Int { 0 }
}

/// A NAR being written to a backend. Until `commit()` nothing of it is visible; `abort()`
/// removes whatever was written. The pipeline commits only a NAR whose NarSize and
/// NarHash it has checked.
public protocol NarWriter: AsyncByteSink {
    func commit() async throws -> StoredNar
    func abort() async
}

/// A NAR the backend holds, ready to be published.
public struct StoredNar: Sendable {
    public var info: PathInfo
    /// Relative URL of the NAR file in a binary cache.
    public var url: String?
    public var compression: String?
    public var fileHash: Hash?
    public var fileSize: UInt64?
    /// What the NAR holds, when the backend asked for it.
    public var listing: NarListing?

    public init(info: PathInfo, url: String? = nil, compression: String? = nil, fileHash: Hash? = nil,
                fileSize: UInt64? = nil, listing: NarListing? = nil) {
        self.info = info
        self.url = url
        self.compression = compression
        self.fileHash = fileHash
        self.fileSize = fileSize
        self.listing = listing
    }
}
