import CSSH2
import FerryCore
import Foundation

/// Public-key authentication: the `ssh-key` file if one is given, else the agent
/// (`SSH_AUTH_SOCK`), then `~/.ssh/id_ed25519` and `~/.ssh/id_ecdsa`.
struct SSHAuthentication {
    let endpoint: SSHEndpoint

    init(_ endpoint: SSHEndpoint) { self.endpoint = endpoint }

    /// The keys in `~/.ssh` tried after the agent, in order.
    static let defaultKeyNames = ["id_ed25519", "id_ecdsa"]

    /// Runs on the session's queue.
    func authenticate(_ session: SSHSession, deadline: Deadline) throws {
        if let file = endpoint.identityFile {
            return try keyFile(file, session: session, deadline: deadline)
        }
        var tried: [String] = []
        if let socket = getenvString("SSH_AUTH_SOCK"), !socket.isEmpty {
            if try agent(session, deadline: deadline) { return }
            tried.append("the agent at \(socket)")
        }
        for name in Self.defaultKeyNames {
            let file = expandingTilde("~/.ssh/\(name)")
            guard FileManager.default.fileExists(atPath: file) else { continue }
            do {
                return try keyFile(file, session: session, deadline: deadline)
            } catch let error as SSHError where error.code == Int(LIBSSH2_ERROR_AUTHENTICATION_FAILED)
                        || error.code == Int(LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED) {
                tried.append(file)
            }
        }
        // Nothing to log in with is the setup's fault, as a bad setting is (exit 2).
        guard !tried.isEmpty else {
            throw ConfigError(endpoint.description, key: "ssh-key", "nothing to log in with as \(endpoint.user): no ssh-agent "
                + "(SSH_AUTH_SOCK) and no ~/.ssh/\(Self.defaultKeyNames.joined(separator: " or ")); give a key with ssh-key=FILE")
        }
        throw SSHError(endpoint, "authentication as \(endpoint.user) failed: the server refused \(tried.joined(separator: ", "))")
    }

    private func keyFile(_ file: String, session: SSHSession, deadline: Deadline) throws {
        guard FileManager.default.isReadableFile(atPath: file) else {
            throw ConfigError(endpoint.description, key: "ssh-key", "cannot read the key file \(file)")
        }
        let publicFile = FileManager.default.fileExists(atPath: file + ".pub") ? file + ".pub" : nil
        do {
            try session.retry("authentication with \(file)", deadline: deadline) {
                libssh2_userauth_publickey_fromfile_ex(session.handle, endpoint.user, UInt32(endpoint.user.utf8.count),
                                                       publicFile, file, nil)
            }
        } catch let error as SSHError {
            if isRSA(file) {
                throw SSHError(endpoint, """
                    authentication as \(endpoint.user) with the RSA key \(file) failed: libssh2 1.10 can only make \
                    ssh-rsa (SHA-1) signatures, which OpenSSH 8.8 and later refuse. Use an ed25519 or ECDSA key \
                    (ssh-keygen -t ed25519), or transport=openssh to go through the system's ssh.
                    """, code: error.code)
            }
            throw SSHError(endpoint, "authentication as \(endpoint.user) with the key \(file) (ssh-key) failed: the server refused it (\(error.message))",
                           code: error.code)
        }
    }

    /// Tries each identity the agent holds; true once one is accepted.
    private func agent(_ session: SSHSession, deadline: Deadline) throws -> Bool {
        guard let agent = libssh2_agent_init(session.handle) else { return false }
        defer { libssh2_agent_free(agent) }
        guard libssh2_agent_connect(agent) == 0 else { return false }
        defer { libssh2_agent_disconnect(agent) }
        guard libssh2_agent_list_identities(agent) == 0 else { return false }
        var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
        while true {
            var identity: UnsafeMutablePointer<libssh2_agent_publickey>?
            guard libssh2_agent_get_identity(agent, &identity, previous) == 0, let identity else { return false }
            previous = identity
            do {
                try session.retry("agent authentication", deadline: deadline) {
                    libssh2_agent_userauth(agent, endpoint.user, identity)
                }
                return true
            } catch let error as SSHError where error.code != nil {
                // libssh2's answer for this identity: the next one may do. A stop, a
                // timeout or a closed session ends the login instead.
                continue
            }
        }
    }

    /// True when the key file holds an RSA key (PEM or OpenSSH format).
    private func isRSA(_ file: String) -> Bool {
        if let publicLine = try? String(contentsOfFile: file + ".pub", encoding: .utf8) {
            return publicLine.hasPrefix("ssh-rsa")
        }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return false }
        if text.contains("BEGIN RSA PRIVATE KEY") { return true }
        let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let decoded = Data(base64Encoded: body) else { return false }
        return decoded.range(of: Data("ssh-rsa".utf8)) != nil
    }
}
