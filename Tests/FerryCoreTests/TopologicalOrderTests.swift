import Testing
@testable import FerryCore

@Suite("topological order")
struct TopologicalOrderTests {
    static func path(_ c: Character, _ name: String) -> StorePath {
        try! StorePath("/nix/store/" + String(repeating: c, count: 32) + "-" + name)
    }

    static func info(_ path: StorePath, refs: [StorePath] = []) -> PathInfo {
        PathInfo(path: path, narHash: try! Hash(algorithm: .sha256, digest: Array(repeating: 0, count: 32)),
                 narSize: 1, references: Set(refs))
    }

    @Test("references come first, in generations each sorted by store path; self-references ignored") func order() throws {
        let a = Self.path("a", "lib"), b = Self.path("b", "app"), c = Self.path("c", "zlib"), d = Self.path("d", "doc")
        let external = Self.path("z", "present")
        let infos = [
            Self.info(b, refs: [a, c, b]),
            Self.info(d),
            Self.info(a, refs: [c, external]),
            Self.info(c, refs: [c]),
        ]
        let sorted = try TopologicalOrder.sort(infos).map(\.path)
        #expect(sorted == [c, d, a, b])
        #expect(try TopologicalOrder.sort(infos.reversed()).map(\.path) == sorted)
    }

    @Test("a cycle is an error naming its paths") func cycle() {
        let a = Self.path("a", "x"), b = Self.path("b", "y")
        #expect(throws: CycleError.self) { try TopologicalOrder.sort([Self.info(a, refs: [b]), Self.info(b, refs: [a])]) }
    }
}
