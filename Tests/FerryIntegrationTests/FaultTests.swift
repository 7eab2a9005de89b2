import FerryCore
import FerryTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Faults injected from outside into real copies: signals to Ferry, a full disk, a source
/// that lies about its NAR. After each, the cache holds nothing half-written.
@Suite("faults: signals, a full disk, a lying source", Peers.nix, Peers.requiring("python3"), .serialized)
struct FaultTests {
    /// Every narinfo in `cache` has its NAR, whose bytes match FileHash and FileSize.
    private func expectConsistent(_ cache: String, _ comment: Comment? = nil) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []
        for name in names where name.hasSuffix(".narinfo") {
            let narinfo = try NarInfo(parsing: String(contentsOfFile: "\(cache)/\(name)", encoding: .utf8))
            let data = FileManager.default.contents(atPath: "\(cache)/\(narinfo.url)")
            #expect(data != nil, "\(name) points to a missing NAR. \(comment?.rawValue ?? "")")
            guard let data else { continue }
            #expect(UInt64(data.count) == narinfo.fileSize && Hash.sha256(of: Array(data)) == narinfo.fileHash,
                    "\(name): the NAR does not match. \(comment?.rawValue ?? "")")
        }
    }

    @Test("SIGTERM mid-copy, once or twice in a burst (as timeout sends it, to Ferry and its group), or SIGHUP (a session gone): exit 128+N, the summary says interrupted, no temporary and no narinfo is left; a rerun completes",
          arguments: zip([SIGTERM, SIGTERM, SIGHUP], [1, 2, 1]))
    func sigterm(signal: Int32, signals: Int) async throws {
        let big = try NixStore.bigPath.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = dir.path + "/cache"
        // xz at level 9 takes seconds over 48 MiB of random bytes: time to be interrupted.
        let ferry = try ChildProcess(arguments: [ferryBinary, "copy-closure", "--to", "file://\(cache)?compression=xz&compression-level=9",
                                                 big.path], environment: nixEnvironment)
        defer { ferry.kill(SIGKILL) }
        let midCopy = await temporaryAppears(in: cache) {
            for _ in 0..<signals {
                ferry.kill(signal)
                usleep(5_000)
            }
        }
        try #require(midCopy, "no temporary NAR appeared")
        let status = await ferry.wait(within: .seconds(20))  // a raw wait status
        #expect(status.map { $0 & 0x7f == 0 && $0 >> 8 == 128 + signal } == true, "exited \(String(describing: status)): \(ferry.stderr)")
        #expect(ferry.stderr.contains("interrupted"), "\(ferry.stderr)")
        #expect(temporaries(cache).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "\(cache)/\(big.hashPart).narinfo"))
        try run([ferryBinary, "copy-closure", "--to", "file://\(cache)?compression=zstd", big.path])
        try run(["nix", "store", "verify", "--store", "file://\(cache)", "--no-trust", big.path])
    }

    /// Polls `cache` on a thread of its own, at most 10 s, until a temporary file appears
    /// (a copy is under way), and then runs `then` there at once; false if none appeared.
    private func temporaryAppears(in cache: String, then: @escaping @Sendable () -> Void) async -> Bool {
        await onOwnThread {
            for _ in 0..<1000 {
                if !temporaries(cache).isEmpty {
                    then()
                    return true
                }
                usleep(10_000)
            }
            return false
        }
    }

    /// Sends SIGINT to `ferry` after `delay`, and gives its exit code if it exits within
    /// `seconds` (nil if it does not, or dies of the signal instead of exiting), and the time
    /// from the signal to its exit, as the thread that reaps it saw it: other tests' blocking
    /// commands may hold this task longer.
    private func interrupt(_ ferry: ChildProcess, after delay: Duration, within seconds: Int) async throws -> (code: Int32?, took: Duration?) {
        try await Task.sleep(for: delay)
        let signalled = ContinuousClock.now
        ferry.kill(SIGINT)
        guard let status = await ferry.wait(within: .seconds(seconds)) else {
            ferry.kill(SIGKILL)
            return (nil, nil)
        }
        return (status & 0x7f == 0 ? status >> 8 : nil, ferry.exitedAt.map { $0 - signalled })
    }

    @Test("under nohup (SIGHUP ignored when Ferry starts), SIGHUP mid-copy changes nothing: the copy completes")
    func nohup() async throws {
        let big = try NixStore.bigPath.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = dir.path + "/cache"
        let ferry = try ChildProcess(arguments: ["sh", "-c", "trap '' HUP; exec \"$0\" \"$@\"", ferryBinary, "copy-closure",
                                                 "--to", "file://\(cache)?compression=zstd&compression-level=12", big.path],
                                     environment: nixEnvironment)
        defer { ferry.kill(SIGKILL) }
        let midCopy = await temporaryAppears(in: cache) { ferry.kill(SIGHUP) }
        try #require(midCopy, "no temporary NAR appeared: \(ferry.stderr)")
        let status = await ferry.wait(within: .seconds(120))
        #expect(status == 0, "\(String(describing: status)): \(ferry.stderr)")
        #expect(FileManager.default.fileExists(atPath: "\(cache)/\(big.hashPart).narinfo"), "\(ferry.stderr)")
    }

    @Test("SIGINT while the compressor is busy: exit 130 at once, not when it is done; nothing is published")
    func sigintBusyCompressor() async throws {
        let (top, _) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let slow = try writeExecPipeline(in: dir.path, command: ["sh", "-c", "sleep 61.5; gzip -c"], compression: "gzip")
        let ferry = try ChildProcess(arguments: [ferryBinary, "run", slow, top.path], environment: nixEnvironment)
        try await Task.sleep(for: .seconds(2))
        let sleeps = descendants(of: ferry.pid).filter { commandLine(of: $0).contains("61.5") && !commandLine(of: $0).hasPrefix("sh") }
        #expect(!sleeps.isEmpty, "the command's sleep had not started")
        let (code, _) = try await interrupt(ferry, after: .zero, within: 15)
        #expect(code == 130, "\(ferry.stderr)")
        #expect(ferry.stderr.contains("interrupted"), "\(ferry.stderr)")
        // What the command started goes with it, not only the shell.
        try await Task.sleep(for: .milliseconds(500))
        #expect(sleeps.filter { commandLine(of: $0).contains("61.5") }.isEmpty, "left running: \(sleeps)")
        let published = (try? narinfos(in: dir.path + "/cache")) ?? []
        #expect(published.isEmpty, "published after the interrupt: \(published)")
    }

    @Test("SIGINT while xz compresses on two threads: exit 130 in seconds, not once its blocks are done; nothing is left")
    func sigintMultithreadedXZ() async throws {
        let big = try NixStore.bigPath.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = dir.path + "/cache"
        // The 48 MiB NAR is two of xz -6's blocks, one per thread, each about ten seconds of
        // work, and a few bytes more, which wait for a free thread.
        let ferry = try ChildProcess(arguments: [ferryBinary, "copy-closure", "-v", "--to", "file://\(cache)?compression=xz&parallel-compression=true",
                                                 big.path], environment: nixEnvironment)
        defer { ferry.kill(SIGKILL) }
        // Under way: -v says when the path starts; a second later xz has both blocks.
        let started = ContinuousClock.now
        while !ferry.stderr.contains("starting /nix/store/") && ContinuousClock.now - started < .seconds(30) {
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(ferry.stderr.contains("starting /nix/store/"), "the copy never started: \(ferry.stderr)")
        try await Task.sleep(for: .seconds(1))
        try #require(!ferry.stderr.contains("copied \(big.path)"), "xz was done before the signal: \(ferry.stderr)")
        let (code, took) = try await interrupt(ferry, after: .zero, within: 30)
        #expect(code == 130, "\(ferry.stderr)")
        #expect(took.map { $0 < .seconds(6) } == true, "the stop waited for the compressor: \(String(describing: took))")
        #expect(temporaries(cache).isEmpty && !FileManager.default.fileExists(atPath: "\(cache)/\(big.hashPart).narinfo"))
    }

    @Test("from a cache in a folder, which never makes a copy wait, two NARs at zstd level 19 leave room: small paths are copied meanwhile, and SIGINT is heard at once")
    func folderSourceLeavesRoom() async throws {
        let bigs = [try NixStore.bigPath.get(), try NixStore.secondBigPath.get()]
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try run(["nix", "copy", "--to", "file://\(dir.path)/source?compression=none", top.path] + bigs.map(\.path))
        // Each big NAR is about ten seconds of zstd -19 on one of Swift's two threads.
        let ferry = try ChildProcess(arguments: [ferryBinary, "mirror", "--from", "file://\(dir.path)/source",
                                                 "--to", "file://\(dir.path)/cache?compression=zstd&compression-level=19",
                                                 "--no-check-sigs", "--closure", top.path] + bigs.map(\.path), environment: nixEnvironment)
        defer { ferry.kill(SIGKILL) }
        let started = ContinuousClock.now
        func smallOnesCopied() -> Bool { all.allSatisfy { ferry.stderr.contains("copied \($0.path)") } }
        while !smallOnesCopied() && ContinuousClock.now - started < .seconds(5) {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(smallOnesCopied(), "the small paths waited for the big ones: \(ferry.stderr)")
        #expect(!bigs.contains { ferry.stderr.contains("copied \($0.path)") }, "the big ones were done too soon to stop: \(ferry.stderr)")
        let (code, took) = try await interrupt(ferry, after: .zero, within: 30)
        #expect(code == 130, "\(ferry.stderr)")
        #expect(took.map { $0 < .seconds(3) } == true, "the stop waited for the compressors: \(String(describing: took))")
    }

    @Test("a stop says so; the same signal again a second or more later kills at once, while the stop still waits for a source that ignores it")
    func secondSignalKills() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // A nix-store that says nothing and ignores SIGTERM: closing it takes the stop 3 s.
        let stubborn = dir.path + "/stubborn-nix-store"
        try writeExecutable("#!/bin/sh\ntrap '' TERM INT\nexec sleep 61.7\n", to: stubborn)
        defer { _ = try? run(["pkill", "-f", "sleep 61.7"], check: false) }
        let ferry = try ChildProcess(arguments: [ferryBinary, "copy-closure", "--from", "local?program=\(stubborn)",
                                                 "--to", "file://\(dir.path)/cache", "/nix/store/00000000000000000000000000000000-x"],
                                     environment: nixEnvironment)
        defer { ferry.kill(SIGKILL) }
        try await Task.sleep(for: .seconds(1))
        ferry.kill(SIGINT)
        try await Task.sleep(for: .milliseconds(1500))
        ferry.kill(SIGINT)
        let status = await ferry.wait(within: .seconds(10))
        #expect(status.map { $0 & 0x7f } == SIGINT, "not killed by the second signal: \(String(describing: status)) \(ferry.stderr)")
        #expect(ferry.stderr.contains("stopping: "), "\(ferry.stderr)")
    }

    @Test("SIGINT while a source does not answer (a cache, or an SSH server in its handshake): exit 130 within seconds, saying no path was copied",
          Peers.requiring("ssh"),
          arguments: ["http://127.0.0.1:PORT/c", "ssh://root@127.0.0.1:PORT?known-hosts=/dev/null",
                      "ssh://root@127.0.0.1:PORT?known-hosts=/dev/null&transport=openssh"])
    func sigintSilentSource(url: String) async throws {
        let (top, _) = try NixStore.closure.get()
        let silent = try SilentListener()
        defer { silent.close() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let source = url.replacingOccurrences(of: "PORT", with: String(silent.port))
        let ferry = try ChildProcess(arguments: [ferryBinary, "mirror", "--no-check-sigs", "--from", source,
                                                 "--to", "file://\(dir.path)/m", top.path], environment: nixEnvironment)
        let (code, took) = try await interrupt(ferry, after: .seconds(1), within: 10)
        #expect(code == 130, "\(ferry.stderr)")
        #expect(ferry.stderr.contains("interrupted before any copy began"), "\(ferry.stderr)")
        // Well under a second by hand; the old code took 4 s over openssh, or 29 s.
        #expect(took.map { $0 < .milliseconds(1900) } == true, "took \(String(describing: took))")
    }

    @Test("SIGINT while ssh's ProxyCommand does not answer (transport=openssh): exit 130 within seconds, and the proxy ends with ssh",
          Peers.requiring("ssh"))
    func sigintSilentProxy() async throws {
        let (top, _) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try writeExecutable("#!/bin/sh\nexec sleep 63.3\n", to: dir.path + "/proxy")
        let ferry = try ChildProcess(arguments: [ferryBinary, "mirror", "--no-check-sigs", "--from",
                                                 "ssh://root@ferry-proxied?known-hosts=/dev/null&transport=openssh",
                                                 "--to", "file://\(dir.path)/m", top.path],
                                     environment: nixEnvironment.merging(["NIX_SSHOPTS": "-oProxyCommand=\(dir.path)/proxy"]) { $1 })
        defer { ferry.kill(SIGKILL) }
        // The proxy is running: ssh started it and waits for it.
        func proxies() -> [Int32] { descendants(of: ferry.pid).filter { commandLine(of: $0).contains("sleep 63.3") } }
        var started: [Int32] = []
        for _ in 0..<100 where started.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
            started = proxies()
        }
        defer { for pid in started { kill(pid, SIGKILL) } }
        try #require(!started.isEmpty, "the proxy never started: \(ferry.stderr)")
        let (code, took) = try await interrupt(ferry, after: .zero, within: 10)
        #expect(code == 130, "\(ferry.stderr)")
        #expect(took.map { $0 < .seconds(5) } == true, "took \(String(describing: took))")
        try await Task.sleep(for: .milliseconds(500))
        #expect(started.filter { commandLine(of: $0).contains("sleep 63.3") }.isEmpty, "left running: \(started)")
    }

    @Test("SIGKILL at random moments, 20 times: every narinfo has its NAR with the right bytes; a rerun completes and cleans up")
    func sigkill() async throws {
        let (top, all) = try NixStore.closure.get()
        let big = try NixStore.bigPath.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = dir.path + "/cache"
        var generator = SystemRandomNumberGenerator()
        for round in 1...20 {
            let ferry = try ChildProcess(arguments: [ferryBinary, "copy-closure", "--jobs", "2", "--to", "file://\(cache)?compression=zstd&compression-level=9",
                                                     big.path, top.path], environment: nixEnvironment)
            try await Task.sleep(for: .milliseconds(Int.random(in: 20...900, using: &generator)))
            ferry.kill(SIGKILL)
            _ = await ferry.wait(within: .seconds(10))
            try expectConsistent(cache, "round \(round)")
        }
        try run([ferryBinary, "copy-closure", "--to", "file://\(cache)?compression=zstd", big.path, top.path])
        try expectConsistent(cache)
        #expect(temporaries(cache).isEmpty, "a rerun removes what killed runs left: \(temporaries(cache))")
        try run(["nix", "store", "verify", "--store", "file://\(cache)", "--no-trust", "-r", big.path, top.path])
        #expect(all.allSatisfy { FileManager.default.fileExists(atPath: "\(cache)/\($0.hashPart).narinfo") })
    }

    @Test("a full disk: a clear error, said once and not retried, no narinfo without its NAR, no temporary left; also behind an exec codec, whose command is not left blocked",
          .enabled(if: getuid() == 0 || Peers.inCI, "mounting a tmpfs needs root"), Peers.requiring("mount"), arguments: [false, true])
    func diskFull(execCodec: Bool) throws {
        let big = try NixStore.bigPath.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = dir.path + "/small"
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        try run(["mount", "-t", "tmpfs", "-o", "size=8M", "tmpfs", cache])
        defer { _ = try? run(["umount", "-l", cache]) }
        let codec = execCodec
            ? ["--config", try writeExecPipeline(in: dir.path, command: ["gzip", "-1", "-c"], compression: "gzip"), "--to", "file://\(cache)"]
            : ["--to", "file://\(cache)?compression=none"]
        // A time limit: a command left blocked on its full output pipe would hold the run for ever.
        let output = try run(["timeout", "120", ferryBinary, "copy-closure"] + codec + [big.path], check: false)
        #expect(output.status == 1)
        #expect(output.stderr.contains("No space left on device"), "\(output.stderr)")
        #expect(output.stderr.contains(big.path))
        // The destination's failure, said once a line and not tried again; the source is not blamed.
        #expect(!output.stderr.contains("retrying") && !output.stderr.contains("DumpStorePath"), "\(output.stderr)")
        #expect(output.stderr.components(separatedBy: "No space left on device").count >= 3, "the live line and the summary: \(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(cache)/\(big.hashPart).narinfo"))
        #expect(temporaries(cache).isEmpty, "\(temporaries(cache))")
        try expectConsistent(cache)
    }

    @Test("a source that sends a NAR other than the one it advertised: the path is rejected and nothing is published")
    func lyingSource() throws {
        let big = try NixStore.bigPath.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // nix-store --serve with one byte of its output flipped, 4 MiB in: inside the NAR's blob.
        let liar = dir.path + "/lying-nix-store"
        try writeExecutable("""
            #!/usr/bin/env python3
            import os, subprocess, sys
            child = subprocess.Popen(["nix-store"] + sys.argv[1:], stdout=subprocess.PIPE, bufsize=0)
            seen = 0
            while True:
                data = os.read(child.stdout.fileno(), 1 << 16)
                if not data: break
                if seen <= (4 << 20) < seen + len(data):
                    data = bytearray(data); data[(4 << 20) - seen] ^= 0xFF; data = bytes(data)
                seen += len(data)
                os.write(1, data)
            sys.exit(child.wait())
            """, to: liar)
        let cache = dir.path + "/cache"
        let output = try run([ferryBinary, "copy-closure", "--from", "local?program=\(liar)", "--to", "file://\(cache)",
                              big.path], check: false)
        #expect(output.status == 1)
        #expect(output.stderr.contains("NarHash"), "\(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(cache)/\(big.hashPart).narinfo"))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: cache + "/nar")) ?? []).isEmpty)
    }

    @Test("a store that refuses a path mid-NAR: the error gives its reason, not a broken pipe, and is not retried")
    func storeRefusesMidNar() throws {
        let big = try NixStore.bigPath.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // nix-store --serve --write that takes 1 MiB of its input, then refuses the path as
        // a daemon that does not trust its user does: a line on stderr, exit 1.
        let refusing = dir.path + "/refusing-nix-store"
        try writeExecutable("""
            #!/usr/bin/env python3
            import os, subprocess, sys, threading
            child = subprocess.Popen(["nix-store"] + sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
            def replies():
                while data := os.read(child.stdout.fileno(), 1 << 16): os.write(1, data)
            threading.Thread(target=replies, daemon=True).start()
            taken = 0
            while taken < (1 << 20) and (data := os.read(0, 1 << 16)):
                child.stdin.write(data); taken += len(data)
            if taken >= (1 << 20):
                sys.stderr.write("error: cannot add path '\(big.path)' because it lacks a signature by a trusted key\\n")
                sys.stderr.flush(); os._exit(1)
            child.stdin.close(); sys.exit(child.wait())
            """, to: refusing)
        let output = try run([ferryBinary, "copy-closure", "--retries", "3", "--retry-delay", "10ms",
                              "--to", "local?root=\(dir.path)/root&program=\(refusing)&max-connections=1", big.path], check: false)
        #expect(output.status == 1)
        #expect(output.stderr.contains("because it lacks a signature by a trusted key"), "\(output.stderr)")
        #expect(!output.stderr.contains("retrying"), "\(output.stderr)")
    }

    @Test("the local source killed mid-NAR: the error names the path, nothing is published for it; a rerun completes")
    func localSourceKilled() async throws {
        let big = try NixStore.bigPath.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = dir.path + "/cache"
        let (status, stderr) = try await copyKillingLocalSource(big, into: cache, options: ["--retries", "1"])
        #expect(status == 1, "\(stderr)")
        #expect(stderr.contains(big.path), "\(stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(cache)/\(big.hashPart).narinfo"))
        #expect(temporaries(cache).isEmpty)
        try run([ferryBinary, "copy-closure", "--to", "file://\(cache)?compression=none", big.path])
        try run(["nix", "store", "verify", "--store", "file://\(cache)", "--no-trust", big.path])
    }

    @Test("the local source killed mid-NAR with retries on: the path starts again from the source and the run completes")
    func localSourceKilledRetried() async throws {
        let big = try NixStore.bigPath.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = dir.path + "/cache"
        let (status, stderr) = try await copyKillingLocalSource(big, into: cache, options: ["--retry-delay", "100ms"])
        #expect(status == 0, "\(stderr)")
        #expect(stderr.contains("retrying \(big.path)"), "\(stderr)")
        try run(["nix", "store", "verify", "--store", "file://\(cache)", "--no-trust", big.path])
    }

    /// Copies `path` from the local store through a throttled `nix-store --serve` into
    /// `cache`, and kills every process under Ferry once the copy is mid-NAR; returns
    /// Ferry's exit code (nil if it did not exit within a minute) and its stderr.
    private func copyKillingLocalSource(_ path: StorePath, into cache: String,
                                        options: [String]) async throws -> (Int32?, String) {
        let slow = cache + "-slow-nix-store"
        try writeThrottledNixStore(to: slow)
        let ferry = try ChildProcess(arguments: [ferryBinary, "copy-closure"] + options + [
            "--from", "local?program=\(slow)", "--to", "file://\(cache)?compression=none", path.path], environment: nixEnvironment)
        await whenMidNar(in: cache) {
            for pid in descendants(of: ferry.pid) { kill(pid, SIGKILL) }
        }
        let status = await ferry.wait(within: .seconds(60))
        return (status.map { $0 >> 8 }, ferry.stderr)
    }

    /// Waits until a temporary NAR in `cache` holds a few MiB (the copy is mid-NAR),
    /// and then runs `fault`, on the watching thread, so it lands mid-NAR however busy
    /// the test pool is.
    private func whenMidNar(in cache: String, _ fault: @escaping @Sendable () -> Void) async {
        let seen = await onOwnThread {
            for _ in 0..<3000 {
                let sizes = ((try? FileManager.default.contentsOfDirectory(atPath: cache + "/nar")) ?? []).map { name in
                    (try? FileManager.default.attributesOfItem(atPath: "\(cache)/nar/\(name)")[.size] as? Int) ?? 0
                }
                if sizes.contains(where: { $0 > 4 << 20 }) {
                    fault()
                    return true
                }
                usleep(10_000)
            }
            return false
        }
        #expect(seen, "the copy never got going")
    }
}
