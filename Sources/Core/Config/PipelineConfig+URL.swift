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
            limiter.keyNames["memory"] = ""  // the flag is the key: "--memory-limit: …"
            tables["limiter"] = limiter
        }
        if let jobs { topLevel.values["jobs"] = .integer(jobs) }
    }

    /// Replaces `[source]` with what a store URL (`--from`) says.
    public mutating func setSource(url text: String, registry: PluginRegistry) throws(ConfigError) {
        try setStage("source", flag: "--from", url: text, plugins: registry.sources)
    }

    /// Replaces `[backend]` with what a store URL (`--to`) says; its `compression…`
    /// parameters go to `[codec]` when the config is built.
    public mutating func setBackend(url text: String, registry: PluginRegistry) throws(ConfigError) {
        try setStage("backend", flag: "--to", url: text, plugins: registry.backends)
    }

    /// The table the plugin that reads the URL's scheme makes of it.
    private mutating func setStage<T>(_ table: String, flag: String, url text: String,
                                      plugins: [String: Plugin<T>]) throws(ConfigError) {
        let url = try StoreURL(parsing: text)
        guard let plugin = Plugin.handling(url.scheme, among: plugins.values) else {
            let known = Set(plugins.values.flatMap(\.schemes)).sorted().joined(separator: ", ")
            let instead = plugins.values.lazy.compactMap { $0.nearbySchemes[url.scheme] }.first
            throw ConfigError("\(flag) \(text)",
                              "no \(table) plugin handles '\(url.scheme)' stores" + (instead.map { ": " + $0 } ?? " (known: \(known))"))
        }
        var values = try plugin.urlValues(url)
        values["plugin"] = .string(plugin.name)
        tables[table] = .init(values: values, location: "\(flag) \(text)", fromURL: true)
    }
}
