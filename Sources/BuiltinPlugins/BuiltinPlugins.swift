import FerryBasicCodecs
import FerryBZip2
import FerryBrotli
import FerryCore
import FerryFileCache
import FerryGzip
import FerryHTTP
import FerryLZ4
import FerryLocalStore
import FerrySSH
import FerryXZ
import FerryZstd

/// Every plugin this build of Ferry has, wired into one registry: what the `ferry`
/// command uses, and what tests use to build pipelines the way users do.
extension PluginRegistry {
    public static let builtIn: PluginRegistry = {
        var registry = PluginRegistry()
        registry.register(LocalStore.source)
        registry.register(LocalStore.backend)
        registry.register(SSHStore.source)
        registry.register(SSHStore.backend)
        registry.register(FileStorage.plugin)
        registry.register(HTTPCache.plugin)
        registry.register(S3Cache.plugin)
        registry.register(ZstdCodec.plugin)
        registry.register(XZCodec.plugin)
        registry.register(BZip2Codec.plugin)
        registry.register(BrotliCodec.plugin)
        registry.register(GzipCodec.plugin)
        registry.register(LZ4Codec.plugin)
        registry.register(LzipCodec.plugin)
        registry.register(NoneCodec.plugin)
        registry.register(ExecCodec.plugin)
        return registry
    }()
}
