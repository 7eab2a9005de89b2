import FerryTestSupport
import Foundation
import Testing
import FerryCore

@Suite("NARs and hashes against real Nix", Peers.nix)
struct NarAgainstNixTests {
    private func ferryDump(_ path: String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try NarDumper.dump(path: path) { bytes.append(contentsOf: $0) }
        return bytes
    }

    @Test("NarDumper and `ferry nar dump` write what nix-store --dump writes", arguments: TreeShapes.all)
    func dump(shape: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try TreeShapes.make(shape, in: dir.path)
        let nix = try NixStore.dump(path)
        #expect(try ferryDump(path) == nix)
        #expect(Array(try run([ferryBinary, "nar", "dump", path]).stdout) == nix)
    }

    @Test("`ferry hash path` is `nix hash path --base32`", arguments: TreeShapes.all)
    func hashPath(shape: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try TreeShapes.make(shape, in: dir.path)
        let nix = try run(["nix", "hash", "path", "--base32", path]).text.trimmingCharacters(in: .whitespacesAndNewlines)
        let ferry = try run([ferryBinary, "hash", "path", path]).text.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(ferry == "sha256:" + nix)
    }

    @Test("`ferry nar restore` then nix-store --dump gives the NAR back", arguments: TreeShapes.all)
    func restore(shape: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try TreeShapes.make(shape, in: dir.path)
        let nar = try NixStore.dump(path)
        try run([ferryBinary, "nar", "restore", dir.path + "/restored"], stdin: Data(nar))
        #expect(try NixStore.dump(dir.path + "/restored") == nar)
    }

    @Test("every path of a real closure dumps and hashes as Nix does") func closure() throws {
        let (_, paths) = try NixStore.closure.get()
        #expect(paths.count == 4)
        for path in paths {
            let nar = try NixStore.dump(path.path)
            #expect(try ferryDump(path.path) == nar, "\(path)")
            let info = try NixStore.pathInfo(path)
            let ferry = try run([ferryBinary, "hash", "path", path.path]).text.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try Hash(parsing: ferry) == (try Hash(parsing: info["narHash"] as! String)), "\(path)")
        }
    }

    @Test("`ferry hash file` is the SHA-256 Nix computes for a file") func hashFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try TreeShapes.make("large-file", in: dir.path) + "/blob"
        let nix = try run(["nix-hash", "--type", "sha256", "--flat", "--base32", path]).text.trimmingCharacters(in: .whitespacesAndNewlines)
        let ferry = try run([ferryBinary, "hash", "file", path]).text.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(ferry == "sha256:" + nix)
    }

    @Test("`ferry nar restore` refuses a NAR Nix would refuse, and says where") func restoreRejects() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var nar = try NixStore.dump(try TreeShapes.make("mixed", in: dir.path))
        nar.removeLast(9)
        let result = try run([ferryBinary, "nar", "restore", dir.path + "/restored"], stdin: Data(nar), check: false)
        #expect(result.status != 0)
        #expect(result.stderr.contains("invalid NAR at byte"))
    }

    @Test("bytes after the end of a NAR are bad data like any other (exit 1), not a usage error")
    func trailingData() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let nar = try NixStore.dump(try TreeShapes.make("mixed", in: dir.path))
        let result = try run([ferryBinary, "nar", "restore", dir.path + "/restored"], stdin: Data(nar + nar), check: false)
        #expect(result.status == 1)
        #expect(result.stderr.contains("invalid NAR at byte \(nar.count): data follows the end of the NAR"), "\(result.stderr)")
    }
}
