import FerryTestSupport
import Foundation
import Testing
@testable import FerryCore

@Suite("config values")
struct ConfigValueTests {
    @Test("sizes", arguments: [
        ("4GiB", 4 << 30), ("512MiB", 512 << 20), ("1.5G", 3 << 29), ("64M", 64 << 20), ("100KB", 100_000),
        ("1048576", 1 << 20), (" 2 GiB ", 2 << 30), ("0.5KiB", 512),
    ])
    func sizes(text: String, bytes: Int) {
        #expect(ByteSize.parse(text) == bytes)
    }

    @Test("not sizes", arguments: ["", "GiB", "4GB?", "-1", "4 gigabytes", "1e9", "0.3B"])
    func notSizes(text: String) {
        #expect(ByteSize.parse(text) == nil)
    }

    @Test("durations", arguments: [
        ("500ms", Duration.milliseconds(500)), ("30s", .seconds(30)), ("5m", .seconds(300)), ("1h", .seconds(3600)),
        ("60", .seconds(60)), ("1.5", .milliseconds(1500)),
    ])
    func durations(text: String, duration: Duration) {
        #expect(DurationText.parse(text) == duration)
    }

    @Test("not durations", arguments: ["", "soon", "5 minutes", "-3s", "ms", "0000000000001184449255159974684 ", "99999999999999999h"])
    func notDurations(text: String) {
        #expect(DurationText.parse(text) == nil)
    }
}

@Suite("pipeline config files")
struct PipelineConfigTests {
    static let example = """
        jobs = 4
        paths = ["/nix/store/00000000000000000000000000000000-hello"]

        [source]
        plugin = "ssh"
        host = "builder.example.org"
        connect-timeout = "10s"

        [limiter]
        memory = "4GiB"
        warn-after = "1s"

        [codec]
        plugin = "zstd"
        level = 3
        threads = 0

        [backend]
        plugin = "file"
        path = "/srv/cache"
        secret-key = "/etc/nix/cache.sec"
        """

    @Test("the example of DESIGN.md reads as written") func example() throws {
        let config = try PipelineConfig.parse(toml: Self.example, name: "pipeline.toml")
        #expect(config.jobs == 4)
        #expect(config.paths.count == 1)
        #expect(config.limiter == LimiterConfig(memory: 4 << 30, warnAfter: .seconds(1)))
        #expect(config.source.plugin == "ssh")
        #expect(try config.source.string("host") == "builder.example.org")
        #expect(try config.source.duration("connect-timeout") == .seconds(10))
        #expect(config.codec.plugin == "zstd")
        #expect(try config.codec.int("level") == 3)
        #expect(config.backend.plugin == "file")
        #expect(try config.backend.path("path") == "/srv/cache")
    }

    private func error(_ toml: String) -> String {
        do {
            _ = try PipelineConfig.parse(toml: toml, name: "p.toml")
            return "accepted"
        } catch {
            return error.description
        }
    }

    @Test("without [limiter] the pipeline is refused, naming the table") func limiterMandatory() {
        let message = error("[backend]\nplugin = \"file\"\npath = \"/x\"\n")
        #expect(message.hasPrefix("p.toml: the [limiter] table is missing"))
    }

    @Test("each error names the file, the table and the key", arguments: [
        ("jobs = \"four\"\n[limiter]\n[backend]\nplugin = \"file\"\n", "p.toml jobs: expected an integer"),
        ("job = 4\n[limiter]\n[backend]\nplugin = \"file\"\n", "p.toml job: unknown key"),
        ("[limiter]\nmemory = \"4GB?\"\n[backend]\nplugin = \"file\"\n", "p.toml [limiter] memory: '4GB?' is not a size"),
        ("[limiter]\nwarn-after = \"soon\"\n[backend]\nplugin = \"file\"\n", "p.toml [limiter] warn-after: 'soon' is not a duration"),
        ("[limiter]\nmemroy = \"1GiB\"\n[backend]\nplugin = \"file\"\n", "p.toml [limiter] memroy: unknown key"),
        ("[limiter]\nmemory = 1024\n[backend]\nplugin = \"file\"\n", "p.toml [limiter] memory: 1 KiB is too small"),
        ("[limiter]\n[sink]\n[backend]\nplugin = \"file\"\n", "p.toml: unknown table [sink]"),
        ("[limiter]\n[backend]\npath = \"/x\"\n", "p.toml [backend] plugin: is missing"),
        ("[limiter]\n[backend]\nplugin = 3\n", "p.toml [backend] plugin: expected a string"),
        ("[limiter]\n", "p.toml: the [backend] table is missing"),
        ("[limiter\n", "p.toml line 1"),
        ("[limiter]\n[codec]\nplugin = \"xz\"\n[backend]\nplugin = \"file\"\ncompression = \"zstd\"\n", "p.toml [backend] compression: conflicts"),
        ("trusted-public-keys = [\"k\"]\n[limiter]\n[backend]\nplugin = \"file\"\n",
         "p.toml trusted-public-keys: invalid key (given without a NAME:): expected NAME:BASE64, as nix.conf and `nix key` write keys"),
        // A secret key given as a trusted one is named, not shown.
        ("trusted-public-keys = [\"k-1:\(String(repeating: "A", count: 86))==\"]\n[limiter]\n[backend]\nplugin = \"file\"\n",
         "p.toml trusted-public-keys: invalid key 'k-1:…': the key has 64 bytes; expected 32 (this is a secret key"),
    ])
    func errors(toml: String, expected: String) {
        let message = error(toml)
        #expect(message.hasPrefix(expected), "\(message)")
    }

    @Test("a config file that cannot be read says why in the system's words", arguments: [
        ("/nonexistent/p.toml", "/nonexistent/p.toml: cannot read the file: No such file or directory"),
        ("/tmp", "/tmp: cannot read the file: Is a directory"),
    ])
    func unreadable(path: String, expected: String) {
        let error = #expect(throws: ConfigError.self) { try PipelineConfig.load(file: path) }
        #expect(error.map { "\($0)" } == expected)
    }

    @Test("text that is not UTF-8 is refused, not patched up") func notUTF8() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = dir.path + "/k.sec"
        try Data([0x6b, 0x3a, 0xff, 0xfe]).write(to: URL(fileURLWithPath: file))
        #expect(throws: SystemError("read", file, errno: EILSEQ)) { try readTextFile(file) }
    }

    @Test("a source table with a url and no plugin is a binary cache; without either, this machine's store") func sourceDefault() throws {
        func source(_ table: String) throws -> String {
            try PipelineConfig.parse(toml: "[limiter]\n[source]\n\(table)\n[backend]\nplugin = \"file\"\npath = \"/x\"\n", name: "p.toml").source.plugin
        }
        #expect(try source("url = \"file:///srv/cache\"") == "binary-cache")
        #expect(try source("") == "local")
        #expect(try source("plugin = \"ssh\"\nhost = \"h\"") == "ssh")
    }

    @Test("a backend's compression keys fill the codec table, as in a URL") func compressionKeys() throws {
        let config = try PipelineConfig.parse(toml: """
            [limiter]
            [backend]
            plugin = "file"
            path = "/x"
            compression = "xz"
            compression-level = 9
            parallel-compression = true
            """, name: "p.toml")
        #expect(config.codec.plugin == "xz")
        #expect(try config.codec.int("level") == 9)
        #expect(try config.codec.int("threads") == 0)
        #expect(config.backend["compression"] == nil)
    }

    /// Inputs the fuzzer found (fuzz/regressions/config) that made toml++ abort the program.
    @Test("a table header without its name on its line is an error, not an abort", arguments: [
        "[\na]\n", "[]\n", "[[\n]]\n", "jobs = 4\n  [ \t\n", "[#x\n",
    ])
    func headerWithoutName(text: String) {
        #expect(throws: ConfigError.self) { try PipelineConfig.parse(toml: text, name: "fuzz.toml") }
    }

    @Test("every fuzz regression for the config parser is refused cleanly") func fuzzRegressions() throws {
        let dir = URL(fileURLWithPath: repositoryRoot + "/fuzz/regressions/config")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(!files.isEmpty)
        for file in files {
            let text = String(decoding: try Data(contentsOf: dir.appendingPathComponent(file)), as: UTF8.self)
            #expect(throws: ConfigError.self, "\(file)") { try PipelineConfig.parse(toml: text, name: file) }
        }
    }

    @Test("arrays across lines and nested arrays still parse") func arraysStillParse() throws {
        let config = try PipelineConfig.parse(toml: """
            paths = [
              "/nix/store/7mdq1d8cg3hkvmfcy5rk6wj0y4zvvv2g-hello-2.12",
            ]
            [limiter]
            [ backend ]
            plugin = "file"
            path = "/srv/cache"
            """, name: "ok.toml")
        #expect(config.paths.count == 1)
    }

    @Test("TOML values a config uses: strings with escapes, literal strings, numbers, booleans, arrays across lines")
    func tomlValues() throws {
        let raw = try PipelineConfig.raw(toml: #"""
            # a comment
            a = "tab\there \"quoted\" \u00e9\U0001F600"   # after a value
            b = 'C:\literal\path'
            c = -1_000
            d = 2.5e3
            e = true
            f = [
              "x",  # one
              'y',
            ]
            g = []
            "quoted key" = 1
            [t]
            h = false
            """#, name: "v.toml")
        let top = raw.topLevel.values
        #expect(top["a"] == .string("tab\there \"quoted\" é😀"))
        #expect(top["b"] == .string(#"C:\literal\path"#))
        #expect(top["c"] == .integer(-1000))
        #expect(top["d"] == .float(2500))
        #expect(top["e"] == .bool(true))
        #expect(top["f"] == .array([.string("x"), .string("y")]))
        #expect(top["g"] == .array([]))
        #expect(top["quoted key"] == .integer(1))
        #expect(raw.tables["t"]?.values["h"] == .bool(false))
    }

    @Test("malformed or unused TOML is an error naming its line", arguments: [
        ("a = 1\nb = \"open\n", "line 2"), ("a.b = 1\n", "dotted keys"), ("[a.b]\n", "nested tables"),
        ("[[a]]\n", "arrays of tables"), ("a = {x = 1}\n", "inline tables"), ("a = \"\"\"x\"\"\"\n", "multi-line"),
        ("a = 1\na = 2\n", "appears twice"), ("[t]\n[t]\n", "appears twice"), ("a = 1 2\n", "line 1"),
        ("a = [1, 2\n", "not closed"), ("a = 1979-05-27\n", "is not a value"), ("a = \"\\q\"\n", "unknown escape"),
        ("a = nan\n", "is not a value"), ("= 1\n", "expected a key"), ("a\n", "expected '='"),
    ])
    func tomlErrors(text: String, expected: String) {
        do {
            _ = try PipelineConfig.raw(toml: text, name: "bad.toml")
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.description.contains(expected), "\(error)")
            #expect(error.description.hasPrefix("bad.toml line"), "\(error)")
        }
    }
}
