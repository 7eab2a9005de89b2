import FerryCore
import Foundation

/// A sink that keeps everything written to it.
final class Collector: AsyncByteSink {
    var bytes: [UInt8] = []
    func write(_ chunk: ArraySlice<UInt8>) async throws { bytes += chunk }
}

/// Runs `input` through a filter in pieces of `piece` bytes and returns what came out.
func filter(_ input: [UInt8], piece: Int = 65_536, _ make: (Collector) throws -> any ByteFilter) async throws -> [UInt8] {
    let out = Collector()
    let stream = try make(out)
    for start in stride(from: 0, to: input.count, by: piece) {
        try await stream.write(input[start..<min(start + piece, input.count)])
    }
    try await stream.finish()
    return out.bytes
}

/// Bytes that compress somewhat, like a NAR: text with repeats and some noise.
func sampleData(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    let words = ["nix", "store", "closure", "/lib/", "libc.so.6", "\n", "ELF", "ferry"].map { Array($0.utf8) }
    var out: [UInt8] = []
    out.reserveCapacity(count)
    while out.count < count {
        out += Int.random(in: 0..<4, using: &generator) == 0
            ? (0..<8).map { _ in UInt8.random(in: 0...255, using: &generator) }
            : words.randomElement(using: &generator)!
    }
    return Array(out.prefix(count))
}

/// The command-line tools a test compares with are on PATH; in CI they count as there, so
/// a test that needs a missing one fails instead of skipping.
func toolsPresent(_ tools: String...) -> Bool {
    tools.allSatisfy { tool in
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
            .contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
    } || ProcessInfo.processInfo.environment["CI"] == "true"
}
