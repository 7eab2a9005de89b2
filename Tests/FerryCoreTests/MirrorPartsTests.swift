import FerryTestSupport
import Foundation
import Testing
@testable import FerryCore

@Suite("shards and spools")
struct MirrorPartsTests {
    /// Store paths with hash parts from SHA-256 of a counter: as evenly spread as real ones.
    static let paths: [StorePath] = (0..<3000).map { n in
        let digest = Hash.sha256(of: Array("path \(n)".utf8)).digest.prefix(20)
        return try! StorePath(baseName: NixBase32.encode(Array(digest)) + "-p\(n)")
    }

    @Test("shards 1/N … N/N take every path exactly once, in near-equal shares", arguments: [1, 2, 3, 7])
    func shardsPartition(count: Int) throws {
        let shards = try (1...count).map { try Shard(parsing: "\($0)/\(count)") }
        var sizes = Array(repeating: 0, count: count)
        for path in MirrorPartsTests.paths {
            let owners = shards.indices.filter { shards[$0].contains(path) }
            #expect(owners.count == 1, "\(path)")
            sizes[owners[0]] += 1
        }
        let even = MirrorPartsTests.paths.count / count
        #expect(sizes.allSatisfy { abs($0 - even) < even / 5 + 10 }, "\(sizes)")
    }

    @Test("a shard is I/N with 1 ≤ I ≤ N", arguments: ["0/3", "4/3", "1/0", "a/b", "1", "1/2/3", "-1/2"])
    func badShard(text: String) {
        #expect(throws: ConfigError.self) { try Shard(parsing: text) }
    }

    @Test("a spool keeps what fits its memory, spills the rest to a file, and hashes all of it")
    func spool() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let small = Spool(memoryLimit: 1 << 20, directory: dir.path, name: "small")
        try await small.write(bytes[...])
        #expect(small.finish() == Hash.sha256(of: bytes))
        #expect(small.bytesInMemory == bytes)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)

        let large = Spool(memoryLimit: 100_000, directory: dir.path, name: "large")
        for start in stride(from: 0, to: bytes.count, by: 70_000) {
            try await large.write(bytes[start..<min(start + 70_000, bytes.count)])
        }
        #expect(large.finish() == Hash.sha256(of: bytes))
        #expect(large.bytesInMemory == nil)
        var read: [UInt8] = []
        for try await chunk in large.chunks(offset: 1000, length: 200_000, chunkSize: 65536) { read += chunk }
        #expect(read == Array(bytes[1000..<201_000]))
        #expect(try await large.chunks(offset: 5, length: 10).sha256() == Hash.sha256(of: bytes[5..<15]))
        large.discard()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "discard removes the spill file")
    }

    @Test("a spool's file is handed to writeback in order, 8 MiB or more at a time, as it is written")
    func spoolWriteback() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let ranges = Locked<[ClosedRange<Int64>]>([])
        let spool = Spool(memoryLimit: 0, directory: dir.path, name: "nar", writeback: { fd, offset, length in
            #expect(fd >= 0)
            ranges.withLock { $0.append(offset...(offset + length - 1)) }
        })
        let chunk = [UInt8](repeating: 7, count: 1 << 20)
        for _ in 0..<20 { try await spool.write(chunk[...]) }
        let mib: Int64 = 1 << 20
        #expect(ranges.withLock { $0 } == [0...8 * mib - 1, 8 * mib...16 * mib - 1])
        spool.discard()
    }
}
