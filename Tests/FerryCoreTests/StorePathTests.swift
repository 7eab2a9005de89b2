import FerryTestSupport
import Foundation
import Testing
@testable import FerryCore

@Suite("store paths")
struct StorePathTests {
    @Test("parses a path into its parts") func parts() throws {
        let path = try StorePath("/nix/store/f762sh7vjhzvn5vgh8py7zj4iv8sgm3i-ferry-fixture-top")
        #expect(path.hashPart == "f762sh7vjhzvn5vgh8py7zj4iv8sgm3i")
        #expect(path.name == "ferry-fixture-top")
        #expect(path.baseName == "f762sh7vjhzvn5vgh8py7zj4iv8sgm3i-ferry-fixture-top")
        #expect(path.path == "/nix/store/f762sh7vjhzvn5vgh8py7zj4iv8sgm3i-ferry-fixture-top")
        #expect(try StorePath(baseName: path.baseName) == path)
    }

    @Test("accepts every name character Nix allows") func oddNames() throws {
        let path = try StorePath("/nix/store/00000000000000000000000000000000-a+b-c.d_e?f=g")
        #expect(path.name == "a+b-c.d_e?f=g")
        _ = try StorePath("/nix/store/00000000000000000000000000000000-" + String(repeating: "x", count: 211))
        _ = try StorePath("/other/store/00000000000000000000000000000000-x", storeDir: "/other/store")
    }

    @Test("rejects what Nix rejects", arguments: [
        "/nix/store/f762sh7vjhzvn5vgh8py7zj4iv8sgm3i",                     // no name
        "/nix/store/f762sh7vjhzvn5vgh8py7zj4iv8sgm3i-",                    // empty name
        "/nix/store/f762sh7vjhzvn5vgh8py7zj4iv8sgm3-short",                // hash too short
        "/nix/store/e762sh7vjhzvn5vgh8py7zj4iv8sgm3i-x",                   // 'e' is not nix32
        "/nix/store/f762sh7vjhzvn5vgh8py7zj4iv8sgm3i-a b",                 // space
        "/nix/store/f762sh7vjhzvn5vgh8py7zj4iv8sgm3i-a/b",                 // slash
        "/nix/store/f762sh7vjhzvn5vgh8py7zj4iv8sgm3i-é",                   // non-ASCII
        "/nix/store/f762sh7vjhzvn5vgh8py7zj4iv8sgm3i-.",
        "/nix/store/f762sh7vjhzvn5vgh8py7zj4iv8sgm3i-..",
        "/nix/store/f762sh7vjhzvn5vgh8py7zj4iv8sgm3i-.-x",
        "/nix/store/f762sh7vjhzvn5vgh8py7zj4iv8sgm3i-" + String(repeating: "x", count: 212),
        "/nix/storef762sh7vjhzvn5vgh8py7zj4iv8sgm3i-x",                    // not inside the store
        "/usr/store/f762sh7vjhzvn5vgh8py7zj4iv8sgm3i-x",
    ])
    func rejects(input: String) {
        #expect(throws: StorePathError.self) { try StorePath(input) }
    }

    @Test("a path given as a symlink into the store, or inside a store path, resolves to the store path")
    func resolving() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let top = "/nix/store/f762sh7vjhzvn5vgh8py7zj4iv8sgm3i-ferry-fixture-top"
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/result", withDestinationPath: top + "/bin/top")
        #expect(try StorePath(resolving: dir.path + "/result").path == top)
        #expect(try StorePath(resolving: top + "/bin/top").path == top)
        #expect(try StorePath(resolving: top).path == top)
        #expect(throws: StorePathError.self) { try StorePath(resolving: dir.path) }
        #expect(throws: StorePathError.self) { try StorePath(resolving: "/etc/hostname") }
    }

    @Test("orders by base name, bytewise") func ordering() throws {
        let a = try StorePath("/nix/store/0000000000000000000000000000000a-z")
        let b = try StorePath("/nix/store/0000000000000000000000000000000b-a")
        #expect(a < b)
        #expect([b, a].sorted() == [a, b])
    }
}
