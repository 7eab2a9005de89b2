@testable import FerryCore

/// A serve peer that plays back recorded bytes and records what the client sends.
final class ReplayTransport: ServeTransport {
    let peer = "replay peer"
    let peerDiagnostics: String
    private var reply: [UInt8]
    private let pieceSize: Int
    private(set) var sent: [UInt8] = []
    private(set) var closed = false

    init(reply: [UInt8], pieceSize: Int = 100, diagnostics: String = "") {
        self.reply = reply
        self.pieceSize = pieceSize
        self.peerDiagnostics = diagnostics
    }

    func read(maxLength: Int) async throws -> [UInt8] {
        let n = min(maxLength, pieceSize, reply.count)
        defer { reply.removeFirst(n) }
        return Array(reply[0..<n])
    }

    func write(_ bytes: ArraySlice<UInt8>) async throws { sent.append(contentsOf: bytes) }

    func close() async { closed = true }
}
