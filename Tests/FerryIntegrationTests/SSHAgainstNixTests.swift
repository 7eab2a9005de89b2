import FerryTestSupport
import Foundation
import Testing
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

/// Both transports, the same tests: libssh2, and the system's OpenSSH client.
@Suite("SSH against a real sshd and nix-store --serve", Peers.nix, Peers.requiring("/usr/sbin/sshd"), .sshServer)
struct SSHAgainstNixTests {
    static let transports = ["libssh2", "openssh"]

    private var server: SSHServer { WithSSHServer.current! }

    @discardableResult
    private func ferry(_ arguments: [String], check: Bool = true) throws -> CommandOutput {
        try run([ferryBinary] + arguments, check: check)
    }

    @Test("ssh → signed file cache that nix store verify accepts in full", arguments: transports)
    func pullIntoCache(transport: String) throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try ferry(["keys", "generate", "--name", "ferry-ssh-1", "--secret-file", dir.path + "/k.sec", "--public-file", dir.path + "/k.pub"])
        let output = try ferry(["copy-closure", "--from", server.url("transport=\(transport)"),
                                "--to", "file://\(dir.path)/cache?secret-key=\(dir.path)/k.sec", top.path])
        #expect(output.stderr.contains("\(all.count) copied"), "\(output.stderr)")
        try run(["nix", "store", "verify", "--store", "file://\(dir.path)/cache", "-r", top.path,
                 "--trusted-public-keys", try String(contentsOfFile: dir.path + "/k.pub", encoding: .utf8)])
    }

    @Test("local → ssh remote-store, and ssh → ssh between two roots", arguments: transports)
    func pushIntoStore(transport: String) throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let first = dir.path + "/first", second = dir.path + "/second"
        try ferry(["copy-closure", "--to", server.url("transport=\(transport)&remote-store=\(first)"), top.path])
        #expect(Set(try run(["nix", "path-info", "--store", first, "-r", top.path]).lines) == Set(all.map(\.path)))
        try run(["nix", "store", "verify", "--no-trust", "--store", first, "-r", top.path])
        try ferry(["copy-closure", "--from", server.url("transport=\(transport)&remote-store=\(first)"),
                   "--to", server.url("transport=\(transport)&remote-store=\(second)"), top.path])
        try run(["nix", "store", "verify", "--no-trust", "--store", second, "-r", top.path])
        #expect(try NixStore.pathInfo(top, store: second)["ultimate"] == nil)
        // A store on that host that lacks the path is named with its remote-store.
        let empty = dir.path + "/empty"
        let missing = try ferry(["copy-closure", "--from", server.url("transport=\(transport)&remote-store=\(empty)"),
                                 "--to", "file://\(dir.path)/cache", top.path], check: false)
        #expect(missing.status == 1 && missing.stderr.contains("?remote-store=\(empty): \(top.path)"), "\(missing.stderr)")
    }

    @Test("compress=true (nix-copy-closure --gzip) has sshd agree on zlib for the connection, which plain copies do not; a server that offers no compression gets an uncompressed copy, whole",
          arguments: transports)
    func compressed(transport: String) throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for (compress, offered) in [(false, true), (true, true), (true, false)] {
            let server = try SSHServer.start(extraConfig: "LogLevel DEBUG1" + (offered ? "" : "\nCompression no"))
            defer { server.stop() }
            let cache = "file://\(dir.path)/cache-\(compress)-\(offered)"
            let output = try ferry(["copy-closure", "--from", server.url("transport=\(transport)&compress=\(compress)"), "--to", cache, top.path])
            #expect(output.stderr.contains("\(all.count) copied"), "\(output.stderr)")
            try run(["nix", "store", "verify", "--no-trust", "--store", cache, "-r", top.path])
            let log = try String(contentsOfFile: server.dir + "/sshd.log", encoding: .utf8)
            #expect(log.contains("compression: zlib@openssh.com") == (compress && offered), "\(log)")
            #expect(log.contains("compression: none") == !(compress && offered), "\(log)")
        }
    }

    @Test("an unknown host key is refused, with its fingerprint", arguments: transports)
    func unknownHost(transport: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try "".write(toFile: dir.path + "/known", atomically: true, encoding: .utf8)
        let url = "ssh://root@127.0.0.1:\(server.port)?ssh-key=\(server.clientKey)&known-hosts=\(dir.path)/known&transport=\(transport)"
        let result = try ferry(["copy-closure", "--from", url, "--to", "file://\(dir.path)/cache", try NixStore.closure.get().top.path], check: false)
        #expect(result.status == 1)
        #expect(result.stderr.contains(transport == "libssh2" ? "is not in \(dir.path)/known" : "Host key verification failed"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/cache/nar"))
    }

    @Test("a changed host key is refused loudly", arguments: transports)
    func changedHost(transport: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.path + "/impostor"])
        let impostor = try String(contentsOfFile: dir.path + "/impostor.pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        try "[127.0.0.1]:\(server.port) \(impostor)\n".write(toFile: dir.path + "/known", atomically: true, encoding: .utf8)
        let url = "ssh://root@127.0.0.1:\(server.port)?ssh-key=\(server.clientKey)&known-hosts=\(dir.path)/known&transport=\(transport)"
        let result = try ferry(["copy-closure", "--from", url, "--to", "file://\(dir.path)/cache", try NixStore.closure.get().top.path], check: false)
        #expect(result.status == 1)
        #expect(result.stderr.contains(transport == "libssh2" ? "THE HOST KEY HAS CHANGED" : "HOST IDENTIFICATION HAS CHANGED"), "\(result.stderr)")
    }

    @Test("a key the server does not accept is an authentication error naming it, not tried again", arguments: transports)
    func wrongUserKey(transport: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.path + "/stranger"])
        let url = "ssh://root@127.0.0.1:\(server.port)?ssh-key=\(dir.path)/stranger&known-hosts=\(server.knownHosts)&transport=\(transport)"
        let result = try ferry(["copy-closure", "--from", url, "--to", "file://\(dir.path)/cache", try NixStore.closure.get().top.path], check: false)
        #expect(result.status == 1)
        #expect(!result.stderr.contains("(attempt 1 failed"), "a refused login was tried again: \(result.stderr)")
        if transport == "libssh2" {
            #expect(result.stderr.contains("authentication as root with the key \(dir.path)/stranger"), "\(result.stderr)")
        } else {
            #expect(result.stderr.contains("Permission denied (publickey)"), "\(result.stderr)")
        }
    }

    @Test("an ssh-key that cannot be read, or no agent and no key in ~/.ssh, is a configuration error (exit 2) before any copy")
    func nothingToLogInWith() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let top = try NixStore.closure.get().top.path
        let url = "ssh://root@127.0.0.1:\(server.port)?known-hosts=\(server.knownHosts)"
        let unreadable = try ferry(["copy-closure", "--from", url + "&ssh-key=\(dir.path)/missing", "--to", "file://\(dir.path)/c", top], check: false)
        #expect(unreadable.status == 2 && unreadable.stderr.contains("ssh-key: cannot read the key file \(dir.path)/missing"),
                "\(unreadable.stderr)")
        // Before any connection, with either transport: a host that is down changes nothing.
        for transport in SSHAgainstNixTests.transports {
            let down = try ferry(["copy-closure", "--from", "ssh://root@127.0.0.1:\(try freePort())?ssh-key=\(dir.path)/missing&transport=\(transport)",
                                  "--to", "file://\(dir.path)/c", top], check: false)
            #expect(down.status == 2 && down.stderr.contains("cannot read the key file") && !down.stderr.contains("retrying"), "\(down.stderr)")
        }
        var bare = nixEnvironment.merging(["HOME": dir.path]) { $1 }
        bare["SSH_AUTH_SOCK"] = ""  // merged into this process's environment: empty, as unset
        let none = try run([ferryBinary, "copy-closure", "--from", url, "--to", "file://\(dir.path)/c", top], environment: bare, check: false)
        #expect(none.status == 2 && none.stderr.contains("nothing to log in with"), "\(none.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/c"))
    }

    @Test("a host that refuses the first connection is tried again, as often as --retries says, before the run gives up")
    func refusedAtStart() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let closed = try freePort()
        let url = "ssh://root@127.0.0.1:\(closed)?ssh-key=\(server.clientKey)&known-hosts=\(server.knownHosts)"
        let result = try ferry(["copy-closure", "--retries", "3", "--retry-delay", "10ms", "--from", url,
                                "--to", "file://\(dir.path)/c", try NixStore.closure.get().top.path], check: false)
        #expect(result.status == 1 && result.stderr.contains("Connection refused"), "\(result.stderr)")
        #expect(result.stderr.contains("(attempt 1 failed: ") && result.stderr.contains("(attempt 2 failed: ")
                && !result.stderr.contains("(attempt 3 failed: "), "\(result.stderr)")
    }

    @Test("transport=openssh passes NIX_SSHOPTS to ssh as Nix does: a URL without a port reaches the one it names; a URL's user and port, even :22, win",
          Peers.requiring("ssh"))
    func nixSSHOptions() throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let query = "?transport=openssh&ssh-key=\(server.clientKey)&known-hosts=\(server.knownHosts)&connect-timeout=5s"
        let options = nixEnvironment.merging(["NIX_SSHOPTS": "-p \(server.port) -l nobody -o ConnectionAttempts=1"]) { $1 }
        let output = try run([ferryBinary, "copy-closure", "-vv", "--from", "ssh://root@127.0.0.1" + query, "--to", "file://\(dir.path)/c", top.path],
                             environment: options, check: false)
        #expect(output.status == 0 && output.stderr.contains("\(all.count) copied"), "\(output.stderr)")
        // -vv tells each session opened, and what it runs.
        #expect(["SSH session ready", "command=nix-store --serve --write", "protocol=2."].allSatisfy(output.stderr.contains),
                "\(output.stderr)")
        // The test's sshd is not on port 22: the URL's port is the one tried.
        let portOnly = nixEnvironment.merging(["NIX_SSHOPTS": "-p \(server.port) -o ConnectionAttempts=1"]) { $1 }
        let elsewhere = try run([ferryBinary, "copy-closure", "--retries", "1", "--from", "ssh://root@127.0.0.1:22" + query,
                                 "--to", "file://\(dir.path)/d", top.path], environment: portOnly, check: false)
        #expect(elsewhere.status != 0 && !elsewhere.stderr.contains("copied /nix/store"), "\(elsewhere.stderr)")
    }

    @Test("the host key pinned as Nix's base64-ssh-public-host-key is enough", arguments: transports)
    func pinnedHostKey(transport: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let pin = Data(server.hostPublicKey.utf8).base64EncodedString()
        let url = "ssh://root@127.0.0.1:\(server.port)?ssh-key=\(server.clientKey)&known-hosts=\(dir.path)/none&base64-ssh-public-host-key=\(pin)&transport=\(transport)"
        let tmp = dir.path + "/tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        try run([ferryBinary, "copy-closure", "--from", url, "--to", "file://\(dir.path)/cache", try NixStore.closure.get().top.path],
                environment: nixEnvironment.merging(["TMPDIR": tmp]) { $1 })
        // OpenSSH gets the pin as a known_hosts file of its own, which goes with its connection.
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp) == [])
    }

    @Test("transport=openssh to a name ssh's config resolves (HostName, Port): the pinned key is checked under the URL's name",
          Peers.requiring("ssh"))
    func pinnedKeyOfConfigName() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try "Host ferry-box\n  HostName 127.0.0.1\n  Port \(server.port)\n".write(toFile: dir.path + "/config", atomically: true, encoding: .utf8)
        let pin = Data(server.hostPublicKey.utf8).base64EncodedString()
        let url = "ssh://root@ferry-box?transport=openssh&ssh-key=\(server.clientKey)&known-hosts=\(dir.path)/none&base64-ssh-public-host-key=\(pin)"
        let (top, all) = try NixStore.closure.get()
        let output = try run([ferryBinary, "copy-closure", "--from", url, "--to", "file://\(dir.path)/cache", top.path],
                             environment: nixEnvironment.merging(["NIX_SSHOPTS": "-F \(dir.path)/config"]) { $1 }, check: false)
        #expect(output.status == 0 && output.stderr.contains("\(all.count) copied"), "\(output.stderr)")
    }

    @Test("an RSA key fails under libssh2 with the reason and the way out; OpenSSH logs in with it") func rsaKey() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", dir.path + "/rsa"])
        let authorized = try String(contentsOfFile: server.dir + "/authorized_keys", encoding: .utf8)
        try (authorized + (try String(contentsOfFile: dir.path + "/rsa.pub", encoding: .utf8)))
            .write(toFile: server.dir + "/authorized_keys", atomically: true, encoding: .utf8)
        let top = try NixStore.closure.get().top.path
        let url = "ssh://root@127.0.0.1:\(server.port)?ssh-key=\(dir.path)/rsa&known-hosts=\(server.knownHosts)"
        let refused = try ferry(["copy-closure", "--from", url, "--to", "file://\(dir.path)/a", top], check: false)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("RSA key \(dir.path)/rsa"), "\(refused.stderr)")
        #expect(refused.stderr.contains("transport=openssh"), "\(refused.stderr)")
        try ferry(["copy-closure", "--from", url + "&transport=openssh", "--to", "file://\(dir.path)/b", top])
    }

    @Test("accept-new-host-key records an unknown host once, whatever number of sessions meet it, after a last line left unended; then trusts only that key")
    func acceptNew() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let top = try NixStore.closure.get().top.path
        let other = "other.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
        try other.write(toFile: dir.path + "/known", atomically: true, encoding: .utf8)
        let url = "ssh://root@127.0.0.1:\(server.port)?ssh-key=\(server.clientKey)&known-hosts=\(dir.path)/known"
        try ferry(["copy-closure", "--from", url + "&accept-new-host-key=true", "--to", "file://\(dir.path)/a", top])
        let recorded = try String(contentsOfFile: dir.path + "/known", encoding: .utf8).split(separator: "\n")
        #expect(recorded.count == 2 && recorded[0] == other && recorded[1].hasPrefix("[127.0.0.1]:\(server.port) "), "\(recorded)")
        // Recorded, the key is now simply known: no flag needed.
        try ferry(["copy-closure", "--from", url, "--to", "file://\(dir.path)/b", top])
    }

    @Test("with no ssh-key, the keys in ssh-agent log in") func agent() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let socket = dir.path + "/agent.sock"
        // In the foreground (-D), as a child of this test, ended by it; started with Ferry's
        // own ChildProcess, since Foundation's Process never sees ssh-agent exit.
        let agent = try ChildProcess(arguments: ["ssh-agent", "-D", "-a", socket])
        defer { agent.kill() }
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: socket) { usleep(10_000) }
        try run(["ssh-add", server.clientKey], environment: ["SSH_AUTH_SOCK": socket])
        let url = "ssh://root@127.0.0.1:\(server.port)?known-hosts=\(server.knownHosts)"
        let (top, all) = try NixStore.closure.get()
        let result = try run([ferryBinary, "copy-closure", "--from", url, "--to", "file://\(dir.path)/cache", top.path],
                             environment: nixEnvironment.merging(["SSH_AUTH_SOCK": socket, "HOME": dir.path]) { $1 })
        #expect(result.stderr.contains("\(all.count) copied"), "\(result.stderr)")
        agent.kill()
        await agent.wait()
    }

    @Test("a server that never answers the handshake fails within connect-timeout") func silentServer() throws {
        let silent = try SilentListener()
        defer { silent.close() }
        let port = silent.port
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let started = ContinuousClock.now
        let result = try ferry(["copy-closure", "--retries", "1", "--from", "ssh://root@127.0.0.1:\(port)?connect-timeout=2&known-hosts=\(server.knownHosts)&ssh-key=\(server.clientKey)",
                                "--to", "file://\(dir.path)/cache", try NixStore.closure.get().top.path], check: false)
        #expect(result.status == 1)
        #expect(result.stderr.contains("connect-timeout"), "\(result.stderr)")
        #expect(ContinuousClock.now - started < .seconds(2 + 8))
    }
}


/// Faults injected from outside into the remote nix-store. A suite of its own, with its own
/// sshd and one test at a time, so the processes it stops or kills are only its own.
@Suite("SSH peers that stall or die", .serialized, Peers.nix, Peers.requiring("/usr/sbin/sshd"), .sshServer)
struct SSHFaultTests {
    private var server: SSHServer { WithSSHServer.current! }

    /// Starts a copy of the big path from ssh, waits until its NAR is streaming, does
    /// `fault` to the remote side (the session's sshd and nix-store: sshd buffers what
    /// nix-store wrote, so only both together stop the stream) and to Ferry (its pid), and
    /// returns the outcome and the time from the fault to the end of the copy.
    private func copyWithFault(transport: String, cache: String, ioTimeout: Int,
                               fault: @escaping @Sendable (_ remote: [Int32], _ ferry: Int32) -> Void) async throws -> (CommandOutput, Duration) {
        let big = try NixStore.bigPath.get()
        // The remote nix-store's output passes through a throttle of 8 MB/s on the remote
        // side, so the NAR is produced while it streams: no buffer on the way can already
        // hold its end when the fault comes.
        let slowStore = cache + "-slow-nix-store"
        try writeThrottledNixStore(to: slowStore)
        let config = cache + ".toml"
        try """
            jobs = 1
            retry-attempts = 1  # the failure itself is under test, not what a retry makes of it
            [source]
            plugin = "ssh"
            host = "127.0.0.1"
            port = \(server.port)
            user = "root"
            ssh-key = "\(server.clientKey)"
            known-hosts = "\(server.knownHosts)"
            transport = "\(transport)"
            io-timeout = \(ioTimeout)
            remote-program = "\(slowStore)"
            [limiter]
            memory = "64MiB"
            [codec]
            plugin = "none"
            [backend]
            plugin = "file"
            path = "\(cache)"
            """.write(toFile: config, atomically: true, encoding: .utf8)
        // A child process waited for without blocking a thread: other tests may be holding
        // the cooperative pool's few threads, and the watch below must keep running.
        let copy = try ChildProcess(arguments: [ferryBinary, "run", config, big.path], environment: nixEnvironment)
        // Mid-NAR: a temporary NAR file has appeared in the cache and holds a few MiB.
        // The watch and the fault both run on a thread of their own, so the fault lands
        // the moment the copy is mid-NAR, however busy the test pool is.
        let server = self.server
        // The time is taken there too: from the fault to Ferry's exit (its reaper thread
        // removes it at once), not to when this test gets a thread back.
        let (processes, seen, elapsed) = await onOwnThread { () -> ([Int32], [String: Int], Duration) in
            var seen: [String: Int] = [:]
            let patience = ContinuousClock.now + .seconds(90)  // a loaded machine starts slowly
            while ContinuousClock.now < patience {
                seen = directorySizes(cache + "/nar")
                if seen.contains(where: { $0.key.contains(".ferry-") && $0.value > 4 << 20 }) {
                    let processes = server.sessionProcesses()
                    fault(processes, copy.pid)
                    let faulted = ContinuousClock.now
                    while kill(copy.pid, 0) == 0 && ContinuousClock.now - faulted < .seconds(120) { usleep(10_000) }
                    return (processes, seen, ContinuousClock.now - faulted)
                }
                usleep(10_000)
            }
            return ([], seen, .zero)
        }
        #expect(!processes.isEmpty, "the copy never got going: nar/ held \(seen), sessions \(server.sessionProcesses())")
        let status = await copy.wait()
        for pid in processes { kill(pid, SIGKILL); kill(pid, SIGCONT) }
        return (CommandOutput(status: status >> 8, stdout: Data(), stderr: copy.stderr), elapsed)
    }

    @Test("a remote side stopped mid-copy fails within io-timeout, naming host and path",
          arguments: SSHAgainstNixTests.transports)
    func stalledPeer(transport: String) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (result, elapsed) = try await copyWithFault(transport: transport, cache: dir.path + "/cache", ioTimeout: 3) { pids, _ in
            for pid in pids { kill(pid, SIGSTOP) }
        }
        #expect(result.status == 1)
        #expect(result.stderr.contains("127.0.0.1:\(server.port)"), "\(result.stderr)")
        #expect(result.stderr.contains(try NixStore.bigPath.get().path), "\(result.stderr)")
        #expect(result.stderr.contains("io-timeout"), "\(result.stderr)")
        #expect(elapsed < .seconds(3 + 10), "took \(elapsed)")
        #expect(try narinfos(in: dir.path + "/cache").isEmpty)
    }

    @Test("SIGTERM while the remote side is stopped mid-copy ends the run in seconds, not after io-timeout",
          arguments: SSHAgainstNixTests.transports)
    func stopWhileStalled(transport: String) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (result, elapsed) = try await copyWithFault(transport: transport, cache: dir.path + "/cache", ioTimeout: 60) { pids, ferry in
            for pid in pids { kill(pid, SIGSTOP) }
            usleep(500_000)
            kill(ferry, SIGTERM)
        }
        #expect(result.status == 143, "\(result.stderr)")
        #expect(elapsed < .seconds(10), "took \(elapsed)")
        #expect(temporaries(dir.path + "/cache").isEmpty)
    }

    @Test("a remote side killed mid-NAR fails the path and publishes nothing for it",
          arguments: SSHAgainstNixTests.transports)
    func killedPeer(transport: String) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (result, _) = try await copyWithFault(transport: transport, cache: dir.path + "/cache", ioTimeout: 30) { pids, _ in
            for pid in pids { kill(pid, SIGKILL) }
        }
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains(try NixStore.bigPath.get().path), "\(result.stderr)")
        let big = try NixStore.bigPath.get()
        #expect(!FileManager.default.fileExists(atPath: "\(dir.path)/cache/\(big.hashPart).narinfo"))
    }
}

@Suite("SSH sessions that sit idle", Peers.nix, Peers.requiring("/usr/sbin/sshd"), Peers.requiring("python3"))
struct SSHIdleTests {
    @Test("the control session, idle while a NAR streams for seconds, answers a strict ClientAlive server and is not dropped")
    func idleControlSessionKeptAlive() throws {
        // Gives up on a client after four seconds without a packet from it; the client
        // sends one every 2 s (libssh2 raises an interval of 1 s to 2), the NAR takes six.
        let server = try SSHServer.start(extraConfig: "ClientAliveInterval 1\nClientAliveCountMax 3")
        defer { server.stop() }
        let big = try NixStore.bigPath.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let slowStore = dir.path + "/slow-nix-store"
        try writeThrottledNixStore(to: slowStore)  // 48 MiB at 8 MB/s: six seconds of NAR
        try run([ferryBinary, "copy-closure", "--from", server.url("keepalive=1s&remote-program=\(slowStore)"),
                 "--to", "file://\(dir.path)/cache?compression=none", big.path])
        let log = try String(contentsOfFile: server.dir + "/sshd.log", encoding: .utf8)
        #expect(!log.contains("Timeout, client not responding"), "\(log)")
    }
}
