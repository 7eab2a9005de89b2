/// A backend that imports paths into a Nix store through the serve protocol's
/// AddToStoreNar: another store root on this machine, or a remote store over SSH.
///
/// Paths go in references first (the store registers a path with its references), as
/// raw NARs of their exact size; signatures travel with them, `ultimate` is not set.
public final class ServeStoreBackend: StoreBackend {
    public let description: String
    public let storesCompressedNars = false
    public let needsReferencesFirst = true
    private let pool: ServeConnectionPool

    public init(description: String, maxConnections: Int, connect: @escaping ServeConnectionPool.Connect) {
        self.description = description
        pool = ServeConnectionPool(limit: max(1, maxConnections), connect: connect)
    }

    public func prepare() async throws {}

    public func presentPaths(_ paths: [StorePath]) async throws -> Set<StorePath> {
        guard !paths.isEmpty else { return [] }
        return try await pool.withConnection { try await $0.queryValidPaths(paths) }
    }

    public func beginNar(_ info: PathInfo, compression: String) async throws -> any NarWriter {
        let client = try await pool.checkOut()
        do {
            return ImportWriter(info: info, client: client, upload: try await client.beginAddToStoreNar(info), pool: pool)
        } catch {
            await pool.discard(client)
            throw error
        }
    }

    /// An imported path is visible once the peer confirmed it; nothing more to publish.
    public func publish(_ batch: [StoredNar]) async -> [StorePath: any Error] { [:] }

    public func close() async { await pool.close() }
}

/// One AddToStoreNar in flight on a connection checked out of the pool.
private final class ImportWriter: NarWriter {
    private let info: PathInfo
    private let client: ServeClient
    private let upload: NarUpload
    private let pool: ServeConnectionPool

    init(info: PathInfo, client: ServeClient, upload: NarUpload, pool: ServeConnectionPool) {
        self.info = info
        self.client = client
        self.upload = upload
        self.pool = pool
    }

    func write(_ bytes: ArraySlice<UInt8>) async throws { try await upload.write(bytes) }

    func commit() async throws -> StoredNar {
        do {
            try await client.finishAddToStoreNar(upload)
        } catch {
            await pool.discard(client)
            throw error
        }
        await pool.checkIn(client)
        return StoredNar(info: info)
    }

    /// The peer is waiting for the rest of the NAR: the connection cannot be reused.
    func abort() async { await pool.discard(client) }
}
