import FerryCore
import Foundation

/// The serve protocol through the system's `ssh` binary: for `~/.ssh/config`, ProxyJump,
/// RSA keys, and anything else OpenSSH does that libssh2 does not. The same settings
/// apply: host keys are checked strictly against `known-hosts` (or the pinned key).
enum OpenSSHTransport {
    static func open(_ endpoint: SSHEndpoint) throws -> ProcessServeTransport {
        var knownHosts = endpoint.knownHostsFile
        var hostKeyOptions: [String] = []
        if let pinned = endpoint.pinnedHostKey {
            // ssh takes a pinned key only through a known_hosts file of its own. It is looked
            // up under the name the URL gives, whatever port and HostName NIX_SSHOPTS or
            // ~/.ssh/config add (HostKeyAlias names no port).
            knownHosts = NSTemporaryDirectory() + "ferry-known-hosts-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try Data((pinned.knownHostsLine(host: endpoint.host, port: 22) + "\n").utf8)
                .write(to: URL(fileURLWithPath: knownHosts))
            hostKeyOptions = ["-o", "HostKeyAlias=\(endpoint.host)"]
        }
        // ssh keeps the first value of each option. What must hold comes before NIX_SSHOPTS
        // (split at spaces, as Nix passes it): the host-key check, no prompt, and the user
        // and port the URL names; a URL without them leaves them to NIX_SSHOPTS or
        // ~/.ssh/config. Ferry's timeouts come after, as defaults NIX_SSHOPTS may change.
        var command = ["ssh", "-x", "-a", "-T",
                       "-o", "UserKnownHostsFile=\(knownHosts)",
                       "-o", "StrictHostKeyChecking=\(endpoint.acceptNewHostKey && endpoint.pinnedHostKey == nil ? "accept-new" : "yes")",
                       "-o", "BatchMode=yes"] + hostKeyOptions
        if let port = endpoint.givenPort { command += ["-p", String(port)] }
        if let user = endpoint.givenUser { command += ["-l", user] }
        command += (getenvString("NIX_SSHOPTS") ?? "").split(whereSeparator: \.isWhitespace).map(String.init)
        command += ["-o", "ConnectTimeout=\(max(1, endpoint.connectTimeout.components.seconds))"]
        if let keepalive = endpoint.keepalive {
            command += ["-o", "ServerAliveInterval=\(max(1, keepalive.components.seconds))"]
        }
        if let identity = endpoint.identityFile { command += ["-i", identity, "-o", "IdentitiesOnly=yes"] }
        if endpoint.compress { command += ["-C"] }
        command += [endpoint.host, endpoint.serveCommand]
        let pinnedFile = endpoint.pinnedHostKey == nil ? nil : knownHosts
        let removePinnedFile: @Sendable () -> Void = { if let pinnedFile { unlink(pinnedFile) } }
        do {
            return try ProcessServeTransport(command: command, peer: endpoint.description, ioTimeout: endpoint.ioTimeout,
                                             onClose: removePinnedFile)
        } catch {
            removePinnedFile()
            throw error
        }
    }
}
