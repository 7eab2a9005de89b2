import Testing
@testable import FerryCore

@Suite("hash strings")
struct HashTests {
    @Test("every encoding Nix writes parses to the same digest and renders back", arguments: NixBase32Tests.rows)
    func encodings(row: [String]) throws {
        let algorithm = row[0]
        let fromBase16 = try Hash(parsing: "\(algorithm):\(row[1])")
        let fromNix32 = try Hash(parsing: "\(algorithm):\(row[2])")
        let fromBase64 = try Hash(parsing: "\(algorithm):\(row[3])")
        let fromSRI = try Hash(parsing: row[4])
        #expect(fromBase16 == fromNix32)
        #expect(fromBase16 == fromBase64)
        #expect(fromBase16 == fromSRI)
        #expect(fromBase16.encoded(.base16) == row[1])
        #expect(fromBase16.encoded(.nix32) == row[2])
        #expect(fromBase16.encoded(.base64) == row[3])
        #expect(fromBase16.rendered(.sri) == row[4])
        #expect(fromBase16.description == "\(algorithm):\(row[2])")
    }

    @Test("a bare digest needs a default algorithm") func bare() throws {
        let hex = "a01c5312d5a0122350842f4943c855f71bab33c46e54d3d34e930fa4274cf53e"
        #expect(throws: HashParseError.self) { try Hash(parsing: hex) }
        let hash = try Hash(parsing: hex, defaultAlgorithm: .sha256)
        #expect(hash.rendered(.nix32) == "sha256:0gpm9hks83wk9v9x6m3fqhrsn6zpap446j9ghi8264m0sl956750")
    }

    @Test("rejects bad hash strings", arguments: [
        "sha256:", "sha256:xyz", "sha3:0gpm9hks83wk9v9x6m3fqhrsn6zpap446j9ghi8264m0sl956750",
        "sha256:0gpm9hks83wk9v9x6m3fqhrsn6zpap446j9ghi8264m0sl95675e", "sha256-notbase64!!",
        "md5:0gpm9hks83wk9v9x6m3fqhrsn6zpap446j9ghi8264m0sl956750",
    ])
    func rejects(input: String) {
        #expect(throws: HashParseError.self) { try Hash(parsing: input) }
    }

    @Test("hashing in pieces equals hashing at once") func incremental() {
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var whole = HashingCounter()
        bytes.withUnsafeBytes { whole.update($0) }
        var pieces = HashingCounter()
        for start in stride(from: 0, to: bytes.count, by: 7_777) {
            bytes[start..<min(start + 7_777, bytes.count)].withUnsafeBytes { pieces.update($0) }
        }
        #expect(whole.finalize() == pieces.finalize())
        #expect(pieces.count == 100_000)
    }
}
