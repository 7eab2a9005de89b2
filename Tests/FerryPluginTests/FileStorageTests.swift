import FerryCore
import FerryFileCache
import FerryTestSupport
import Foundation
import Testing

@Suite("a binary cache in a folder")
struct FileStorageTests {
    /// A NAR stored under `key` through a spool that has spilled to a file.
    private func storeNar(_ storage: FileStorage, as key: String, bytes: [UInt8]) async throws -> String {
        let spool = Spool(memoryLimit: 0, directory: storage.spoolDirectory, name: String(key.split(separator: "/").last!))
        try await spool.write(bytes[...])
        _ = spool.finish()
        let temporary = try #require(spool.filePath)
        try await storage.store(spool, as: key, contentType: CacheContentType.nar)
        return temporary
    }

    private func narInfo(_ name: String, requiring nar: String) -> CacheFile {
        CacheFile(key: "\(name).narinfo", bytes: Array("URL: \(nar)\n".utf8), contentType: CacheContentType.narInfo,
                  requires: nar)
    }

    @Test("a NAR that cannot be put in place fails only the narinfo that needs it, in that batch and later ones")
    func lostNar() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let storage = FileStorage(root: dir.path + "/new/deep/cache")
        try await storage.prepareForWriting(extraFolders: [])  // the missing folders above it too, as Nix makes them
        let lostTemporary = try await storeNar(storage, as: "nar/lost.nar", bytes: [1, 2, 3])
        _ = try await storeNar(storage, as: "nar/kept.nar", bytes: [4, 5, 6])
        _ = try await storeNar(storage, as: "nar/later.nar", bytes: [7, 8, 9])
        unlink(lostTemporary)  // as a cleaner of temporary files might

        let first = await storage.write([narInfo("lost", requiring: "nar/lost.nar"), narInfo("kept", requiring: "nar/kept.nar")])
        #expect(Set(first.keys) == ["lost.narinfo"])
        let second = await storage.write([narInfo("later", requiring: "nar/later.nar"),
                                          narInfo("lost-again", requiring: "nar/lost.nar")])
        #expect(Set(second.keys) == ["lost-again.narinfo"])

        let files = Set(try FileManager.default.subpathsOfDirectory(atPath: storage.root))
        #expect(files == ["nar", "nar/kept.nar", "nar/later.nar", "kept.narinfo", "later.narinfo", "log", "realisations"])
        await storage.close()
    }

    @Test("index-debug-info: two paths of one batch with the same build id get one link, to the first; the backend makes debuginfo/")
    func debugInfoOncePerBuildID() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let storage = FileStorage(root: dir.path + "/cache")
        let backend = BinaryCacheBackend(storage: storage, indexDebugInfo: true)
        try await backend.prepare()
        let folders = ["lib", "debug", ".build-id", "02"], file = "623eda209c26a59b1a8638ff7752f6b945c26b.debug"
        var listing = NarListing()
        try listing.directory(at: NarEntryPath())
        for depth in 1...folders.count {
            try listing.directory(at: NarEntryPath(folders.prefix(depth).map { Array($0.utf8) }))
        }
        try listing.regularFile(at: NarEntryPath((folders + [file]).map { Array($0.utf8) }), executable: false, size: 1, offset: 0)
        let nars = try ["first", "second"].map { name in
            StoredNar(info: PathInfo(path: try StorePath("/nix/store/\(String(repeating: name == "first" ? "a" : "b", count: 32))-\(name)"),
                                     narHash: try Hash(parsing: "sha256:0gpm9hks83wk9v9x6m3fqhrsn6zpap446j9ghi8264m0sl956750"), narSize: 1),
                      url: "nar/\(name).nar", compression: "none", listing: listing)
        }
        for nar in nars { _ = try await storeNar(storage, as: nar.url!, bytes: [1]) }
        #expect(await backend.publish(nars).isEmpty)
        let link = try String(contentsOfFile: storage.root + "/debuginfo/02623eda209c26a59b1a8638ff7752f6b945c26b.debug", encoding: .utf8)
        #expect(link.contains(#""archive":"../nar/first.nar""#), "\(link)")
        await backend.close()
    }
}
