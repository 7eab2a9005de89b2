import Synchronization
import Testing
@testable import FerryCore

@Suite("serve connection pool")
struct ServeConnectionPoolTests {
    /// Counts connects; the attempts in `failing` (counted from 1) are refused.
    final class Peer: Sendable {
        let attempts = Atomic(0)
        let failing: Set<Int>
        init(failing: Set<Int> = []) { self.failing = failing }

        var count: Int { attempts.load(ordering: .relaxed) }

        /// A pool of connections that greet like a real `nix-store --serve`.
        func pool() -> ServeConnectionPool {
            ServeConnectionPool(limit: 1) { [self] in
                let attempt = attempts.add(1, ordering: .relaxed).newValue
                if failing.contains(attempt) {
                    throw ServeError(peer: "test peer", operation: "handshake", reason: "attempt \(attempt) refused",
                                     peerDiagnostics: "")
                }
                let greeting = [ServeProtocol.magic2, 0x207].flatMap { withUnsafeBytes(of: UInt64($0).littleEndian) { Array($0) } }
                return try await ServeClient.connect(over: ReplayTransport(reply: greeting))
            }
        }
    }

    @Test("a connection opened ahead is the one lent out, and only one is opened ahead") func openAhead() async throws {
        let peer = Peer()
        let pool = peer.pool()
        await pool.openAhead()
        await pool.openAhead()
        #expect(peer.count == 1)
        let client = try await pool.checkOut()
        #expect(peer.count == 1)
        await pool.checkIn(client)
        await pool.close()
    }

    @Test("a failed open-ahead leaves its error to the first real use") func failedOpenAhead() async throws {
        let peer = Peer(failing: [1, 2])
        let pool = peer.pool()
        await pool.openAhead()
        await #expect(throws: ServeError.self) { _ = try await pool.checkOut() }
        #expect(peer.count == 2)
        let client = try await pool.checkOut()
        #expect(peer.count == 3)
        await pool.checkIn(client)
        await pool.close()
    }

    @Test("a connection handed back twice (a failed commit, then its abort) counts once against the limit")
    func discardedTwice() async throws {
        let peer = Peer()
        let pool = peer.pool()
        let first = try await pool.checkOut()
        await pool.discard(first)
        await pool.discard(first)
        let second = try await pool.checkOut()
        #expect(peer.count == 2)
        // The limit is 1 and `second` is out: a third borrower waits for it.
        let third = Task { try await pool.checkOut() }
        try await Task.sleep(for: .milliseconds(200))
        #expect(peer.count == 2, "a connection beyond the limit was opened")
        await pool.checkIn(second)
        let client = try await third.value
        #expect(client === second)
        await pool.checkIn(client)
        await pool.close()
    }
}
