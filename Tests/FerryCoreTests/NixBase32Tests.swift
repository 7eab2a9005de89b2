import Testing
@testable import FerryCore

@Suite("nix32")
struct NixBase32Tests {
    /// Rows of hash-vectors.tsv: algorithm, base16, nix32, base64, SRI, as Nix converted them.
    static let rows: [[String]] = {
        (try? Fixture.text("hash-vectors.tsv"))?
            .split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { $0.split(separator: "\t").map(String.init) } ?? []
    }()

    @Test("the vector file is there") func vectorsPresent() {
        #expect(Self.rows.count == 16)
    }

    @Test("encodes and decodes as Nix does", arguments: rows)
    func roundTrip(row: [String]) throws {
        let algorithm = try #require(HashAlgorithm(rawValue: row[0]))
        let hash = try Hash(parsing: "\(row[0]):\(row[1])")
        #expect(NixBase32.encode(hash.digest) == row[2])
        #expect(NixBase32.decode(row[2], byteCount: algorithm.byteCount) == hash.digest)
        #expect(row[2].count == NixBase32.encodedLength(byteCount: algorithm.byteCount))
    }

    @Test("documented SHA-256 vectors") func documented() {
        #expect(NixBase32.encode(sha256("abc")) == "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s")
        #expect(NixBase32.encode(sha256("")) == "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73")
    }

    @Test("rejects characters outside the alphabet", arguments: ["e", "o", "u", "t", "A", "-"])
    func rejectsBadCharacter(bad: String) {
        let valid = "1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s"
        let broken = bad + valid.dropFirst()
        #expect(NixBase32.decode(broken, byteCount: 32) == nil)
    }

    @Test("rejects excess high bits and wrong lengths") func rejectsExcessBits() {
        // 52 characters carry 260 bits; a SHA-256 leaves the top 4 unset, so only 0 or 1 may lead.
        #expect(NixBase32.decode("2" + String(repeating: "0", count: 51), byteCount: 32) == nil)
        #expect(NixBase32.decode("1" + String(repeating: "0", count: 51), byteCount: 32) != nil)
        #expect(NixBase32.decode("abc", byteCount: 32) == nil)
    }

    private func sha256(_ s: String) -> [UInt8] {
        var h = HashingCounter()
        Array(s.utf8).withUnsafeBytes { h.update($0) }
        return h.finalize().digest
    }
}
