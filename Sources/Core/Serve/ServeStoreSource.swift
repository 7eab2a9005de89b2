/// A source that reads a Nix store through the serve protocol: the local store through
/// a `nix-store --serve` child, or a remote one over SSH; only the transport differs.
///
/// One connection answers queries and holds the GC lock for the whole run; NARs come
/// through a pool of up to `maxConnections`, so several can stream at once.
public final class ServeStoreSource: StoreSource {
    public let description: String
    private let control: ServeConnectionPool
    private let nars: ServeConnectionPool

    public init(description: String, maxConnections: Int, connect: @escaping ServeConnectionPool.Connect) {
        self.description = description
        control = ServeConnectionPool(limit: 1, connect: connect)
        nars = ServeConnectionPool(limit: max(1, maxConnections), connect: connect)
    }

    public func closure(of paths: [StorePath]) async throws -> Set<StorePath> {
        try await control.withConnection { try await $0.queryClosure(paths) }
    }

    public func pathInfos(_ paths: [StorePath]) async throws -> [PathInfo] {
        guard !paths.isEmpty else { return [] }
        return try await control.withConnection { try await $0.queryPathInfos(paths) }
    }

    /// QueryValidPaths with `lock` on the control connection: the peer keeps the paths
    /// as temporary GC roots until that connection closes at the end of the run.
    public func protect(_ paths: [StorePath]) async throws -> Set<StorePath> {
        try await control.withConnection { try await $0.queryValidPaths(paths, lock: true) }
    }

    public func streamNar(of info: PathInfo, into sink: @escaping (ArraySlice<UInt8>) async throws -> Void) async throws {
        _ = try await nars.withConnection { try await $0.dumpStorePath(info.path, to: sink) }
    }

    public func openAhead() {
        Task { await nars.openAhead() }
    }

    public func close() async {
        async let closingNars: Void = nars.close()
        await control.close()
        await closingNars
    }
}
