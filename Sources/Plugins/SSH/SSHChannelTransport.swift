import CSSH2
import FerryCore
import Synchronization

/// The serve protocol over an SSH `exec` channel running the remote `nix-store --serve`.
///
/// stdout and stderr are both drained on every wait, so neither can fill the channel's
/// window; stderr's tail is kept for errors. A read or write that moves no byte for
/// `io-timeout` fails with an error naming the host.
///
/// After each read the session's thread goes on deciphering what has already arrived, up
/// to `ReadAhead.limit` and never waiting for more, so the next chunk of a NAR is
/// decrypted while the caller hashes and compresses this one; the caller takes read-ahead
/// bytes without going through the session's queue.
final class SSHChannelTransport: ServeTransport, @unchecked Sendable {
    let peer: String
    private let session: SSHSession
    /// Touched only on the session's queue.
    private let channel: OpaquePointer
    private let ahead = Mutex(ReadAhead())
    private let stderrTail = Mutex(TailBuffer(limit: 16 * 1024))
    private let closed = Atomic<Bool>(false)

    private init(session: SSHSession, channel: OpaquePointer) {
        self.session = session
        self.channel = channel
        peer = session.endpoint.description
    }

    /// Opens a session to the endpoint and starts the serve command on it.
    static func open(_ endpoint: SSHEndpoint) async throws -> SSHChannelTransport {
        let session = try await SSHSession.open(endpoint)
        do {
            let channel = try await session.performUntilCancelled { session in
                let deadline = Deadline.after(endpoint.connectTimeout, setting: "connect-timeout")
                let channel = try session.retryPointer("open a channel", deadline: deadline) {
                    ferry_ssh2_channel_open_session(session.handle, endpoint.window)
                }
                do {
                    try session.retry("run \(endpoint.serveCommand)", deadline: deadline) {
                        ferry_ssh2_channel_exec(channel, endpoint.serveCommand)
                    }
                } catch {
                    libssh2_channel_free(channel)
                    throw error
                }
                return UnsafeSendable(channel)
            }
            return SSHChannelTransport(session: session, channel: channel.value)
        } catch {
            await session.close()
            throw error
        }
    }

    var peerDiagnostics: String { stderrTail.withLock { $0.text } }

    func read(maxLength: Int) async throws -> [UInt8] {
        if let bytes = ahead.withLock({ $0.take(maxLength) }) {
            readAheadLater()
            return bytes
        }
        let bytes = try await session.performUntilCancelled { [self] session in
            // A read-ahead may have run while this waited for the queue.
            if let bytes = ahead.withLock({ $0.take(maxLength) }) { return bytes }
            let deadline = Deadline.after(session.endpoint.ioTimeout, setting: "io-timeout")
            while true {
                let (bytes, n) = readChannel(maxLength)
                drainStderr()
                if n > 0 { return bytes }
                if n == 0 && libssh2_channel_eof(channel) != 0 { return [] }
                if n < 0 && n != Int(FERRY_LIBSSH2_ERROR_EAGAIN) { throw session.lastError("read from the remote nix-store", code: n) }
                try session.waitForSocket(until: deadline, doing: "reading from the remote nix-store")
            }
        }
        if !bytes.isEmpty { readAheadLater() }
        return bytes
    }

    /// One `libssh2_channel_read` of at most `maxLength` bytes: what it read, and its
    /// result. Runs on the session's queue.
    private func readChannel(_ maxLength: Int) -> ([UInt8], Int) {
        var result = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: maxLength) { buffer, count in
            result = ferry_ssh2_channel_read(channel, UnsafeMutableRawPointer(buffer.baseAddress!)
                .assumingMemoryBound(to: CChar.self), maxLength)
            count = max(result, 0)
        }
        return (bytes, result)
    }

    /// Queues a read-ahead unless one is queued or enough is read ahead already.
    private func readAheadLater() {
        guard ahead.withLock({ $0.claim() }) else { return }
        session.performLater { [self] _ in readAhead() }
    }

    /// Reads what has arrived, without waiting for more; an error or the end is left for
    /// the next `read` to meet. Runs on the session's queue.
    private func readAhead() {
        defer { ahead.withLock { $0.running = false } }
        guard !closed.load(ordering: .acquiring) else { return }
        while case let room = ahead.withLock({ ReadAhead.limit - $0.count }), room > 0 {
            let (bytes, n) = readChannel(min(room, ReadAhead.chunk))
            guard n > 0 else { break }
            ahead.withLock { $0.append(bytes) }
        }
        drainStderr()
    }

    func write(_ bytes: ArraySlice<UInt8>) async throws {
        try await session.performUntilCancelled { [self] session in
            var deadline = Deadline.after(session.endpoint.ioTimeout, setting: "io-timeout")
            var offset = bytes.startIndex
            while offset < bytes.endIndex {
                let n = bytes[offset...].withUnsafeBytes {
                    ferry_ssh2_channel_write(channel, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count)
                }
                drainStderr()
                if n > 0 {
                    offset += n
                    deadline = Deadline.after(session.endpoint.ioTimeout, setting: "io-timeout")
                    continue
                }
                if n < 0 && n != Int(FERRY_LIBSSH2_ERROR_EAGAIN) { throw session.lastError("write to the remote nix-store", code: n) }
                try session.waitForSocket(until: deadline, doing: "writing to the remote nix-store")
            }
        }
    }

    /// Sends EOF (the remote nix-store then exits), collects its last words on stderr,
    /// and closes the channel and the session. Only the first call does anything.
    func close() async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = try? await session.perform { [self] session in
            // A peer that is gone or stalled gets one second to say its last words.
            let deadline = Deadline.after(.seconds(1), setting: "close")
            try? session.retry("send EOF", deadline: deadline) { ferry_ssh2_channel_send_eof(channel) }
            // EOF is asked after each read: the read may have taken it off the socket, and
            // a wait on the socket would then sit out its whole slice.
            while ContinuousClock.now < deadline.instant {
                _ = readChannel(16 * 1024)
                drainStderr()
                if libssh2_channel_eof(channel) != 0 { break }
                try? session.waitForSocket(until: deadline, doing: "close")
            }
            drainStderr()
            try? session.retry("close the channel", deadline: deadline) { ferry_ssh2_channel_close(channel) }
            libssh2_channel_free(channel)
        }
        await session.close()
    }

    /// Reads whatever stderr holds now into the tail. Runs on the session's queue.
    private func drainStderr() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes {
                ferry_ssh2_channel_read_stderr(channel, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count)
            }
            guard n > 0 else { return }
            stderrTail.withLock { $0.append(buffer[0..<n]) }
        }
    }
}

/// A libssh2 handle handed from the session's queue back to the task that owns it.
struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Bytes read from the channel ahead of the caller, kept as the chunks they were read
/// in and handed over whole when they fit, so read-ahead costs no copy.
private struct ReadAhead: ~Copyable {
    /// At most this much is read ahead, in reads of at most `chunk`.
    static let limit = 1 << 20
    static let chunk = 128 << 10
    /// Oldest first; together they hold `count` bytes.
    private var chunks: [[UInt8]] = []
    private(set) var count = 0
    /// A read-ahead is queued or running.
    var running = false

    /// Up to `maxLength` of the oldest bytes, or nil when none is there.
    mutating func take(_ maxLength: Int) -> [UInt8]? {
        guard !chunks.isEmpty else { return nil }
        let taken: [UInt8]
        if chunks[0].count <= maxLength {
            taken = chunks.removeFirst()
        } else {
            taken = Array(chunks[0].prefix(maxLength))
            chunks[0].removeFirst(maxLength)
        }
        count -= taken.count
        return taken
    }

    /// A short read is copied out of its chunk-sized buffer, so what is held stays near `count`.
    mutating func append(_ more: [UInt8]) {
        chunks.append(more.count * 2 < more.capacity ? Array(more) : more)
        count += more.count
    }

    /// True when the caller should queue a read-ahead (and it is now marked queued).
    mutating func claim() -> Bool {
        guard !running && count < Self.limit else { return false }
        running = true
        return true
    }
}
