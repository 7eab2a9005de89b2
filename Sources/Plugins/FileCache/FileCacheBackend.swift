import FerryCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A binary cache in a folder, laid out exactly as Nix lays it out: `nix-cache-info`,
/// `nar/<FileHash>.nar.<ext>`, `<hashpart>.narinfo`, and `<hashpart>.ls` when asked.
///
/// A NAR is written under a temporary name, flushed and renamed before its narinfo is
/// written; the narinfo (and listing) are written the same way, so a killed run leaves
/// at most an orphan NAR, never a narinfo without its NAR.
public final class FileCacheBackend: StoreBackend {
    public let root: String
    public let storesCompressedNars = true
    public let needsReferencesFirst = false
    public let wantsNarListing: Bool
    private let cacheInfo: NixCacheInfo
    private let secretKey: SecretKey?

    public var description: String { "file://\(root)" }

    public init(root: String, cacheInfo: NixCacheInfo = NixCacheInfo(), secretKey: SecretKey? = nil,
                writeNarListing: Bool = false) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        self.cacheInfo = cacheInfo
        self.secretKey = secretKey
        wantsNarListing = writeNarListing
    }

    /// Creates the folders, and `nix-cache-info` when there is none; an existing one is
    /// left as it is, but must name the same store directory.
    public func prepare() async throws {
        for dir in [root, root + "/nar"] where mkdir(dir, 0o755) != 0 && currentErrno() != EEXIST {
            throw SystemError("mkdir", dir)
        }
        let infoPath = root + "/nix-cache-info"
        if let existing = try? String(contentsOfFile: infoPath, encoding: .utf8) {
            let info = try NixCacheInfo(parsing: existing, source: infoPath)
            guard info.storeDir == cacheInfo.storeDir else {
                throw FileCacheError(root: root, reason: "its nix-cache-info says StoreDir \(info.storeDir), not \(cacheInfo.storeDir)")
            }
        } else {
            try AtomicFile.write(Array(cacheInfo.rendered().utf8), to: infoPath)
        }
    }

    public func presentPaths(_ paths: [StorePath]) async throws -> Set<StorePath> {
        Set(paths.filter { access(narInfoPath($0), F_OK) == 0 })
    }

    public func beginNar(_ info: PathInfo, compression: String) async throws -> any NarWriter {
        try CacheNarWriter(info: info, compression: compression, root: root)
    }

    /// Signs (keeping the signatures the path already has), then writes the listing
    /// and, last, the narinfo.
    public func publish(_ nar: StoredNar) async throws {
        var info = nar.info
        secretKey?.sign(&info)
        if let listing = nar.listing {
            try AtomicFile.write(Array(listing.utf8), to: "\(root)/\(info.path.hashPart).ls")
        }
        let narInfo = NarInfo(info: info, url: nar.url!, compression: nar.compression!,
                              fileHash: nar.fileHash, fileSize: nar.fileSize)
        try AtomicFile.write(Array(narInfo.rendered().utf8), to: narInfoPath(info.path))
    }

    public func close() async {}

    private func narInfoPath(_ path: StorePath) -> String { "\(root)/\(path.hashPart).narinfo" }
}

/// A compressed NAR on its way into `nar/`: hashed as it is written, renamed to its
/// FileHash name on commit (or dropped if a file of that hash is already there).
final class CacheNarWriter: NarWriter {
    private let info: PathInfo
    private let compression: String
    private let root: String
    private let temporary: String
    private let fd: Int32
    private var hasher = HashingCounter()

    init(info: PathInfo, compression: String, root: String) throws {
        self.info = info
        self.compression = compression
        self.root = root
        temporary = AtomicFile.temporaryName(for: "\(root)/nar/\(info.path.hashPart).nar")
        fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemError("create", temporary) }
    }

    func write(_ bytes: ArraySlice<UInt8>) async throws {
        try bytes.withUnsafeBytes { raw in
            hasher.update(raw)
            try writeAll(fd, raw, subject: temporary)
        }
    }

    func commit() async throws -> StoredNar {
        guard fsync(fd) == 0 else { throw SystemError("fsync", temporary) }
        close(fd)
        let fileHash = hasher.finalize()
        let url = NarInfo.narURL(fileHash: fileHash, compression: compression)
        let final = "\(root)/\(url)"
        if access(final, F_OK) == 0 {
            unlink(temporary)  // the same bytes are there already: its name is their hash
        } else {
            try AtomicFile.rename(temporary, to: final)
            try AtomicFile.syncDirectory("\(root)/nar")
        }
        return StoredNar(info: info, url: url, compression: compression, fileHash: fileHash, fileSize: hasher.count)
    }

    func abort() async {
        close(fd)
        unlink(temporary)
    }
}

/// A cache folder that cannot be used as it is.
public struct FileCacheError: Error, CustomStringConvertible {
    public let root: String
    public let reason: String
    public var description: String { "binary cache \(root): \(reason)" }
}

extension FileCacheBackend {
    public static let plugin = Plugin<any StoreBackend>(
        kind: .backend, name: "file", summary: "a binary cache in a folder, as Nix's file:// store",
        options: [
            PluginOption("path", "path", "the cache folder (file:///srv/cache gives /srv/cache)"),
            PluginOption("secret-key", "path", "a key file from `ferry keys generate`; adds Ferry's signature"),
            PluginOption("write-nar-listing", "bool", default: "false", "also write <hash>.ls listings"),
            PluginOption("want-mass-query", "bool", "WantMassQuery for a new nix-cache-info"),
            PluginOption("priority", "integer", "Priority for a new nix-cache-info"),
            PluginOption("compression", "string", default: "zstd", "fills [codec] plugin"),
            PluginOption("compression-level", "integer", default: "-1", "fills [codec] level"),
            PluginOption("parallel-compression", "bool", "fills [codec] threads (true: one per core)"),
        ],
        schemes: ["file"],
        urlValues: { url throws(ConfigError) in
            var values = try Plugin<any StoreBackend>.queryValues(url)
            guard !url.path.isEmpty else { throw ConfigError("store URL '\(url)'", "a file:// URL needs a folder: file:///srv/cache") }
            values["path"] = .string(url.path)
            return values
        }
    ) { settings, _ in
        let path = expandingTilde(try settings.required("path", "which folder holds the cache?"))
        let key = try settings.path("secret-key").map { file in
            do { return try SecretKey(contentsOfFile: file) } catch {
                throw ConfigError(settings.location, key: "secret-key", "\(error)")
            }
        }
        let info = NixCacheInfo(wantMassQuery: try settings.bool("want-mass-query"), priority: try settings.int("priority"))
        return FileCacheBackend(root: path, cacheInfo: info, secretKey: key,
                                writeNarListing: try settings.bool("write-nar-listing") ?? false)
    }
}
