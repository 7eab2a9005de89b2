import Logging

/// The machine's processors, shared out among compressing streams whose codec keeps its
/// threads busy whatever pace the source sets (xz): such a stream starts only once its
/// threads fit beside those already running.
///
/// More encoder threads than processors only take turns and evict each other's caches.
/// Three xz streams of two threads on two cores took 18–29 % more CPU and 10–22 % more
/// time than the same paths one at a time (two runs on 384 MiB). A codec that the source
/// outpaces (zstd at low levels, none) asks for no processors, and its streams are never
/// held back.
///
/// The queue is the memory limiter's, counting processors instead of bytes: first come,
/// first served; a stream that asks for more than there are runs alone; a cancelled
/// waiter leaves the queue.
public struct CompressionCores: Sendable {
    private let queue: MemoryLimiter

    public init(total: Int = SystemInfo.processorCount) {
        // A wait here is the expected way to run xz, not a sign of trouble: no warnings.
        queue = MemoryLimiter(budget: max(1, total), warnAfter: nil, logger: Logger(label: "ferry.cores"))
    }

    /// A NAR smaller than this compresses in a fraction of a second whatever the codec: it
    /// asks for no processors, so it never waits behind a long NAR holding every one.
    public static let momentaryNarSize: UInt64 = 1 << 20

    /// Runs `body` holding `count` processors; `count` 0 runs it at once.
    public func withCores<R>(_ count: Int, for label: String, _ body: () async throws -> R) async throws -> R {
        guard count > 0 else { return try await body() }
        return try await queue.withReservation(count, for: label, body)
    }
}
