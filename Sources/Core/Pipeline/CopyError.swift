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
    /// `signers` names the keys its signatures claim; `forgedBy`, a trusted key's name
    /// whose signature does not verify (the narinfo was changed, or the key is another).
    case untrusted(StorePath, source: String, signers: [String], forgedBy: String?)
    /// The run was stopped (SIGINT, SIGTERM) before the path was copied.
    case interrupted(StorePath)
    /// The source does not have a requested path.
    case notInSource([StorePath], source: String)

    /// True for a path the run's stop kept from being copied.
    public var isInterruption: Bool {
        if case .interrupted = self { true } else { false }
    }

    public var description: String {
        switch self {
        case .narMismatch(_, let reason):
            "\(reason); nothing was published for it"
        case .referenceFailed(_, let reference):
            "not published because its reference \(reference) failed"
        case .referenceMissing(_, let reference, let destination):
            "its reference \(reference) is not at \(destination) and not copied by this run; copy it first, or with --closure"
        case .untrusted(_, let source, let signers, let forgedBy):
            if let forged = forgedBy {
                "refused: its signature by '\(forged)' does not verify with the trusted key of that name (from \(source)): "
                    + "the narinfo was changed after it was signed, or the key is not the one that signed it"
            } else if signers.isEmpty {
                "refused: it has no signature (from \(source)); sign it at the source, or copy unchecked with --no-check-sigs"
            } else {
                "refused: signed only by keys not trusted here (\(signers.joined(separator: ", ")); from \(source)); "
                    + "give the key with --trusted-public-key, or --no-check-sigs"
            }
        case .interrupted:
            "not copied, the run was interrupted"
        case .notInSource(let paths, let source):
            "not valid in \(source): " + paths.map(\.path).joined(separator: ", ")
        }
    }
}
