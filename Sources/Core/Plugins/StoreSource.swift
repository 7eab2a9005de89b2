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
    /// Streams the uncompressed NAR of `info.path` to `sink`, in order.
    func streamNar(of info: PathInfo, into sink: (ArraySlice<UInt8>) async throws -> Void) async throws
    func close() async
}
