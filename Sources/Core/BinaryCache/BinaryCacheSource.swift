import Synchronization

/// A binary cache as a source, read as Nix reads one: `nix-cache-info` first (its
/// StoreDir must be ours), then a narinfo per path, closures by following References,
/// and NARs downloaded and decompressed as they stream.
///
/// Narinfos are fetched once per run and kept; every NAR is checked against the FileHash
/// and FileSize its narinfo gives, besides the NarHash check every copy has.
public final class BinaryCacheSource: CompressedNarSource {
    public let storage: any CacheStorage
    /// A codec instance per compression it can decompress.
    private let decoders: [String: any Codec]
    /// Narinfo requests in flight at once.
    private let width: Int
    private let narInfos = NarInfoCache()
    /// Encoded narinfos are decoded one at a time: a decoder takes its window (8 MiB for
    /// xz at Nix's preset) outside the memory budget, and narinfos are fetched by the dozen.
    private let decoding = MemoryLimiter(budget: 1, warnAfter: nil, logger: .init(label: "ferry.narinfo-decoding"))

    public var description: String { storage.description }
    public var requiresSignatures: Bool { true }

    init(storage: any CacheStorage, decoders: [String: any Codec], width: Int) {
        self.storage = storage
        self.decoders = decoders
        self.width = max(width, 1)
    }

    /// Opens the cache: reads its `nix-cache-info` and checks its store directory.
    public static func open(_ storage: any CacheStorage, codecs: [String: Plugin<any Codec>], jobs: Int,
                            storeDir: String = StorePath.defaultStoreDir) async throws -> BinaryCacheSource {
        // Nix writes a missing one into the cache and goes on; a source is never written.
        guard try await NixCacheInfo.read(from: storage, storeDir: storeDir) != nil else {
            throw ConfigError(storage.location(of: NixCacheInfo.key),
                              "is missing, so this is not a binary cache: check the URL (a folder of narinfos and NARs "
                              + "made by hand needs one that says `StoreDir: \(storeDir)`)")
        }
        var decoders: [String: any Codec] = [:]
        let context = PluginContext(logger: .init(label: "ferry.decoders"), jobs: 1, memoryBudget: .max)
        for (name, plugin) in codecs {
            guard let codec = try? await plugin.make(PluginSettings(plugin: name, location: "decoder"), context),
                  (try? codec.makeDecompressor(writingTo: ClosureSink { _ in })) != nil else { continue }
            decoders[codec.compression] = codec
        }
        return BinaryCacheSource(storage: storage, decoders: decoders, width: 4 * jobs)
    }

    /// The narinfo of `path`, or nil when the cache does not have it.
    public func narInfo(_ path: StorePath) async throws -> NarInfo? {
        if let known = narInfos.lookup(path) { return known }  // nil inside: known to be absent
        let key = NarInfo.key(for: path)
        guard let file = try await storage.readEncoded(key) else {
            narInfos.store(path, nil)
            return nil
        }
        let bytes = try await decoded(file, key: key)
        let narInfo = try NarInfo(parsing: String(decoding: bytes, as: UTF8.self), source: storage.location(of: key))
        guard narInfo.info.path == path else {
            throw CacheStorageError(cache: description, key: key, "it describes \(narInfo.info.path), not \(path)")
        }
        narInfos.store(path, narInfo)
        return narInfo
    }

    /// A narinfo's bytes, decoded by the codec its `Content-Encoding` names, at most as
    /// long as a small file may be.
    private func decoded(_ file: EncodedFile, key: String) async throws -> [UInt8] {
        guard let encoding = file.encoding else { return file.bytes }
        let codec = try decoder(for: encoding, key: key, what: "comes with Content-Encoding: \(encoding)")
        return try await decoding.withReservation(1, for: key) { _ in
            let limit = EncodedFile.sizeLimit
            var output: [UInt8] = []
            let decoder = try codec.makeDecompressor(writingTo: ClosureSink { chunk in
                guard output.count + chunk.count <= limit else {
                    throw CacheStorageError(cache: self.description, key: key, "decodes to more than \(limit >> 20) MiB")
                }
                output += chunk
            })!
            try await decoder.write(file.bytes[...])
            try await decoder.finish()
            return output
        }
    }

    /// The codec that decodes `compression`, or an error saying `key` `what`, and which
    /// ones Ferry has.
    private func decoder(for compression: String, key: String, what: String) throws -> any Codec {
        guard let codec = decoders[compression] else {
            throw CacheStorageError(cache: description, key: key,
                                    "\(what), which Ferry cannot decode (it decodes \(decoders.keys.sorted().joined(separator: ", ")))")
        }
        return codec
    }

    public func closure(of paths: [StorePath]) async throws -> Set<StorePath> {
        var seen = Set(paths)
        var frontier = paths
        while !frontier.isEmpty {
            let found = try await narInfos(of: frontier)
            if let missing = frontier.first(where: { found[$0] == nil }) {
                throw CopyError.notInSource([missing], source: description)
            }
            frontier = found.values.flatMap(\.info.references).filter { seen.insert($0).inserted }
        }
        return seen
    }

    public func pathInfos(_ paths: [StorePath]) async throws -> [PathInfo] {
        let found = try await narInfos(of: paths)
        return paths.compactMap { found[$0]?.info }
    }

    /// A cache has no garbage collector to hold off; this only says which paths it has.
    public func protect(_ paths: [StorePath]) async throws -> Set<StorePath> {
        Set(try await narInfos(of: paths).keys)
    }

    public func readMemory(for info: PathInfo) -> Int {
        guard let compression = narInfos.known(info.path)?.compression else { return 0 }
        return decoders[compression]?.decompressorMemory(narSize: info.narSize) ?? 0
    }

    public func streamNar(of info: PathInfo, into sink: @escaping (ArraySlice<UInt8>) async throws -> Void) async throws {
        let narInfo = try await required(info.path)
        let codec = try decoder(for: narInfo.compression, key: narInfo.url, what: "is compressed with '\(narInfo.compression)'")
        let decoder = try NarFileDecoder(codec, for: info.path, file: "\(narInfo.url) in \(description)", writingTo: ClosureSink(sink))
        try await download(narInfo) { try await decoder.write($0) }
        try await decoder.finish()
    }

    public func storedNar(of path: StorePath) async -> StoredNarForm? {
        narInfos.known(path).map { StoredNarForm(compression: $0.compression, fileHash: $0.fileHash, fileSize: $0.fileSize) }
    }

    public func streamStoredNar(of info: PathInfo, into sink: (ArraySlice<UInt8>) async throws -> Void) async throws {
        try await download(try await required(info.path), into: sink)
    }

    public func close() async { await storage.close() }

    /// Downloads a NAR file, checking its FileSize as it grows and its FileHash at the end.
    private func download(_ narInfo: NarInfo, into sink: (ArraySlice<UInt8>) async throws -> Void) async throws {
        var hasher = HashingCounter()
        let limit = narInfo.fileSize ?? .max
        try await storage.download(narInfo.url) { chunk in
            chunk.withUnsafeBytes { hasher.update($0) }
            guard hasher.count <= limit else {
                throw CopyError.narMismatch(narInfo.info.path, "\(narInfo.url) is longer than its FileSize \(limit)")
            }
            try await sink(chunk)
        }
        if let size = narInfo.fileSize, hasher.count != size {
            throw CopyError.narMismatch(narInfo.info.path, "\(narInfo.url) has \(hasher.count) bytes but its FileSize is \(size)")
        }
        if let expected = narInfo.fileHash, expected.algorithm == .sha256, hasher.finalize() != expected {
            throw CopyError.narMismatch(narInfo.info.path, "\(narInfo.url) does not match its FileHash \(expected)")
        }
    }

    private func required(_ path: StorePath) async throws -> NarInfo {
        guard let narInfo = try await narInfo(path) else { throw CopyError.notInSource([path], source: description) }
        return narInfo
    }

    /// The narinfos of those of `paths` the cache has, fetched `width` at a time.
    private func narInfos(of paths: [StorePath]) async throws -> [StorePath: NarInfo] {
        let found = try await concurrentCompactMap(paths, width: width) { try await self.narInfo($0) }
        return Dictionary(found.map { ($0.info.path, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

/// Narinfos already fetched (or known to be absent), shared by concurrent lookups and
/// read without waiting by the limiter's memory estimate.
final class NarInfoCache: Sendable {
    private let entries = Mutex<[StorePath: NarInfo?]>([:])

    func lookup(_ path: StorePath) -> NarInfo?? { entries.withLock { $0[path] } }
    func known(_ path: StorePath) -> NarInfo? { entries.withLock { $0[path] ?? nil } }
    func store(_ path: StorePath, _ narInfo: NarInfo?) { entries.withLock { $0[path] = narInfo } }
}
