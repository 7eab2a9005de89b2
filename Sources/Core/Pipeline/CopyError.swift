/// Why a store path was not copied.
///
/// The failure of one path always travels with that path (a `failed` event, the summary's
/// `failed` list), so a description names the path only where it is not the one failing.
public enum CopyError: Error, CustomStringConvertible, Equatable {
    /// The NAR that arrived is not the one the path info describes: nothing is published.
    case narMismatch(StorePath, String)
    /// A path it references failed, so it cannot be published either.
    case referenceFailed(StorePath, reference: StorePath)
    /// A reference is neither at the destination nor copied by the run (`--closure` off):
    /// the path is refused before any byte moves, as Nix refuses to add it.
    case referenceMissing(StorePath, reference: StorePath, destination: String)
    /// No signature on the path is by a trusted key: it is refused before any byte moves.
    case untrusted(StorePath, source: String)
    /// The run was stopped (SIGINT, SIGTERM) before the path was copied.
    case interrupted(StorePath)
    /// The source does not have a requested path.
    case notInSource([StorePath], source: String)

    public var description: String {
        switch self {
        case .narMismatch(_, let reason):
            "\(reason); nothing was published for it"
        case .referenceFailed(_, let reference):
            "not published because its reference \(reference) failed"
        case .referenceMissing(_, let reference, let destination):
            "its reference \(reference) is not at \(destination) and not copied by this run; copy it first, or with --closure"
        case .untrusted(_, let source):
            "refused, no signature by a trusted key (from \(source)); give its key with --trusted-public-key, or --no-check-sigs"
        case .interrupted:
            "not copied, the run was interrupted"
        case .notInSource(let paths, let source):
            "not valid in \(source): " + paths.map(\.path).joined(separator: ", ")
        }
    }
}
