import Synchronization

/// A binary cache as a destination, laid out exactly as Nix lays it out:
/// `nix-cache-info`, `nar/<FileHash>.nar.<ext>`, `<hashpart>.narinfo`, and when asked
/// `<hashpart>.ls` and the `debuginfo/` index; on whatever `CacheStorage` holds its files.
///
/// A compressed NAR goes into a `Spool` (its name is its FileHash, known at its last byte),
/// is stored whole, and only then is its narinfo written, at publication, so a killed run
/// leaves at most an orphan NAR, never a narinfo without its NAR.
public final class BinaryCacheBackend: StoreBackend {
    public let storage: any CacheStorage
    public let storesCompressedNars = true
    public let needsReferencesFirst = false
    public var wantsNarListing: Bool { writeNarListing || indexDebugInfo }
    private let writeNarListing: Bool
    private let indexDebugInfo: Bool
    private let cacheInfo: NixCacheInfo
    private let secretKey: SecretKey?
    /// Existence checks in flight at once when asking which paths are there.
    private let queryConcurrency: Int
    /// Whether `check` found a `nix-cache-info`; nil until it ran. `prepare` needs to know,
    /// and need not ask the cache again.
    private let hadCacheInfo = Mutex<Bool?>(nil)

    public var description: String { storage.description }

    public init(storage: any CacheStorage, cacheInfo: NixCacheInfo = NixCacheInfo(), secretKey: SecretKey? = nil,
                writeNarListing: Bool = false, indexDebugInfo: Bool = false, queryConcurrency: Int = 16) {
        self.storage = storage
        self.cacheInfo = cacheInfo
        self.secretKey = secretKey
        self.queryConcurrency = max(queryConcurrency, 1)
        self.writeNarListing = writeNarListing
        self.indexDebugInfo = indexDebugInfo
    }

    public func check() async throws {
        let found = try await NixCacheInfo.read(from: storage, storeDir: cacheInfo.storeDir) != nil
        hadCacheInfo.withLock { $0 = found }
    }

    /// Writes `nix-cache-info` when there is none (an existing one is left as it is, but
    /// must name the same store directory, or nothing is written), and clears the spool
    /// folder of what runs that died left there.
    public func prepare() async throws {
        if hadCacheInfo.withLock({ $0 }) == nil { try await check() }
        let existing = hadCacheInfo.withLock { $0 }
        try await storage.prepareForWriting(extraFolders: indexDebugInfo ? [DebugInfoIndex.folder] : [])
        AtomicFile.removeStaleTemporaries(in: storage.spoolDirectory)
        if existing == false {
            try await storage.write(NixCacheInfo.key, Array(cacheInfo.rendered().utf8),
                                    contentType: CacheContentType.cacheInfo)
        }
    }

    public func presentPaths(_ paths: [StorePath]) async throws -> Set<StorePath> {
        Set(try await concurrentCompactMap(paths, width: queryConcurrency) { path in
            try await self.storage.exists(NarInfo.key(for: path)) ? path : nil
        })
    }

    /// What a NAR's spool may hold in memory: the storage's share, and never more than
    /// the NAR could take.
    public func writeMemory(for info: PathInfo) -> Int {
        Int(min(UInt64(storage.spoolMemory), info.narSize + 64 << 10))
    }

    /// An uncompressed NAR's spool takes its NarHash as its FileHash instead of hashing it
    /// again: the pipeline commits a NAR only once its NarHash has been checked.
    public func beginNar(_ info: PathInfo, compression: String) async throws -> any NarWriter {
        let knownHash = compression == "none" && info.narHash.algorithm == .sha256 ? info.narHash : nil
        return BinaryCacheNarWriter(info: info, compression: compression, storage: storage,
                                    spool: Spool(memoryLimit: writeMemory(for: info), directory: storage.spoolDirectory,
                                                 name: "\(info.path.hashPart).nar", knownHash: knownHash,
                                                 writeback: storage.spoolWriteback))
    }

    /// Signs each path (keeping the signatures it already has), then writes the listings
    /// and debug-info links and, last, the narinfos of those whose files were written.
    public func publish(_ batch: [StoredNar]) async -> [StorePath: any Error] {
        var listings: [(path: StorePath, file: CacheFile)] = []
        var debugInfo: [(path: StorePath, file: CacheFile)] = []
        var narInfos: [(path: StorePath, file: CacheFile)] = []
        for nar in batch {
            var info = nar.info
            secretKey?.sign(&info)
            if let listing = nar.listing, writeNarListing {
                listings.append((info.path, CacheFile(key: "\(info.path.hashPart).ls", bytes: Array(listing.json.utf8),
                                                      contentType: CacheContentType.listing)))
            }
            if let listing = nar.listing, indexDebugInfo {
                debugInfo += DebugInfoIndex.files(of: listing, narURL: nar.url!).map { (info.path, $0) }
            }
            let narInfo = NarInfo(info: info, url: nar.url!, compression: nar.compression!,
                                  fileHash: nar.fileHash, fileSize: nar.fileSize)
            narInfos.append((info.path, CacheFile(key: NarInfo.key(for: info.path), bytes: Array(narInfo.rendered().utf8),
                                                  contentType: CacheContentType.narInfo, requires: narInfo.url)))
        }
        let (links, unchecked) = await unindexed(debugInfo)
        let failures = await write(listings + links).merging(unchecked) { first, _ in first }
        return await write(narInfos.filter { failures[$0.path] == nil }).merging(failures) { first, _ in first }
    }

    /// The debug-info links to write: as in Nix, the first link written for a build id
    /// stays, so only a batch's first for each, and only where the cache has none. A path
    /// whose link cannot be checked fails with that error.
    private func unindexed(_ links: [(path: StorePath, file: CacheFile)]) async
        -> (links: [(path: StorePath, file: CacheFile)], failures: [StorePath: any Error]) {
        var seen = Set<String>()
        let firsts = links.filter { seen.insert($0.file.key).inserted }
        // The transform throws nothing, so neither does the map.
        let unwritten = (try? await concurrentCompactMap(firsts, width: queryConcurrency) {
            link -> (link: (path: StorePath, file: CacheFile), error: (any Error)?)? in
            do { return try await self.storage.exists(link.file.key) ? nil : (link, nil) } catch { return (link, error) }
        }) ?? []
        return (unwritten.filter { $0.error == nil }.map(\.link),
                Dictionary(unwritten.compactMap { entry in entry.error.map { (entry.link.path, $0) } },
                           uniquingKeysWith: { first, _ in first }))
    }

    /// Writes each path's file; returns the error of each path whose file was not written.
    private func write(_ files: [(path: StorePath, file: CacheFile)]) async -> [StorePath: any Error] {
        guard !files.isEmpty else { return [:] }
        let failed = await storage.write(files.map(\.file))
        return Dictionary(files.compactMap { entry in failed[entry.file.key].map { (entry.path, $0) } },
                          uniquingKeysWith: { first, _ in first })
    }

    public func close() async { await storage.close() }
}

/// A compressed NAR on its way into `nar/`: spooled and hashed as it is written, stored
/// under its FileHash name on commit, unless a file of that name is there already (the
/// same bytes: the name is their hash).
final class BinaryCacheNarWriter: NarWriter {
    private let info: PathInfo
    private let compression: String
    private let storage: any CacheStorage
    private let spool: Spool

    init(info: PathInfo, compression: String, storage: any CacheStorage, spool: Spool) {
        self.info = info
        self.compression = compression
        self.storage = storage
        self.spool = spool
    }

    func write(_ bytes: ArraySlice<UInt8>) async throws { try await spool.write(bytes) }

    func commit() async throws -> StoredNar {
        let fileHash = spool.finish()
        let url = NarInfo.narURL(fileHash: fileHash, compression: compression)
        if try await !storage.exists(url) {
            try await storage.store(spool, as: url, contentType: CacheContentType.nar)
        }
        spool.discard()
        return StoredNar(info: info, url: url, compression: compression, fileHash: fileHash, fileSize: spool.size)
    }

    func abort() async { spool.discard() }
}

/// `transform` of every element of `items`, at most `width` at a time, without the nils,
/// in the order they finish.
func concurrentCompactMap<T: Sendable, U: Sendable>(_ items: [T], width: Int,
                                                    _ transform: @escaping @Sendable (T) async throws -> U?) async throws -> [U] {
    try await withThrowingTaskGroup(of: U?.self) { group in
        var results: [U] = []
        var next = items.makeIterator()
        for _ in 0..<max(width, 1) {
            guard let item = next.next() else { break }
            group.addTask { try await transform(item) }
        }
        while let result = try await group.next() {
            if let result { results.append(result) }
            if let item = next.next() { group.addTask { try await transform(item) } }
        }
        return results
    }
}
