import Testing
@testable import FerryCore

@Suite("narinfo and nix-cache-info")
struct NarInfoTests {
    @Test("files written by nix copy parse and re-render byte for byte", arguments: ["top.narinfo", "dep.narinfo"])
    func reRender(name: String) throws {
        let text = try Fixture.text(name)
        let info = try NarInfo(parsing: text, source: name)
        #expect(info.rendered() == text)
    }

    @Test("fields are read as Nix reads them") func fields() throws {
        let info = try NarInfo(parsing: Fixture.text("top.narinfo"))
        #expect(info.info.path.path == "/nix/store/f762sh7vjhzvn5vgh8py7zj4iv8sgm3i-ferry-fixture-top")
        #expect(info.url == "nar/0m9rycgikhq5c3f2d5j1lm8djxy9j3q10xi4w11hb60a64srjgcv.nar.xz")
        #expect(info.compression == "xz")
        #expect(info.fileSize == 296)
        #expect(info.info.narSize == 1008)
        #expect(info.info.references.map(\.baseName) == ["srfn4ijwnc1lv2nimkijgrd2gy6hyp62-ferry-fixture-dep"])
        #expect(info.info.deriver?.baseName == "93afjvsqgjh4a6shh8yalf3p3jdp675y-ferry-fixture-top.drv")
        #expect(NarInfo.narURL(fileHash: try #require(info.fileHash), compression: "xz") == info.url)
    }

    @Test("NarHash is the SHA-256 of the NAR Nix dumped") func narHashMatchesNar() throws {
        let info = try NarInfo(parsing: Fixture.text("top.narinfo"))
        var hasher = HashingCounter()
        try Fixture.data("top.nar").withUnsafeBytes { hasher.update($0) }
        #expect(hasher.finalize() == info.info.narHash)
        #expect(hasher.count == info.info.narSize)
    }

    @Test("unknown keys are ignored, a missing Compression means bzip2") func lenient() throws {
        let text = """
            StorePath: /nix/store/srfn4ijwnc1lv2nimkijgrd2gy6hyp62-ferry-fixture-dep
            URL: nar/x.nar.bz2
            NarHash: sha256:1w21zl0dqljdazy6cmklci4al77mwy17fhy22lajyngcz27daryq
            NarSize: 536
            References: 
            Deriver: unknown-deriver
            FutureField: whatever

            """
        let info = try NarInfo(parsing: text)
        #expect(info.compression == "bzip2")
        #expect(info.info.references.isEmpty)
        #expect(info.info.deriver == nil)
    }

    @Test("blank values read as Nix reads them: no CA, bzip2, and a References line after an empty one")
    func blanks() throws {
        let text = "StorePath: /nix/store/srfn4ijwnc1lv2nimkijgrd2gy6hyp62-d\nURL: nar/x.nar.bz2\nCompression: \n"
            + "NarHash: sha256:1w21zl0dqljdazy6cmklci4al77mwy17fhy22lajyngcz27daryq\nNarSize: 536\nCA: \n"
            + "References: \nReferences: srfn4ijwnc1lv2nimkijgrd2gy6hyp62-d\n"
        let info = try NarInfo(parsing: text)
        #expect(info.compression == "bzip2")
        #expect(info.info.contentAddress == nil)
        #expect(info.info.references.map(\.baseName) == ["srfn4ijwnc1lv2nimkijgrd2gy6hyp62-d"])
    }

    @Test("CRLF line ends are read as LF", arguments: ["top.narinfo", "nix-cache-info"])
    func crlf(file: String) throws {
        let text = try Fixture.text(file)
        let crlf = text.replacingOccurrences(of: "\n", with: "\r\n")
        if file == "nix-cache-info" {
            #expect(try NixCacheInfo(parsing: crlf + "Priority: 30\r\n").priority == 30)
        } else {
            #expect(try NarInfo(parsing: crlf).rendered() == text)
        }
    }

    @Test("errors name the line or the missing field", arguments: [
        ("StorePath: /nix/store/bad\n", "line 1"),
        ("URL: x\nNarSize: 1\nNarHash: sha256:1w21zl0dqljdazy6cmklci4al77mwy17fhy22lajyngcz27daryq\n", "StorePath is missing"),
        ("StorePath: /nix/store/srfn4ijwnc1lv2nimkijgrd2gy6hyp62-d\nURL: x\nNarHash: sha256:1w21zl0dqljdazy6cmklci4al77mwy17fhy22lajyngcz27daryq\nNarSize: 0\n", "NarSize"),
        ("StorePath: /nix/store/srfn4ijwnc1lv2nimkijgrd2gy6hyp62-d\nURL: x\nNarHash: sha256:zzz\nNarSize: 5\n", "line 3"),
        ("StorePath: /nix/store/srfn4ijwnc1lv2nimkijgrd2gy6hyp62-d\nno colon here\n", "line 2"),
        ("StorePath: /nix/store/srfn4ijwnc1lv2nimkijgrd2gy6hyp62-d\nNarSize: ten\n", "line 2"),
        ("StorePath: /nix/store/srfn4ijwnc1lv2nimkijgrd2gy6hyp62-d\nCA: garbage\n",
         "line 2: CA: 'garbage' is not a content address: it is not in the form '<prefix>:<rest>'"),
        ("StorePath: /nix/store/srfn4ijwnc1lv2nimkijgrd2gy6hyp62-d\nCA: fixed:r:sha256-AAAA\n", "line 2: CA:"),
        ("StorePath: /nix/store/srfn4ijwnc1lv2nimkijgrd2gy6hyp62-d\nCA: text:sha1:0000000000000000000000000000000000000000\n",
         "a text address uses sha256"),
        ("StorePath: /nix/store/srfn4ijwnc1lv2nimkijgrd2gy6hyp62-d\nCA: source:sha256:1w21zl0dqljdazy6cmklci4al77mwy17fhy22lajyngcz27daryq\n",
         "the prefix 'source' is neither"),
    ])
    func errors(text: String, expected: String) {
        do {
            _ = try NarInfo(parsing: text, source: "x.narinfo")
            Issue.record("accepted a broken narinfo")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }

    @Test("nix-cache-info as nix copy wrote it") func cacheInfo() throws {
        let text = try Fixture.text("nix-cache-info")
        let info = try NixCacheInfo(parsing: text)
        #expect(info.storeDir == "/nix/store")
        #expect(info.rendered() == text)
        let full = try NixCacheInfo(parsing: "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\njunk\n")
        #expect(full.wantMassQuery == true)
        #expect(full.priority == 40)
        #expect(throws: NixCacheInfoError.self) { try NixCacheInfo(parsing: "Priority: high\n") }
    }
}
