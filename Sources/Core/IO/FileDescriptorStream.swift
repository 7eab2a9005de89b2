import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Async reads and writes on a pipe or socket descriptor.
///
/// The blocking system calls run on a private dispatch queue, never on Swift's
/// cooperative threads. Every wait is a `poll` in short slices, so a stream can be
/// closed from another task, a cancelled task's read or write ends with
/// `CancellationError` within a slice, and an idle peer turns into `StreamTimeoutError`
/// after `ioTimeout` instead of a wait that never ends.
public final class FileDescriptorStream: AsyncByteSource, AsyncByteSink, Sendable {
    private let fd: Int32
    private let name: String
    private let queue: DispatchQueue
    private let ioTimeout: Duration?
    private let closed = Atomic<Bool>(false)

    /// Takes ownership of `fd`, which `close()` closes, and makes it non-blocking: a write
    /// larger than the room left in a pipe would otherwise block in the kernel for as long
    /// as the peer reads nothing, past the I/O timeout and any cancellation.
    public init(fd: Int32, name: String, ioTimeout: Duration? = nil) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        self.fd = fd
        self.name = name
        self.ioTimeout = ioTimeout
        self.queue = DispatchQueue(label: "ferry.fd.\(name)")
    }

    deinit { close() }

    public func read(maxLength: Int) async throws -> [UInt8] {
        try await onQueue { stream, cancelled throws(any Error) in
            while true {
                try stream.waitUntilReady(for: Int16(POLLIN), unless: cancelled)
                do {
                    return try [UInt8](unsafeUninitializedCapacity: maxLength) { buffer, count in
                        count = try readSome(stream.fd, into: UnsafeMutableRawBufferPointer(buffer), subject: stream.name)
                    }
                } catch let error as SystemError where error.errno == EAGAIN {
                    continue  // ready was a false alarm: the descriptor is non-blocking
                }
            }
        }
    }

    public func write(_ bytes: ArraySlice<UInt8>) async throws {
        try await onQueue { stream, cancelled throws(any Error) in
            var done = bytes.startIndex
            while done < bytes.endIndex {
                try stream.waitUntilReady(for: Int16(POLLOUT), unless: cancelled)
                let n = bytes[done...].withUnsafeBytes { Glibc.write(stream.fd, $0.baseAddress!, $0.count) }
                if n < 0 {
                    if currentErrno() == EINTR || currentErrno() == EAGAIN { continue }
                    throw SystemError("write", stream.name)
                }
                done += n
            }
        }
    }

    /// Closes the descriptor once; waits in progress end with an error (within a poll
    /// slice). The descriptor itself is closed on the stream's queue, after the read or
    /// write in progress has seen the flag: closed under it, its number could be reused by
    /// another file in between, which that read would then take from.
    public func close() {
        if !closed.exchange(true, ordering: .acquiringAndReleasing) {
            queue.async { [fd] in _ = Glibc.close(fd) }
        }
    }

    /// Runs `body` on the stream's queue; the flag it gets is set once the calling task is cancelled.
    private func onQueue<R: Sendable>(_ body: @escaping @Sendable (FileDescriptorStream, CancelFlag) throws(any Error) -> R) async throws -> R {
        let cancelled = CancelFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.async { continuation.resume(with: Result { try body(self, cancelled) }) }
            }
        } onCancel: {
            cancelled.value.store(true, ordering: .releasing)
        }
    }

    /// Polls in slices of at most 200 ms until the descriptor is ready, closed, idle too
    /// long, or the task that waits is cancelled.
    private func waitUntilReady(for events: Int16, unless cancelled: CancelFlag) throws {
        let start = ContinuousClock.now
        while true {
            if closed.load(ordering: .acquiring) { throw StreamClosedError(stream: name) }
            if cancelled.value.load(ordering: .acquiring) { throw CancellationError() }
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let result = poll(&pfd, 1, 200)
            if result > 0 { return }
            if result < 0 && currentErrno() != EINTR { throw SystemError("poll", name) }
            if let ioTimeout, ContinuousClock.now - start >= ioTimeout {
                throw StreamTimeoutError(stream: name, timeout: ioTimeout)
            }
        }
    }
}

/// Set when the task waiting on a stream is cancelled; read by the stream's queue.
private final class CancelFlag: Sendable {
    let value = Atomic<Bool>(false)
}

/// No byte moved on a stream for its whole I/O timeout.
public struct StreamTimeoutError: TransientError, CustomStringConvertible {
    public let stream: String
    public let timeout: Duration
    public var description: String { "no data on \(stream) for \(timeout) (io-timeout)" }
}

/// A stream was used after it was closed.
public struct StreamClosedError: Error, CustomStringConvertible {
    public let stream: String
    public var description: String { "\(stream) was closed" }
}
