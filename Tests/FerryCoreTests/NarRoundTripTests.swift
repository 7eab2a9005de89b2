import FerryTestSupport
import Foundation
import Testing
@testable import FerryCore

@Suite("NAR restore and dump")
struct NarRoundTripTests {
    /// Restores `nar` into a new path under `dir` and dumps it back.
    private func roundTrip(_ nar: [UInt8], in dir: TemporaryDirectory, name: String = "out") throws -> [UInt8] {
        let target = dir.path + "/" + name
        var restorer = NarRestorer(target: target)
        defer { restorer.closeAll() }
        var parser = NarParser()
        _ = try nar.withUnsafeBytes { try parser.feed($0, to: &restorer) }
        try parser.finish()
        restorer.closeAll()
        var dumped: [UInt8] = []
        try NarDumper.dump(path: target) { dumped.append(contentsOf: $0) }
        return dumped
    }

    @Test("NARs written by Nix restore and dump back to the same bytes", arguments: ["tree.nar", "top.nar"])
    func realNars(name: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let nar = try Fixture.data(name)
        #expect(try roundTrip(nar, in: dir) == nar)
    }

    @Test("restores modes, links and contents") func restoredTree() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        _ = try roundTrip(Fixture.data("tree.nar"), in: dir)
        let fm = FileManager.default
        #expect(try String(contentsOfFile: dir.path + "/out/a.txt", encoding: .utf8) == "hello\n")
        #expect(try fm.destinationOfSymbolicLink(atPath: dir.path + "/out/link") == "a.txt")
        #expect(fm.isExecutableFile(atPath: dir.path + "/out/sub/run.sh"))
        #expect(!fm.isExecutableFile(atPath: dir.path + "/out/a.txt"))
    }

    @Test("a root file and a root symlink round-trip") func nonDirectoryRoots() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let file = nar([.s("nix-archive-1"), .s("("), .s("type"), .s("regular"), .s("contents"),
                        .raw(Array(repeating: 7, count: 300_001)), .s(")")])
        #expect(try roundTrip(file, in: dir, name: "f") == file)
        let link = nar([.s("nix-archive-1"), .s("("), .s("type"), .s("symlink"), .s("target"), .s("../dangling"), .s(")")])
        #expect(try roundTrip(link, in: dir, name: "l") == link)
    }

    @Test("refuses to restore over an existing path") func existingTarget() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path + "/out", withIntermediateDirectories: false)
        #expect(throws: SystemError.self) { _ = try roundTrip(Fixture.data("tree.nar"), in: dir) }
    }

    @Test("a NAR that tries to climb out writes nothing outside its target") func escape() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let evil = directory([entry(Array("..".utf8))])
        #expect(throws: NarFormatError.self) { _ = try roundTrip(evil, in: dir) }
        let contents = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(contents == ["out"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/out").isEmpty)
    }
}
