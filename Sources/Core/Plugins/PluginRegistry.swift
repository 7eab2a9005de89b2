/// Every plugin the program knows, by kind and name. Core knows none of them: the
/// `ferry` executable registers each plugin target's plugins here.
public struct PluginRegistry: Sendable {
    public private(set) var sources: [String: Plugin<any StoreSource>] = [:]
    public private(set) var codecs: [String: Plugin<any Codec>] = [:]
    public private(set) var backends: [String: Plugin<any StoreBackend>] = [:]
    public private(set) var storages: [String: Plugin<any CacheStorage>] = [:]

    public init() {}

    public mutating func register(_ plugin: Plugin<any StoreSource>) { sources[plugin.name] = plugin }
    public mutating func register(_ plugin: Plugin<any Codec>) { codecs[plugin.name] = plugin }
    public mutating func register(_ plugin: Plugin<any StoreBackend>) { backends[plugin.name] = plugin }

    /// Registers a cache storage, and with it a binary-cache backend of the same name; the
    /// `binary-cache` source reads from every storage registered.
    public mutating func register(_ storage: Plugin<any CacheStorage>) {
        storages[storage.name] = storage
        register(BinaryCacheBackend.plugin(on: storage))
        register(BinaryCacheSource.plugin(on: storages.values.sorted { $0.name < $1.name }))
    }
}
