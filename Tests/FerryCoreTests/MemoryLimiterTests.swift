import Synchronization
import Testing
@testable import FerryCore

@Suite("memory limiter")
struct MemoryLimiterTests {
    /// Waits until `n` requests are queued behind the holders.
    private func waitForQueue(_ limiter: MemoryLimiter, count n: Int) async {
        while await limiter.statistics().currentlyWaiting < n { await Task.yield() }
    }

    @Test("waiters are served first come, first served") func fifo() async throws {
        let limiter = MemoryLimiter(budget: 100)
        let held = try await limiter.reserve(100, for: "holder")
        let order = Locked<[Int]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<5 {
                group.addTask {
                    try await limiter.withReservation(10, for: "w\(i)") { order.withLock { $0.append(i) } }
                }
                await waitForQueue(limiter, count: i + 1)
            }
            await limiter.release(held)
            try await group.waitForAll()
        }
        #expect(order.withLock { $0 } == [0, 1, 2, 3, 4])
    }

    @Test("the body learns whether its request stood in the queue: nil when the bytes were free")
    func queuedTime() async throws {
        let limiter = MemoryLimiter(budget: 100)
        let atOnce = try await limiter.withReservation(60, for: "free") { queued in queued }
        #expect(atOnce == nil)
        let held = try await limiter.reserve(60, for: "holder")
        let waiter = Task { try await limiter.withReservation(60, for: "waiter") { queued in queued } }
        await waitForQueue(limiter, count: 1)
        await limiter.release(held)
        let queued = try await waiter.value
        #expect(queued != nil && queued! >= .zero)
        #expect(await limiter.statistics().waits == 1)
    }

    @Test("a large request is not overtaken by small ones that would fit") func noStarvation() async throws {
        let limiter = MemoryLimiter(budget: 100)
        let small = try await limiter.reserve(30, for: "running")
        let events = Locked<[String]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await limiter.withReservation(90, for: "large") { events.withLock { $0.append("large") } }
            }
            await waitForQueue(limiter, count: 1)
            // 70 bytes are free: each small request would fit, but must queue behind the large one.
            for i in 0..<3 {
                group.addTask {
                    try await limiter.withReservation(10, for: "small\(i)") { events.withLock { $0.append("small") } }
                }
                await waitForQueue(limiter, count: i + 2)
            }
            #expect(events.withLock { $0 }.isEmpty)
            await limiter.release(small)
            try await group.waitForAll()
        }
        #expect(events.withLock { $0 }.first == "large")
        #expect(events.withLock { $0 }.count == 4)
    }

    @Test("a cancelled waiter leaves the queue and wakes the next") func cancellation() async throws {
        let limiter = MemoryLimiter(budget: 100)
        let held = try await limiter.reserve(50, for: "holder")
        let big = Task { try await limiter.withReservation(80, for: "big") {} }
        await waitForQueue(limiter, count: 1)
        let next = Task { try await limiter.withReservation(40, for: "next") { "served" } }
        await waitForQueue(limiter, count: 2)
        big.cancel()
        // With the big request gone, 40 fits beside the 50 held: the next waiter runs now.
        #expect(try await next.value == "served")
        await #expect(throws: CancellationError.self) { try await big.value }
        await limiter.release(held)
        let stats = await limiter.statistics()
        #expect(stats.inUse == 0)
        #expect(stats.currentlyWaiting == 0)
    }

    @Test("a request larger than the whole budget runs alone instead of failing") func oversized() async throws {
        let limiter = MemoryLimiter(budget: 100)
        let held = try await limiter.reserve(60, for: "holder")
        let huge = Task { try await limiter.withReservation(1_000, for: "huge") { await limiter.statistics().inUse } }
        await waitForQueue(limiter, count: 1)
        await limiter.release(held)
        #expect(try await huge.value == 100)
        #expect(await limiter.statistics().inUse == 0)
    }

    @Test("the budget is given back when the body throws") func releaseOnError() async {
        struct Boom: Error {}
        let limiter = MemoryLimiter(budget: 100)
        await #expect(throws: Boom.self) { try await limiter.withReservation(70, for: "x") { throw Boom() } }
        #expect(await limiter.statistics().inUse == 0)
    }

    @Test("under concurrent load the bytes held never exceed the budget") func stress() async throws {
        let budget = 1_000
        let limiter = MemoryLimiter(budget: budget)
        let held = Locked((now: 0, peak: 0))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<400 {
                group.addTask {
                    let bytes = [1, 7, 50, 120, 333, 999, 1_500][i % 7]
                    let task = Task {
                        try await limiter.withReservation(bytes, for: "task \(i)") {
                            let granted = min(bytes, budget)
                            held.withLock { $0.now += granted; $0.peak = max($0.peak, $0.now) }
                            await Task.yield()
                            held.withLock { $0.now -= granted }
                        }
                    }
                    if i % 13 == 0 { task.cancel() }
                    _ = try? await task.value
                }
            }
            try await group.waitForAll()
        }
        let stats = await limiter.statistics()
        #expect(held.withLock { $0.peak } <= budget)
        #expect(stats.peak <= budget)
        #expect(stats.inUse == 0)
        #expect(stats.currentlyWaiting == 0)
        #expect(stats.waits > 0)
    }
}

/// A value shared between test tasks, behind a lock.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}
