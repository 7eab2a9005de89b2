import Testing
@testable import FerryCore

@Suite("signing keys")
struct SigningKeyTests {
    @Test("a Nix key pair loads, and the secret's public half is Nix's public key") func loads() throws {
        let secret = try SecretKey(parsing: Fixture.text("test-key-1.sec"))
        let publicKey = try PublicKey(parsing: Fixture.text("test-key-1.pub"))
        #expect(secret.name == "test-key-1")
        #expect(secret.publicKey == publicKey)
        #expect(secret.rendered == (try Fixture.text("test-key-1.sec")))
        #expect(publicKey.rendered == (try Fixture.text("test-key-1.pub")))
    }

    @Test("the fingerprint and signature of a narinfo Nix signed", arguments: ["top.narinfo", "dep.narinfo"])
    func matchesNix(name: String) throws {
        let narinfo = try NarInfo(parsing: Fixture.text(name))
        let publicKey = try PublicKey(parsing: Fixture.text("test-key-1.pub"))
        let secret = try SecretKey(parsing: Fixture.text("test-key-1.sec"))
        let nixSignature = try #require(narinfo.info.signatures.first)
        #expect(publicKey.verify(nixSignature, of: narinfo.info.fingerprint))
        #expect(narinfo.info.isSigned(byAnyOf: [publicKey]))
        // Ed25519 is deterministic: Ferry's signature is Nix's, byte for byte.
        #expect(secret.sign(narinfo.info.fingerprint) == nixSignature)
    }

    @Test("the fingerprint has Nix's shape") func fingerprintShape() throws {
        let narinfo = try NarInfo(parsing: Fixture.text("top.narinfo"))
        #expect(narinfo.info.fingerprint == "1;/nix/store/f762sh7vjhzvn5vgh8py7zj4iv8sgm3i-ferry-fixture-top;sha256:1hb58wgrnw39iirqz5ic7bi6q5xv00fc1fbim49j7h295wrc5q9v;1008;/nix/store/srfn4ijwnc1lv2nimkijgrd2gy6hyp62-ferry-fixture-dep")
    }

    @Test("a signature fails for another key, another name or another message") func verifyFails() throws {
        let narinfo = try NarInfo(parsing: Fixture.text("top.narinfo"))
        let signature = try #require(narinfo.info.signatures.first)
        let other = try SecretKey(generatingNamed: "test-key-1").publicKey
        #expect(!other.verify(signature, of: narinfo.info.fingerprint))
        let nixKey = try PublicKey(parsing: Fixture.text("test-key-1.pub"))
        #expect(!nixKey.verify(signature, of: narinfo.info.fingerprint + "x"))
        #expect(!nixKey.verify(signature.replacingOccurrences(of: "test-key-1:", with: "other:"), of: narinfo.info.fingerprint))
    }

    @Test("a generated key round-trips through its file form and signs") func generated() throws {
        let key = try SecretKey(generatingNamed: "cache.example.org-1")
        let reloaded = try SecretKey(parsing: key.rendered + "\n")
        #expect(reloaded.publicKey == key.publicKey)
        var info = try NarInfo(parsing: Fixture.text("dep.narinfo")).info
        key.sign(&info)
        #expect(info.signatures.count == 2)
        #expect(info.isSigned(byAnyOf: [key.publicKey]))
    }

    @Test("bad key files are refused with a reason", arguments: [
        ("nocolon", "NAME:BASE64"),
        (":AAAA", "key name"),
        ("k:!!!", "base64"),
        ("k:AzYLsjZEqC0K6Bl8OVhdARA2WD+yRyd5ukhjJbFwK3M=", "32 bytes; expected 64 (this is a public key"),
        ("k:AzYLsjZEqC0K6Bl8OVhdARA2WD+yRyd5", "24 bytes; expected 64"),
    ])
    func badSecretKeys(text: String, expected: String) {
        do {
            _ = try SecretKey(parsing: text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }

    @Test("a secret key whose halves do not match is refused") func mismatchedHalves() throws {
        let good = try Fixture.text("test-key-1.sec")
        let other = try SecretKey(generatingNamed: "test-key-1").rendered
        // Nix's seed with another key's public half.
        let base64Good = Array(Data(base64Encoded: String(good.split(separator: ":")[1]))!)
        let base64Other = Array(Data(base64Encoded: String(other.split(separator: ":")[1]))!)
        let spliced = "test-key-1:" + Data(base64Good[0..<32] + base64Other[32..<64]).base64EncodedString()
        #expect(throws: KeyError.self) { try SecretKey(parsing: spliced) }
    }
}

import Foundation
