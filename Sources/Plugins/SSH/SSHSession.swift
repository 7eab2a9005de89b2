import CSSH2
import Dispatch
import FerryCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One SSH connection through libssh2: a TCP socket, a non-blocking session, and the
/// serial queue every libssh2 call for it runs on (libssh2 sessions are not thread-safe).
///
/// Waits are `poll` calls on that queue's thread, in short slices, never on Swift's
/// cooperative threads; each slice also sends keepalives and checks deadlines.
final class SSHSession: @unchecked Sendable {
    let endpoint: SSHEndpoint
    private let queue: DispatchQueue
    private let socket: Int32
    /// Owned by this object; freed in `close`. Touched only on `queue`.
    private let session: OpaquePointer
    private let closed = Atomic<Bool>(false)
    /// Keepalives for a session no call is waiting on: a source's control connection sits
    /// idle through the whole copy, holding the paths' GC roots, and a server's
    /// `ClientAliveInterval` or a NAT would drop it. Runs on `queue`; cancelled in teardown.
    private var idleKeepalive: DispatchSourceTimer?
    /// When libssh2 said the next keepalive is due; until then none is offered, so a wait
    /// on a busy session costs no extra call. Touched only on `queue`.
    private var keepaliveDue = ContinuousClock.now
    /// The stop of the call running on `queue`, if it can be stopped. Touched only on `queue`.
    private var runningCallStop: CallStop?

    private static let initialized: Int32 = libssh2_init(0)

    /// Connects, checks the host key, and authenticates, all within `connectTimeout`; a
    /// cancelled task stops waiting within a slice, as `performUntilCancelled` does.
    static func open(_ endpoint: SSHEndpoint) async throws -> SSHSession {
        guard initialized == 0 else { throw SSHError(endpoint, "libssh2 could not be initialised") }
        let queue = DispatchQueue(label: "ferry.ssh.\(endpoint.host)")
        return try await run(on: queue) { stop in try SSHSession(endpoint, queue: queue, stop: stop) }
    }

    /// Runs on `queue`: the blocking part of `open`.
    private init(_ endpoint: SSHEndpoint, queue: DispatchQueue, stop: CallStop) throws {
        self.endpoint = endpoint
        self.queue = queue
        let deadline = Deadline.after(endpoint.connectTimeout, setting: "connect-timeout")
        socket = try SSHSession.connectSocket(endpoint, deadline: deadline, stop: stop)
        guard let session = ferry_ssh2_session_init() else {
            Glibc.close(socket)
            throw SSHError(endpoint, "libssh2 could not create a session")
        }
        self.session = session
        runningCallStop = stop
        defer { runningCallStop = nil }
        do {
            libssh2_session_set_blocking(session, 0)
            if endpoint.compress { libssh2_session_flag(session, LIBSSH2_FLAG_COMPRESS, 1) }
            let hostKeys = try HostKeyCheck(endpoint)
            if let preference = hostKeys.methodPreference {
                // libssh2 prefers ECDSA; without this it would miss an ed25519 entry.
                _ = libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, preference)
            }
            try retry("SSH handshake", deadline: deadline) { libssh2_session_handshake(session, socket) }
            try hostKeys.verify(presentedKey())
            try SSHAuthentication(endpoint).authenticate(self, deadline: deadline)
            if let interval = endpoint.keepalive {
                libssh2_keepalive_config(session, 0, UInt32(max(1, interval.components.seconds)))
                // Every second: libssh2 counts whole seconds and sends only once one is due.
                idleKeepalive = startIdleKeepalive(every: .seconds(1))
            }
        } catch {
            teardown()
            throw error
        }
    }

    /// Offers libssh2 a keepalive on a timer, for a session no call is waiting on; calls
    /// that wait on the socket offer theirs in `waitForSocket`.
    private func startIdleKeepalive(every interval: DispatchTimeInterval) -> DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak self] in
            guard let self, !closed.load(ordering: .acquiring) else { return }
            sendKeepaliveIfSafe()
        }
        timer.resume()
        return timer
    }

    /// Lets libssh2 send a keepalive when one is due, but only when it cannot be left
    /// half-sent: no write of libssh2's is unfinished and the socket has room. libssh2 1.10
    /// keeps a half-sent keepalive as pending and then refuses every other packet
    /// (LIBSSH2_ERROR_BAD_USE), which would break the session's NAR upload.
    private func sendKeepaliveIfSafe() {
        guard endpoint.keepalive != nil, ContinuousClock.now >= keepaliveDue,
              libssh2_session_block_directions(session) & LIBSSH2_SESSION_BLOCK_OUTBOUND == 0 else { return }
        var writable = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
        guard poll(&writable, 1, 0) == 1, writable.revents & Int16(POLLOUT) != 0 else { return }
        var secondsToNext: Int32 = 0
        if libssh2_keepalive_send(session, &secondsToNext) == 0 {
            keepaliveDue = ContinuousClock.now + .seconds(Int(secondsToNext))
        }
    }

    /// The host key the server presented in the handshake.
    private func presentedKey() throws -> HostKey {
        var length = 0
        var type: Int32 = 0
        guard let raw = libssh2_session_hostkey(session, &length, &type), length > 0 else {
            throw SSHError(endpoint, "the server presented no host key")
        }
        let blob = raw.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
        return HostKey(type: SSHSession.keyTypeName(blob: blob), blob: blob)
    }

    /// The type name at the start of a key blob (`string type` in SSH wire format).
    static func keyTypeName(blob: [UInt8]) -> String {
        guard blob.count >= 4 else { return "unknown" }
        let length = Int(blob[0]) << 24 | Int(blob[1]) << 16 | Int(blob[2]) << 8 | Int(blob[3])
        guard blob.count >= 4 + length else { return "unknown" }
        return String(decoding: blob[4..<(4 + length)], as: UTF8.self)
    }

    // MARK: running libssh2 calls

    /// Runs `body` on the session's queue.
    func perform<R: Sendable>(_ body: @escaping @Sendable (SSHSession) throws -> R) async throws -> R {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body(self) }) }
        }
    }

    /// Runs `body` on the session's queue; once the task is cancelled, its waits end
    /// within a slice by throwing `CancellationError`, so a stop does not sit out an
    /// `io-timeout` on a stalled peer. A channel whose call was cut short cannot go on.
    func performUntilCancelled<R: Sendable>(_ body: @escaping @Sendable (SSHSession) throws -> R) async throws -> R {
        try await SSHSession.run(on: queue) { stop in
            self.runningCallStop = stop
            defer { self.runningCallStop = nil }
            return try body(self)
        }
    }

    /// Runs `body` on `queue` with a stop that cancelling the task sets, which the waits
    /// of the call on `queue` check (`waitForSocket`, and `connectSocket` while opening).
    private static func run<R: Sendable>(on queue: DispatchQueue, _ body: @escaping @Sendable (CallStop) throws -> R) async throws -> R {
        let stop = CallStop()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.async { continuation.resume(with: Result { try body(stop) }) }
            }
        } onCancel: {
            stop.requested.store(true, ordering: .releasing)
        }
    }

    /// Set when the task of a call made with `run(on:)` (opening a session, or
    /// `performUntilCancelled`) is cancelled.
    private final class CallStop: Sendable {
        let requested = Atomic<Bool>(false)
    }

    /// Queues `body` on the session's queue without waiting for it.
    func performLater(_ body: @escaping @Sendable (SSHSession) -> Void) {
        queue.async { body(self) }
    }

    /// The raw session, for calls made on the queue.
    var handle: OpaquePointer { session }

    /// Repeats a libssh2 call while it says EAGAIN, waiting on the socket in between,
    /// until `deadline`. Returns the call's non-negative result.
    @discardableResult
    func retry(_ what: String, deadline: Deadline?, _ call: () -> Int) throws -> Int {
        while true {
            let result = call()
            if result >= 0 { return result }
            guard result == Int(FERRY_LIBSSH2_ERROR_EAGAIN) else { throw lastError(what, code: result) }
            try waitForSocket(until: deadline, doing: what)
        }
    }

    func retry(_ what: String, deadline: Deadline?, _ call: () -> Int32) throws {
        try retry(what, deadline: deadline) { Int(call()) }
    }

    /// Repeats a libssh2 call that returns a pointer while it fails with EAGAIN.
    func retryPointer(_ what: String, deadline: Deadline?, _ call: () -> OpaquePointer?) throws -> OpaquePointer {
        while true {
            if let pointer = call() { return pointer }
            let code = libssh2_session_last_errno(session)
            guard code == FERRY_LIBSSH2_ERROR_EAGAIN else { throw lastError(what, code: Int(code)) }
            try waitForSocket(until: deadline, doing: what)
        }
    }

    /// Waits up to 200 ms for the socket to be ready the way libssh2 needs it, sending a
    /// keepalive when one is due; throws when closed or past `deadline`.
    func waitForSocket(until deadline: Deadline?, doing what: String) throws {
        if closed.load(ordering: .acquiring) { throw SSHError(endpoint, "\(what): the connection was closed", transient: true) }
        if runningCallStop?.requested.load(ordering: .acquiring) == true { throw CancellationError() }
        if let deadline, ContinuousClock.now >= deadline.instant {
            throw SSHTimeout(endpoint: endpoint.description, operation: what, limit: deadline.setting)
        }
        sendKeepaliveIfSafe()
        let directions = libssh2_session_block_directions(session)
        var events: Int16 = 0
        if directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events |= Int16(POLLIN) }
        if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= Int16(POLLOUT) }
        if events == 0 { events = Int16(POLLIN) }
        var descriptor = pollfd(fd: socket, events: events, revents: 0)
        _ = poll(&descriptor, 1, 200)
    }

    func lastError(_ what: String, code: Int) -> SSHError {
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        _ = libssh2_session_last_error(session, &message, &length, 0)
        let text = message.map { String(cString: $0) } ?? "libssh2 error \(code)"
        return SSHError(endpoint, "\(what) failed: \(text)", code: code, transient: true)
    }

    // MARK: closing

    /// Disconnects and frees the session; channels must be closed first.
    func close() async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = try? await perform { session in session.teardown() }
    }

    private func teardown() {
        idleKeepalive?.cancel()
        let deadline = ContinuousClock.now + .seconds(1)
        while ferry_ssh2_session_disconnect(session, "ferry is done") == FERRY_LIBSSH2_ERROR_EAGAIN
                && ContinuousClock.now < deadline {
            var descriptor = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
            _ = poll(&descriptor, 1, 100)
        }
        libssh2_session_free(session)
        Glibc.close(socket)
    }

    // MARK: TCP

    /// A TCP connection to the endpoint, made within the deadline (non-blocking connect),
    /// waited for in slices so that a stop is heard.
    private static func connectSocket(_ endpoint: SSHEndpoint, deadline: Deadline, stop: CallStop) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard status == 0, let first = list else {
            // EAI_AGAIN: the name server did not answer, which may pass.
            throw SSHError(endpoint, "cannot resolve \(endpoint.host): \(String(cString: gai_strerror(status)))",
                           transient: status == EAI_AGAIN)
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            entry = address.pointee.ai_next
            let fd = Glibc.socket(address.pointee.ai_family, address.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue),
                                  address.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 || currentErrno() == EINPROGRESS {
                var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                var ready = false
                while !ready && ContinuousClock.now < deadline.instant {
                    if stop.requested.load(ordering: .acquiring) {
                        Glibc.close(fd)
                        throw CancellationError()
                    }
                    let left = max(0, (deadline.instant - ContinuousClock.now).milliseconds)
                    ready = poll(&descriptor, 1, Int32(min(200, left))) == 1
                }
                if ready {
                    var error: Int32 = 0
                    var size = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
                    if error == 0 {
                        var one: Int32 = 1
                        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                        return fd
                    }
                    lastError = String(cString: strerror(error))
                } else {
                    lastError = "no answer within \(endpoint.connectTimeout) (connect-timeout)"
                }
            } else {
                lastError = String(cString: strerror(currentErrno()))
            }
            Glibc.close(fd)
        }
        throw SSHError(endpoint, "cannot connect to port \(endpoint.port): \(lastError)", transient: true)
    }
}
