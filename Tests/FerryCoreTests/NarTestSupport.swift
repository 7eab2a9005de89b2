@testable import FerryCore

/// One line per event, so a parse can be compared with an expected listing.
struct RecordingVisitor: NarVisitor {
    var events: [String] = []
    var contents: [UInt8] = []

    mutating func directory(at path: NarEntryPath) throws { events.append("dir \(path)") }
    mutating func regularFile(at path: NarEntryPath, executable: Bool, size: UInt64, offset: UInt64) throws {
        events.append("file \(path) \(executable ? "x" : "-") \(size) @\(offset)")
    }
    mutating func fileContents(_ bytes: UnsafeRawBufferPointer) throws { contents.append(contentsOf: bytes) }
    mutating func endOfFile() throws { events.append("eof") }
    mutating func symlink(at path: NarEntryPath, target: [UInt8]) throws {
        events.append("link \(path) -> \(String(decoding: target, as: UTF8.self))")
    }
}

/// Parses `bytes` fed in pieces of `pieceSize`; returns the visitor and bytes consumed.
func parse(_ bytes: [UInt8], pieceSize: Int = .max, limits: NarParser.Limits = .init()) throws -> (RecordingVisitor, Int) {
    var parser = NarParser(limits: limits)
    var visitor = RecordingVisitor()
    var consumed = 0
    while consumed < bytes.count && !parser.isComplete {
        let end = min(bytes.count, consumed + pieceSize)
        consumed += try bytes[consumed..<end].withUnsafeBytes { try parser.feed($0, to: &visitor) }
    }
    try parser.finish()
    return (visitor, consumed)
}

/// A NAR written token by token, for archives that break one rule.
func nar(_ tokens: [NarToken]) -> [UInt8] {
    var encoder = WireEncoder()
    for token in tokens {
        switch token {
        case .s(let text): encoder.string(text)
        case .raw(let bytes): encoder.string(bytes)
        case .u64(let n): encoder.u64(n)
        }
    }
    return encoder.bytes
}

enum NarToken {
    case s(String)
    case raw([UInt8])
    case u64(UInt64)
}

/// Tokens of a directory entry `name` holding an empty regular file.
func entry(_ name: [UInt8]) -> [NarToken] {
    [.s("entry"), .s("("), .s("name"), .raw(name), .s("node"),
     .s("("), .s("type"), .s("regular"), .s("contents"), .u64(0), .s(")"), .s(")")]
}

func directory(_ entries: [[NarToken]]) -> [UInt8] {
    nar([.s("nix-archive-1"), .s("("), .s("type"), .s("directory")] + entries.flatMap { $0 } + [.s(")")])
}
