/// The thread count of a multi-threaded codec: what `threads` asks for (0 means one
/// per core), lowered until one compressor's memory fits the budget beside a copy's
/// stream buffers.
public enum CodecThreads {
    public static func resolve(_ settings: PluginSettings, context: PluginContext,
                               memory: (Int) -> Int) throws(ConfigError) -> Int {
        let asked = try settings.int("threads") ?? 0
        guard asked >= 0 else { throw ConfigError(settings.location, key: "threads", "must be 0 (one per core) or more") }
        var threads = asked == 0 ? SystemInfo.processorCount : asked
        let room = context.memoryBudget - Pipeline.streamBuffers
        while threads > 1 && memory(threads) > room { threads -= 1 }
        if threads < (asked == 0 ? SystemInfo.processorCount : asked) {
            context.logger.notice("codec threads lowered to fit the memory budget", metadata: [
                "threads": "\(threads)", "asked": "\(asked)", "budget": "\(context.memoryBudget)"])
        }
        return threads
    }
}
