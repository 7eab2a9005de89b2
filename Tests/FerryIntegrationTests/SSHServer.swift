import FerryTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real OpenSSH server on 127.0.0.1, on a free port, with fresh ed25519 host and client
/// keys and a known_hosts file of its own. Its sessions run Nix without a daemon.
final class SSHServer: Sendable {
    let dir: String
    let port: Int
    let clientKey: String
    let knownHosts: String
    let hostPublicKey: String
    private let pid: Int32

    /// `extraConfig`: more sshd_config lines, for a test that needs a stricter server.
    static func start(extraConfig: String = "") throws -> SSHServer {
        let dir = try TemporaryDirectory().path
        let port = try freePort()
        try run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir + "/host"])
        try run(["ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", dir + "/host_ecdsa"])
        try run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir + "/client"])
        try FileManager.default.copyItem(atPath: dir + "/client.pub", toPath: dir + "/authorized_keys")
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        try """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(dir)/host
            HostKey \(dir)/host_ecdsa
            AuthorizedKeysFile \(dir)/authorized_keys
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            StrictModes no
            UsePAM no
            MaxStartups 200
            MaxSessions 200
            PidFile \(dir)/sshd.pid
            SetEnv NIX_REMOTE=local PATH=/usr/local/bin:/usr/bin:/bin
            \(extraConfig)
            """.write(toFile: dir + "/sshd_config", atomically: true, encoding: .utf8)
        try run(["/usr/sbin/sshd", "-f", dir + "/sshd_config", "-E", dir + "/sshd.log"])
        let hostKey = try String(contentsOfFile: dir + "/host.pub", encoding: .utf8)
            .split(separator: " ").prefix(2).joined(separator: " ")
        try "[127.0.0.1]:\(port) \(hostKey)\n".write(toFile: dir + "/known_hosts", atomically: true, encoding: .utf8)
        var pid: Int32 = 0
        for _ in 0..<100 where pid == 0 {
            pid = Int32((try? String(contentsOfFile: dir + "/sshd.pid", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
            if pid == 0 { usleep(20_000) }
        }
        guard pid > 0 else { throw CommandFailed(command: ["sshd"], output: .init(status: 1, stdout: Data(), stderr: "sshd did not start")) }
        return SSHServer(dir: dir, port: port, pid: pid, hostPublicKey: hostKey)
    }

    private init(dir: String, port: Int, pid: Int32, hostPublicKey: String) {
        self.dir = dir
        self.port = port
        self.pid = pid
        self.hostPublicKey = hostPublicKey
        clientKey = dir + "/client"
        knownHosts = dir + "/known_hosts"
    }

    /// `ssh://root@127.0.0.1:PORT?ssh-key=…&known-hosts=…` plus `extra` parameters.
    func url(_ extra: String = "") -> String {
        "ssh://root@127.0.0.1:\(port)?ssh-key=\(clientKey)&known-hosts=\(knownHosts)" + (extra.isEmpty ? "" : "&" + extra)
    }

    /// Every process serving this server's sessions (the per-connection sshd and all it
    /// runs), found through the process tree under this test's own listening sshd, never by
    /// name across the machine.
    func sessionProcesses() -> [Int32] { descendants(of: pid) }

    func stop() {
        kill(pid, SIGTERM)
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// Runs a suite with one SSH server, started before its first test and stopped after its last.
struct WithSSHServer: SuiteTrait, TestScoping {
    @TaskLocal static var current: SSHServer?

    @concurrent
    func provideScope(for test: Test, testCase: Test.Case?,
                      performing function: @concurrent @Sendable () async throws -> Void) async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        try await WithSSHServer.$current.withValue(server) { try await function() }
    }
}

extension Trait where Self == WithSSHServer {
    /// A real sshd for the suite; see `SSHServer`.
    static var sshServer: WithSSHServer { WithSSHServer() }
}
