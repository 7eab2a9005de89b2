/// Every plugin the program knows, by kind and name. Core knows none of them: the
/// `ferry` executable registers each plugin target's plugins here.
public struct PluginRegistry: Sendable {
    public private(set) var sources: [String: Plugin<any StoreSource>] = [:]
    public private(set) var codecs: [String: Plugin<any Codec>] = [:]
    public private(set) var backends: [String: Plugin<any StoreBackend>] = [:]

    public init() {}

    public mutating func register(_ plugin: Plugin<any StoreSource>) { sources[plugin.name] = plugin }
    public mutating func register(_ plugin: Plugin<any Codec>) { codecs[plugin.name] = plugin }
    public mutating func register(_ plugin: Plugin<any StoreBackend>) { backends[plugin.name] = plugin }
}
