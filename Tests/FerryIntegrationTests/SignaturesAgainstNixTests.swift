import FerryTestSupport
import Foundation
import Testing
import FerryCore

@Suite("signatures against real Nix", Peers.nix)
struct SignaturesAgainstNixTests {
    /// A cache written by `nix copy`, signed with a key Nix generated.
    private func nixSignedCache(in dir: TemporaryDirectory) throws -> (cache: String, top: StorePath, secret: String, public: String) {
        let (top, _) = try NixStore.closure.get()
        let secret = dir.path + "/nix.sec", publicFile = dir.path + "/nix.pub"
        try run(["nix-store", "--generate-binary-cache-key", "nix-test-1", secret, publicFile])
        let cache = dir.path + "/cache"
        try run(["nix", "copy", "--to", "file://\(cache)?secret-key=\(secret)&compression=none", top.path])
        return (cache, top, secret, publicFile)
    }

    @Test("narinfos nix copy wrote parse, re-render, verify, and Ferry's signature is Nix's")
    func nixWritten() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (cache, _, secretFile, publicFile) = try nixSignedCache(in: dir)
        let publicKey = try PublicKey(parsing: String(contentsOfFile: publicFile, encoding: .utf8))
        let secret = try SecretKey(contentsOfFile: secretFile)
        let files = try narinfos(in: cache)
        #expect(files.count == 4)
        for file in files {
            let text = try String(contentsOfFile: cache + "/" + file, encoding: .utf8)
            let narinfo = try NarInfo(parsing: text, source: file)
            #expect(narinfo.rendered() == text)
            #expect(narinfo.info.isSigned(byAnyOf: [publicKey]))
            #expect(narinfo.info.signatures == [secret.sign(narinfo.info.fingerprint)])
        }
    }

    @Test("nix store verify trusts a signature made with a key Ferry generated") func ferryKeyTrustedByNix() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (cache, top, _, _) = try nixSignedCache(in: dir)
        let key = try SecretKey(generatingNamed: "ferry-test-1")
        for file in try FileManager.default.contentsOfDirectory(atPath: cache) where file.hasSuffix(".narinfo") {
            var narinfo = try NarInfo(parsing: String(contentsOfFile: cache + "/" + file, encoding: .utf8))
            narinfo.info.signatures = []
            key.sign(&narinfo.info)
            try narinfo.rendered().write(toFile: cache + "/" + file, atomically: true, encoding: .utf8)
        }
        try run(["nix", "store", "verify", "--store", "file://\(cache)", "-r", top.path,
                 "--trusted-public-keys", key.publicKey.rendered])
        let untrusted = try run(["nix", "store", "verify", "--store", "file://\(cache)", "-r", top.path,
                                 "--trusted-public-keys", try SecretKey(generatingNamed: "ferry-test-1").publicKey.rendered],
                                check: false)
        #expect(untrusted.status != 0)
    }
}
