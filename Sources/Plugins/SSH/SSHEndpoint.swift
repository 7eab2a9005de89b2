import FerryCore

/// Where and how to reach one SSH host: the settings of an `ssh://` source or backend.
struct SSHEndpoint: Sendable {
    var host: String
    /// The user and port the URL or the settings name; nil leaves them to the transport:
    /// `$USER` and 22 for libssh2, `~/.ssh/config` or `NIX_SSHOPTS` for OpenSSH.
    var givenUser: String?
    var givenPort: Int?
    /// `ssh-key`: a private key file; nil tries the agent, then `~/.ssh/id_ed25519` and `id_ecdsa`.
    var identityFile: String?
    var knownHostsFile: String
    /// Nix's `base64-ssh-public-host-key`: the one key the host must present.
    var pinnedHostKey: HostKey?
    /// Record an unknown host's key instead of refusing it (a changed key is still refused).
    var acceptNewHostKey: Bool
    var connectTimeout: Duration
    var ioTimeout: Duration
    var keepalive: Duration?
    var remoteProgram: String
    var remoteStore: String?
    /// Nix's `compress` (`nix-copy-closure --gzip`): zlib on the connection, when the server
    /// offers it. It pays on a slow link only; on a fast one it costs more than it saves.
    var compress = false
    /// Channel window: how much the server may send before Ferry acknowledges it.
    var window: UInt32 = 8 << 20

    /// The user libssh2 logs in as.
    var user: String { givenUser ?? getenvString("USER") ?? "root" }
    /// The port libssh2 connects to, and the host's known-hosts entries name.
    var port: Int { givenPort ?? 22 }

    /// `ssh://user@host:port` as given, for messages.
    var description: String { "ssh://" + (givenUser.map { "\($0)@" } ?? "") + host + (givenPort.map { ":\($0)" } ?? "") }

    /// The remote command, as Nix's legacy SSH store runs it.
    var serveCommand: String {
        var words = [remoteProgram, "--serve", "--write"]
        if let remoteStore { words += ["--store", remoteStore] }
        return words.map(shellQuoted).joined(separator: " ")
    }
}

/// `word` as one word for a POSIX shell.
func shellQuoted(_ word: String) -> String {
    let safe = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:@%+,".contains($0) }
    return safe && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// An SSH connection that failed, named by its endpoint. Transient when the network
/// or the session failed (a new connection may do); a refused host key or login is not.
struct SSHError: TransientError, CustomStringConvertible {
    let endpoint: String
    let message: String
    let code: Int?
    let isTransient: Bool

    init(_ endpoint: SSHEndpoint, _ message: String, code: Int? = nil, transient: Bool = false) {
        self.endpoint = endpoint.description
        self.message = message
        self.code = code
        isTransient = transient
    }

    var description: String { "\(endpoint): \(message)" }
}

/// A wait on an SSH connection that passed its limit.
struct SSHTimeout: TransientError, CustomStringConvertible {
    let endpoint: String
    let operation: String
    let limit: String

    var description: String { "\(endpoint): \(operation): timed out, no data for \(limit)" }
}

/// When a wait must end, and which setting says so (for the message).
struct Deadline: Sendable {
    let instant: ContinuousClock.Instant
    let setting: String

    static func after(_ duration: Duration, setting: String) -> Deadline {
        Deadline(instant: .now + duration, setting: "\(duration) (\(setting))")
    }
}
