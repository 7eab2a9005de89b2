import Foundation
import Testing
@testable import FerryCore

@Suite("NAR listings and the debug-info index")
struct NarListingTests {
    private func listing(of bytes: [UInt8], pieceSize: Int = .max) throws -> NarListing {
        var parser = NarParser()
        var listing = NarListing()
        var offset = 0
        while offset < bytes.count {
            let piece = bytes[offset..<min(bytes.count, offset + pieceSize)]
            offset += try piece.withUnsafeBytes { try parser.feed($0, to: &listing) }
        }
        try parser.finish()
        return listing
    }

    @Test(".ls listings are the bytes Nix wrote, whatever the piece size", arguments: ["tree", "top"], [7, 4096])
    func nixBytes(name: String, pieceSize: Int) throws {
        let built = try listing(of: Fixture.data("\(name).nar"), pieceSize: pieceSize)
        #expect(Array(built.json.utf8) == (try Fixture.data("\(name).ls")))
    }

    @Test("a regular file or a symlink as the root is listed as such") func leafRoots() throws {
        var file = NarListing()
        try file.regularFile(at: NarEntryPath(), executable: true, size: 3, offset: 128)
        #expect(file.json == #"{"version":1,"root":{"type":"regular","size":3,"executable":true,"narOffset":128}}"#)
        #expect(file.entries(of: []).isEmpty)
        var link = NarListing()
        try link.symlink(at: NarEntryPath(), target: Array("/x".utf8))
        #expect(link.json == #"{"version":1,"root":{"type":"symlink","target":"/x"}}"#)
    }

    /// A listing of `entries` (NAR order, `/`-separated; a trailing `/` makes a directory,
    /// `-> target` a symlink, `*` an executable file).
    private func tree(_ entries: [String]) throws -> NarListing {
        var listing = NarListing()
        try listing.directory(at: NarEntryPath())
        for entry in entries {
            let (name, target) = entry.contains(" -> ")
                ? (String(entry.split(separator: " ")[0]), entry.components(separatedBy: " -> ")[1]) : (entry, nil)
            let executable = name.hasSuffix("*")
            let components = name.split(separator: "/").map { Array($0.replacingOccurrences(of: "*", with: "").utf8) }
            let path = NarEntryPath(components)
            if let target {
                try listing.symlink(at: path, target: Array(target.utf8))
            } else if name.hasSuffix("/") {
                try listing.directory(at: path)
            } else {
                try listing.regularFile(at: path, executable: executable, size: 1, offset: 0)
            }
        }
        return listing
    }

    private let id = "623eda209c26a59b1a8638ff7752f6b945c26b"

    @Test("the debug-info index takes regular files, executable or not, named <38 hex>.debug in folders of two hex digits, and nothing else")
    func debugInfo() throws {
        let listing = try tree([
            "bin/", "bin/tool",
            "lib/", "lib/debug/", "lib/debug/.build-id/",
            "lib/debug/.build-id/02/", "lib/debug/.build-id/02/\(id).debug", "lib/debug/.build-id/02/\(id).debug.dwo",
            "lib/debug/.build-id/AB/", "lib/debug/.build-id/AB/\(id).debug",
            "lib/debug/.build-id/ab/", "lib/debug/.build-id/ab/\(id.uppercased()).debug",
            "lib/debug/.build-id/ab/short.debug", "lib/debug/.build-id/ab/\(id.dropLast())0.debug*",
            "lib/debug/.build-id/ab/\(id.dropLast())1.debug -> ../02/\(id).debug",
            "lib/debug/.build-id/cd -> ab", "lib/debug/.build-id/zz/", "lib/debug/.build-id/zz/\(id).debug",
            "share/",
        ])
        let files = DebugInfoIndex.files(of: listing, narURL: "nar/0abc.nar.xz")
        #expect(files.map(\.key) == ["debuginfo/02\(id).debug", "debuginfo/ab\(id.dropLast())0.debug"])
        #expect(String(decoding: files[0].bytes, as: UTF8.self)
                == #"{"archive":"../nar/0abc.nar.xz","member":"lib/debug/.build-id/02/\#(id).debug"}"#)
        #expect(files.allSatisfy { $0.requires == "nar/0abc.nar.xz" && $0.contentType == "application/json" })
    }

    @Test("no index where lib or .build-id is a symlink or a file, or the root is no directory", arguments: [
        ["lib -> /elsewhere"],
        ["lib/", "lib/debug/", "lib/debug/.build-id -> /elsewhere"],
        ["lib/", "lib/debug/", "lib/debug/.build-id"],
    ])
    func noIndex(entries: [String]) throws {
        #expect(DebugInfoIndex.files(of: try tree(entries), narURL: "nar/x.nar").isEmpty)
        var file = NarListing()
        try file.regularFile(at: NarEntryPath(), executable: false, size: 1, offset: 0)
        #expect(DebugInfoIndex.files(of: file, narURL: "nar/x.nar").isEmpty)
    }
}
