import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// Content-addressed paths as real Nix makes them: each kind of address, and a text file
/// with a reference.
private enum ContentAddressed {
    static let paths: Result<[StorePath], any Error> = Result {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path + "/ferry-ca-tree/sub", withIntermediateDirectories: true)
        try "tree\n".write(toFile: dir.path + "/ferry-ca-tree/sub/file", atomically: true, encoding: .utf8)
        try "flat\n".write(toFile: dir.path + "/ferry-ca-flat", atomically: true, encoding: .utf8)
        func added(_ command: [String]) throws -> StorePath {  // a path, or a JSON string of one
            try StorePath(try run(command).text.trimmingCharacters(in: CharacterSet(charactersIn: "\"\n ")))
        }
        let source = try added(["nix-store", "--add", dir.path + "/ferry-ca-tree"])  // fixed:r:sha256
        let flat = try added(["nix-store", "--add-fixed", "sha256", dir.path + "/ferry-ca-flat"])  // fixed:sha256
        let sha1 = try added(["nix-store", "--add-fixed", "--recursive", "sha1", dir.path + "/ferry-ca-tree"])  // fixed:r:sha1
        let text = try added(["nix-instantiate", "--eval", "--read-write-mode", "--json", "-E",  // text:sha256, one reference
                              "let a = builtins.toFile \"ferry-ca-a\" \"x\"; in builtins.toFile \"ferry-ca-b\" \"see ${a}\""])
        return [source, flat, sha1, text]
    }

    /// What `nix path-info --json` says, as a PathInfo.
    static func info(_ path: StorePath) throws -> PathInfo {
        let json = try NixStore.pathInfo(path)
        return PathInfo(path: path, narHash: try Hash(parsing: json["narHash"] as! String),
                        narSize: UInt64(json["narSize"] as! Int),
                        references: Set(try (json["references"] as! [String]).map { try StorePath($0) }),
                        contentAddress: json["ca"] as? String)
    }
}

@Suite("content-addressed paths, as real Nix makes them", Peers.nix)
struct ContentAddressAgainstNixTests {
    @Test("each address Nix gives makes its own store path; a changed name or reference does not")
    func addressesMakeTheirPaths() throws {
        let paths = try ContentAddressed.paths.get()
        var kinds: Set<ContentAddress.Method> = []
        for path in paths {
            let info = try ContentAddressed.info(path)
            let address = try ContentAddress(parsing: try #require(info.contentAddress, "Nix gave \(path) no CA"))
            kinds.insert(address.method)
            func made(_ info: PathInfo) throws -> StorePath? {
                try address.storePath(name: info.path.name, references: info.references, selfPath: info.path)
            }
            #expect(try made(info) == path, "\(path): \(address)")
            var renamed = info
            renamed.path = try StorePath(baseName: path.hashPart + "-renamed")
            #expect(try made(renamed) != renamed.path, "\(path) renamed")
            var referring = info
            referring.references.insert(try NixStore.closure.get().top)
            // No flat address, nor a recursive one of another hash than SHA-256, has references.
            if address.method == .flat || (address.method == .recursive && !address.isNarHash) {
                #expect(try made(referring) == nil, "\(path) with a reference")
            } else {
                let other = try made(referring)
                #expect(other != nil && other != path, "\(path) with one more reference")
            }
        }
        #expect(kinds == [.recursive, .flat, .text], "\(kinds)")
        #expect(try ContentAddressed.info(paths[3]).references.count == 1, "the text path has its reference")
    }

    @Test("every address Nix gives certifies its path; a NAR-hash address that is not the NarHash does not")
    func selfCertifying() throws {
        let infos = try ContentAddressed.paths.get().map(ContentAddressed.info)
        let certified = infos.map(\.isSelfCertifying)
        #expect(certified == [true, true, true, true], "\(infos.map(\.contentAddress))")
        var lying = infos[0]
        lying.narHash = infos[1].narHash
        #expect(!lying.isSelfCertifying, "an address that is not the NarHash")
    }

    @Test("mirroring an unsigned cache: certified paths pass as Nix lets them, others need a signature")
    func unsignedMirror() throws {
        let paths = try ContentAddressed.paths.get()
        let leaf = try #require(try NixStore.closure.get().all.first { $0.name.hasPrefix("ferry-it-leaf") })
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let unsigned = "file://\(dir.path)/unsigned"
        let wanted = [paths[0], paths[1], leaf]
        try run(["nix", "copy", "--to", unsigned] + wanted.map(\.path))
        let (_, key) = try ferryKeyPair(named: "ferry-ca-1", in: dir)
        let output = try run([ferryBinary, "mirror", "--from", unsigned, "--to", "file://\(dir.path)/out",
                              "--trusted-public-key", key] + wanted.map(\.path), check: false)
        #expect(output.status == 1, "\(output.stderr)")
        #expect(output.stderr.contains("2 copied, 0 already there, 1 failed"), "\(output.stderr)")
        #expect(output.stderr.contains("failed: \(leaf.path): ") && output.stderr.contains("signature"), "\(output.stderr)")
        // Nix, requiring signatures by a key nobody used, takes them as trusted too.
        try run(["nix", "store", "verify", "--store", "file://\(dir.path)/out", "--trusted-public-keys", key, paths[0].path, paths[1].path])
    }

    @Test("a content-addressed path whose NAR is another's (NarHash and all) is refused by its address, as Nix refuses it")
    func addressChecked() throws {
        let paths = try ContentAddressed.paths.get()
        let (flat, text) = (paths[1], paths[3])
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cache = dir.path + "/unsigned"
        try run(["nix", "copy", "--to", "file://\(cache)", flat.path, text.path])
        // The flat file's narinfo, with the NAR fields of the text file's: NarHash and NarSize hold.
        func fields(_ path: StorePath) throws -> [Substring] {
            try String(contentsOfFile: "\(cache)/\(path.hashPart).narinfo", encoding: .utf8).split(separator: "\n")
        }
        let narFields = ["URL", "Compression", "FileHash", "FileSize", "NarHash", "NarSize"]
        let swapped = try fields(flat).filter { line in !narFields.contains { line.hasPrefix($0 + ":") } }
            + (try fields(text)).filter { line in narFields.contains { line.hasPrefix($0 + ":") } }
        try (swapped.joined(separator: "\n") + "\n").write(toFile: "\(cache)/\(flat.hashPart).narinfo", atomically: true, encoding: .utf8)
        let (_, key) = try ferryKeyPair(named: "ferry-ca-2", in: dir)
        let output = try run([ferryBinary, "mirror", "--from", "file://\(cache)", "--to", "file://\(dir.path)/out",
                              "--trusted-public-key", key, flat.path], check: false)
        #expect(output.status == 1, "\(output.stderr)")
        #expect(output.stderr.contains("not to its content address's"), "\(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir.path)/out/\(flat.hashPart).narinfo"))
    }
}
