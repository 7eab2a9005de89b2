import Logging

/// The byte budget every copy reserves its memory from: Hydra's TokenServer, done right.
///
/// - Strict first come, first served: a request waits behind every earlier one, so a
///   large request is never overtaken by a stream of small ones.
/// - A request larger than the whole budget is clamped to the budget: it runs alone
///   instead of waiting forever or failing (the copy itself streams, so it fits).
/// - A cancelled waiter leaves the queue and the next ones are woken if they now fit.
/// - `withReservation` gives the bytes back on every way out: success, error, cancellation.
/// - A wait of `warnAfter` or longer is logged with what was waiting, how much, how long
///   (never when `warnAfter` is nil).
public actor MemoryLimiter {
    public nonisolated let budget: Int
    private let warnAfter: Duration?
    private let logger: Logger

    private struct Waiter {
        let id: Int
        let bytes: Int
        let label: String
        let since: ContinuousClock.Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    private var inUse = 0
    private var queue: [Waiter] = []
    private var nextID = 0
    private var stats = LimiterStatistics()

    public init(budget: Int, warnAfter: Duration? = .seconds(1), logger: Logger = Logger(label: "ferry.limiter")) {
        precondition(budget > 0, "a memory budget must be positive")
        self.budget = budget
        self.warnAfter = warnAfter
        self.logger = logger
        stats.budget = budget
    }

    /// Runs `body` holding `bytes` of the budget, and gives them back however it ends.
    /// `label` (a store path) names the holder in warnings.
    public nonisolated func withReservation<R>(_ bytes: Int, for label: String,
                                               _ body: () async throws -> R) async throws -> R {
        try await withReservation(bytes, for: label) { _ in try await body() }
    }

    /// `withReservation`, telling `body` how long the request stood in the queue: nil when
    /// the bytes were free at once (then no wait is counted, however slow the call was).
    public nonisolated func withReservation<R>(_ bytes: Int, for label: String,
                                               _ body: (_ queued: Duration?) async throws -> R) async throws -> R {
        let (granted, queued) = try await acquire(bytes, for: label)
        do {
            let result = try await body(queued)
            await release(granted)
            return result
        } catch {
            await release(granted)
            throw error
        }
    }

    /// Waits until `bytes` (at most the budget) fit and reserves them; returns what was
    /// reserved, which the caller must `release`. Throws `CancellationError` if the task
    /// is cancelled while it waits.
    public func reserve(_ bytes: Int, for label: String) async throws -> Int {
        try await acquire(bytes, for: label).granted
    }

    /// `reserve`, and how long the request was queued (nil: not at all).
    private func acquire(_ bytes: Int, for label: String) async throws -> (granted: Int, queued: Duration?) {
        let amount = min(max(bytes, 0), budget)
        if amount < bytes {
            logger.debug("request larger than the budget runs alone", metadata: [
                "path": "\(label)", "bytes": "\(bytes)", "budget": "\(budget)"])
        }
        try Task.checkCancellation()
        if queue.isEmpty && inUse + amount <= budget {
            grant(amount)
            return (amount, nil)
        }
        let id = nextID
        nextID += 1
        let since = ContinuousClock.now
        stats.currentlyWaiting += 1
        defer { stats.currentlyWaiting -= 1 }
        try await withTaskCancellationHandler {
            // Runs on this actor before it suspends, so `cancel` always finds the waiter queued.
            try await withCheckedThrowingContinuation { continuation in
                queue.append(Waiter(id: id, bytes: amount, label: label, since: since, continuation: continuation))
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
        let waited = ContinuousClock.now - since
        stats.totalWaited += waited
        stats.waits += 1
        if let warnAfter, waited >= warnAfter {
            logger.warning("waited \(format(waited)) for \(ByteSize.format(amount)) of memory", metadata: [
                "path": "\(label)", "bytes": "\(amount)", "waited_ms": "\(waited.milliseconds)"])
        }
        return (amount, waited)
    }

    /// Gives back bytes `reserve` returned, and wakes the waiters that now fit, in order.
    public func release(_ bytes: Int) {
        precondition(bytes <= inUse, "released more than was reserved")
        inUse -= bytes
        wakeWaiters()
    }

    /// What the limiter has seen so far.
    public func statistics() -> LimiterStatistics {
        var snapshot = stats
        snapshot.inUse = inUse
        return snapshot
    }

    private func grant(_ bytes: Int) {
        inUse += bytes
        stats.peak = max(stats.peak, inUse)
    }

    /// Serves the head of the queue while it fits; stops at the first that does not,
    /// so nobody behind it can overtake it.
    private func wakeWaiters() {
        while let head = queue.first, inUse + head.bytes <= budget {
            queue.removeFirst()
            grant(head.bytes)
            head.continuation.resume()
        }
    }

    private func cancel(_ id: Int) {
        // Not in the queue: it was served already, and its holder gives the bytes back.
        guard let index = queue.firstIndex(where: { $0.id == id }) else { return }
        let waiter = queue.remove(at: index)
        waiter.continuation.resume(throwing: CancellationError())
        wakeWaiters()
    }

    private nonisolated func format(_ d: Duration) -> String {
        let ms = d.milliseconds
        return ms >= 1000 ? "\(ms / 1000).\(ms % 1000 / 100) s" : "\(ms) ms"
    }
}

/// The limiter's figures, for the run's summary and the progress display.
public struct LimiterStatistics: Sendable, Equatable {
    public var budget = 0
    /// Most bytes held at once.
    public var peak = 0
    public var inUse = 0
    /// Reservations that had to wait, and their waits added up.
    public var waits = 0
    public var totalWaited = Duration.zero
    public var currentlyWaiting = 0
}

extension Duration {
    /// Whole milliseconds.
    public var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// Seconds, to the millisecond, for messages and JSON.
    public var seconds: Double { Double(milliseconds) / 1000 }
}
