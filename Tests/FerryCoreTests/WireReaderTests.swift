import Testing
@testable import FerryCore

@Suite("wire format")
struct WireReaderTests {
    private func reader(_ bytes: [UInt8]) -> WireReader {
        WireReader(source: ReplayTransport(reply: bytes, pieceSize: 5))
    }

    @Test("reads what the encoder writes") func roundTrip() async throws {
        var encoder = WireEncoder()
        encoder.u64(42)
        encoder.string("hello")
        encoder.strings(["a", "", "nix-archive-1"])
        let r = reader(encoder.bytes)
        #expect(try await r.u64() == 42)
        #expect(try await r.string(maxLength: 10) == "hello")
        #expect(try await r.strings(maxLength: 20) == ["a", "", "nix-archive-1"])
    }

    @Test("a string longer than allowed is refused before it is read") func tooLong() async {
        var encoder = WireEncoder()
        encoder.u64(1 << 62)
        await #expect(throws: WireError.tooLong(length: 1 << 62, limit: 100)) {
            _ = try await reader(encoder.bytes).string(maxLength: 100)
        }
    }

    @Test("non-zero padding and a short stream are errors") func framing() async {
        await #expect(throws: WireError.nonZeroPadding) {
            _ = try await reader([1, 0, 0, 0, 0, 0, 0, 0, 65, 0, 0, 9, 0, 0, 0, 0]).string(maxLength: 10)
        }
        await #expect(throws: WireError.unexpectedEnd) { _ = try await reader([1, 2, 3]).u64() }
    }
}
