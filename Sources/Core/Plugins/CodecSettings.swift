/// The `level` and `threads` keys every compressing codec reads, read one way.
public enum CodecSettings {
    /// `level` within `range`; absent or -1 (Nix's "the compressor's default") gives `defaultLevel`.
    public static func level(_ settings: PluginSettings, default defaultLevel: Int,
                             range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let requested = try settings.int("level") ?? -1
        let level = requested == -1 ? defaultLevel : requested
        guard range.contains(level) else {
            throw settings.error("level",
                                 "\(settings.plugin) levels go from \(range.lowerBound) to \(range.upperBound), found \(level)")
        }
        return level
    }

    /// What `threads` asks for (0 means one per core), lowered until one compressor's
    /// memory (`memory(threads)`) fits the budget beside a copy's stream buffers.
    public static func threads(_ settings: PluginSettings, context: PluginContext,
                               memory: (Int) -> Int) throws(ConfigError) -> Int {
        let asked = try settings.int("threads") ?? 0
        guard asked >= 0 else { throw settings.error("threads", "must be 0 (one per core) or more") }
        let wanted = asked == 0 ? SystemInfo.processorCount : asked
        var threads = wanted
        let room = context.memoryBudget - Pipeline.streamBuffers
        while threads > 1 && memory(threads) > room { threads -= 1 }
        // Worth a notice when a number was asked for; "one per core" means as many as fit.
        if threads < wanted {
            context.logger.log(level: asked == 0 ? .info : .notice, "codec threads lowered to fit the memory budget", metadata: [
                "threads": "\(threads)", "asked": "\(asked)", "budget": "\(context.memoryBudget)"])
        }
        return threads
    }
}
