import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// A binary cache written and signed by real `nix copy` (xz, Nix's default), with the
/// test closure in it: what every mirror test reads from.
enum NixWrittenCache {
    static let made: Result<(path: String, publicKey: String), any Error> = Result {
        let (top, _) = try NixStore.closure.get()
        let dir = try TemporaryDirectory().path
        try run(["nix-store", "--generate-binary-cache-key", "nix-src-1", dir + "/src.sec", dir + "/src.pub"])
        try run(["nix", "copy", "--to", "file://\(dir)/cache?secret-key=\(dir)/src.sec", top.path])
        return (dir + "/cache", try String(contentsOfFile: dir + "/src.pub", encoding: .utf8))
    }

    /// Rewrites the `URL:` of each narinfo in the cache at `path` (sorted by name, with its
    /// index). The URL is outside the signed fingerprint: the signatures still hold.
    static func rewriteNarURLs(in path: String, _ rewrite: (_ index: Int, _ url: Substring) -> String) throws {
        let narInfos = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".narinfo") }.sorted()
        for (index, name) in narInfos.enumerated() {
            let file = path + "/" + name
            let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            try lines.map { $0.hasPrefix("URL: ") ? "URL: " + rewrite(index, $0.dropFirst(5)) : String($0) }
                .joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        }
    }

    /// A copy of the cache in `dir`, for a test that changes or serves it; and its key.
    static func copy(into dir: TemporaryDirectory) throws -> (path: String, publicKey: String) {
        let (source, key) = try made.get()
        let copy = dir.path + "/served"
        try run(["cp", "-r", source, copy])
        return (copy, key)
    }
}

@Suite("ferry mirror against nginx and Nix", Peers.nix, .serialized)
struct MirrorAgainstPeersTests {
    private func mirrorKey(in dir: TemporaryDirectory) throws -> (secret: String, public: String) {
        try ferryKeyPair(named: "ferry-mirror-1", in: dir)
    }

    @Test("a Nix-written cache served by nginx mirrors into a file cache both keys verify, and into WebDAV that nix copy reads back",
          Peers.requiring("/usr/sbin/nginx"))
    func nginxMirror() throws {
        let (top, all) = try NixStore.closure.get()
        let (source, sourceKey) = try NixWrittenCache.made.get()
        let nginx = try Nginx.start(serving: source)
        defer { nginx.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (secret, mirrorKey) = try mirrorKey(in: dir)

        let cache = dir.path + "/mirror"
        let output = try run([ferryBinary, "mirror", "--from", "http://127.0.0.1:\(nginx.readPort)",
                              "--to", "file://\(cache)?secret-key=\(secret)", "--trusted-public-key", sourceKey,
                              "--closure", top.path])
        #expect(output.stderr.contains("\(all.count) copied"), "\(output.stderr)")
        for key in [sourceKey, mirrorKey] {
            try run(["nix", "store", "verify", "--store", "file://\(cache)", "-r", top.path, "--trusted-public-keys", key])
        }

        try run([ferryBinary, "mirror", "--from", "http://127.0.0.1:\(nginx.readPort)",
                 "--to", "http://127.0.0.1:\(nginx.davPort)/", "--trusted-public-key", sourceKey, "--closure", top.path])
        let root = dir.path + "/root"
        try run(["nix", "copy", "--from", "http://127.0.0.1:\(nginx.davPort)", "--to", root, top.path,
                 "--trusted-public-keys", sourceKey])
        #expect(Set(try run(["nix", "path-info", "--store", root, "-r", top.path]).lines) == Set(all.map(\.path)))
        try run(["nix", "store", "verify", "--store", root, "--no-trust", "-r", top.path])
    }

    @Test("NAR URLs as Nix takes them from an http cache: with a query, or absolute; the cache named as nix.conf names a substituter",
          Peers.requiring("/usr/sbin/nginx"))
    func narURLForms() throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (served, sourceKey) = try NixWrittenCache.copy(into: dir)
        let nginx = try Nginx.start(serving: served)
        defer { nginx.stop() }
        try NixWrittenCache.rewriteNarURLs(in: served) { index, url in
            index % 2 == 0 ? "\(url)?x=1" : "http://127.0.0.1:\(nginx.readPort)/\(url)"
        }
        let cache = dir.path + "/mirror"
        let output = try run([ferryBinary, "mirror", "-vv", "--from", "http://127.0.0.1:\(nginx.readPort)?priority=30&want-mass-query=true",
                              "--to", "file://\(cache)",
                              "--trusted-public-key", sourceKey, "--closure", top.path], check: false)
        #expect(output.status == 0 && output.stderr.contains("\(all.count) copied"), "\(output.stderr)")
        // -vv tells each request and its answer: here the NARs at the absolute URLs.
        #expect(output.stderr.contains("status=200 [FerryHTTP] GET http://127.0.0.1:\(nginx.readPort)/nar/"), "\(output.stderr)")
        try run(["nix", "store", "verify", "--store", "file://\(cache)", "-r", top.path, "--trusted-public-keys", sourceKey])
    }

    @Test("a cache's bearer token goes to the cache, not to the other host its narinfos point NARs at",
          Peers.requiring("python3"))
    func credentialsStayWithTheCache() throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (served, sourceKey) = try NixWrittenCache.copy(into: dir)
        let cache = try FlakyHTTPServer.start(root: served)
        defer { cache.stop() }
        // The NARs move to the other host, which logs into a root of its own: a copy that
        // completes took every NAR from there.
        try FileManager.default.createDirectory(atPath: dir.path + "/nars", withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: served + "/nar", toPath: dir.path + "/nars/nar")
        let narHost = try FlakyHTTPServer.start(root: dir.path + "/nars")
        defer { narHost.stop() }
        try NixWrittenCache.rewriteNarURLs(in: served) { _, url in "\(narHost.url)/\(url)" }
        try "t0ken\n".write(toFile: dir.path + "/token", atomically: true, encoding: .utf8)
        let output = try run([ferryBinary, "mirror", "--from", "\(cache.url)?bearer-token-file=\(dir.path)/token",
                              "--to", "file://\(dir.path)/mirror", "--trusted-public-key", sourceKey, "--closure", top.path])
        #expect(output.stderr.contains("\(all.count) copied"), "\(output.stderr)")
        #expect(cache.authorized.contains { $0.hasSuffix(".narinfo") }, "the cache got no token: \(cache.authorized)")
        #expect(narHost.authorized.isEmpty, "the token went to the NAR host: \(narHost.authorized)")
    }

    @Test("narinfos sent with Content-Encoding xz or gzip (narinfo-compression) are decoded as Nix decodes them; an encoding Ferry lacks is named",
          Peers.requiring("python3"), arguments: ["xz", "gzip"])
    func encodedNarInfos(encoding: String) throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (served, sourceKey) = try NixWrittenCache.copy(into: dir)
        let server = try FlakyHTTPServer.start(root: served, narInfoEncoding: encoding)
        defer { server.stop() }
        // The server is one Nix reads.
        try run(["nix", "copy", "--from", server.url, "--to", "file://\(dir.path)/by-nix", "--trusted-public-keys", sourceKey, top.path])
        let output = try run([ferryBinary, "mirror", "--from", server.url, "--to", "file://\(dir.path)/mirror",
                              "--trusted-public-key", sourceKey, "--closure", top.path])
        #expect(output.stderr.contains("\(all.count) copied"), "\(output.stderr)")
        try run(["nix", "store", "verify", "--store", "file://\(dir.path)/mirror", "-r", top.path, "--trusted-public-keys", sourceKey])

        let lzo = try FlakyHTTPServer.start(root: served, narInfoEncoding: "lzo")
        defer { lzo.stop() }
        let refused = try run([ferryBinary, "mirror", "--from", lzo.url, "--to", "file://\(dir.path)/mirror-lzo",
                               "--trusted-public-key", sourceKey, top.path], check: false)
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("Content-Encoding: lzo, which Ferry cannot decode"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("retrying"), "\(refused.stderr)")
    }

    @Test("requests go through the proxy http_proxy names (a CONNECT tunnel), and straight to a host no_proxy names; a proxy Ferry cannot use exits 2, and one that is down is named",
          Peers.requiring("/usr/sbin/nginx"), Peers.requiring("python3"))
    func throughProxy() throws {
        let (top, all) = try NixStore.closure.get()
        let (source, sourceKey) = try NixWrittenCache.made.get()
        let nginx = try Nginx.start(serving: source)
        defer { nginx.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let proxy = try ConnectProxy(log: dir.path + "/proxy.log")
        defer { proxy.stop() }
        func mirror(into name: String, _ variables: [String: String]) throws -> CommandOutput {
            try run([ferryBinary, "mirror", "--from", "http://127.0.0.1:\(nginx.readPort)", "--to", "file://\(dir.path)/\(name)",
                     "--trusted-public-key", sourceKey, "--closure", "--retries", "1", top.path],
                    environment: nixEnvironment.merging(variables) { $1 }, check: false)
        }
        let proxied = try mirror(into: "proxied", ["http_proxy": proxy.url])
        #expect(proxied.status == 0 && proxied.stderr.contains("\(all.count) copied"), "\(proxied.stderr)")
        let tunnels = proxy.requests
        #expect(!tunnels.isEmpty && tunnels.allSatisfy { $0 == "CONNECT 127.0.0.1:\(nginx.readPort) HTTP/1.1" }, "\(tunnels)")
        try run(["nix", "store", "verify", "--store", "file://\(dir.path)/proxied", "-r", top.path, "--trusted-public-keys", sourceKey])

        let direct = try mirror(into: "direct", ["http_proxy": proxy.url, "no_proxy": "localhost,127.0.0.1"])
        #expect(direct.status == 0 && direct.stderr.contains("\(all.count) copied"), "\(direct.stderr)")
        #expect(proxy.requests == tunnels, "no_proxy named the host, yet the proxy was asked")

        let refused = try mirror(into: "refused", ["http_proxy": "ftp://127.0.0.1:21"])
        #expect(refused.status == 2 && refused.stderr.contains("http_proxy=ftp://127.0.0.1:21"), "\(refused.stderr)")

        let closed = try freePort()
        let unreachable = try mirror(into: "unreachable", ["http_proxy": "http://127.0.0.1:\(closed)"])
        #expect(unreachable.status != 0 && unreachable.stderr.contains("(through the proxy 127.0.0.1:\(closed))"), "\(unreachable.stderr)")
    }

    @Test("PUTs carry .netrc credentials (by default Nix's $NIX_CONF_DIR/netrc) or a bearer token; without them the server's 401 is the error",
          Peers.requiring("/usr/sbin/nginx"))
    func httpAuthentication() throws {
        let (top, all) = try NixStore.closure.get()
        let (source, sourceKey) = try NixWrittenCache.made.get()
        let nginx = try Nginx.start(serving: source)
        defer { nginx.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try "machine 127.0.0.1 login ferry password s3cret\n".write(toFile: dir.path + "/netrc", atomically: true, encoding: .utf8)
        try "t0ken\n".write(toFile: dir.path + "/token", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir.path + "/no-conf", withIntermediateDirectories: true)
        func mirror(to url: String, confDir: String? = nil) throws -> CommandOutput {
            try run([ferryBinary, "mirror", "--from", "file://\(source)", "--to", url, "--trusted-public-key", sourceKey,
                     "--closure", top.path],
                    environment: nixEnvironment.merging(["HOME": dir.path, "NIX_CONF_DIR": confDir ?? dir.path + "/no-conf"]) { $1 },
                    check: false)
        }
        let refused = try mirror(to: "http://127.0.0.1:\(nginx.basicPort)")
        #expect(refused.status == 1 && refused.stderr.contains("401"), "\(refused.stderr)")
        #expect(refused.stderr.contains("give credentials with netrc-file"), "no hint: \(refused.stderr)")
        for url in ["http://127.0.0.1:\(nginx.basicPort)?netrc-file=\(dir.path)/netrc",
                    "http://127.0.0.1:\(nginx.bearerPort)?bearer-token-file=\(dir.path)/token"] {
            let output = try mirror(to: url)
            #expect(output.status == 0 && output.stderr.contains("\(all.count) copied"), "\(url): \(output.stderr)")
            #expect(!output.stderr.contains("s3cret") && !output.stderr.contains("t0ken"))
        }
        let byDefault = try mirror(to: "http://127.0.0.1:\(nginx.basicPort)/by-default", confDir: dir.path)
        #expect(byDefault.status == 0 && byDefault.stderr.contains("\(all.count) copied"), "\(byDefault.stderr)")
    }

    @Test("the destination wants the source's compression: the NAR files are copied byte for byte")
    func passThrough() throws {
        let (top, _) = try NixStore.closure.get()
        let (source, sourceKey) = try NixWrittenCache.made.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = dir.path + "/mirror"
        try run([ferryBinary, "mirror", "--from", "file://\(source)", "--to", "file://\(cache)?compression=xz",
                 "--trusted-public-key", sourceKey, "--closure", top.path])
        let copied = try FileManager.default.contentsOfDirectory(atPath: cache + "/nar")
        #expect(!copied.isEmpty)
        for name in copied {
            #expect(FileManager.default.contentsEqual(atPath: "\(cache)/nar/\(name)", andPath: "\(source)/nar/\(name)"), "\(name)")
        }
    }

    @Test("caches Nix wrote with each compression it offers are read, decompressed and checked",
          arguments: ["xz", "zstd", "bzip2", "br", "gzip", "lz4", "lzip", "none"])
    func everyCompression(_ compression: String) throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let source = dir.path + "/source"
        try run(["nix", "copy", "--to", "file://\(source)?compression=\(compression)", top.path])
        let cache = dir.path + "/mirror"
        let output = try run([ferryBinary, "mirror", "--from", "file://\(source)", "--to", "file://\(cache)?compression=zstd",
                              "--no-check-sigs", "--closure", top.path])
        #expect(output.stderr.contains("\(all.count) copied"), "\(output.stderr)")
        try run(["nix", "store", "verify", "--store", "file://\(cache)", "--no-trust", "-r", top.path])
    }

    @Test("small NARs Nix wrote at zstd level 22, whose frames ask for a 128 MiB window, reserve about their size, not the window",
          Peers.requiring("zstd"))
    func smallNarsReserveTheirSize() throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let source = dir.path + "/source"
        try run(["nix", "copy", "--to", "file://\(source)?compression=zstd&compression-level=22", top.path])
        let nar = try #require(try FileManager.default.contentsOfDirectory(atPath: source + "/nar").first)
        #expect(try run(["zstd", "-lv", "\(source)/nar/\(nar)"]).text.contains("Window Size: 128 MiB"))

        let output = try run([ferryBinary, "mirror", "--json", "--from", "file://\(source)", "--to", "file://\(dir.path)/mirror",
                              "--no-check-sigs", "--closure", top.path])
        let summary = try #require(try JSONSerialization.jsonObject(with: Data((output.lines.last ?? "").utf8)) as? [String: Any])
        #expect(summary["copied"] as? Int == all.count)
        // One copy reserving its decoder's whole window would hold 129 MiB on its own.
        let peak = try #require(summary["memory_peak_bytes"] as? Int)
        #expect(peak < 48 << 20, "peak reservation \(peak) bytes")
        try run(["nix", "store", "verify", "--store", "file://\(dir.path)/mirror", "--no-trust", "-r", top.path])
    }

    @Test("a damaged NAR file in the source cache is refused, naming the file, and nothing is published for it")
    func damagedSource() throws {
        let (top, _) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (copy, sourceKey) = try NixWrittenCache.copy(into: dir)
        let narinfo = try NarInfo(parsing: String(contentsOfFile: "\(copy)/\(top.hashPart).narinfo", encoding: .utf8))
        let nar = "\(copy)/\(narinfo.url)"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: nar))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: nar))
        let cache = dir.path + "/mirror"
        let output = try run([ferryBinary, "mirror", "--from", "file://\(copy)", "--to", "file://\(cache)",
                              "--trusted-public-key", sourceKey, "--closure", top.path], check: false)
        #expect(output.status == 1)
        #expect(output.stderr.contains("failed \(top.path): \(narinfo.url) in file://\(copy) does not decode as xz: liblzma"),
                "\(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(cache)/\(top.hashPart).narinfo"))
        // Passed through as it is (xz to xz), the file is still decoded for the check.
        let passed = try run([ferryBinary, "mirror", "--from", "file://\(copy)", "--to", "file://\(cache)-xz?compression=xz",
                              "--trusted-public-key", sourceKey, "--closure", top.path], check: false)
        #expect(passed.status == 1 && passed.stderr.contains("failed \(top.path): its NAR file in file://\(copy) does not decode as xz: liblzma"),
                "\(passed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(cache)-xz/\(top.hashPart).narinfo"))
    }

    @Test("a wrong trusted key refuses every path and writes nothing, saying which keys signed them, or that a key of the signer's name does not verify its signature")
    func wrongKey() throws {
        let (top, all) = try NixStore.closure.get()
        let (source, _) = try NixWrittenCache.made.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (_, strangerKey) = try mirrorKey(in: dir)
        let cache = dir.path + "/mirror"
        let output = try run([ferryBinary, "mirror", "--from", "file://\(source)", "--to", "file://\(cache)",
                              "--trusted-public-key", strangerKey, "--closure", top.path], check: false)
        #expect(output.status == 1)
        #expect(output.stderr.contains("0 copied, 0 already there, \(all.count) failed"), "\(output.stderr)")
        #expect(output.stderr.contains("signed only by keys not trusted here (nix-src-1;"), "\(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cache), "the destination was touched")

        // Another key under the source's name: its signatures do not verify.
        try run(["nix-store", "--generate-binary-cache-key", "nix-src-1", dir.path + "/other.sec", dir.path + "/other.pub"])
        let impostor = try String(contentsOfFile: dir.path + "/other.pub", encoding: .utf8)
        let forged = try run([ferryBinary, "mirror", "--from", "file://\(source)", "--to", "file://\(cache)",
                              "--trusted-public-key", impostor, "--closure", top.path], check: false)
        #expect(forged.status == 1)
        #expect(forged.stderr.contains("its signature by 'nix-src-1' does not verify"), "\(forged.stderr)")

        let unsaid = try run([ferryBinary, "mirror", "--from", "file://\(source)", "--to", "file://\(cache)", top.path], check: false)
        #expect(unsaid.status == 2)
        #expect(unsaid.stderr.contains("--trusted-public-key"), "\(unsaid.stderr)")
    }

    @Test("a source folder without nix-cache-info, or a cache for another store (source or destination), is a configuration error: exit 2, nothing written")
    func notThisStoresCache() throws {
        let (top, _) = try NixStore.closure.get()
        let (source, sourceKey) = try NixWrittenCache.made.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let bare = dir.path + "/bare", gnu = dir.path + "/gnu", mirror = dir.path + "/mirror"
        try FileManager.default.copyItem(atPath: source, toPath: bare)
        try FileManager.default.removeItem(atPath: bare + "/nix-cache-info")
        try FileManager.default.createDirectory(atPath: gnu, withIntermediateDirectories: false)
        try "StoreDir: /gnu/store\n".write(toFile: gnu + "/nix-cache-info", atomically: true, encoding: .utf8)
        for (from, to, said) in [(bare, mirror, "is missing, so this is not a binary cache"),
                                 (gnu, mirror, "the cache is for the store /gnu/store"),
                                 (source, gnu, "the cache is for the store /gnu/store")] {
            let output = try run([ferryBinary, "mirror", "--from", "file://\(from)", "--to", "file://\(to)",
                                  "--trusted-public-key", sourceKey, top.path], check: false)
            #expect(output.status == 2 && output.stderr.contains(said), "\(output.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: mirror + "/nix-cache-info"), "the destination was written")
        #expect(try FileManager.default.contentsOfDirectory(atPath: gnu) == ["nix-cache-info"])
        #expect(!FileManager.default.fileExists(atPath: bare + "/nix-cache-info"), "the source was written")
    }

    @Test("--shard 1/3, 2/3 and 3/3 together copy every path exactly once")
    func shards() throws {
        let (_, all) = try NixStore.closure.get()
        let (source, sourceKey) = try NixWrittenCache.made.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let list = dir.path + "/paths"
        try all.map(\.path).joined(separator: "\n").write(toFile: list, atomically: true, encoding: .utf8)
        var copied: [String] = []
        for shard in 1...3 {
            let cache = "\(dir.path)/shard\(shard)"
            try run([ferryBinary, "mirror", "--from", "file://\(source)", "--to", "file://\(cache)",
                     "--trusted-public-key", sourceKey, "--paths-from", list, "--shard", "\(shard)/3"])
            copied += (try? narinfos(in: cache)) ?? []
        }
        #expect(copied.sorted() == all.map { "\($0.hashPart).narinfo" }.sorted())
    }
}

@Suite("ferry mirror into an S3 server that checks signatures", Peers.nix, Peers.moto, .serialized)
struct MirrorToS3Tests {
    @Test("every object read back from S3 has the right bytes: Nix verifies the downloaded cache with both keys")
    func mirrorToS3() throws {
        try mirrorRoundTrip("compression=zstd") { _ in nil }
    }

    @Test("a Hydra store URI works as written: narinfos (xz) and listings (br) arrive compressed with their Content-Encoding, which the tools decode",
          Peers.requiring("brotli"), Peers.requiring("xz"))
    func hydraStoreURI() throws {
        try mirrorRoundTrip("write-nar-listing=1&ls-compression=br&log-compression=br&narinfo-compression=xz") { key in
            key.hasSuffix(".narinfo") ? "xz" : key.hasSuffix(".ls") ? "br" : nil
        }
    }

    /// Mirrors the Nix-written cache into a bucket with `parameters` and Ferry's key; checks
    /// each object's `Content-Encoding` against `encoding(key)`, decodes it with the tool,
    /// has Nix verify the download with both keys, reads it back out of S3 with Ferry, and
    /// runs again to find everything there.
    private func mirrorRoundTrip(_ parameters: String, encoding: (String) -> String?) throws {
        let (top, all) = try NixStore.closure.get()
        let (source, sourceKey) = try NixWrittenCache.made.get()
        let s3 = try MotoS3.start()
        defer { s3.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (secret, mirrorKey) = try ferryKeyPair(named: "ferry-s3-1", in: dir)

        let output = try run([ferryBinary, "mirror", "--from", "file://\(source)", "--to", s3.url("secret-key=\(secret)&\(parameters)"),
                              "--trusted-public-key", sourceKey, "--closure", top.path], environment: s3.environment())
        #expect(output.stderr.contains("\(all.count) copied"), "\(output.stderr)")
        let copy = dir.path + "/downloaded"
        let objects = try s3.download(into: copy)
        for object in objects {
            #expect(object.encoding == encoding(object.key), "\(object.key)")
            guard let encoding = object.encoding else { continue }
            try run(["sh", "-c", "\(encoding == "br" ? "brotli" : encoding) -dc < \"$1\" > \"$1.plain\" && mv \"$1.plain\" \"$1\"",
                     "decode", "\(copy)/\(object.key)"])
        }
        let keys = objects.map(\.key)
        #expect(keys.contains("nix-cache-info"))
        #expect(keys.filter { $0.hasSuffix(".narinfo") }.count == all.count)
        let listings = keys.filter { $0.hasSuffix(".ls") }
        #expect(listings.count == (parameters.contains("write-nar-listing=1") ? all.count : 0))
        for listing in listings {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(copy)/\(listing)")))
            #expect((json as? [String: Any])?["version"] as? Int == 1, "\(listing)")
        }
        for key in [sourceKey, mirrorKey] {
            try run(["nix", "store", "verify", "--store", "file://\(copy)", "-r", top.path, "--trusted-public-keys", key])
        }

        // And back out of S3, as a source, checked against Ferry's own signature; the endpoint
        // written as a URL, as newer Nix takes it.
        let back = dir.path + "/back"
        try run([ferryBinary, "mirror", "--from", s3.url(endpointAsURL: true), "--to", "file://\(back)", "--closure", "--trusted-public-key",
                 mirrorKey, top.path], environment: s3.environment())
        try run(["nix", "store", "verify", "--store", "file://\(back)", "-r", top.path, "--trusted-public-keys", sourceKey])

        // A second run finds everything there.
        let again = try run([ferryBinary, "mirror", "--from", "file://\(source)", "--to", s3.url(),
                             "--trusted-public-key", sourceKey, "--closure", top.path], environment: s3.environment())
        #expect(again.stderr.contains("0 copied, \(all.count) already there"), "\(again.stderr)")
    }

    @Test("a profile's role_arn with source_profile: the role is assumed through STS (signed with the source's keys, which may not write S3 themselves) and its keys sign; a source whose secret is wrong is refused, exit 2")
    func assumedRole() throws {
        let (top, all) = try NixStore.closure.get()
        let (source, sourceKey) = try NixWrittenCache.made.get()
        let s3 = try MotoS3.start()
        defer { s3.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (role, key, secret) = try s3.makeRole()
        try "[profile uploader]\nrole_arn = \(role)\nsource_profile = base\nrole_session_name = ferry-test\nexternal_id = x-1\nduration_seconds = 900\n"
            .write(toFile: dir.path + "/config", atomically: true, encoding: .utf8)
        func mirror(profile: String, secret: String) throws -> CommandOutput {
            try "[base]\naws_access_key_id = \(key)\naws_secret_access_key = \(secret)\n"
                .write(toFile: dir.path + "/credentials", atomically: true, encoding: .utf8)
            let variables = ["AWS_SHARED_CREDENTIALS_FILE": dir.path + "/credentials", "AWS_CONFIG_FILE": dir.path + "/config",
                             "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:\(s3.port)"]
            return try run([ferryBinary, "mirror", "--from", "file://\(source)", "--to", s3.url("profile=\(profile)"),
                            "--trusted-public-key", sourceKey, "--closure", "--retries", "1", top.path],
                           environment: MotoS3.environmentWithoutKeys(home: dir.path).merging(variables) { $1 }, check: false)
        }
        let unassumed = try mirror(profile: "base", secret: secret)
        #expect(unassumed.status == 1 && unassumed.stderr.contains("AccessDenied"), "the user alone may not write: \(unassumed.stderr)")
        let assumed = try mirror(profile: "uploader", secret: secret)
        #expect(assumed.status == 0 && assumed.stderr.contains("\(all.count) copied"), "\(assumed.stderr)")
        #expect(try s3.download(into: dir.path + "/downloaded").filter { $0.key.hasSuffix(".narinfo") }.count == all.count)
        let refused = try mirror(profile: "uploader", secret: "wrong")
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("role \(role) assumed with the keys of profile base") && refused.stderr.contains("SignatureDoesNotMatch"),
                "\(refused.stderr)")
    }

    /// How an endpoint's keys should be used: kept while good, renewed when due, and kept
    /// when a renewal fails while they still work.
    enum Renewal: CaseIterable { case kept, renewed, failedRenewal }

    @Test("without fixed keys, the keys of a credential_process, a web identity, the container or the instance role (IMDSv2) sign; kept while good, renewed five minutes before they expire, kept when renewing fails",
          arguments: ["process", "web-identity", "instance", "container-token", "container-token-file"], Renewal.allCases)
    func expiringCredentials(origin: String, renewal: Renewal) throws {
        let (top, all) = try NixStore.closure.get()
        let (source, sourceKey) = try NixWrittenCache.made.get()
        let s3 = try MotoS3.start()
        defer { s3.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // Keys that expire in two minutes are inside the five-minute margin: due at every request.
        let endpoint = try CredentialsEndpoint.start(accessKey: s3.accessKey, secretKey: s3.secretKey,
                                                     minutes: renewal == .kept ? 360 : 2,
                                                     failAfterFirst: renewal == .failedRenewal, in: dir)
        defer { endpoint.stop() }
        try "c0ntainer\n".write(toFile: dir.path + "/token", atomically: true, encoding: .utf8)
        try "w3b-identity\n".write(toFile: dir.path + "/web-token", atomically: true, encoding: .utf8)
        try "[default]\ncredential_process = \(endpoint.processCommand)\n"
            .write(toFile: dir.path + "/process-config", atomically: true, encoding: .utf8)
        let variables = switch origin {
        case "process": ["AWS_CONFIG_FILE": dir.path + "/process-config"]
        case "web-identity": ["AWS_ROLE_ARN": CredentialsEndpoint.roleARN, "AWS_WEB_IDENTITY_TOKEN_FILE": dir.path + "/web-token",
                              "AWS_ENDPOINT_URL_STS": endpoint.url + "/sts"]
        case "instance": ["AWS_EC2_METADATA_SERVICE_ENDPOINT": endpoint.url]
        case "container-token": ["AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.url + "/container",
                                 "AWS_CONTAINER_AUTHORIZATION_TOKEN": "c0ntainer"]
        default: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.url + "/container",
                  "AWS_CONTAINER_AUTHORIZATION_TOKEN": "not-this-one", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": dir.path + "/token"]
        }
        let output = try run([ferryBinary, "mirror", "--from", "file://\(source)", "--to", s3.url(),
                              "--trusted-public-key", sourceKey, "--closure", top.path],
                             environment: MotoS3.environmentWithoutKeys(home: dir.path).merging(variables) { $1 }, check: false)
        #expect(output.status == 0 && output.stderr.contains("\(all.count) copied"), "\(output.stderr)")
        let kind = origin.hasPrefix("container") ? "container" : origin
        #expect(Set(endpoint.handedOut) == [kind], "\(endpoint.handedOut)")
        switch renewal {
        case .kept: #expect(endpoint.handedOut.count == 1, "\(endpoint.handedOut)")
        case .renewed: #expect(endpoint.handedOut.count > 1, "\(endpoint.handedOut)")
        case .failedRenewal:
            #expect(endpoint.handedOut.count == 1, "\(endpoint.handedOut)")
            #expect(output.stderr.contains("S3 keys not renewed"), "\(output.stderr)")
        }
        #expect(try s3.download(into: dir.path + "/downloaded").filter { $0.key.hasSuffix(".narinfo") }.count == all.count)
    }

    @Test("a wrong secret key, or a bucket that does not exist, is a configuration error (exit 2) that says so, and nothing is written")
    func wrongSecret() throws {
        let (top, _) = try NixStore.closure.get()
        let (source, sourceKey) = try NixWrittenCache.made.get()
        let s3 = try MotoS3.start()
        defer { s3.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let output = try run([ferryBinary, "mirror", "--from", "file://\(source)", "--to", s3.url(),
                              "--trusted-public-key", sourceKey, "--closure", top.path],
                             environment: s3.environment(secret: "not-the-secret"), check: false)
        #expect(output.status == 2)
        #expect(output.stderr.contains("SignatureDoesNotMatch"), "\(output.stderr)")
        #expect(output.stderr.contains("the access key or secret is wrong"), "\(output.stderr)")
        #expect(!output.stderr.contains("not-the-secret"), "the secret appeared in a message")
        #expect(try s3.download(into: dir.path + "/downloaded").isEmpty)

        let noBucket = try run([ferryBinary, "mirror", "--from", "file://\(source)",
                                "--to", s3.url().replacingOccurrences(of: "s3://\(s3.bucket)", with: "s3://no-such-bucket"),
                                "--trusted-public-key", sourceKey, "--closure", top.path], environment: s3.environment(), check: false)
        #expect(noBucket.status == 2 && noBucket.stderr.contains("NoSuchBucket") && noBucket.stderr.contains("create the bucket"),
                "\(noBucket.stderr)")
    }

    @Test("a multipart upload whose completion was answered but the answer lost is found whole, not failed")
    func completionAnswerLost() throws {
        let big = try NixStore.bigPath.get()
        let s3 = try MotoS3.start()
        defer { s3.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let proxy = try FaultyProxy.start(before: s3.port, .losing, "POST ?uploadId=", in: dir)
        defer { proxy.stop() }
        let url = "s3://\(s3.bucket)?endpoint=127.0.0.1:\(proxy.port)&scheme=http&region=us-east-1"
            + "&compression=none&multipart-threshold=8MiB&part-size=5MiB"
        let output = try run([ferryBinary, "copy-closure", "--to", url, "--memory-limit", "32MiB", big.path],
                             environment: s3.environment(), check: false)
        #expect(output.status == 0 && output.stderr.contains("1 copied"), "\(output.stderr)")
        let actions = proxy.actions.map { $0.split(separator: " ").first! }
        #expect(actions == ["dropped", "refused"] && proxy.actions[0].hasSuffix(" 200"), "\(proxy.actions)")
        let copy = dir.path + "/downloaded"
        #expect(try s3.download(into: copy).contains { $0.key.hasPrefix("nar/") && $0.etag.hasSuffix("-10") })
        try run(["nix", "store", "verify", "--store", "file://\(copy)", "--no-trust", big.path])
    }

    @Test("Ctrl-C while S3 begins a multipart upload, or while a part goes up: exit 130, and no upload is left open in the bucket",
          arguments: ["POST ?uploads", "PUT ?partNumber=2&"])
    func interruptedMultipart(holding request: String) async throws {
        let big = try NixStore.bigPath.get()
        let s3 = try MotoS3.start()
        defer { s3.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // Well inside the 5 s a stopped run waits for the answer that begins an upload.
        let proxy = try FaultyProxy.start(before: s3.port, .holding, request, hold: .seconds(2), in: dir)
        defer { proxy.stop() }
        let url = "s3://\(s3.bucket)?endpoint=127.0.0.1:\(proxy.port)&scheme=http&region=us-east-1"
            + "&compression=none&multipart-threshold=8MiB&part-size=5MiB"
        let ferry = try ChildProcess(arguments: [ferryBinary, "copy-closure", "--to", url, "--memory-limit", "32MiB", big.path],
                                     environment: s3.environment())
        defer { ferry.kill(SIGKILL) }
        let started = ContinuousClock.now
        while proxy.actions.isEmpty && ContinuousClock.now - started < .seconds(60) {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(proxy.actions.first?.hasPrefix("held \(request.prefix { $0 != " " })") == true, "\(proxy.actions)")
        ferry.kill(SIGINT)
        let status = await ferry.wait(within: .seconds(20))
        #expect(status.map { $0 >> 8 } == 130, "\(ferry.stderr)")
        #expect(try s3.openUploads().isEmpty, "\(ferry.stderr)")
    }

    @Test("a NAR above the multipart threshold arrives whole, in parts of part-size (or Nix's multipart-chunk-size or buffer-size), or in one PUT with multipart-upload=false",
          arguments: [("multipart-threshold=8MiB&part-size=5MiB", "-10"),
                      ("multipart-upload=true&multipart-threshold=8MiB&multipart-chunk-size=5MiB&addressing-style=auto", "-10"),
                      ("multipart-upload=true&multipart-threshold=8MiB&buffer-size=5MiB", "-10"),
                      ("multipart-upload=false&multipart-threshold=8MiB", nil)])
    func multipart(parameters: String, etagSuffix: String?) throws {
        let big = try NixStore.bigPath.get()
        let s3 = try MotoS3.start()
        defer { s3.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let output = try run([ferryBinary, "copy-closure", "--to", s3.url("compression=none&\(parameters)"),
                              "--memory-limit", "32MiB", "-v", big.path], environment: s3.environment())
        #expect(output.stderr.contains("1 copied"), "\(output.stderr)")
        let copy = dir.path + "/downloaded"
        let objects = try s3.download(into: copy)
        try run(["nix", "store", "verify", "--store", "file://\(copy)", "--no-trust", big.path])
        // 48 MiB in parts of at least 5 MiB: S3 gives a multipart object the ETag md5-N,
        // one from a single PUT the plain MD5.
        let narETag = objects.first { $0.key.hasPrefix("nar/") }?.etag ?? ""
        #expect(etagSuffix.map { narETag.hasSuffix($0) } ?? !narETag.contains("-"), "\(objects)")
        let nars = try FileManager.default.contentsOfDirectory(atPath: copy + "/nar")
        #expect(nars.count == 1)
        let size = try FileManager.default.attributesOfItem(atPath: "\(copy)/nar/\(nars[0])")[.size] as? Int
        let narSize = try NixStore.dump(big.path).count
        #expect(size == narSize)
    }
}

@Suite("S3 stores without keys", Peers.nix)
struct S3WithoutKeysTests {
    @Test("no keys anywhere is a configuration error that says where Ferry looked", arguments: [
        (["AWS_EC2_METADATA_DISABLED": "true"], "AWS_EC2_METADATA_DISABLED is set"),
        (["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:1"], "connection refused"),
        // A chosen profile without keys is not replaced by the instance's role.
        (["AWS_PROFILE": "prod", "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:1"], "under [prod]"),
    ])
    func noCredentials(variables: [String: String], expected: String) throws {
        let (top, _) = try NixStore.closure.get()
        let (source, sourceKey) = try NixWrittenCache.made.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let output = try run([ferryBinary, "mirror", "--from", "file://\(source)", "--to", "s3://b?endpoint=127.0.0.1:1&scheme=http",
                              "--trusted-public-key", sourceKey, top.path],
                             environment: MotoS3.environmentWithoutKeys(home: dir.path).merging(variables) { $1 }, check: false)
        #expect(output.status == 2, "\(output.stderr)")
        #expect(output.stderr.contains("no S3 credentials: no AWS_ACCESS_KEY_ID") && output.stderr.contains(expected), "\(output.stderr)")
        #expect(variables["AWS_PROFILE"] == nil || !output.stderr.contains("connection refused"), "\(output.stderr)")
    }

    @Test("a credential_process that fails, or a web identity STS refuses, is a configuration error that quotes them",
          arguments: ["process", "web-identity"])
    func keysRefused(origin: String) throws {
        let (top, _) = try NixStore.closure.get()
        let (source, sourceKey) = try NixWrittenCache.made.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let endpoint = try CredentialsEndpoint.start(accessKey: "AKIA", secretKey: "s", minutes: 60, in: dir)
        defer { endpoint.stop() }
        try "[default]\ncredential_process = echo the vault is locked >&2; exit 3\n"
            .write(toFile: dir.path + "/config", atomically: true, encoding: .utf8)
        try "not-the-token\n".write(toFile: dir.path + "/web-token", atomically: true, encoding: .utf8)
        let variables = origin == "process" ? ["AWS_CONFIG_FILE": dir.path + "/config"]
            : ["AWS_ROLE_ARN": CredentialsEndpoint.roleARN, "AWS_WEB_IDENTITY_TOKEN_FILE": dir.path + "/web-token",
               "AWS_ENDPOINT_URL_STS": endpoint.url + "/sts"]
        let output = try run([ferryBinary, "mirror", "--from", "file://\(source)", "--to", "s3://b?endpoint=127.0.0.1:1&scheme=http",
                              "--trusted-public-key", sourceKey, top.path],
                             environment: MotoS3.environmentWithoutKeys(home: dir.path).merging(variables) { $1 }, check: false)
        #expect(output.status == 2, "\(output.stderr)")
        let expected = origin == "process" ? "exited with status 3: the vault is locked" : "400 Bad Request (InvalidIdentityToken"
        #expect(output.stderr.contains("no S3 credentials: ") && output.stderr.contains(expected), "\(output.stderr)")
        #expect(endpoint.handedOut.isEmpty)
    }
}
