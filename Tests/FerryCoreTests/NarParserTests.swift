import Foundation
import Testing
@testable import FerryCore

@Suite("NAR parser")
struct NarParserTests {
    static let treeListing = [
        "dir /",
        "file /B - 1 @232", "eof",
        "file /a.txt - 6 @424", "eof",
        "link /link -> a.txt",
        "dir /sub",
        "file /sub/run.sh x 18 @976", "eof",
    ]

    @Test("reads a NAR from nix-store --dump, with Nix's narOffsets") func tree() throws {
        let bytes = try Fixture.data("tree.nar")
        let (visitor, consumed) = try parse(bytes)
        #expect(consumed == 1080)
        #expect(visitor.events == Self.treeListing)
        #expect(visitor.contents == Array("Bhello\n#!/bin/sh\necho hi\n".utf8))
    }

    @Test("types, sizes, targets and narOffsets match the .ls listing Nix wrote", arguments: ["tree", "top"])
    func matchesListing(name: String) throws {
        let (visitor, _) = try parse(Fixture.data("\(name).nar"))
        let json = try JSONSerialization.jsonObject(with: Data(Fixture.data("\(name).ls"))) as? [String: Any]
        let root = try #require(json?["root"] as? [String: Any])
        #expect(visitor.events.filter { $0 != "eof" } == listing(root, path: ""))
    }

    /// The events a listing implies, in NAR order (entries sorted bytewise).
    private func listing(_ node: [String: Any], path: String) -> [String] {
        let shown = path.isEmpty ? "/" : path
        switch node["type"] as? String {
        case "directory":
            let entries = node["entries"] as? [String: [String: Any]] ?? [:]
            let names = entries.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            return ["dir \(shown)"] + names.flatMap { listing(entries[$0]!, path: path + "/" + $0) }
        case "regular":
            let executable = node["executable"] as? Bool ?? false
            return ["file \(shown) \(executable ? "x" : "-") \(node["size"]!) @\(node["narOffset"]!)"]
        default:
            return ["link \(shown) -> \(node["target"]!)"]
        }
    }

    @Test("gives the same events whatever the piece size", arguments: [1, 3, 8, 13, 64, 1000])
    func pieceSizes(pieceSize: Int) throws {
        let (visitor, consumed) = try parse(Fixture.data("tree.nar"), pieceSize: pieceSize)
        #expect(visitor.events == Self.treeListing)
        #expect(consumed == 1080)
    }

    @Test("stops at the NAR's last byte, leaving what follows") func stopsAtEnd() throws {
        let bytes = try Fixture.data("tree.nar") + Array("trailing protocol bytes".utf8)
        var parser = NarParser()
        var visitor = NarValidationOnly()
        let used = try bytes.withUnsafeBytes { try parser.feed($0, to: &visitor) }
        #expect(used == 1080)
        #expect(parser.isComplete)
    }

    @Test("every truncation is an error, never a crash") func truncations() throws {
        let bytes = try Fixture.data("tree.nar")
        for length in 0..<bytes.count {
            #expect(throws: NarFormatError.self) { _ = try parse(Array(bytes[0..<length])) }
        }
    }

    @Test("a regular file or a symlink can be the root") func nonDirectoryRoots() throws {
        let file = nar([.s("nix-archive-1"), .s("("), .s("type"), .s("regular"), .s("executable"), .s(""),
                        .s("contents"), .raw(Array("abc".utf8)), .s(")")])
        #expect(try parse(file).0.events == ["file / x 3 @128", "eof"])
        let link = nar([.s("nix-archive-1"), .s("("), .s("type"), .s("symlink"), .s("target"), .s("/x"), .s(")")])
        #expect(try parse(link).0.events == ["link / -> /x"])
    }

    // MARK: rejections, one per rule

    private func rejection(_ bytes: [UInt8], limits: NarParser.Limits = .init()) -> String {
        do {
            _ = try parse(bytes, limits: limits)
            return "accepted"
        } catch let error as NarFormatError {
            return error.reason
        } catch {
            return "other error: \(error)"
        }
    }

    @Test("rejects a wrong header") func badMagic() {
        #expect(rejection(nar([.s("nix-archive-2")])).contains("not a NAR"))
        #expect(rejection(Array(repeating: 0xff, count: 16)).contains("token"))
    }

    @Test("rejects names out of order or repeated") func order() {
        #expect(rejection(directory([entry(Array("b".utf8)), entry(Array("a".utf8))])).contains("sorted"))
        #expect(rejection(directory([entry(Array("a".utf8)), entry(Array("a".utf8))])).contains("unique"))
        // Bytewise order: "B" (0x42) before "a" (0x61) is right; the reverse is not.
        #expect(rejection(directory([entry(Array("B".utf8)), entry(Array("a".utf8))])) == "accepted")
        #expect(rejection(directory([entry(Array("a".utf8)), entry(Array("B".utf8))])).contains("sorted"))
    }

    @Test("rejects names that could leave the tree", arguments: [
        "", ".", "..", "a/b", "/", "a\u{0}b",
    ])
    func badNames(name: String) {
        #expect(rejection(directory([entry(Array(name.utf8))])).contains("name"))
    }

    @Test("rejects an empty symlink target or one with NUL") func badTargets() {
        let empty = nar([.s("nix-archive-1"), .s("("), .s("type"), .s("symlink"), .s("target"), .s(""), .s(")")])
        #expect(rejection(empty).contains("empty symlink target"))
        let nul = nar([.s("nix-archive-1"), .s("("), .s("type"), .s("symlink"), .s("target"), .s("a\u{0}"), .s(")")])
        #expect(rejection(nul).contains("NUL"))
    }

    @Test("rejects non-zero padding") func padding() throws {
        var bytes = try Fixture.data("tree.nar")
        bytes[21] = 1  // the padding after "nix-archive-1"
        #expect(rejection(bytes).contains("padding"))
    }

    @Test("rejects non-canonical and unknown tokens") func grammar() {
        let head: [NarToken] = [.s("nix-archive-1"), .s("("), .s("type")]
        #expect(rejection(nar(head + [.s("fifo")])).contains("unknown node type"))
        #expect(rejection(nar(head + [.s("regular"), .s("executable"), .s("yes")])).contains("expected"))
        #expect(rejection(nar(head + [.s("regular"), .s("mode")])).contains("expected"))
        #expect(rejection(nar(head + [.s("directory"), .s("target")])).contains("expected"))
        #expect(rejection(nar([.s("nix-archive-1"), .s("["), .s("type")])).contains("expected"))
    }

    @Test("rejects directories nested beyond the depth limit") func depth() {
        var limits = NarParser.Limits()
        limits.maxDepth = 3
        func nested(_ depth: Int) -> [NarToken] {
            guard depth > 0 else { return [.s("("), .s("type"), .s("directory"), .s(")")] }
            return [.s("("), .s("type"), .s("directory"), .s("entry"), .s("("), .s("name"), .s("d"), .s("node")]
                + nested(depth - 1) + [.s(")"), .s(")")]
        }
        #expect(rejection(nar([.s("nix-archive-1")] + nested(3)), limits: limits) == "accepted")
        #expect(rejection(nar([.s("nix-archive-1")] + nested(4)), limits: limits).contains("deeper"))
    }

    @Test("refuses a huge token before buffering it") func hugeToken() {
        // A name claiming 2^60 bytes: refused at its length, not after reading it.
        let bytes = nar([.s("nix-archive-1"), .s("("), .s("type"), .s("directory"), .s("entry"), .s("("), .s("name"),
                         .u64(1 << 60)])
        #expect(rejection(bytes).contains("token"))
        let longName = directory([entry(Array(repeating: UInt8(ascii: "n"), count: 256))])
        #expect(rejection(longName).contains("token"))
    }

    @Test("a file shorter than its announced size is a truncation") func shortContents() {
        let bytes = nar([.s("nix-archive-1"), .s("("), .s("type"), .s("regular"), .s("contents"), .u64(1 << 40)])
            + Array(repeating: 0, count: 100)
        #expect(rejection(bytes).contains("ended"))
    }
}
