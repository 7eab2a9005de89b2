import FerryTestSupport
import Foundation
import Testing
import FerryCore

@Suite("serve client against nix-store --serve", Peers.nix)
struct ServeAgainstNixTests {
    private func connect(root: String? = nil) async throws -> ServeClient {
        try await ServeClient.connect(over: ProcessServeTransport.localStore(root: root))
    }

    /// Runs `body` on a fresh connection to the local store and closes it afterwards.
    private func withClient(_ body: (ServeClient) async throws -> Void) async throws {
        let client = try await connect()
        do {
            try await body(client)
        } catch {
            await client.close()
            throw error
        }
        await client.close()
    }

    @Test("path infos equal nix path-info --json") func pathInfos() async throws {
        let (_, paths) = try NixStore.closure.get()
        try await withClient { (client: ServeClient) async throws in
            let infos = try await client.queryPathInfos(paths)
            #expect(Set(infos.map(\.path)) == Set(paths))
            for info in infos {
                let nix = try NixStore.pathInfo(info.path)
                #expect(info.narHash == (try Hash(parsing: nix["narHash"] as! String)))
                #expect(info.narSize == (nix["narSize"] as! NSNumber).uint64Value)
                #expect(Set(info.references.map(\.path)) == Set(nix["references"] as! [String]))
                #expect(info.deriver?.path == nix["deriver"] as? String)
            }
        }
    }

    @Test("closure and validity equal nix-store's") func closureAndValidity() async throws {
        let (top, paths) = try NixStore.closure.get()
        let missing = try StorePath("/nix/store/00000000000000000000000000000000-not-there")
        try await withClient { (client: ServeClient) async throws in
            #expect(try await client.queryClosure([top]) == Set(paths))
            #expect(try await client.queryValidPaths([top, missing]) == [top])
        }
    }

    @Test("DumpStorePath brings nix-store --dump's bytes, path after path on one connection") func dumps() async throws {
        let (_, paths) = try NixStore.closure.get()
        try await withClient { (client: ServeClient) async throws in
            for path in paths {
                var nar: [UInt8] = []
                let size = try await client.dumpStorePath(path) { nar.append(contentsOf: $0) }
                #expect(nar == (try NixStore.dump(path.path)), "\(path)")
                #expect(size == UInt64(nar.count))
            }
        }
    }

    @Test("AddToStoreNar streams a closure into another store root that Nix then verifies")
    func addToStoreNar() async throws {
        let (top, _) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let root = dir.path + "/root"
        let source = try await connect()
        let destination = try await connect(root: root)
        let infos = try await source.queryPathInfos(Array(try await source.queryClosure([top])))
        // References first, so the destination can register each path as it arrives.
        for info in topologicallySorted(infos) {
            try await destination.addToStoreNar(info) { upload in
                try await source.dumpStorePath(info.path) { try await upload.write($0) }
            }
        }
        #expect(try await destination.queryValidPaths(infos.map(\.path)) == Set(infos.map(\.path)))
        await source.close()
        await destination.close()

        let listed = try run(["nix", "path-info", "--store", root, "-r", top.path]).lines
        #expect(Set(listed) == Set(infos.map(\.path.path)))
        try run(["nix", "store", "verify", "--store", root, "--no-trust", "-r", top.path])
        try run(["nix-store", "--store", root, "--verify-path", top.path])
        // A copied path is not 'ultimate' (Nix clears it when it copies).
        #expect(try NixStore.pathInfo(top, store: root)["ultimate"] == nil)
    }

    @Test("the peer's own error reaches the caller") func peerError() async throws {
        let missing = try StorePath("/nix/store/00000000000000000000000000000000-not-there")
        try await withClient { (client: ServeClient) async throws in
            do {
                try await client.dumpStorePath(missing) { _ in }
                Issue.record("dumped a path that does not exist")
            } catch let error as ServeError {
                #expect(error.description.contains("DumpStorePath \(missing.path)"))
                #expect(error.peerDiagnostics.contains("is not valid"), "\(error)")
            }
        }
    }

    @Test("QueryValidPaths with lock keeps a path from garbage collection while connected")
    func lock() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try "locked \(UUID())".write(toFile: dir.path + "/payload", atomically: true, encoding: .utf8)
        let path = try StorePath(try run(["nix-store", "--add", dir.path + "/payload"]).text.trimmingCharacters(in: .whitespacesAndNewlines))
        let client = try await connect()
        #expect(try await client.queryValidPaths([path], lock: true) == [path])
        let whileLocked = try run(["nix-store", "--delete", path.path], check: false)
        #expect(whileLocked.status != 0, "deleted a path the serve peer had locked")
        await client.close()
        try run(["nix-store", "--delete", path.path])
    }

    private func topologicallySorted(_ infos: [PathInfo]) -> [PathInfo] {
        var done = Set<StorePath>(), result: [PathInfo] = []
        var pending = infos.sorted { $0.path < $1.path }
        while !pending.isEmpty {
            let ready = pending.filter { $0.references.subtracting([$0.path]).isSubset(of: done) }
            result += ready
            done.formUnion(ready.map(\.path))
            pending.removeAll { done.contains($0.path) }
        }
        return result
    }
}
