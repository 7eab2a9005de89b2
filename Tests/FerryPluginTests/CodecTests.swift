import FerryBasicCodecs
import FerryBZip2
import FerryBrotli
import FerryGzip
import FerryLZ4
import FerryCore
import FerryXZ
import FerryTestSupport
import FerryZstd
import Foundation
import Testing

@Suite("codecs")
struct CodecTests {
    static let sizes: [Int] = [0, 1, 100_000, 5_000_000]

    @Test("zstd round-trips, single and multi-threaded", arguments: sizes)
    func zstd(size: Int) async throws {
        let input = sampleData(size)
        for threads in [1, 2] {
            let codec = ZstdCodec(level: 3, threads: threads)
            let compressed = try await filter(input) { try codec.makeCompressor(narSize: UInt64(size), writingTo: $0) }
            let back = try await filter(compressed, piece: 999) { try codec.makeDecompressor(writingTo: $0)! }
            #expect(back == input)
        }
    }

    @Test("xz round-trips, single and multi-threaded", arguments: sizes)
    func xz(size: Int) async throws {
        let input = sampleData(size)
        for threads in [1, 2] {
            let codec = XZCodec(preset: 1, threads: threads)
            let compressed = try await filter(input) { try codec.makeCompressor(narSize: UInt64(size), writingTo: $0) }
            let back = try await filter(compressed, piece: 999) { try codec.makeDecompressor(writingTo: $0)! }
            #expect(back == input)
        }
    }

    @Test("gzip, bzip2 and lz4 round-trip, and the tools read what Ferry writes",
          .enabled(if: toolsPresent("gzip", "bzip2", "lz4"), "gzip, bzip2 and lz4 are not installed (make test installs them)"),
          arguments: sizes)
    func gzipAndBZip2(size: Int) async throws {
        let input = sampleData(size)
        for (tool, codec) in [("gzip", GzipCodec(level: 6)), ("bzip2", BZip2Codec(level: 9)), ("lz4", LZ4Codec(level: 1)),
                              ("lz4", LZ4Codec(level: 9))] as [(String, any Codec)] {
            let compressed = try await filter(input) { try codec.makeCompressor(narSize: UInt64(size), writingTo: $0) }
            #expect(try await filter(compressed, piece: 999) { try codec.makeDecompressor(writingTo: $0)! } == input, "\(tool)")
            #expect(Array(try run([tool, "-dc"], stdin: Data(compressed)).stdout) == input, "\(tool)")
        }
    }

    @Test("the same input compresses to the same bytes every time") func deterministic() async throws {
        let input = sampleData(3_000_000)
        for codec in [ZstdCodec(level: 3, threads: 2), XZCodec(preset: 1, threads: 2), GzipCodec(), BZip2Codec(), LZ4Codec()] as [any Codec] {
            let first = try await filter(input) { try codec.makeCompressor(narSize: UInt64(input.count), writingTo: $0) }
            let second = try await filter(input, piece: 7_777) { try codec.makeCompressor(narSize: UInt64(input.count), writingTo: $0) }
            #expect(first == second, "\(codec.compression)")
        }
    }

    @Test("the xz and zstd tools read what Ferry writes, and Ferry reads what they write",
          .enabled(if: toolsPresent("xz", "zstd", "bzip2"), "xz, zstd and bzip2 are not installed (make test installs them)"))
    func interoperates() async throws {
        let input = sampleData(2_000_000)
        let zstd = ZstdCodec(level: 3, threads: 2), xz = XZCodec(preset: 6, threads: 2)
        let ourZstd = try await filter(input) { try zstd.makeCompressor(narSize: UInt64(input.count), writingTo: $0) }
        #expect(Array(try run(["zstd", "-d", "-c"], stdin: Data(ourZstd)).stdout) == input)
        let ourXZ = try await filter(input) { try xz.makeCompressor(narSize: UInt64(input.count), writingTo: $0) }
        #expect(Array(try run(["xz", "-d", "-c"], stdin: Data(ourXZ)).stdout) == input)
        #expect(try await filter(Array(try run(["zstd", "-19", "-c"], stdin: Data(input)).stdout)) { try zstd.makeDecompressor(writingTo: $0)! } == input)
        #expect(try await filter(Array(try run(["xz", "-9", "-c"], stdin: Data(input)).stdout)) { try xz.makeDecompressor(writingTo: $0)! } == input)
        let bzipped = Array(try run(["bzip2", "-c"], stdin: Data(input)).stdout)
        #expect(try await filter(bzipped) { try BZip2Codec().makeDecompressor(writingTo: $0)! } == input)
        // Several bzip2 streams in one file, as pbzip2 writes them.
        let half = input.count / 2
        let twoStreams = Array(try run(["bzip2", "-c"], stdin: Data(input[..<half])).stdout)
            + Array(try run(["bzip2", "-c"], stdin: Data(input[half...])).stdout)
        #expect(try await filter(twoStreams) { try BZip2Codec().makeDecompressor(writingTo: $0)! } == input)
        await #expect(throws: (any Error).self, "garbage after a bzip2 stream") {
            _ = try await filter(bzipped + Array(repeating: 7, count: 1000)) { try BZip2Codec().makeDecompressor(writingTo: $0)! }
        }
        // zstd --ultra -22 from a pipe (as Nix compresses: no size told) asks for a 128 MiB window.
        let ultra = Array(try run(["zstd", "--ultra", "-22", "-c"], stdin: Data(input)).stdout)
        #expect(try await filter(ultra) { try zstd.makeDecompressor(writingTo: $0)! } == input)
    }

    @Test("gzip, brotli, lz4 and lzip that the tools wrote are read, as are several gzip members, lz4 frames or lzip members in one file; cut short or followed by garbage (or, for gzip, damaged) they are an error",
          .enabled(if: toolsPresent("gzip", "brotli", "lz4", "lzip"), "gzip, brotli, lz4 and lzip are not installed (make test installs them)"))
    func readOnlyCodecs() async throws {
        let input = sampleData(3_000_000)
        let half = input.count / 2
        func tool(_ command: [String], _ data: ArraySlice<UInt8>) throws -> [UInt8] { Array(try run(command, stdin: Data(data)).stdout) }
        let codecs: [(name: String, command: [String], codec: any Codec)] = [
            ("gzip", ["gzip", "-c"], GzipCodec()), ("brotli", ["brotli", "-c"], BrotliCodec()),
            ("lz4", ["lz4", "-c"], LZ4Codec()), ("lzip", ["lzip", "-c"], LzipCodec()),
        ]
        for (name, command, codec) in codecs {
            let decoder = { (sink: Collector) in try codec.makeDecompressor(writingTo: sink)! }
            let whole = try tool(command, input[...])
            for piece in [999, 1 << 20] {
                #expect(try await filter(whole, piece: piece, decoder) == input, "\(name)")
            }
            if name != "brotli" {  // brotli has no way to join two streams
                let two = try tool(command, input[..<half]) + tool(command, input[half...])
                #expect(try await filter(two, decoder) == input, "\(name), two in one")
            }
            await #expect(throws: (any Error).self, "\(name) cut short") { _ = try await filter(Array(whole.prefix(whole.count - 10)), decoder) }
            await #expect(throws: (any Error).self, "\(name) and garbage") { _ = try await filter(whole + Array(repeating: 7, count: 100), decoder) }
        }
        // gzip's CRC-32 catches a damaged byte; brotli has no checksum, so there the NAR's hash must.
        var damaged = try tool(["gzip", "-c"], input[...])
        damaged[damaged.count / 2] ^= 0xFF
        await #expect(throws: (any Error).self, "gzip damaged") { _ = try await filter(damaged) { try GzipCodec().makeDecompressor(writingTo: $0)! } }
    }

    @Test("small files (narinfos, listings) compressed whole by brotli, gzip, xz and zstd are what the tools decode; lzip, which Ferry only reads, does not offer it",
          .enabled(if: toolsPresent("brotli", "gzip", "xz", "zstd"), "brotli, gzip, xz and zstd are not installed (make test installs them)"))
    func smallFiles() async throws {
        let codecs: [(tool: String, codec: any Codec)] = [
            ("brotli", BrotliCodec()), ("gzip", GzipCodec()), ("xz", XZCodec(preset: 6, threads: 0)), ("zstd", ZstdCodec(level: 3, threads: 0)),
        ]
        for (tool, codec) in codecs {
            #expect(codec.compressesSmallFiles)
            for input in [[], Array("StorePath: /nix/store/x\n".utf8), sampleData(300_000)] {
                let compressed = try await codec.compress(smallFile: input)
                let decoded = Array(try run([tool, "-dc"], stdin: Data(compressed)).stdout)
                #expect(compressed != input && decoded == input, "\(tool), \(input.count) bytes")
            }
        }
        #expect(!LzipCodec().compressesSmallFiles)
    }

    @Test("truncated or corrupt input is an error, not a crash") func corrupt() async throws {
        let input = sampleData(500_000)
        let zstd = ZstdCodec(level: 3, threads: 1), xz = XZCodec(preset: 1, threads: 1)
        let z = try await filter(input) { try zstd.makeCompressor(narSize: UInt64(input.count), writingTo: $0) }
        let x = try await filter(input) { try xz.makeCompressor(narSize: UInt64(input.count), writingTo: $0) }
        await #expect(throws: (any Error).self) { _ = try await filter(Array(z.prefix(z.count / 2))) { try zstd.makeDecompressor(writingTo: $0)! } }
        await #expect(throws: (any Error).self) { _ = try await filter(Array(x.prefix(x.count / 2))) { try xz.makeDecompressor(writingTo: $0)! } }
        await #expect(throws: (any Error).self) { _ = try await filter(Array(repeating: 7, count: 1000)) { try xz.makeDecompressor(writingTo: $0)! } }
        await #expect(throws: (any Error).self) { _ = try await filter(Array(repeating: 7, count: 1000)) { try BZip2Codec().makeDecompressor(writingTo: $0)! } }
    }

    @Test("exec runs a real command and fails loudly when it fails",
          .enabled(if: toolsPresent("zstd"), "zstd is not installed (make test installs it)"))
    func exec() async throws {
        let input = sampleData(300_000)
        let codec = ExecCodec(command: ["zstd", "-3", "-c"], compression: "zstd", memory: 1 << 20)
        let out = try await filter(input) { try codec.makeCompressor(narSize: UInt64(input.count), writingTo: $0) }
        #expect(Array(try run(["zstd", "-d", "-c"], stdin: Data(out)).stdout) == input)
        let failing = ExecCodec(command: ["sh", "-c", "echo broken >&2; exit 3"], compression: "zstd", memory: 1 << 20)
        do {
            _ = try await filter([1, 2, 3]) { try failing.makeCompressor(narSize: 3, writingTo: $0) }
            Issue.record("a failing command went unnoticed")
        } catch {
            #expect("\(error)".contains("broken"))
        }
    }

    @Test("small NARs reserve little memory; multi-threaded big ones more") func memoryBySize() {
        let zstd = ZstdCodec(level: 3, threads: 2)
        #expect(zstd.compressorMemory(narSize: 10_000) < 4 << 20)
        #expect(zstd.compressorMemory(narSize: 1 << 30) > zstd.compressorMemory(narSize: 10_000))
        let xz = XZCodec(preset: 6, threads: 2)
        #expect(xz.compressorMemory(narSize: .max) > xz.compressorMemory(narSize: 1_000))
    }

    @Test("xz gives a NAR smaller than its preset's dictionary a dictionary of the NAR's size: little memory to write, and to read with the xz tool",
          .enabled(if: toolsPresent("xz"), "xz is not installed (make test installs it)"))
    func xzDictionaryBySize() async throws {
        let xz = XZCodec(preset: 9, threads: 1)
        #expect(xz.compressorMemory(narSize: 100_000) < 8 << 20)
        #expect(xz.compressorMemory(narSize: 1 << 30) > 600 << 20)
        let input = sampleData(100_000)
        let packed = try await filter(input) { try xz.makeCompressor(narSize: UInt64(input.count), writingTo: $0) }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try Data(packed).write(to: URL(fileURLWithPath: dir.path + "/nar.xz"))
        #expect(Array(try run(["xz", "-d", "-c", dir.path + "/nar.xz"]).stdout) == input)
        // What the tool says a reader needs: a 64 MiB dictionary's 65 MiB without the fix.
        let summary = try #require(try run(["xz", "--robot", "-lvv", dir.path + "/nar.xz"]).lines.first { $0.hasPrefix("summary\t") })
        let needed = try #require(Int(summary.split(separator: "\t")[1]))
        #expect(needed < 2 << 20, "\(summary)")
    }

    @Test("a decoder reserves what a NAR of that size writes into it (four bytes a byte for bzip2), in whole huge pages, never more than its most; a NarSize too large to count takes the most")
    func decoderMemoryBySize() {
        let codecs: [any Codec] = [ZstdCodec(level: 3, threads: 0), XZCodec(preset: 6, threads: 1), BZip2Codec(), LZ4Codec()]
        for codec in codecs {
            #expect(codec.decompressorMemory(narSize: 10_000) <= 3 << 20, "\(codec.compression)")
            #expect(codec.decompressorMemory(narSize: .max) == codec.decompressorMemory, "\(codec.compression)")
            #expect(codec.decompressorMemory(narSize: 1 << 40) == codec.decompressorMemory, "\(codec.compression)")
        }
        #expect(BZip2Codec().decompressorMemory(narSize: 500_000) == (2 << 20) + (1 << 20))
        #expect(ZstdCodec(level: 3, threads: 0).decompressorMemory(narSize: 8 << 20) == 9 << 20)
        #expect(ZstdCodec(level: 3, threads: 0).decompressorMemory(narSize: (8 << 20) + 1) == 11 << 20)
    }

    @Test("xz streams hold the processors their threads use, but one under 1 MiB none (it is done in a moment); zstd's and none's hold none") func cores() {
        let xz = XZCodec(preset: 6, threads: 2)
        #expect(xz.compressorCores(narSize: 1 << 30) == 2)
        #expect(xz.compressorCores(narSize: 40 << 20) == 1)
        #expect(xz.compressorCores(narSize: 1_000) == 0)
        #expect(ZstdCodec(level: 3, threads: 2).compressorCores(narSize: 1 << 30) == 0)
        #expect(NoneCodec().compressorCores(narSize: 1 << 30) == 0)
    }
}
