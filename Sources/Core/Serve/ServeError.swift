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

    /// True when the peer's stderr gives a reason Nix gives for what fails again on any
    /// connection: a path not valid there, a signature or hash it refuses. Other errors it
    /// reports (a daemon restarting: "cannot connect to socket") may pass.
    public var peerRefused: Bool {
        peerDiagnostics.split(separator: "\n").contains { raw in
            let line = raw.replacing(/\x1B\[[0-9;]*m/, with: "")  // Nix's colours, if any
            return line.hasPrefix("error:") && Self.refusals.contains { line.contains($0) }
        }
    }

    /// Nix's words for refusals: `path '…' is not valid`, `cannot add path '…' because it
    /// lacks a signature by a trusted key`, `hash mismatch importing path '…'`, `path '…'
    /// is not in the Nix store`.
    static let refusals = ["is not valid", "lacks a signature", "hash mismatch", "is not in the Nix store"]

    /// True when the peer's stderr (ssh's, for the openssh transport) says the connection
    /// itself failed, which may pass: refused, reset, timed out, dropped by sshd's
    /// `MaxStartups`, or a name server that did not answer. A login, host key or missing
    /// program says the same every time.
    public var connectionFailed: Bool {
        Self.connectionFailures.contains { peerDiagnostics.localizedCaseInsensitiveContains($0) }
    }

    static let connectionFailures = ["Connection refused", "Connection reset", "timed out",
                                     "Connection closed by", "No route to host", "Network is unreachable",
                                     "kex_exchange_identification", "Temporary failure in name resolution"]

    public var description: String {
        var text = "\(operation) with \(peer) failed: \(reason)"
        let said = peerDiagnostics.trimmingWhitespace
        if !said.isEmpty {
            text += "\n  the peer said: " + said.split(separator: "\n").joined(separator: "\n  ")
        }
        return text
    }
}
