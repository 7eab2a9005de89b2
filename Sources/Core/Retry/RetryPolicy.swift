import Logging

/// An error that may pass if the same thing is tried again: a connection reset or
/// refused, a timeout, an HTTP 5xx, 408 or 429. Errors that do not conform (a refused
/// signature, a hash mismatch, a bad config, a 403) are permanent and never retried.
public protocol TransientError: Error {
    /// False for the conforming type's permanent cases.
    var isTransient: Bool { get }
    /// How long the peer asked to be left alone (HTTP `Retry-After`), if it said.
    var retryAfter: Duration? { get }
}

extension TransientError {
    /// Types whose every case may pass (timeouts) need not say so.
    public var isTransient: Bool { true }
    public var retryAfter: Duration? { nil }
}

/// When to try again: full-jitter exponential backoff (a random wait between nothing and
/// `initialDelay · 2^n`, at most `maxDelay`), a `Retry-After` honoured, and a bound on
/// both attempts and total time, after which the last error stands.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included (Nix's `download-attempts` is 5).
    public var attempts: Int
    public var initialDelay: Duration
    public var maxDelay: Duration
    /// No new attempt starts after this much time since the first.
    public var maxTime: Duration

    public init(attempts: Int = 5, initialDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(15),
                maxTime: Duration = .seconds(120)) {
        self.attempts = max(attempts, 1)
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.maxTime = maxTime
    }

    /// Never retries.
    public static let none = RetryPolicy(attempts: 1)

    /// True when `error` is worth another attempt.
    public static func isTransient(_ error: any Error) -> Bool {
        (error as? any TransientError)?.isTransient ?? false
    }

    /// The wait before attempt `attempt + 1` (`attempt` counts from 1).
    public func delay(after attempt: Int, retryAfter: Duration?) -> Duration {
        let ceiling = min(maxDelay, initialDelay * Int(1 << min(attempt - 1, 30)))
        let jitter = ceiling * Double.random(in: 0...1)
        guard let retryAfter else { return jitter }
        return max(jitter, min(retryAfter, maxDelay))
    }

    /// Runs `operation` until it succeeds, fails permanently, or the bounds are spent;
    /// `onRetry` hears of every retry before its wait (for logs and `--json` events).
    public func run<T>(_ operation: () async throws -> T,
                       onRetry: (_ attempt: Int, _ error: any Error, _ wait: Duration) -> Void = { _, _, _ in }) async throws -> T {
        let clock = ContinuousClock()
        let start = clock.now
        var attempt = 1
        while true {
            do {
                return try await operation()
            } catch {
                guard !(error is CancellationError), RetryPolicy.isTransient(error), attempt < attempts else { throw error }
                let wait = delay(after: attempt, retryAfter: (error as? any TransientError)?.retryAfter)
                guard clock.now - start + wait < maxTime else { throw error }
                onRetry(attempt, error, wait)
                try await Task.sleep(for: wait)
                attempt += 1
            }
        }
    }
}

extension RetryPolicy {
    /// How a retry is told, the same for a path, a request and a first contact:
    /// `retrying WHAT in 0.4 s (attempt 1 failed: …)`.
    public static func retryLine(_ what: String, attempt: Int, error: String, wait: Duration) -> String {
        let tenths = (wait.milliseconds + 50) / 100
        return "retrying \(what) in \(tenths / 10).\(tenths % 10) s (attempt \(attempt) failed: \(error))"
    }
}
