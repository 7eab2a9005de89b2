import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// File-system trees with the shapes that trip NAR writers up, generated fresh for a test.
enum TreeShapes {
    /// The names of the shapes `make(_:in:)` builds.
    static let all = ["mixed", "single-file", "root-symlink", "empty-dir", "deep", "byte-names", "large-file"]

    /// Builds the shape `name` at `dir/name` and returns its path.
    static func make(_ name: String, in dir: String) throws -> String {
        let root = dir + "/" + name
        let fm = FileManager.default
        func file(_ path: String, _ contents: [UInt8], mode: Int = 0o644) throws {
            try Data(contents).write(to: URL(fileURLWithPath: root + "/" + path))
            try fm.setAttributes([.posixPermissions: mode], ofItemAtPath: root + "/" + path)
        }
        func mkdir(_ path: String) throws {
            try fm.createDirectory(atPath: root + "/" + path, withIntermediateDirectories: true)
        }
        switch name {
        case "mixed":
            try mkdir("sub/empty-dir")
            // Bytewise, "B" < "Z" < "_x" < "a" < "ä"; a locale's collation orders them otherwise.
            for n in ["a", "B", "Z", "_x", "ä", "é.txt", "🙂", "-dash", ".hidden", "a b", "1", "10", "9"] {
                try file(n, Array(n.utf8))
            }
            try file("empty", [])
            for size in [7, 8, 9, 4095, 65_537] { try file("size-\(size)", (0..<size).map { UInt8($0 % 251) }) }
            try file("sub/run.sh", Array("#!/bin/sh\necho hi\n".utf8), mode: 0o755)
            try file("sub/owner-exec-only", [1], mode: 0o700)
            try file("sub/group-exec-only", [2], mode: 0o654)   // not executable for Nix: no owner x bit
            try fm.createSymbolicLink(atPath: root + "/rel-link", withDestinationPath: "sub/run.sh")
            try fm.createSymbolicLink(atPath: root + "/abs-link", withDestinationPath: "/etc/hostname")
            try fm.createSymbolicLink(atPath: root + "/dangling", withDestinationPath: "../nowhere/at all")
            try fm.createSymbolicLink(atPath: root + "/dir-link", withDestinationPath: "sub")
        case "single-file":
            try Data("just one file\n".utf8).write(to: URL(fileURLWithPath: root))
        case "root-symlink":
            try fm.createSymbolicLink(atPath: root, withDestinationPath: "some/target")
        case "empty-dir":
            try mkdir("")
        case "deep":
            try mkdir((1...40).map { "d\($0)" }.joined(separator: "/"))
            try file((1...40).map { "d\($0)" }.joined(separator: "/") + "/leaf", Array("deep".utf8))
        case "byte-names":
            try mkdir("")
            // Names that are not UTF-8: NAR names are bytes.
            for bytes in [[0xff, 0x41], [0xc3], [0x41, 0x80, 0x42]] as [[UInt8]] {
                let path = Array((root + "/").utf8) + bytes + [0]
                let fd = path.withUnsafeBufferPointer { p in
                    p.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_CREAT | O_WRONLY, 0o644) }
                }
                guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
                _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
                close(fd)
            }
        case "large-file":
            try mkdir("")
            var generator = SystemRandomNumberGenerator()
            try file("blob", (0..<1_500_003).map { _ in UInt8.random(in: 0...255, using: &generator) }, mode: 0o755)
        default:
            fatalError("unknown shape \(name)")
        }
        return root
    }
}
