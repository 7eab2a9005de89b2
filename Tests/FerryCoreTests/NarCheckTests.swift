import Testing
@testable import FerryCore

@Suite("the stream check of a NAR against its content address")
struct NarCheckTests {
    let path = TopologicalOrderTests.path("a", "self")
    let fileNar = nar([.s("nix-archive-1"), .s("("), .s("type"), .s("regular"), .s("contents"), .raw(Array("x".utf8)), .s(")")])

    private func checked(_ info: PathInfo) throws {
        var check = NarCheck(expected: info, buildListing: false)
        try check.update(fileNar[...])
        _ = try check.finish()
    }

    @Test("a NAR-hash address other than the NarHash fails the NAR; on a path that refers to itself it neither fails nor vouches (Nix hashes that NAR modulo its own hash part)")
    func selfReference() throws {
        let other = Hash.sha256(of: [1, 2, 3])
        var info = PathInfo(path: path, narHash: Hash.sha256(of: fileNar), narSize: UInt64(fileNar.count),
                            contentAddress: "fixed:r:\(other.rendered(.nix32))")
        #expect(throws: CopyError.self) { try checked(info) }
        info.references = [path]
        try checked(info)
        #expect(!info.isSelfCertifying)
    }
}
