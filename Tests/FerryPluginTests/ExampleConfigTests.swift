import FerryBuiltinPlugins
import FerryCore
import FerryTestSupport
import Foundation
import Testing

@Suite("the example configs")
struct ExampleConfigTests {
    static let examples: [String] = {
        let dir = repositoryRoot + "/examples"
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasSuffix(".toml") }.sorted().map { "\(dir)/\($0)" }
    }()

    @Test("there are examples to check") func found() {
        #expect(ExampleConfigTests.examples.count >= 6)
    }

    @Test("each parses, and every key it sets is one its plugin knows", arguments: examples)
    func example(_ file: String) throws {
        let config = try PipelineConfig.load(file: file)
        let registry = PluginRegistry.builtIn
        try #require(registry.sources[config.source.plugin]).checkKeys(of: config.source)
        try #require(registry.codecs[config.codec.plugin]).checkKeys(of: config.codec)
        try #require(registry.backends[config.backend.plugin]).checkKeys(of: config.backend)
    }

    @Test("the mirror example's binary-cache URL picks a storage that knows its keys") func mirrorSource() throws {
        let file = try #require(ExampleConfigTests.examples.first { $0.hasSuffix("mirror-to-s3.toml") })
        let config = try PipelineConfig.load(file: file)
        #expect(config.source.plugin == "binary-cache")
        #expect(config.trust.keys.map(\.name) == ["cache.nixos.org-1"])
    }
}
