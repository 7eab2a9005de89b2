/// A config file, URL or option that cannot be used: where it is, which key, what is wrong.
/// Every such error makes `ferry` exit with status 2.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    /// `pipeline.toml [limiter]`, `--to file:///cache`, `--memory-limit`.
    public let location: String
    /// The key within `location`; nil or empty when the location names the value itself (a flag).
    public let key: String?
    public let reason: String

    public init(_ location: String, key: String? = nil, _ reason: String) {
        self.location = location
        self.key = key
        self.reason = reason
    }

    public var description: String {
        "\(location)\(key.flatMap { $0.isEmpty ? nil : " \($0)" } ?? ""): \(reason)"
    }
}
