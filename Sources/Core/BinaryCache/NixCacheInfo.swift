/// A binary cache's `nix-cache-info` file.
///
/// As Nix reads it: values trimmed, lines without a colon and unknown keys ignored.
public struct NixCacheInfo: Hashable, Sendable {
    /// Its name in a cache.
    public static let key = "nix-cache-info"

    public var storeDir: String
    public var wantMassQuery: Bool?
    public var priority: Int?

    public init(storeDir: String = StorePath.defaultStoreDir, wantMassQuery: Bool? = nil, priority: Int? = nil) {
        self.storeDir = storeDir
        self.wantMassQuery = wantMassQuery
        self.priority = priority
    }

    public init(parsing text: String, source: String = "nix-cache-info") throws(NixCacheInfoError) {
        self.init(storeDir: "")
        var sawStoreDir = false
        for line in KeyValueLines.parse(text).lines {
            let value = line.value.trimmingWhitespace
            switch line.key.trimmingWhitespace {
            case "StoreDir":
                storeDir = value
                sawStoreDir = true
            case "WantMassQuery":
                wantMassQuery = value == "1"
            case "Priority":
                guard let n = Int(value) else {
                    throw NixCacheInfoError(source: source, line: line.number, reason: "Priority is not a number")
                }
                priority = n
            default: break
            }
        }
        if !sawStoreDir { storeDir = StorePath.defaultStoreDir }
    }

    /// `StoreDir`, then `WantMassQuery` and `Priority` when set.
    public func rendered() -> String {
        var text = "StoreDir: \(storeDir)\n"
        if let wantMassQuery { text += "WantMassQuery: \(wantMassQuery ? 1 : 0)\n" }
        if let priority { text += "Priority: \(priority)\n" }
        return text
    }
}

/// A nix-cache-info file that cannot be read, and where.
public struct NixCacheInfoError: Error, CustomStringConvertible, Equatable {
    public let source: String
    public let line: Int
    public let reason: String
    public var description: String { "invalid \(source) line \(line): \(reason)" }
}

extension NixCacheInfo {
    /// The `nix-cache-info` of the cache on `storage`, nil when it has none; one naming
    /// another store directory than `storeDir` is a configuration error: the URL names a
    /// cache for another store.
    public static func read(from storage: any CacheStorage,
                            storeDir: String = StorePath.defaultStoreDir) async throws -> NixCacheInfo? {
        guard let bytes = try await storage.read(key) else { return nil }
        let info = try NixCacheInfo(parsing: String(decoding: bytes, as: UTF8.self), source: storage.location(of: key))
        guard info.storeDir == storeDir else {
            throw ConfigError(storage.location(of: key),
                              "the cache is for the store \(info.storeDir), but Ferry copies \(storeDir) paths (check the URL)")
        }
        return info
    }
}
