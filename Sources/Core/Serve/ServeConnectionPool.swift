/// Up to `limit` serve-protocol connections to one store, lent to one task at a time.
///
/// A connection that failed mid-command is closed, never lent again; waiters are
/// served in arrival order. Connections are opened when asked for, or one ahead of
/// need with `openAhead`.
public actor ServeConnectionPool {
    public typealias Connect = @Sendable () async throws -> ServeClient

    private let limit: Int
    private let connect: Connect
    private var idle: [ServeClient] = []
    /// The connections lent out: each comes back once, by `checkIn` or `discard`, however
    /// often a borrower's error paths hand it back (a failed commit, then its abort).
    private var lent: Set<ObjectIdentifier> = []
    private var open = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var closed = false
    /// The connection `openAhead` is making. `close` cancels it and waits for it to end: a
    /// handshake still running on its thread when the process exits crashed in libssh2 (a
    /// CI run, status 11), and one waiting on a silent peer would hold a stop for its
    /// connect-timeout.
    private var openingAhead: Task<Void, Never>?

    public init(limit: Int, connect: @escaping Connect) {
        precondition(limit >= 1)
        self.limit = limit
        self.connect = connect
    }

    /// Runs `body` with a connection, and returns the connection to the pool afterwards
    /// unless `body` failed (the connection may be mid-command then).
    public nonisolated func withConnection<R>(_ body: (ServeClient) async throws -> R) async throws -> R {
        let client = try await checkOut()
        do {
            let result = try await body(client)
            await checkIn(client)
            return result
        } catch {
            await discard(client)
            throw error
        }
    }

    /// Takes a connection out of the pool for longer than one call (an upload that
    /// spans several); give it back with `checkIn` or `discard`.
    public func checkOut() async throws -> ServeClient {
        while true {
            if closed { throw CancellationError() }
            if let client = idle.popLast() { return lend(client) }
            if open < limit {
                open += 1
                do {
                    return lend(try await connect())
                } catch {
                    open -= 1
                    wakeOne()
                    throw error
                }
            }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    /// Opens one connection into the idle list unless one is open already. A failure is
    /// dropped: the next `checkOut` connects again and meets it.
    public func openAhead() async {
        guard !closed, open == 0 else { return }
        open += 1
        let opening = Task { adoptOpenedAhead(try? await connect()) }
        openingAhead = opening
        await opening.value
    }

    private func adoptOpenedAhead(_ client: ServeClient?) {
        openingAhead = nil
        if let client {
            makeIdle(client)
        } else {
            open -= 1
            wakeOne()
        }
    }

    private func lend(_ client: ServeClient) -> ServeClient {
        lent.insert(ObjectIdentifier(client))
        return client
    }

    public func checkIn(_ client: ServeClient) {
        guard lent.remove(ObjectIdentifier(client)) != nil else { return }
        makeIdle(client)
    }

    private func makeIdle(_ client: ServeClient) {
        if closed {
            Task { await client.close() }
            return
        }
        idle.append(client)
        wakeOne()
    }

    public func discard(_ client: ServeClient) async {
        guard lent.remove(ObjectIdentifier(client)) != nil else { return }
        open -= 1
        wakeOne()
        await client.close()
    }

    /// Closes every idle connection; connections lent out are closed when they come back.
    public func close() async {
        openingAhead?.cancel()
        await openingAhead?.value
        closed = true
        let clients = idle
        idle.removeAll()
        // Together: a stalled peer takes its close timeout, and the others should not wait in line.
        await withTaskGroup(of: Void.self) { group in
            for client in clients { group.addTask { await client.close() } }
        }
        for waiter in waiters { waiter.resume() }
        waiters.removeAll()
    }

    private func wakeOne() {
        if !waiters.isEmpty { waiters.removeFirst().resume() }
    }
}
