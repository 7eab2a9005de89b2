/// Where a binary cache's files live: a folder, an HTTP server, an S3 bucket.
///
/// Keys are paths relative to the cache's root: `nix-cache-info`, `<hash>.narinfo`,
/// `nar/<FileHash>.nar.zst`. The binary-cache source and backend are written once against
/// this protocol; a storage plugin only moves files.
public protocol CacheStorage: Sendable {
    /// The cache's URL, for messages.
    var description: String { get }
    /// The whole of a small file, or nil when the cache does not have it (for HTTP, 404
    /// and 403 both mean absent, as in Nix: S3 answers 403 for a missing key of an
    /// unlistable bucket).
    func read(_ key: String) async throws -> [UInt8]?
    /// `read`, for a file a server may send encoded: its bytes as they came, and the
    /// `Content-Encoding` they are in (S3 caches Nix wrote with `narinfo-compression`).
    func readEncoded(_ key: String) async throws -> EncodedFile?
    func exists(_ key: String) async throws -> Bool
    /// Streams a file in order; throws `CacheStorageError.notFound` when it is absent.
    /// `key` is a narinfo's URL as written, which Nix lets be absolute or carry a query.
    func download(_ key: String, into sink: (ArraySlice<UInt8>) async throws -> Void) async throws
    /// Writes a small file whole (a narinfo, a listing, `nix-cache-info`): readers see the
    /// old contents or the new, never a part.
    func write(_ key: String, _ bytes: [UInt8], contentType: String) async throws
    /// Writes several small files as `write` would, and returns the error of each key
    /// that was not written. The NARs stored before the call are there once a file
    /// appears: a folder makes them durable first.
    func write(_ files: [CacheFile]) async -> [String: any Error]
    /// Bytes a NAR's spool may keep in memory before it moves to a file: 0 for a folder,
    /// where the spool's file is renamed into place.
    var spoolMemory: Int { get }
    /// Where spools keep what outgrows `spoolMemory`.
    var spoolDirectory: String { get }
    /// For a storage whose spool files are kept (renamed into place): starts their
    /// writeback early. Nil for one that reads them back and deletes them.
    var spoolWriteback: SpoolWriteback? { get }
    /// Stores a finished spool under `key`, whole or not at all.
    func store(_ spool: Spool, as key: String, contentType: String) async throws
    /// Makes a new cache writable: creates its folders, `nar/` and the `extraFolders` the
    /// backend writes into (`debuginfo`); nothing for HTTP or S3.
    func prepareForWriting(extraFolders: [String]) async throws
    func close() async
}

/// A small file as a server sent it.
public struct EncodedFile: Sendable {
    /// The longest a small file (a narinfo) may be, encoded or decoded.
    public static let sizeLimit = 16 << 20

    public var bytes: [UInt8]
    /// The `Content-Encoding`, nil for none.
    public var encoding: String?

    public init(bytes: [UInt8], encoding: String?) {
        self.bytes = bytes
        self.encoding = encoding
    }
}

extension CacheStorage {
    /// A folder holds files as they are.
    public func readEncoded(_ key: String) async throws -> EncodedFile? {
        try await read(key).map { EncodedFile(bytes: $0, encoding: nil) }
    }

    /// `key`'s place in the cache, for messages: `https://cache.example.org/x.narinfo`.
    public func location(of key: String) -> String {
        (description.hasSuffix("/") ? String(description.dropLast()) : description) + "/" + key
    }

    public func prepareForWriting(extraFolders: [String]) async throws {}
    public var spoolWriteback: SpoolWriteback? { nil }

    /// Sixteen at a time, each on its own: a server takes them in parallel.
    public func write(_ files: [CacheFile]) async -> [String: any Error] {
        let failures = try? await concurrentCompactMap(files, width: 16) { file -> (String, any Error)? in
            do {
                try await write(file.key, file.bytes, contentType: file.contentType)
                return nil
            } catch {
                return (file.key, error)
            }
        }
        return Dictionary(failures ?? [], uniquingKeysWith: { first, _ in first })
    }
}

/// A small file of a cache, to be written whole: a narinfo, a listing.
public struct CacheFile: Sendable {
    public let key: String
    public let bytes: [UInt8]
    public let contentType: String
    /// The NAR this file must not appear without (a narinfo's URL). A storage that stores
    /// NARs when it is asked to has it already; a folder, which places them with the
    /// files, fails this file alone when that NAR cannot be placed.
    public let requires: String?

    public init(key: String, bytes: [UInt8], contentType: String, requires: String? = nil) {
        self.key = key
        self.bytes = bytes
        self.contentType = contentType
        self.requires = requires
    }
}

/// Nix's content types for the files of a binary cache.
public enum CacheContentType {
    public static let narInfo = "text/x-nix-narinfo"
    public static let cacheInfo = "text/x-nix-cache-info"
    public static let nar = "application/x-nix-nar"
    public static let listing = "application/json"
    public static let debugInfo = "application/json"
}

/// A cache file that is not there, or a cache that cannot be used as it is.
public struct CacheStorageError: Error, CustomStringConvertible {
    public let cache: String
    public let key: String?
    public let reason: String

    public init(cache: String, key: String? = nil, _ reason: String) {
        self.cache = cache
        self.key = key
        self.reason = reason
    }

    public static func notFound(_ key: String, in cache: String) -> CacheStorageError {
        CacheStorageError(cache: cache, key: key, "not found")
    }

    public var description: String {
        "binary cache \(cache)" + (key.map { ": \($0)" } ?? "") + ": \(reason)"
    }
}
