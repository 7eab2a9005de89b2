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

    /// Replaces `[source]` with what a store URL (`--from`) says; returns what of a file's
    /// table is dropped (see `setBackend`).
    @discardableResult
    public mutating func setSource(url text: String, registry: PluginRegistry) throws(ConfigError) -> Replaced? {
        try setStage("source", flag: "--from", url: text, plugins: registry.sources)
    }

    /// Replaces `[backend]` with what a store URL (`--to`) says; its `compression…`
    /// parameters go to `[codec]` when the config is built. Returns the keys of a file's
    /// table the URL does not give again, which are no longer used (a `secret-key`: the
    /// caller says so, lest a cache go unsigned unnoticed).
    @discardableResult
    public mutating func setBackend(url text: String, registry: PluginRegistry) throws(ConfigError) -> Replaced? {
        try setStage("backend", flag: "--to", url: text, plugins: registry.backends)
    }

    /// A file's table that a URL replaced, and its keys that are no longer used.
    public struct Replaced: Sendable {
        public let location: String
        public let droppedKeys: [String]
    }

    /// The table the plugin that reads the URL's scheme makes of it.
    private mutating func setStage<T>(_ table: String, flag: String, url text: String,
                                      plugins: [String: Plugin<T>]) throws(ConfigError) -> Replaced? {
        let url = try StoreURL(parsing: text)
        guard let plugin = Plugin.handling(url.scheme, among: plugins.values) else {
            let known = Set(plugins.values.flatMap(\.schemes)).sorted().joined(separator: ", ")
            let instead = plugins.values.lazy.compactMap { $0.nearbySchemes[url.scheme] }.first
            throw ConfigError("\(flag) \(text)",
                              "no \(table) plugin handles '\(url.scheme)' stores" + (instead.map { ": " + $0 } ?? " (known: \(known))"))
        }
        var values = try plugin.urlValues(url)
        values["plugin"] = .string(plugin.name)
        let old = tables[table]
        tables[table] = .init(values: values, location: "\(flag) \(text)", fromURL: true)
        guard let old, !old.fromURL else { return nil }
        let dropped = old.values.keys.filter { $0 != "plugin" && values[$0] == nil }.sorted()
        return dropped.isEmpty ? nil : Replaced(location: old.location, droppedKeys: dropped)
    }
}
