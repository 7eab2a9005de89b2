extension PipelineConfig.Raw {
    /// A pipeline described only by the command line: its limiter comes from the flags.
    public static func commandLine(memory: String?, jobs: Int?) -> PipelineConfig.Raw {
        var raw = PipelineConfig.Raw(topLevel: .init(values: [:], location: "command line", fromURL: true))
        raw.tables["limiter"] = .init(values: [:], location: "--memory-limit", fromURL: true)
        raw.override(memory: memory, jobs: jobs)
        return raw
    }

    /// Flags that override a file's values.
    public mutating func override(memory: String?, jobs: Int?) {
        if let memory {
            var limiter = tables["limiter"] ?? .init(values: [:], location: "--memory-limit", fromURL: true)
            limiter.values["memory"] = .string(memory)
            limiter.location = "--memory-limit"
            tables["limiter"] = limiter
        }
        if let jobs { topLevel.values["jobs"] = .integer(jobs) }
    }

    /// Replaces `[source]` with what a store URL (`--from`) says.
    public mutating func setSource(url text: String, registry: PluginRegistry) throws(ConfigError) {
        let url = try StoreURL(parsing: text)
        guard let plugin = registry.source(forScheme: url.scheme) else {
            throw ConfigError("--from \(text)", "no source plugin reads '\(url.scheme)' stores (\(schemes(registry.sources.values.flatMap(\.schemes))))")
        }
        var values = try plugin.urlValues(url)
        values["plugin"] = .string(plugin.name)
        tables["source"] = .init(values: values, location: "--from \(text)", fromURL: true)
    }

    /// Replaces `[backend]` with what a store URL (`--to`) says; its `compression…`
    /// parameters go to `[codec]` when the config is built.
    public mutating func setBackend(url text: String, registry: PluginRegistry) throws(ConfigError) {
        let url = try StoreURL(parsing: text)
        guard let plugin = registry.backend(forScheme: url.scheme) else {
            throw ConfigError("--to \(text)", "no backend plugin writes '\(url.scheme)' stores (\(schemes(registry.backends.values.flatMap(\.schemes))))")
        }
        var values = try plugin.urlValues(url)
        values["plugin"] = .string(plugin.name)
        tables["backend"] = .init(values: values, location: "--to \(text)", fromURL: true)
    }

    private func schemes(_ list: [String]) -> String {
        "known: " + Set(list).sorted().joined(separator: ", ")
    }
}
