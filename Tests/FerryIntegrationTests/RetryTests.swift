import FerryCore
import FerryTestSupport
import Foundation
import Testing

@Suite("transient HTTP failures are retried, permanent ones are not", Peers.nix, Peers.requiring("python3"))
struct RetryTests {
    @Test("a source cache answering 500 once to every request: the mirror completes and Nix verifies it")
    func sourceFailsOnce() throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (served, sourceKey) = try NixWrittenCache.copy(into: dir)
        let server = try FlakyHTTPServer.start(root: served, failures: 1, status: 500)
        defer { server.stop() }
        let output = try run([ferryBinary, "mirror", "--from", server.url, "--to", "file://\(dir.path)/mirror",
                              "--trusted-public-key", sourceKey, "--closure", "--retry-delay", "50ms", top.path])
        #expect(output.stderr.contains("\(all.count) copied"), "\(output.stderr)")
        #expect(server.failed.contains("GET /nix-cache-info"))
        #expect(server.failed.filter { $0.hasPrefix("GET /nar/") }.count == all.count, "every NAR download failed once first")
        try run(["nix", "store", "verify", "--store", "file://\(dir.path)/mirror", "-r", top.path, "--trusted-public-keys", sourceKey])
    }

    @Test("a source whose connection breaks half-way through each NAR: each path is tried again and the mirror completes")
    func sourceBreaksMidBody() throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (served, sourceKey) = try NixWrittenCache.copy(into: dir)
        let server = try FlakyHTTPServer.start(root: served)
        defer { server.stop() }
        let proxy = try FaultyProxy.start(before: server.port, .cutting, "GET /nar/", in: dir)
        defer { proxy.stop() }
        let output = try run([ferryBinary, "mirror", "--from", proxy.url, "--to", "file://\(dir.path)/mirror",
                              "--trusted-public-key", sourceKey, "--closure", "--retry-delay", "50ms", top.path], check: false)
        #expect(output.status == 0 && output.stderr.contains("\(all.count) copied"), "\(output.stderr)")
        #expect(proxy.actions.filter { $0.hasPrefix("cut GET /nar/") }.count == all.count, "\(proxy.actions)")
        try run(["nix", "store", "verify", "--store", "file://\(dir.path)/mirror", "-r", top.path, "--trusted-public-keys", sourceKey])
    }

    @Test("a server that refuses connections fails each request at once, to be retried as any failure, not after connect-timeout")
    func refusedAtOnce() throws {
        let (top, _) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let closed = try freePort()
        let began = ContinuousClock.now
        let output = try run([ferryBinary, "copy-closure", "--to", "http://127.0.0.1:\(closed)?connect-timeout=30s",
                              "--retries", "2", "--retry-delay", "10ms", top.path], check: false)
        #expect(output.status != 0 && output.stderr.contains("connection refused") && output.stderr.contains("(sent 2 times)"),
                "\(output.stderr)")
        // Each request is retried on its own; the run's first contact does not repeat them.
        #expect(!output.stderr.contains("retrying http://"), "\(output.stderr)")
        #expect(ContinuousClock.now - began < .seconds(15), "a refused connection waited for connect-timeout")
    }

    @Test("a destination answering 429 with Retry-After: the wait is honoured and the copy completes")
    func destinationRateLimits() throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let server = try FlakyHTTPServer.start(root: dir.path + "/dest", failures: 1, status: 429, retryAfter: 1)
        defer { server.stop() }
        let began = Date()
        let output = try run([ferryBinary, "copy-closure", "--to", server.url, "--retry-delay", "10ms", top.path])
        #expect(output.stderr.contains("\(all.count) copied"), "\(output.stderr)")
        #expect(Date().timeIntervalSince(began) >= 1, "Retry-After: 1 was not waited for")
        #expect(server.failed.contains { $0.hasPrefix("PUT /nar/") })
        try run(["nix", "store", "verify", "--store", "file://\(server.root)", "--no-trust", "-r", top.path])
    }

    @Test("a server that always answers 500 fails the run after the bound, with the status in the error")
    func alwaysFails() throws {
        let (top, _) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let server = try FlakyHTTPServer.start(root: dir.path + "/dest", failures: 1_000_000, status: 500)
        defer { server.stop() }
        let output = try run([ferryBinary, "copy-closure", "--to", server.url, "--retries", "3", "--retry-delay", "10ms",
                              top.path], check: false)
        #expect(output.status == 1)
        #expect(output.stderr.contains("500"), "\(output.stderr)")
        let attempts = Dictionary(grouping: server.failed, by: { $0 }).values.map(\.count)
        // Requests in flight beside the one that gave up are cancelled, so they may have had fewer.
        #expect(attempts.max() == 3 && attempts.allSatisfy { $0 <= 3 }, "no request tried more than 3 times: \(server.failed)")
    }

    @Test("an upload its request retries gave up on is not retried again with its whole path")
    func retriesNotMultiplied() throws {
        let (top, _) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let server = try FlakyHTTPServer.start(root: dir.path + "/dest", failures: 1_000_000, status: 503, failing: ["PUT /nar/"])
        defer { server.stop() }
        let output = try run([ferryBinary, "copy-closure", "--to", server.url, "--retries", "3", "--retry-delay", "10ms",
                              top.path], check: false)
        #expect(output.status == 1)
        #expect(output.stderr.contains("503") && output.stderr.contains("(sent 3 times)"), "\(output.stderr)")
        let narPuts = Dictionary(grouping: server.failed.filter { $0.hasPrefix("PUT /nar/") }, by: { $0 }).values.map(\.count)
        // Three sends of a request, and no second round of three for its path.
        #expect(!narPuts.isEmpty && narPuts.allSatisfy { $0 <= 3 }, "\(server.failed)")
        #expect(!output.stderr.contains("retrying /nix/store/"), "\(output.stderr)")
    }

    @Test("a redirect of an upload is not followed: the copy fails, naming where it pointed, and nothing lands there",
          arguments: [303, 307])
    func uploadRedirectNotFollowed(status: Int) throws {
        let (top, _) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let server = try FlakyHTTPServer.start(root: dir.path + "/dest", failures: 1_000_000, status: status, failing: ["PUT"])
        defer { server.stop() }
        let output = try run([ferryBinary, "copy-closure", "--to", server.url, "--retry-delay", "10ms", top.path], check: false)
        #expect(output.status == 1, "\(output.stderr)")
        #expect(output.stderr.contains(": \(status) ") && output.stderr.contains("it points to /elsewhere/"), "\(output.stderr)")
        #expect(server.elsewhere.isEmpty, "a redirected upload was followed: \(server.elsewhere)")
    }

    @Test("a 4xx other than 408 and 429 is not retried, nor 501 (a server that takes no PUT, which the error says)",
          arguments: [400, 501])
    func permanentNotRetried(status: Int) throws {
        let (top, _) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let server = try FlakyHTTPServer.start(root: dir.path + "/dest", failures: 1_000_000, status: status, failing: ["PUT"])
        defer { server.stop() }
        let output = try run([ferryBinary, "copy-closure", "--to", server.url, "--retry-delay", "10ms", top.path], check: false)
        #expect(output.status == 1)
        #expect(output.stderr.contains("\(status)"), "\(output.stderr)")
        #expect(status != 501 || output.stderr.contains("takes no uploads"), "\(output.stderr)")
        #expect(!output.stderr.contains("retrying"))
        let attempts = Dictionary(grouping: server.failed, by: { $0 }).values.map(\.count)
        #expect(!attempts.isEmpty && attempts.allSatisfy { $0 == 1 }, "\(server.failed)")
    }
}
