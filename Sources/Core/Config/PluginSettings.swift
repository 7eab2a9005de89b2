import Foundation

/// The settings of one pipeline stage: its plugin's name and the table of values a
/// config file or URL gave it. Typed reads report errors at the stage's location.
public struct PluginSettings: Sendable, Equatable {
    public var plugin: String
    /// Where the values came from, for errors: `pipeline.toml [source]`, `--to file:///x`.
    public var location: String
    public private(set) var values: [String: ConfigValue]
    /// True when the values came from a URL, where every value is a string to parse.
    public let fromURL: Bool
    /// What the user called a key that was moved here under another name (a URL's
    /// `compression-level` is the codec's `level`), so errors name what was written; an
    /// empty name when the location is what was written (`--memory-limit`: its value).
    public var keyNames: [String: String] = [:]
    /// The folder of the config file the values came from, where its relative paths start;
    /// nil for URLs and flags, whose paths start from the working directory.
    public var baseDirectory: String?

    public init(plugin: String, location: String, values: [String: ConfigValue] = [:], fromURL: Bool = false) {
        self.plugin = plugin
        self.location = location
        self.values = values
        self.fromURL = fromURL
    }

    /// The same settings with only the keys `keep` accepts; `asURL` lets every typed read
    /// also parse strings (for tables that mix a URL's values in).
    public func filter(asURL: Bool = false, _ keep: (String) -> Bool) -> PluginSettings {
        var kept = PluginSettings(plugin: plugin, location: location, values: values.filter { keep($0.key) },
                                  fromURL: fromURL || asURL)
        kept.keyNames = keyNames
        kept.baseDirectory = baseDirectory
        return kept
    }

    public subscript(key: String) -> ConfigValue? {
        get { values[key] }
        set { values[key] = newValue }
    }

    /// An error about `key`, at these settings' location and under the key's name as written.
    public func error(_ key: String, _ reason: String) -> ConfigError {
        ConfigError(location, key: keyNames[key] ?? key, reason)
    }

    private func mismatch(_ key: String, _ value: ConfigValue, expected: String) -> ConfigError {
        error(key, "expected \(expected), found \(value.typeName) \(value)")
    }

    public func string(_ key: String) throws(ConfigError) -> String? {
        switch values[key] {
        case nil: return nil
        case .string(let s): return s
        case let other?: throw mismatch(key, other, expected: "a string")
        }
    }

    public func int(_ key: String) throws(ConfigError) -> Int? {
        switch values[key] {
        case nil: return nil
        case .integer(let n): return n
        case .string(let s) where fromURL:
            guard let n = Int(s) else { throw error(key, "'\(s)' is not a whole number") }
            return n
        case let other?: throw mismatch(key, other, expected: "an integer")
        }
    }

    public func bool(_ key: String) throws(ConfigError) -> Bool? {
        switch values[key] {
        case nil: return nil
        case .bool(let b): return b
        case .string(let s) where fromURL:
            switch s {
            case "true", "1": return true
            case "false", "0": return false
            default: throw error(key, "'\(s)' is not true or false")
            }
        case let other?: throw mismatch(key, other, expected: "true or false")
        }
    }

    /// A size in bytes: an integer, or a string such as `512MiB` or `1.5G`.
    public func size(_ key: String) throws(ConfigError) -> Int? {
        switch values[key] {
        case nil: return nil
        case .integer(let n) where n >= 0: return n
        case .string(let s):
            guard let n = ByteSize.parse(s) else {
                throw error(key, "'\(s)' is not a size (write it as 4GiB, 512MiB, 1.5G or a number of bytes)")
            }
            return n
        case let other?: throw mismatch(key, other, expected: "a size such as \"512MiB\"")
        }
    }

    /// A duration: a number of seconds, or a string such as `500ms`, `30s`, `5m`.
    public func duration(_ key: String) throws(ConfigError) -> Duration? {
        switch values[key] {
        case nil: return nil
        case .integer(let n) where n >= 0: return .seconds(n)
        case .float(let x) where x >= 0: return .milliseconds(Int64((x * 1000).rounded()))
        case .string(let s):
            guard let d = DurationText.parse(s) else {
                throw error(key, "'\(s)' is not a duration (write it as 500ms, 30s, 5m or a number of seconds)")
            }
            return d
        case let other?: throw mismatch(key, other, expected: "a duration such as \"30s\"")
        }
    }

    /// A list of strings; from a URL, a comma-separated string.
    public func strings(_ key: String) throws(ConfigError) -> [String]? {
        switch values[key] {
        case nil: return nil
        case .string(let s) where fromURL: return s.split(separator: ",").map(String.init)
        case .array(let items):
            return try items.map { item throws(ConfigError) in
                guard case .string(let s) = item else { throw mismatch(key, item, expected: "an array of strings") }
                return s
            }
        case let other?: throw mismatch(key, other, expected: "an array of strings")
        }
    }

    /// `required`, as a path (see `path`).
    public func requiredPath(_ key: String, _ question: String) throws(ConfigError) -> String {
        resolvedPath(try required(key, question))
    }

    /// A non-empty string the plugin cannot do without; `question` says what is missing.
    public func required(_ key: String, _ question: String) throws(ConfigError) -> String {
        guard let value = try string(key), !value.isEmpty else {
            throw error(key, "is missing: \(question)")
        }
        return value
    }

    /// A path as `resolvedPath` makes it.
    public func path(_ key: String) throws(ConfigError) -> String? {
        try string(key).map(resolvedPath)
    }

    /// `~` expanded, then made absolute: a relative path from a config file starts from the
    /// file's folder (a cron job's working directory is seldom that), one from the command
    /// line from the working directory. Absolute, since a program it is handed to
    /// (`nix-store --store`) may not take a relative one.
    public func resolvedPath(_ path: String) -> String {
        absolutePath(expandingTilde(path), from: baseDirectory)
    }

    /// A program as written: looked up in PATH when it is a bare name, else a path, as
    /// `resolvedPath` makes it.
    public func program(_ name: String) -> String {
        name.contains("/") ? resolvedPath(name) : name
    }
}

/// `path` from `directory` (by default the working directory) when it is relative.
public func absolutePath(_ path: String, from directory: String? = nil) -> String {
    path.hasPrefix("/") ? path : (directory ?? FileManager.default.currentDirectoryPath) + "/" + path
}

/// `~/x` → `$HOME/x`.
public func expandingTilde(_ path: String) -> String {
    guard path == "~" || path.hasPrefix("~/") else { return path }
    let home = getenvString("HOME") ?? "/root"
    return home + path.dropFirst()
}
