import FerryCore
import Foundation

/// Checks the key a host presents against `known-hosts` or a pinned key, as OpenSSH's
/// `StrictHostKeyChecking=yes` does: an unknown host is refused with the line to add,
/// a changed key is refused loudly, and only `accept-new-host-key` records a new one.
struct HostKeyCheck {
    let endpoint: SSHEndpoint
    let knownHosts: KnownHosts

    init(_ endpoint: SSHEndpoint) throws {
        self.endpoint = endpoint
        do {
            knownHosts = try KnownHosts(contentsOfFile: endpoint.knownHostsFile)
        } catch {
            throw SSHError(endpoint, "cannot read known-hosts \(endpoint.knownHostsFile): \(error)")
        }
    }

    /// Host-key algorithms to ask for, in order: the types known for this host, so the
    /// server presents the key the file has (libssh2 would otherwise pick ECDSA first).
    var methodPreference: String? {
        let types = endpoint.pinnedHostKey.map { [$0.type] }
            ?? knownHosts.entries(host: endpoint.host, port: endpoint.port).filter { !$0.revoked }.map(\.key.type)
        let supported = types.filter { HostKeyCheck.libssh2Methods.contains($0) }
        var seen = Set<String>()
        let ordered = supported.filter { seen.insert($0).inserted }
        return ordered.isEmpty ? nil : ordered.joined(separator: ",")
    }

    /// Host-key algorithms libssh2 1.10 knows.
    static let libssh2Methods: Set<String> = [
        "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa", "ssh-dss",
    ]

    func verify(_ key: HostKey) throws {
        if let pinned = endpoint.pinnedHostKey {
            guard pinned == key else {
                throw SSHError(endpoint, "the host presented \(key), not the \(pinned) given as base64-ssh-public-host-key; refusing to connect")
            }
            return
        }
        switch knownHosts.check(key, host: endpoint.host, port: endpoint.port) {
        case .trusted:
            return
        case .revoked(let entry):
            throw SSHError(endpoint, "the host presented \(key), which \(knownHosts.source) line \(entry.line) marks @revoked")
        case .changed(let entries):
            let lines = entries.map { "line \($0.line) (\($0.key))" }.joined(separator: ", ")
            throw SSHError(endpoint, """
                WARNING: THE HOST KEY HAS CHANGED. The host presented \(key), but \(knownHosts.source) \
                has \(lines) for it. Someone may be intercepting the connection, or the host was reinstalled. \
                Refusing to connect; if the change is expected, replace that line with:
                \(key.knownHostsLine(host: endpoint.host, port: endpoint.port))
                """)
        case .unknown:
            guard endpoint.acceptNewHostKey else {
                throw SSHError(endpoint, """
                    the host is not in \(knownHosts.source); it presented \(key). If that is its key, add this line \
                    (or set accept-new-host-key=true to record it on first use):
                    \(key.knownHostsLine(host: endpoint.host, port: endpoint.port))
                    """)
            }
            try record(key)
        }
    }

    /// Appends the key to the known-hosts file (accept-new-host-key), holding a lock on
    /// the file: the sessions of a run (or two runs) that meet a new host at once record
    /// it once. A file that does not end its last line keeps that line whole.
    private func record(_ key: HostKey) throws {
        let path = endpoint.knownHostsFile
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SSHError(endpoint, "cannot record the new host key: \(SystemError("open", path))") }
        defer { close(fd) }
        do {
            guard flock(fd, LOCK_EX) == 0 else { throw SystemError("lock", path) }
            // Another session may have recorded it while this one waited for the lock.
            let text = try readTextFile(path)
            switch KnownHosts(parsing: text, source: path).check(key, host: endpoint.host, port: endpoint.port) {
            case .trusted: return
            case .unknown: break
            case .changed:
                throw SSHError(endpoint, "the host presented \(key), but another session has just recorded a different key for it in \(path); refusing to connect")
            case .revoked:
                throw SSHError(endpoint, "the host presented \(key), which \(path) now marks @revoked; refusing to connect")
            }
            let line = (text.isEmpty || text.hasSuffix("\n") ? "" : "\n")
                + key.knownHostsLine(host: endpoint.host, port: endpoint.port) + "\n"
            try Array(line.utf8).withUnsafeBytes { try writeAll(fd, $0, subject: path) }
        } catch where !(error is SSHError) {
            // A refusal above stands as it is; only the file's own failures are worded here.
            throw SSHError(endpoint, "cannot record the new host key: \(error)")
        }
    }
}
