/// A serve-protocol exchange that failed, with what the peer said on its stderr.
/// Transient when the connection was lost or timed out (a new one may do), permanent
/// when the peer said something that breaks the protocol.
public struct ServeError: TransientError, CustomStringConvertible {
    public let peer: String
    /// What Ferry was doing: `handshake`, `QueryPathInfos`, `DumpStorePath /nix/store/…`.
    public let operation: String
    public let reason: String
    /// The tail of the peer's stderr, where Nix reports its errors.
    public let peerDiagnostics: String
    public var isTransient = false

    /// True when the peer's stderr has a line as Nix starts its errors, `error: …`
    /// (after any colour codes).
    public var peerReportedError: Bool {
        peerDiagnostics.split(separator: "\n").contains { line in
            line.replacing(/\x1B\[[0-9;]*m/, with: "").hasPrefix("error:")
        }
    }

    public var description: String {
        var text = "\(operation) with \(peer) failed: \(reason)"
        let said = peerDiagnostics.trimmingWhitespace
        if !said.isEmpty {
            text += "\n  the peer said: " + said.split(separator: "\n").joined(separator: "\n  ")
        }
        return text
    }
}
