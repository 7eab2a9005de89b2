extension BinaryCacheBackend {
    /// The options every binary-cache backend has besides its storage's.
    static let options = [
        PluginOption("secret-key", "path", "a key file from `ferry keys generate`; adds Ferry's signature"),
        PluginOption("write-nar-listing", "bool", default: "false", "also write <hash>.ls listings"),
        PluginOption("index-debug-info", "bool", default: "false",
                     "also write debuginfo/<build-id>.debug links to the NAR members under lib/debug/.build-id, as Nix does for dwarffs and debuginfod"),
        PluginOption("want-mass-query", "bool", "WantMassQuery for a new nix-cache-info"),
        PluginOption("priority", "integer", "Priority for a new nix-cache-info"),
        PluginOption("compression", "string", default: "zstd", "fills [codec] plugin"),
        PluginOption("compression-level", "integer", default: "-1", "fills [codec] level"),
        PluginOption("parallel-compression", "bool", "fills [codec] threads (true: one per core)"),
    ]

    /// The backend that writes a binary cache onto `storage`: named, addressed and
    /// configured as the storage is, plus signing, listings and `nix-cache-info`.
    public static func plugin(on storage: Plugin<any CacheStorage>) -> Plugin<any StoreBackend> {
        Plugin(kind: .backend, name: storage.name, summary: storage.summary, options: storage.options + options,
               schemes: storage.schemes, urlValues: storage.urlValues) { settings, context in
            let own = Set(options.map(\.name))
            let made = try await storage.make(settings.filter { !own.contains($0) }, context)
            let key = try settings.path("secret-key").map { file in
                do { return try SecretKey(contentsOfFile: file) } catch {
                    throw settings.error("secret-key", "\(error)")
                }
            }
            let info = NixCacheInfo(wantMassQuery: try settings.bool("want-mass-query"), priority: try settings.int("priority"))
            return BinaryCacheBackend(storage: made, cacheInfo: info, secretKey: key,
                                      writeNarListing: try settings.bool("write-nar-listing") ?? false,
                                      indexDebugInfo: try settings.bool("index-debug-info") ?? false,
                                      queryConcurrency: 4 * context.jobs)
        }
    }
}

extension BinaryCacheSource {
    /// Settings a substituter URL carries for Nix's choice among substituters
    /// (`https://cache.example.org?priority=30`): taken, so such a URL works as it is
    /// written in nix.conf, and not used, since reading a cache does not depend on them.
    static let substituterOptions = [
        PluginOption("priority", "integer", "accepted from a substituter URL; not used when reading"),
        PluginOption("want-mass-query", "bool", "accepted from a substituter URL; not used when reading"),
    ]

    /// The `binary-cache` source: the storage is chosen by the scheme of `url`, whose
    /// query and the table's other keys are that storage's settings.
    public static func plugin(on storages: [Plugin<any CacheStorage>]) -> Plugin<any StoreSource> {
        var options = [PluginOption("url", "string", "the cache: file:///dir, https://host/prefix, s3://bucket?region=…")]
            + substituterOptions
        for storage in storages {
            for option in storage.options where !options.contains(where: { $0.name == option.name }) {
                options.append(option.onlyWhenWriting
                    ? PluginOption(option.name, option.type, "accepted, as a destination's URL carries it; used only when writing")
                    : option)
            }
        }
        return Plugin(kind: .source, name: "binary-cache",
                      summary: "a binary cache (\(storages.map(\.name).joined(separator: ", "))), read as Nix reads it",
                      options: options, schemes: storages.flatMap(\.schemes),
                      urlValues: { url in ["url": .string(url.text)] }) { settings, context in
            // A folder may be named by `path`, as the file backend names it.
            // A folder may be named by `path` alone, as the file backend names it.
            let url = try settings.string("url").map { text throws(ConfigError) in try StoreURL(parsing: text) }
            guard url != nil || settings["path"] != nil else {
                throw settings.error("url", "is missing: which cache? (file:///dir, https://host, s3://bucket; or path = \"/dir\")")
            }
            let scheme = url?.scheme ?? "file"
            guard let storage = Plugin.handling(scheme, among: storages) else {
                throw settings.error("url",
                                     "no cache storage reads \(scheme):// (known: \(storages.flatMap(\.schemes).joined(separator: ", ")))")
            }
            let ignored = Set(substituterOptions.map(\.name))
            var storageSettings = settings.filter(asURL: true) { $0 != "url" && !ignored.contains($0) }
            let urlValues: [String: ConfigValue] = try url.map { url throws(ConfigError) in try storage.urlValues(url) } ?? [:]
            for (key, value) in urlValues where storageSettings[key] == nil && !ignored.contains(key) {
                storageSettings[key] = value
            }
            try storage.checkKeys(of: storageSettings)
            let made = try await storage.make(storageSettings, context)
            return try await BinaryCacheSource.open(made, codecs: context.codecs, jobs: context.jobs)
        }
    }
}
