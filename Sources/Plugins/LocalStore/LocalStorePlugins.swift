import FerryCore
import Foundation

/// The `local` source and backend: this machine's Nix store, or another store root as
/// Nix names it (`local?root=/r`, or the bare path `/r`), through `nix-store --serve --write`.
public enum LocalStore {
    static let options = [
        PluginOption("root", "path", "another store root (as Nix's local?root=); default: the system's store"),
        PluginOption("program", "command", default: "nix-store", "the nix-store program to run"),
        PluginOption("max-connections", "integer", default: "jobs", "nix-store processes at most, for NARs in parallel"),
        PluginOption("io-timeout", "duration", default: "120s", "no byte moved for this long is an error (a stuck daemon)"),
    ]

    /// `local?root=/r` and the bare path `/r` both name the root.
    static func urlValues(_ url: StoreURL) throws(ConfigError) -> [String: ConfigValue] {
        var values = try Plugin<any StoreSource>.queryValues(url)
        if !url.path.isEmpty { values["root"] = .string(url.path) }
        return values
    }

    /// Nix's other names for this machine's store. `local` covers them: `nix-store --serve`
    /// goes through the daemon when the user cannot write the store.
    static let nearbySchemes = Dictionary(uniqueKeysWithValues: ["auto", "daemon", "unix"].map {
        ($0, "Ferry names this machine's store 'local' (nix-store --serve, which uses the daemon when it must)")
    })

    /// Where the serve connections go, and how many.
    struct Settings {
        let root: String?
        let program: String
        let connections: Int
        let ioTimeout: Duration
        var description: String { root.map { "store \($0)" } ?? "local store" }

        init(_ settings: PluginSettings, context: PluginContext) throws {
            root = try settings.path("root")
            program = try settings.string("program").map(settings.program) ?? "nix-store"
            connections = try settings.int("max-connections") ?? context.jobs
            guard connections >= 1 else {
                throw settings.error("max-connections", "must be 1 or more")
            }
            ioTimeout = try settings.duration("io-timeout") ?? .seconds(120)
            // Nix would make a store inside the cache's folder.
            if let root, FileManager.default.fileExists(atPath: root + "/" + NixCacheInfo.key) {
                throw settings.error("root", "\(root) holds a binary cache (it has a nix-cache-info), not a store: name it file://\(root)")
            }
        }

        var connect: ServeConnectionPool.Connect {
            { [root, program, ioTimeout] in
                try await ServeClient.connect(over: ProcessServeTransport.localStore(root: root, program: program,
                                                                                      ioTimeout: ioTimeout))
            }
        }
    }

    public static let source = Plugin<any StoreSource>(
        kind: .source, name: "local", summary: "a Nix store on this machine, through nix-store --serve",
        options: options, schemes: ["local"], nearbySchemes: nearbySchemes, urlValues: urlValues
    ) { settings, context in
        let local = try Settings(settings, context: context)
        // nix-store would make an empty store there, and every path would be missing from it.
        if let root = local.root, !FileManager.default.fileExists(atPath: root) {
            throw settings.error("root", "there is no store at \(root): the folder does not exist")
        }
        return ServeStoreSource(description: local.description, maxConnections: local.connections, connect: local.connect)
    }

    public static let backend = Plugin<any StoreBackend>(
        kind: .backend, name: "local", summary: "import into a Nix store on this machine (AddToStoreNar)",
        options: options, schemes: ["local"], nearbySchemes: nearbySchemes, urlValues: urlValues
    ) { settings, context in
        let local = try Settings(settings, context: context)
        return ServeStoreBackend(description: local.description, maxConnections: local.connections, connect: local.connect)
    }
}
