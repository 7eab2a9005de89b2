import FerryBasicCodecs
import FerryBZip2
import FerryCore
import FerryFileCache
import FerryLocalStore
import FerryXZ
import FerryZstd

extension PluginRegistry {
    /// Every plugin this build of Ferry has.
    static let builtIn: PluginRegistry = {
        var registry = PluginRegistry()
        registry.register(LocalStore.source)
        registry.register(LocalStore.backend)
        registry.register(FileCacheBackend.plugin)
        registry.register(ZstdCodec.plugin)
        registry.register(XZCodec.plugin)
        registry.register(BZip2Codec.plugin)
        registry.register(NoneCodec.plugin)
        registry.register(ExecCodec.plugin)
        return registry
    }()
}
