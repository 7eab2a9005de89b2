/// A pipeline as a config file or the command line describes it, before any plugin is made.
///
/// Both a TOML file and a pair of store URLs become this one description through
/// `PipelineConfig.build`, so a URL is only a short way to write a config.
public struct PipelineConfig: Sendable, Equatable {
    /// Store paths in flight at once.
    public var jobs: Int
    /// Paths to copy, besides those named on the command line.
    public var paths: [String]
    public var limiter: LimiterConfig
    /// Which signatures make a path acceptable (`trusted-public-keys`, `check-signatures`).
    public var trust: TrustConfig
    /// How transient failures are retried (`retry-attempts`, `retry-delay`, `retry-max-time`).
    public var retry: RetryPolicy
    public var source: PluginSettings
    /// The codec: what the config named, or zstd.
    public var codec: PluginSettings
    /// True when a `[codec]` table or a `compression…` parameter named the codec, which a
    /// backend that stores raw NARs (a Nix store) then refuses instead of ignoring.
    public var codecNamed: Bool
    public var backend: PluginSettings

    public static let defaultJobs = 4
}

/// The `[limiter]` table: the byte budget and when a wait is worth a warning.
public struct LimiterConfig: Sendable, Equatable {
    public var memory: Int
    public var warnAfter: Duration

    /// 1 GiB: a quarter of what Hydra's TokenServer first allowed, which runs on a small VM.
    public static let defaultMemory = 1 << 30
    public static let defaultWarnAfter = Duration.seconds(1)

    public init(memory: Int = LimiterConfig.defaultMemory, warnAfter: Duration = LimiterConfig.defaultWarnAfter) {
        self.memory = memory
        self.warnAfter = warnAfter
    }
}

/// Whose signatures a path needs to be copied.
///
/// Signatures are checked when keys are given, and always for a source that is not a
/// Nix store (a binary cache), unless `checkSignatures` is false (`--no-check-sigs`).
public struct TrustConfig: Sendable, Equatable {
    public var keys: [PublicKey]
    /// nil when the config does not say.
    public var checkSignatures: Bool?

    public init(keys: [PublicKey] = [], checkSignatures: Bool? = nil) {
        self.keys = keys
        self.checkSignatures = checkSignatures
    }
}

extension PipelineConfig {
    /// The top-level keys and tables of a pipeline config, as a file or URLs gave them.
    public struct Raw: Sendable {
        /// One table's values, where they came from, and whether they are URL strings.
        public struct Table: Sendable {
            public var values: [String: ConfigValue]
            public var location: String
            public var fromURL: Bool
            /// See `PluginSettings.keyNames`.
            public var keyNames: [String: String] = [:]
            /// See `PluginSettings.baseDirectory`.
            public var baseDirectory: String?

            public init(values: [String: ConfigValue], location: String, fromURL: Bool, baseDirectory: String? = nil) {
                self.values = values
                self.location = location
                self.fromURL = fromURL
                self.baseDirectory = baseDirectory
            }

            var settings: PluginSettings {
                var settings = PluginSettings(plugin: "", location: location, values: values, fromURL: fromURL)
                settings.keyNames = keyNames
                settings.baseDirectory = baseDirectory
                return settings
            }
        }

        public var topLevel: Table
        public var tables: [String: Table] = [:]

        public init(topLevel: Table) {
            self.topLevel = topLevel
        }
    }

    /// The keys a config file may have outside any table.
    public static let topLevelKeys = ["jobs", "paths", "trusted-public-keys", "check-signatures",
                                      "retry-attempts", "retry-delay", "retry-max-time"]
    static let tableNames = ["source", "limiter", "codec", "backend"]

    /// The one builder: checks the structure, the limiter, and the plugin names; the
    /// plugins' own keys are checked when the pipeline is assembled against a registry.
    public static func build(_ raw: Raw) throws(ConfigError) -> PipelineConfig {
        var raw = raw
        try moveCompressionKeys(&raw)
        let here = raw.topLevel.location
        for key in raw.topLevel.values.keys.sorted() where !topLevelKeys.contains(key) {
            throw ConfigError(here, key: key,
                              "unknown key (top-level keys are \(topLevelKeys.joined(separator: ", ")); tables are \(tableList))")
        }
        for name in raw.tables.keys.sorted() where !tableNames.contains(name) {
            throw ConfigError(here, "unknown table [\(name)] (tables are \(tableList))")
        }
        let top = raw.topLevel.settings
        let jobs = try top.int("jobs") ?? defaultJobs
        guard jobs >= 1 else { throw ConfigError(here, key: "jobs", "must be 1 or more") }
        let paths = try (top.strings("paths") ?? []).map(top.resolvedPath)

        guard let limiterTable = raw.tables["limiter"] else {
            throw ConfigError(here, "the [limiter] table is missing; it is mandatory, for example:\n\n[limiter]\nmemory = \"1GiB\"\n")
        }
        func stage(_ name: String, default plugin: String?) throws(ConfigError) -> PluginSettings {
            guard var settings = raw.tables[name]?.settings else {
                guard let plugin else { throw ConfigError(here, "the [\(name)] table is missing (it needs at least plugin = \"…\")") }
                return PluginSettings(plugin: plugin, location: "\(here) [\(name)]")
            }
            guard let chosen = try settings.string("plugin") else {
                guard let plugin else { throw settings.error("plugin", "is missing: which \(name) plugin?") }
                settings.plugin = plugin
                return settings
            }
            settings["plugin"] = nil
            settings.plugin = chosen
            return settings
        }
        return PipelineConfig(jobs: jobs, paths: paths, limiter: try limiterConfig(limiterTable.settings),
                              trust: try trustConfig(top), retry: try retryPolicy(top),
                              // A source named by its url alone is a binary cache; else this machine's store.
                              source: try stage("source", default: raw.tables["source"]?.values["url"] != nil ? "binary-cache" : "local"),
                              codec: try stage("codec", default: "zstd"), codecNamed: raw.tables["codec"] != nil,
                              backend: try stage("backend", default: nil))
    }

    /// Nix's binary-cache parameters `compression`, `compression-level` and
    /// `parallel-compression`, in a backend table or URL, become the codec's `plugin`,
    /// `level` and `threads`; a `[codec]` table that says otherwise is a conflict.
    private static func moveCompressionKeys(_ raw: inout Raw) throws(ConfigError) {
        guard var backend = raw.tables["backend"] else { return }
        var codec = raw.tables["codec"] ?? .init(values: [:], location: backend.location, fromURL: backend.fromURL)
        let moves = [("compression", "plugin"), ("compression-level", "level"), ("parallel-compression", "threads")]
        for (from, to) in moves {
            guard var value = backend.values[from] else { continue }
            if from == "parallel-compression" {
                let on = try backend.settings.bool(from) ?? false
                value = backend.fromURL ? .string(on ? "0" : "1") : .integer(on ? 0 : 1)
            }
            backend.values[from] = nil
            if let existing = codec.values[to], existing != value, raw.tables["codec"] != nil {
                throw ConfigError(backend.location, key: from, "conflicts with \(to) = \(existing) in \(codec.location)")
            }
            codec.values[to] = value
            codec.keyNames[to] = from
            if raw.tables["codec"] == nil { codec.fromURL = backend.fromURL }
        }
        raw.tables["backend"] = backend
        if !codec.values.isEmpty { raw.tables["codec"] = codec }
    }

    private static var tableList: String { tableNames.map { "[\($0)]" }.joined(separator: ", ") }

    private static func retryPolicy(_ top: PluginSettings) throws(ConfigError) -> RetryPolicy {
        let defaults = RetryPolicy()
        let attempts = try top.int("retry-attempts") ?? defaults.attempts
        guard attempts >= 1 else { throw ConfigError(top.location, key: "retry-attempts", "must be 1 (no retry) or more") }
        return RetryPolicy(attempts: attempts, initialDelay: try top.duration("retry-delay") ?? defaults.initialDelay,
                           maxDelay: defaults.maxDelay, maxTime: try top.duration("retry-max-time") ?? defaults.maxTime)
    }

    private static func trustConfig(_ top: PluginSettings) throws(ConfigError) -> TrustConfig {
        var keys: [PublicKey] = []
        for text in try top.strings("trusted-public-keys") ?? [] {
            // Named by its name alone: the text may be a secret key given by mistake.
            let parts = text.trimmingWhitespace.split(separator: ":", maxSplits: 1)
            let named = parts.count == 2 ? "'\(parts[0]):…'" : "(given without a NAME:)"
            do { keys.append(try PublicKey(parsing: text, source: named)) } catch {
                throw ConfigError(top.location, key: "trusted-public-keys", "\(error)")
            }
        }
        return TrustConfig(keys: keys, checkSignatures: try top.bool("check-signatures"))
    }

    private static func limiterConfig(_ table: PluginSettings) throws(ConfigError) -> LimiterConfig {
        for key in table.values.keys.sorted() where !["memory", "warn-after"].contains(key) {
            throw ConfigError(table.location, key: key, "unknown key (the limiter knows: memory, warn-after)")
        }
        let memory = try table.size("memory") ?? LimiterConfig.defaultMemory
        guard memory >= 16 << 20 else {
            throw table.error("memory", "\(ByteSize.format(memory)) is too small to copy anything; give at least 16MiB")
        }
        return LimiterConfig(memory: memory, warnAfter: try table.duration("warn-after") ?? LimiterConfig.defaultWarnAfter)
    }
}
