import Logging

/// The three kinds of pipeline stage a plugin can fill, and the storages (folder, HTTP,
/// S3) that binary-cache sources and backends keep their files on.
public enum PluginKind: String, Sendable, CaseIterable {
    case source, codec, backend, storage
}

/// One setting a plugin understands: what `ferry plugins` lists, and the only keys its
/// table or URL may hold.
public struct PluginOption: Sendable {
    public let name: String
    /// `string`, `integer`, `bool`, `size`, `duration`, `path`, `strings`.
    public let type: String
    /// The default as a user would write it, or nil when there is none.
    public let defaultValue: String?
    public let help: String
    /// A storage's setting that only uploads use (spool, multipart, …). A source reading
    /// the same storage accepts it, since a URL copied from a destination carries it, and
    /// lists it as such.
    public let onlyWhenWriting: Bool

    public init(_ name: String, _ type: String, default defaultValue: String? = nil, onlyWhenWriting: Bool = false,
                _ help: String) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.onlyWhenWriting = onlyWhenWriting
        self.help = help
    }
}

/// What a plugin's factory gets besides its own settings.
public struct PluginContext: Sendable {
    public var logger: Logger
    /// Paths in flight at once; pools of connections size themselves by it.
    public var jobs: Int
    /// The limiter's budget, for codecs that must fit their working memory into it.
    public var memoryBudget: Int
    /// Every codec plugin, for sources that must decompress what they read (a binary
    /// cache's NARs come in whatever compression it chose).
    public var codecs: [String: Plugin<any Codec>]
    /// How a plugin retries its own requests (an HTTP GET answered 503).
    public var retry: RetryPolicy

    public init(logger: Logger, jobs: Int, memoryBudget: Int, codecs: [String: Plugin<any Codec>] = [:],
                retry: RetryPolicy = .none) {
        self.logger = logger
        self.jobs = jobs
        self.memoryBudget = memoryBudget
        self.codecs = codecs
        self.retry = retry
    }
}

/// A named plugin of one kind: its options, the URL schemes it answers to, and the
/// factory that makes its instance from a settings table.
public struct Plugin<Instance>: Sendable {
    public let kind: PluginKind
    public let name: String
    public let summary: String
    public let options: [PluginOption]
    /// URL schemes this plugin handles (`file`, `ssh`); empty for codecs.
    public let schemes: [String]
    /// Schemes Nix has for stores this plugin reaches another way (`ssh-ng`), each with
    /// the sentence that tells the user what to write instead.
    public let nearbySchemes: [String: String]
    /// Turns a store URL into this plugin's settings values (query parameters included).
    public let urlValues: @Sendable (StoreURL) throws(ConfigError) -> [String: ConfigValue]
    public let make: @Sendable (PluginSettings, PluginContext) async throws -> Instance

    public init(kind: PluginKind, name: String, summary: String, options: [PluginOption], schemes: [String] = [],
                nearbySchemes: [String: String] = [:],
                urlValues: @escaping @Sendable (StoreURL) throws(ConfigError) -> [String: ConfigValue] = Plugin.queryValues,
                make: @escaping @Sendable (PluginSettings, PluginContext) async throws -> Instance) {
        self.kind = kind
        self.name = name
        self.summary = summary
        self.options = options
        self.schemes = schemes
        self.nearbySchemes = nearbySchemes
        self.urlValues = urlValues
        self.make = make
    }

    /// The default URL mapping: every query parameter becomes a string value.
    public static func queryValues(_ url: StoreURL) throws(ConfigError) -> [String: ConfigValue] {
        var values: [String: ConfigValue] = [:]
        for (key, value) in url.parameters { values[key] = .string(value) }
        return values
    }

    /// The plugin among `plugins` that reads `scheme://` URLs (the first by name, should
    /// two claim it).
    public static func handling(_ scheme: String, among plugins: some Collection<Plugin>) -> Plugin? {
        plugins.sorted { $0.name < $1.name }.first { $0.schemes.contains(scheme) }
    }

    /// Refuses keys this plugin does not know, naming the ones it does.
    public func checkKeys(of settings: PluginSettings) throws(ConfigError) {
        let known = Set(options.map(\.name))
        for key in settings.values.keys.sorted() where !known.contains(key) {
            let list = options.map(\.name).joined(separator: ", ")
            throw settings.error(key,
                                 "unknown key for \(kind.rawValue) plugin '\(name)' " + (list.isEmpty ? "(it takes none)" : "(it knows: \(list))"))
        }
    }
}
