import FerryBuiltinPlugins
import FerryCore
import Testing

@Suite("store URLs and config files")
struct UrlConfigTests {
    private func fromURLs(_ from: String, _ to: String, memory: String? = nil) throws -> PipelineConfig {
        var raw = PipelineConfig.Raw.commandLine(memory: memory, jobs: nil)
        try raw.setSource(url: from, registry: .builtIn)
        try raw.setBackend(url: to, registry: .builtIn)
        return try PipelineConfig.build(raw)
    }

    @Test("a URL is only a short way to write a config: both build the same pipeline") func sameDescription() throws {
        let url = try fromURLs("local?root=/srv/root",
                               "file:///srv/cache?compression=xz&compression-level=9&parallel-compression=true&secret-key=/k&write-nar-listing=1",
                               memory: "2GiB")
        let file = try PipelineConfig.parse(toml: """
            [source]
            plugin = "local"
            root = "/srv/root"
            [limiter]
            memory = "2GiB"
            [codec]
            plugin = "xz"
            level = 9
            threads = 0
            [backend]
            plugin = "file"
            path = "/srv/cache"
            secret-key = "/k"
            write-nar-listing = true
            """, name: "p.toml")
        #expect(url.jobs == file.jobs)
        #expect(url.limiter == file.limiter)
        for (a, b) in [(url.source, file.source), (url.codec, file.codec), (url.backend, file.backend)] {
            #expect(a.plugin == b.plugin)
            #expect(a.values.keys.sorted() == b.values.keys.sorted())
        }
        #expect(try url.codec.int("level") == file.codec.int("level"))
        #expect(try url.codec.int("threads") == file.codec.int("threads"))
        #expect(try url.backend.bool("write-nar-listing") == file.backend.bool("write-nar-listing"))
        #expect(try url.backend.path("path") == file.backend.path("path"))
    }

    @Test("store URLs as Nix writes them", arguments: [
        ("local", "local", nil), ("/srv/root", "local", "/srv/root"), ("local?root=/r", "local", "/r"),
    ])
    func localForms(text: String, plugin: String, root: String?) throws {
        let config = try fromURLs(text, "file:///c")
        #expect(config.source.plugin == plugin)
        #expect(try config.source.path("root") == root)
    }

    @Test("URL errors name the URL", arguments: [
        ("gopher://x", "file:///c", "--from gopher://x: no source plugin handles 'gopher' stores (known: "),
        ("ssh-ng://builder", "file:///c",
         "--from ssh-ng://builder: no source plugin handles 'ssh-ng' stores: Ferry does not speak Nix's daemon protocol; ssh://"),
        ("local", "daemon", "--to daemon: no backend plugin handles 'daemon' stores: Ferry names this machine's store 'local'"),
        ("local", "unix:///nix/var/nix/daemon-socket/socket",
         "--to unix:///nix/var/nix/daemon-socket/socket: no backend plugin handles 'unix' stores: Ferry names"),
        ("local", "file://", "store URL 'file://': a file:// URL needs a folder"),
        ("local", "file:///c?parallel-compression=maybe", "--to file:///c?parallel-compression=maybe parallel-compression: 'maybe' is not true or false"),
        ("local", "file:///c?compression-level=abc", "--to file:///c?compression-level=abc compression-level: 'abc' is not"),
        ("local", "file:///c?compression=lzip", "--to file:///c?compression=lzip: Ferry reads lzip caches but writes NARs only in zstd, xz, bzip2, gzip, lz4 or none"),
        ("local", "file:///c?compression=lzo", "--to file:///c?compression=lzo compression: no codec plugin is called 'lzo'"),
        ("local", "file:///c?compression-level=99", "--to file:///c?compression-level=99 compression-level: zstd levels go from"),
        ("local", "local?root=/r&compression=xz",
         "--to local?root=/r&compression=xz: store /r takes NARs uncompressed; a codec and compression settings apply only to binary caches"),
        ("local", "ssh://h?compression-level=9", "--to ssh://h?compression-level=9: ssh://h takes NARs uncompressed"),
        ("local", "file://srv/cache", "store URL 'file://srv/cache': a file:// URL names its folder from the root, with three slashes: file:///srv/cache"),
        ("local", "file:///c?compresion=zstd", nil),
        ("local?root=/r&frobnicate=1", "file:///c", nil),
        ("ssh://host:99999", "file:///c", "store URL 'ssh://host:99999': the port"),
        ("ssh://h?user=-oProxyCommand=x", "file:///c",
         "--from ssh://h?user=-oProxyCommand=x user: '-oProxyCommand=x' starts with '-', which ssh would take for an option"),
        ("local", "s3://b?endpoint=https://h:9000&scheme=http",
         "--to s3://b?endpoint=https://h:9000&scheme=http endpoint: says https:// but scheme is http"),
        ("local", "s3://b?endpoint=h:9000/prefix", "--to s3://b?endpoint=h:9000/prefix endpoint: 'h:9000/prefix' is not host[:port]"),
        ("local", "s3://b?part-size=6GiB", "--to s3://b?part-size=6GiB part-size: S3 parts are at least 5MiB and at most 5GiB"),
        ("local", "s3://b?addressing-style=virtual", "--to s3://b?addressing-style=virtual addressing-style: Ferry names the bucket in the path"),
        ("local", "s3://b?addressing-style=pathlike", "--to s3://b?addressing-style=pathlike addressing-style: is path or auto (virtual is not supported)"),
        ("local", "s3://b?part-size=8MiB&multipart-chunk-size=16MiB",
         "--to s3://b?part-size=8MiB&multipart-chunk-size=16MiB multipart-chunk-size: 16 MiB, but part-size is 8 MiB; they are one setting"),
        ("local", "s3://b?multipart-chunk-size=8MiB&buffer-size=5MiB",
         "--to s3://b?multipart-chunk-size=8MiB&buffer-size=5MiB buffer-size: 5 MiB, but multipart-chunk-size is 8 MiB"),
        ("local", "s3://b?multipart-threshold=6GiB", "--to s3://b?multipart-threshold=6GiB multipart-threshold: S3 takes at most 5GiB in one PUT"),
        ("local", "s3://b?multipart-chunk-size=1MiB", "--to s3://b?multipart-chunk-size=1MiB multipart-chunk-size: S3 parts are at least 5MiB"),
        ("local", "s3://b?ls-compression=lzip", "--to s3://b?ls-compression=lzip ls-compression: Ferry reads lzip but cannot write it; use br, bzip2, gzip, lz4, xz or zstd"),
        ("local", "s3://b?narinfo-compression=lzo", "--to s3://b?narinfo-compression=lzo narinfo-compression: no codec is called 'lzo'; use br, bzip2, gzip, lz4, xz or zstd"),
        ("local", "s3://b?log-compression=exec", "--to s3://b?log-compression=exec log-compression: the exec codec needs a command, which a URL cannot give"),
        ("local", "file:///c?secret-key=/nonexistent/k.sec",
         "--to file:///c?secret-key=/nonexistent/k.sec secret-key: open '/nonexistent/k.sec' failed: No such file or directory"),
    ])
    func errors(from: String, to: String, expected: String?) async throws {
        do {
            let config = try fromURLs(from, to)
            _ = try await Pipeline.assemble(config, registry: .builtIn, logger: .init(label: "test"))
            Issue.record("accepted \(from) → \(to)")
        } catch let error as ConfigError {
            if let expected { #expect(error.description.hasPrefix(expected), "\(error)") }
            else { #expect(error.description.contains("unknown key"), "\(error)") }
        }
    }

    @Test("an exec codec may not record Compression none: a cache takes such a file to be the NAR")
    func execCodecNone() async throws {
        let config = try PipelineConfig.parse(toml: """
            [source]
            plugin = "local"
            [limiter]
            memory = "1GiB"
            [codec]
            plugin = "exec"
            command = ["cat"]
            compression = "none"
            [backend]
            plugin = "file"
            path = "/srv/cache"
            """, name: "p.toml")
        do {
            _ = try await Pipeline.assemble(config, registry: .builtIn, logger: .init(label: "test"))
            Issue.record("an exec codec recording none was accepted")
        } catch let error as ConfigError {
            #expect(error.description.contains("use the none codec"), "\(error)")
        }
    }

    @Test("a codec that cannot fit the budget is refused with the figures") func codecTooBig() async throws {
        let config = try fromURLs("local", "file:///c?compression=xz&compression-level=9", memory: "32MiB")
        do {
            _ = try await Pipeline.assemble(config, registry: .builtIn, logger: .init(label: "test"))
            Issue.record("xz -9 accepted within 32 MiB")
        } catch let error as ConfigError {
            #expect(error.description.contains("MiB but the memory budget is 32 MiB"), "\(error)")
        }
    }

    @Test("threads are lowered until the codec fits the budget") func threadsLowered() async throws {
        let config = try fromURLs("local", "file:///c?compression=zstd&parallel-compression=true", memory: "24MiB")
        let pipeline = try await Pipeline.assemble(config, registry: .builtIn, logger: .init(label: "test"))
        #expect(pipeline.codec.compressorMemory(narSize: .max) + Pipeline.streamBuffers <= 24 << 20)
        await pipeline.source.close()
    }
}
