import Logging

/// A source, a limiter, a codec and a backend, assembled from a `PipelineConfig`.
///
/// A run takes the closure of the requested paths from the source, skips what the
/// destination has (asked in one batch), copies the rest `jobs` at a time, each
/// holding its memory from the limiter, and publishes in topological order.
public struct Pipeline: Sendable {
    public let source: any StoreSource
    public let codec: any Codec
    public let backend: any StoreBackend
    public let limiter: MemoryLimiter
    /// Held by compressing streams whose codec keeps processors busy, so its threads never
    /// outnumber the machine's processors however many paths are in flight.
    public let cores: CompressionCores
    public let jobs: Int
    /// Keys one of whose signatures a path needs; nil when signatures are not checked.
    public let trustedKeys: [PublicKey]?
    /// How a path whose copy failed transiently is copied again, from the start.
    public let retry: RetryPolicy
    /// NAR bytes read so far, as they stream, for a progress display.
    public let streamed = StreamedBytes()
    /// True when the codec can decompress too, so NARs the source holds in its compression
    /// can be passed through and still checked.
    private let codecDecompresses: Bool
    private let logger: Logger

    public init(source: any StoreSource, codec: any Codec, backend: any StoreBackend, limiter: MemoryLimiter,
                cores: CompressionCores = CompressionCores(), jobs: Int, trustedKeys: [PublicKey]? = nil,
                retry: RetryPolicy = .none, logger: Logger) {
        self.source = source
        self.codec = codec
        self.backend = backend
        self.limiter = limiter
        self.cores = cores
        self.jobs = jobs
        self.trustedKeys = trustedKeys
        self.retry = retry
        self.logger = logger
        codecDecompresses = (try? codec.makeDecompressor(writingTo: ClosureSink { _ in })) != nil
    }

    /// Memory one copy holds besides its codec: read buffers, the compressor's output
    /// buffer, a pipe's worth of NAR in flight.
    public static let streamBuffers = 2 << 20

    /// Makes every stage's plugin; refuses unknown plugins and keys, a codec whose working
    /// memory does not fit the budget, and a codec named for a backend that stores raw NARs.
    public static func assemble(_ config: PipelineConfig, registry: PluginRegistry,
                                logger: Logger) async throws -> Pipeline {
        let context = PluginContext(logger: logger, jobs: config.jobs, memoryBudget: config.limiter.memory,
                                    codecs: registry.codecs, retry: config.retry)
        let codec = try await make(withoutUnusedParallelism(config.codec, codecs: registry.codecs),
                                   from: registry.codecs, kind: .codec, context: context)
        guard codec.compresses else {
            throw ConfigError(config.codec.location, "Ferry reads \(codec.compression) caches but writes NARs only in zstd, xz, bzip2, gzip, lz4 or none")
        }
        let needed = codec.compressorMemory(narSize: .max) + streamBuffers
        guard needed <= config.limiter.memory else {
            throw ConfigError(config.codec.location,
                              "one \(codec.compression) stream needs \(ByteSize.format(needed)) but the memory budget is \(ByteSize.format(config.limiter.memory)); raise the budget (--memory-limit, or memory in [limiter]) or lower the level or threads")
        }
        let source = try await make(config.source, from: registry.sources, kind: .source, context: context)
        let backend: any StoreBackend
        let trustedKeys: [PublicKey]?
        do {
            trustedKeys = try trust(config.trust, source: source, location: config.source.location)
            backend = try await make(config.backend, from: registry.backends, kind: .backend, context: context)
            if config.codecNamed && !backend.storesCompressedNars {
                await backend.close()
                throw ConfigError(config.codec.location, "\(backend.description) takes NARs uncompressed; a codec and compression settings apply only to binary caches, so leave them out")
            }
        } catch {
            await source.close()
            throw error
        }
        return Pipeline(source: source, codec: codec, backend: backend,
                        limiter: MemoryLimiter(budget: config.limiter.memory, warnAfter: config.limiter.warnAfter,
                                               logger: logger),
                        jobs: config.jobs, trustedKeys: trustedKeys, retry: config.retry, logger: logger)
    }

    /// The keys to check against, nil when nothing is checked; a source that needs
    /// signatures with no key to check them is a configuration error, not a silent pass.
    private static func trust(_ trust: TrustConfig, source: any StoreSource,
                              location: String) throws(ConfigError) -> [PublicKey]? {
        if trust.checkSignatures == false { return nil }
        if !trust.keys.isEmpty { return trust.keys }
        guard !source.requiresSignatures else {
            throw ConfigError(location, "\(source.description) is a binary cache: say whose signatures to trust with --trusted-public-key NAME:KEY (trusted-public-keys in a config), or copy unchecked with --no-check-sigs (check-signatures = false)")
        }
        return nil
    }

    /// Nix takes `parallel-compression` with any method and uses it for xz and zstd only: for
    /// a codec without threads it is dropped, not refused.
    private static func withoutUnusedParallelism(_ settings: PluginSettings, codecs: [String: Plugin<any Codec>]) -> PluginSettings {
        guard settings.keyNames["threads"] == "parallel-compression",
              let plugin = codecs[settings.plugin], !plugin.options.contains(where: { $0.name == "threads" }) else { return settings }
        var kept = settings
        kept["threads"] = nil
        return kept
    }

    private static func make<T>(_ settings: PluginSettings, from plugins: [String: Plugin<T>], kind: PluginKind,
                                context: PluginContext) async throws -> T {
        guard let plugin = plugins[settings.plugin] else {
            throw settings.error("plugin", "no \(kind.rawValue) plugin is called '\(settings.plugin)' (known: \(plugins.keys.sorted().joined(separator: ", ")))")
        }
        try plugin.checkKeys(of: settings)
        return try await plugin.make(settings, context)
    }

    /// Bytes the copy of `info` reserves from the limiter: its stream buffers, what the
    /// source holds to read it (a decompressor), what the backend holds to write it (an
    /// upload's buffer) and, for a binary cache, the compressor's working memory for a NAR
    /// of that size, or the decompressor that checks a NAR passed through as it is.
    public func memoryPerCopy(_ info: PathInfo, passThrough: StoredNarForm? = nil) -> Int {
        let middle: Int
        if passThrough != nil {
            middle = codec.decompressorMemory(narSize: info.narSize)
        } else {
            middle = source.readMemory(for: info)
                + (backend.storesCompressedNars ? codec.compressorMemory(narSize: info.narSize) : 0)
        }
        return middle + backend.writeMemory(for: info) + Pipeline.streamBuffers
    }

    /// Copies the closure of `paths`; returns what happened. Throws only when the run
    /// cannot start (a requested path is missing, the source or destination cannot be
    /// reached); failures of single paths are in the summary.
    public func run(paths: [StorePath], selection: PathSelection = PathSelection(),
                    observe: @escaping @Sendable (CopyEvent) -> Void = { _ in }) async throws -> RunSummary {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            var summary = try await copy(paths, selection: selection, observe: observe)
            summary.wallTime = clock.now - start
            summary.limiter = await limiter.statistics()
            await close()
            observe(.finished(summary))
            return summary
        } catch {
            await close()
            throw error
        }
    }

    private func close() async {
        await source.close()
        await backend.close()
    }

    private func copy(_ paths: [StorePath], selection: PathSelection,
                      observe: @escaping @Sendable (CopyEvent) -> Void) async throws -> RunSummary {
        if selection.shard != nil && backend.needsReferencesFirst {
            throw ConfigError("--shard", "\(backend.description) adds a path only after its references, which another shard may not have copied yet; shard into binary caches only")
        }
        let requested = Array(Set(paths)).sorted()
        source.openAhead()
        try await reaching(backend.description) { try await backend.check() }
        let valid = try await reaching(source.description) { try await source.protect(requested) }
        let missing = requested.filter { !valid.contains($0) }
        guard missing.isEmpty else { throw CopyError.notInSource(missing, source: source.description) }
        let planning = ContinuousClock.now
        func planned(_ step: String, _ count: Int) {
            logger.debug("\(step)", metadata: ["paths": "\(count)", "ms": "\((ContinuousClock.now - planning).milliseconds)"])
        }
        let wanted = selection.closure ? try await source.closure(of: requested) : Set(requested)
        let closure = wanted.filter { selection.shard?.contains($0) ?? true }.sorted()
        // Held for the whole run, so nothing being copied is collected on the source.
        _ = try await source.protect(closure)
        planned("closure known and held", closure.count)
        let present = try await reaching(backend.description) { try await backend.presentPaths(closure) }
        planned("asked the destination, which has", present.count)
        let infos = try await source.pathInfos(closure.filter { !present.contains($0) })
        planned("path infos read", infos.count)
        let order = try TopologicalOrder.sort(infos)
        let unfit = try await unfitPaths(order, wanted: wanted)
        // A destination is made ready (a cache gets its nix-cache-info) only when
        // something will be written to it.
        if order.count > unfit.count { try await backend.prepare() }

        var summary = RunSummary()
        summary.closureSize = closure.count
        summary.skipped = present.count
        observe(.planned(closure: closure.count, toCopy: order.count, skipped: present.count,
                         narBytes: order.reduce(0) { $0 + $1.narSize }))
        for path in closure where present.contains(path) { observe(.skipped(path)) }

        let scheduler = CopyScheduler(order: order, referencesFirst: backend.needsReferencesFirst) { path, error in
            observe(.failed(path, "\(error)"))
        }
        for (path, error) in unfit.sorted(by: { $0.key < $1.key }) { await scheduler.failed(path, error) }
        let planned = summary
        summary = try await withThrowingTaskGroup(of: RunSummary?.self) { group in
            for _ in 0..<min(jobs, max(order.count, 1)) {
                group.addTask { try await worker(scheduler, observe: observe); return nil }
            }
            group.addTask { await publisher(scheduler, into: planned, observe: observe) }
            var published = planned
            for try await case let counted? in group { published = counted }
            return published
        }
        let failures = await scheduler.failures
        summary.failed = failures.map { ($0.path, "\($0.error)") }
        // A stop that came once every path was copied (or had failed anyway) aborted nothing.
        summary.interrupted = failures.contains { ($0.error as? CopyError)?.isInterruption ?? false }
        return summary
    }

    /// The run's first contact with a peer: a failure that may pass (a refused connection
    /// while sshd restarts) is tried again as a path's copy is, instead of ending the run.
    private func reaching<T>(_ peer: String, _ step: () async throws -> T) async throws -> T {
        try await retry.run(step) { attempt, error, wait in
            logger.notice("\(RetryPolicy.retryLine(peer, attempt: attempt, error: "\(error)", wait: wait))")
        }
    }

    /// The paths refused before a byte moves: those no trusted key signed (unless their
    /// content address, checked with their NarHash, certifies them), and those with
    /// a reference that is neither at the destination nor in `wanted` (copied by this run,
    /// or by another shard of it). Nix never publishes a path without its references.
    private func unfitPaths(_ infos: [PathInfo], wanted: Set<StorePath>) async throws -> [StorePath: CopyError] {
        var unfit: [StorePath: CopyError] = [:]
        if let trustedKeys {
            let trustedNames = Set(trustedKeys.map(\.name))
            for info in infos where !info.isSigned(byAnyOf: trustedKeys) && !info.isSelfCertifying {
                let signers = info.claimedSigners
                unfit[info.path] = .untrusted(info.path, source: source.description, signers: signers,
                                              forgedBy: signers.first(where: trustedNames.contains))
            }
        }
        let outside = Set(infos.flatMap(\.references)).subtracting(wanted)
        guard !outside.isEmpty else { return unfit }
        let missing = outside.subtracting(try await backend.presentPaths(outside.sorted()))
        for info in infos where unfit[info.path] == nil {
            if let reference = info.sortedReferences.first(where: missing.contains) {
                unfit[info.path] = .referenceMissing(info.path, reference: reference, destination: backend.description)
            }
        }
        return unfit
    }

    /// Takes paths from the scheduler and copies them until none is left.
    private func worker(_ scheduler: CopyScheduler, observe: @Sendable (CopyEvent) -> Void) async throws {
        while let info = await scheduler.nextCopy() {
            // Interrupted: every path left fails at once, so the publisher can finish.
            guard !Task.isCancelled else {
                await scheduler.failed(info.path, CopyError.interrupted(info.path))
                continue
            }
            observe(.started(info.path, narSize: info.narSize))
            let began = ContinuousClock.now
            do {
                // Logged at debug level only: the events say it all to the user.
                let (stored, waited) = try await retry.run({ try await copyOne(info, observe: observe) }) { attempt, error, wait in
                    logger.debug("copy failed, trying again", metadata: [
                        "path": "\(info.path)", "attempt": "\(attempt)", "error": "\(error)", "wait": "\(wait)"])
                    observe(.retrying(info.path, attempt: attempt, error: "\(error)", wait: wait))
                }
                observe(.stored(stored, seconds: (ContinuousClock.now - began).seconds,
                                memoryWait: waited.seconds))
                await scheduler.uploaded(stored)
            } catch where error is CancellationError || Task.isCancelled {
                // The writer was aborted on the way out: nothing of it is left. Whatever a
                // stop broke on its way (a peer killed by the same Ctrl-C) is the stop's.
                await scheduler.failed(info.path, CopyError.interrupted(info.path))
            } catch {
                logger.debug("copy failed", metadata: ["path": "\(info.path)", "error": "\(error)"])
                await scheduler.failed(info.path, error)
            }
        }
    }

    /// Publishes stored NARs in topological order, a batch of independent ones at a time;
    /// returns `summary` with the paths it published and their bytes counted.
    private func publisher(_ scheduler: CopyScheduler, into summary: RunSummary,
                           observe: @Sendable (CopyEvent) -> Void) async -> RunSummary {
        var published = summary
        while case let batch = await scheduler.nextPublications(), !batch.isEmpty {
            let failures = await backend.publish(batch)
            for stored in batch where failures[stored.info.path] == nil {
                published.copied += 1
                published.narBytes += stored.info.narSize
                published.fileBytes += stored.fileSize ?? stored.info.narSize
                observe(.published(stored.info.path))
            }
            await scheduler.publicationsDone(batch.map { ($0.info.path, failures[$0.info.path]) })
        }
        return published
    }

    /// The source's stored form of `info`'s NAR when the destination wants exactly that
    /// compression: its bytes can then be copied as they are.
    private func passThroughForm(_ info: PathInfo) async -> (form: StoredNarForm, source: any CompressedNarSource)? {
        guard backend.storesCompressedNars, codecDecompresses, let compressed = source as? any CompressedNarSource,
              let form = await compressed.storedNar(of: info.path), form.compression == codec.compression
        else { return nil }
        return (form, compressed)
    }

    /// Streams one NAR from the source through the check and the codec into the backend,
    /// holding its memory from the limiter. Nothing of it is visible until `commit`.
    /// Returns the stored NAR and how long it waited for its memory.
    private func copyOne(_ info: PathInfo, observe: @Sendable (CopyEvent) -> Void) async throws -> (StoredNar, Duration) {
        let passing = await passThroughForm(info)
        let bytes = memoryPerCopy(info, passThrough: passing?.form)
        return try await limiter.withReservation(bytes, for: info.path.path) { queued in
            if let queued {
                observe(.memoryWaited(info.path, bytes: bytes, seconds: queued.seconds))
            }
            let writer = try await backend.beginNar(info, compression: backend.storesCompressedNars ? codec.compression : "none")
            let check = NarCheckSink(NarCheck(expected: info, buildListing: backend.wantsNarListing), counting: streamed)
            do {
                let listing = if let passing {
                    try await passThrough(info, from: passing.source, to: writer, check: check)
                } else {
                    try await recompress(info, to: writer, check: check)
                }
                var stored = try await writer.commit()
                stored.listing = listing
                return (stored, queued ?? .zero)
            } catch {
                streamed.takeBack(check.counted)
                await writer.abort()
                throw error
            }
        }
    }

    /// The NAR from the source, checked, then compressed by the codec into `writer`; returns
    /// the check's listing. The source is asked for it only once the compressor's
    /// processors are free, so no peer sits on a half-sent NAR meanwhile.
    private func recompress(_ info: PathInfo, to writer: any NarWriter, check: NarCheckSink) async throws -> NarListing? {
        let compressing = backend.storesCompressedNars
        return try await cores.withCores(compressing ? codec.compressorCores(narSize: info.narSize) : 0, for: info.path.path) {
            let filter: any ByteFilter = compressing
                ? try codec.makeCompressor(narSize: info.narSize, writingTo: writer) : PassThrough(writer)
            do {
                try await source.streamNar(of: info) { chunk in
                    try Task.checkCancellation()
                    try await check.write(chunk)
                    try await filter.write(chunk)
                    await Pipeline.giveTurn()
                }
                // Checked before the codec ends its frame: a NAR shorter than its NarSize is
                // then named as such, not by zstd, which was told that size up front.
                let listing = try check.finish()
                try await filter.finish()
                return listing
            } catch {
                // Within the copy's memory reservation: freed before the memory is given back.
                await filter.abandon()
                throw error
            }
        }
    }

    /// Lets the other tasks run between two chunks. A source that never waits (a cache in
    /// a folder reads its files as fast as the disk gives them) would otherwise keep its
    /// copy on one of Swift's few threads until the NAR ends: with a slow codec, minutes
    /// in which smaller paths, the progress line and a stop wait.
    private static func giveTurn() async { await Task.yield() }

    /// The source's compressed bytes into `writer` as they are, while a decompressor
    /// feeds the check, so NarHash and NarSize are still verified; returns the listing.
    private func passThrough(_ info: PathInfo, from compressed: any CompressedNarSource, to writer: any NarWriter,
                             check: NarCheckSink) async throws -> NarListing? {
        // `passThroughForm` chose this path only for a codec that decompresses.
        let decoder = try NarFileDecoder(codec, for: info.path, file: "its NAR file in \(source.description)", writingTo: check)
        try await compressed.streamStoredNar(of: info) { chunk in
            try Task.checkCancellation()
            try await decoder.write(chunk)
            try await writer.write(chunk)
            await Pipeline.giveTurn()
        }
        try await decoder.finish()
        return try check.finish()
    }
}

/// A filter that changes nothing: the `none` codec, and backends that take the raw NAR.
public final class PassThrough: ByteFilter {
    private let output: any AsyncByteSink
    public init(_ output: any AsyncByteSink) { self.output = output }
    public func write(_ bytes: ArraySlice<UInt8>) async throws { try await output.write(bytes) }
    public func finish() async throws {}
}
