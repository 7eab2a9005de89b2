import Foundation

/// Runs `body` on a thread of its own and waits for it without holding a thread of
/// Swift's cooperative pool: for calls that block for long (a file system sync, a
/// watch loop), which would otherwise stall every task while the pool is only as wide
/// as the machine has cores.
public func onOwnThread<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
    let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, E>, Never>) in
        Thread.detachNewThread {
            do throws(E) { continuation.resume(returning: .success(try body())) } catch {
                continuation.resume(returning: .failure(error))
            }
        }
    }
    return try result.get()
}
