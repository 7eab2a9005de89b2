import Logging
import Testing
@testable import FerryCore

/// An in-memory source: NARs made from token lists, path infos computed from them.
final class MemorySource: StoreSource {
    let description = "memory source"
    let infos: [StorePath: PathInfo]
    let nars: [StorePath: [UInt8]]

    /// `lie`: sends another NAR of the same size; `truncate`: sends the NAR without its last bytes.
    init(_ entries: [(StorePath, [StorePath], [UInt8])], lie about: StorePath? = nil, truncate: StorePath? = nil) {
        var infos: [StorePath: PathInfo] = [:], nars: [StorePath: [UInt8]] = [:]
        for (path, refs, nar) in entries {
            var hasher = HashingCounter()
            nar.withUnsafeBytes { hasher.update($0) }
            infos[path] = PathInfo(path: path, narHash: hasher.finalize(), narSize: UInt64(nar.count), references: Set(refs))
            // A lying source: advertises one NAR, sends another of the same size.
            nars[path] = path == about ? nar.map { $0 == UInt8(ascii: "x") ? UInt8(ascii: "y") : $0 } : nar
            if path == truncate { nars[path]!.removeLast(8) }
        }
        self.infos = infos
        self.nars = nars
    }

    func closure(of paths: [StorePath]) async throws -> Set<StorePath> {
        var seen = Set<StorePath>(), todo = paths
        while let next = todo.popLast() {
            if seen.insert(next).inserted { todo += infos[next]?.references ?? [] }
        }
        return seen
    }
    func pathInfos(_ paths: [StorePath]) async throws -> [PathInfo] { paths.compactMap { infos[$0] } }
    func protect(_ paths: [StorePath]) async throws -> Set<StorePath> { Set(paths.filter { infos[$0] != nil }) }
    func streamNar(of info: PathInfo, into sink: (ArraySlice<UInt8>) async throws -> Void) async throws {
        let nar = nars[info.path]!
        for start in stride(from: 0, to: nar.count, by: 100) { try await sink(nar[start..<min(start + 100, nar.count)]) }
    }
    func close() async {}
}

/// A backend that keeps what it is given and logs the order of events.
final class MemoryBackend: StoreBackend {
    let description = "memory backend"
    let storesCompressedNars = true
    let needsReferencesFirst: Bool
    private let state = Locked((log: [String](), stored: [StorePath: [UInt8]](), batches: [[StorePath]]()))
    let present: Set<StorePath>
    var log: [String] { state.withLock { $0.log } }
    var stored: [StorePath: [UInt8]] { state.withLock { $0.stored } }
    /// The paths of each `publish` call, in order.
    var batches: [[StorePath]] { state.withLock { $0.batches } }

    init(referencesFirst: Bool = false, present: Set<StorePath> = []) {
        needsReferencesFirst = referencesFirst
        self.present = present
    }

    func prepare() async throws {}
    func presentPaths(_ paths: [StorePath]) async throws -> Set<StorePath> { present.intersection(paths) }
    func beginNar(_ info: PathInfo, compression: String) async throws -> any NarWriter {
        record("begin \(info.path.name)", for: info.path)
        return Writer(info: info, backend: self)
    }
    func publish(_ batch: [StoredNar]) async -> [StorePath: any Error] {
        for nar in batch { record("publish \(nar.info.path.name)", for: nar.info.path) }
        state.withLock { $0.batches.append(batch.map(\.info.path)) }
        return [:]
    }
    func close() async {}
    func record(_ entry: String, bytes: [UInt8]? = nil, for path: StorePath) {
        state.withLock {
            $0.log.append(entry)
            if let bytes { $0.stored[path] = bytes }
        }
    }

    final class Writer: NarWriter {
        let info: PathInfo
        let backend: MemoryBackend
        var bytes: [UInt8] = []
        init(info: PathInfo, backend: MemoryBackend) { self.info = info; self.backend = backend }
        func write(_ chunk: ArraySlice<UInt8>) async throws { bytes += chunk }
        func commit() async throws -> StoredNar {
            backend.record("commit \(info.path.name)", bytes: bytes, for: info.path)
            return StoredNar(info: info, url: "nar/x", compression: "none", fileSize: UInt64(bytes.count))
        }
        func abort() async { backend.record("abort \(info.path.name)", for: info.path) }
    }
}

struct IdentityCodec: Codec {
    let compression = "none"
    func compressorMemory(narSize: UInt64) -> Int { 1 << 20 }
    func makeCompressor(narSize: UInt64, writingTo output: any AsyncByteSink) throws -> any ByteFilter { PassThrough(output) }
}

/// A codec told each NAR's size up front, as zstd is: its compressor fails at the end
/// when it was given another number of bytes.
struct SizeToldCodec: Codec {
    let compression = "none"
    func compressorMemory(narSize: UInt64) -> Int { 1 << 20 }
    func makeCompressor(narSize: UInt64, writingTo output: any AsyncByteSink) throws -> any ByteFilter {
        Compressor(output: output, told: narSize)
    }

    final class Compressor: ByteFilter {
        let output: any AsyncByteSink
        let told: UInt64
        var given: UInt64 = 0
        init(output: any AsyncByteSink, told: UInt64) { self.output = output; self.told = told }
        func write(_ bytes: ArraySlice<UInt8>) async throws {
            given += UInt64(bytes.count)
            try await output.write(bytes)
        }
        func finish() async throws {
            struct SizeIncorrect: Error {}
            if given != told { throw SizeIncorrect() }
        }
    }
}

/// A codec whose streams say they keep `cores` processors busy; it counts how many of its
/// compressors are open at once, each open for at least 100 ms.
final class BusyCodec: Codec {
    let compression = "none"
    let cores: Int
    private let open = Locked((now: 0, most: 0))
    var mostOpen: Int { open.withLock { $0.most } }
    init(cores: Int) { self.cores = cores }

    func compressorMemory(narSize: UInt64) -> Int { 1 << 20 }
    func compressorCores(narSize: UInt64) -> Int { cores }
    func makeCompressor(narSize: UInt64, writingTo output: any AsyncByteSink) throws -> any ByteFilter {
        open.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
        return Compressor(output: output, codec: self)
    }

    final class Compressor: ByteFilter {
        let output: any AsyncByteSink
        let codec: BusyCodec
        init(output: any AsyncByteSink, codec: BusyCodec) { self.output = output; self.codec = codec }
        func write(_ bytes: ArraySlice<UInt8>) async throws { try await output.write(bytes) }
        func finish() async throws {
            try await Task.sleep(for: .milliseconds(100))
            codec.open.withLock { $0.now -= 1 }
        }
    }
}

@Suite("pipeline runs")
struct PipelineRunTests {
    let leaf = TopologicalOrderTests.path("a", "leaf")
    let lib = TopologicalOrderTests.path("b", "lib")
    let app = TopologicalOrderTests.path("c", "app")
    let other = TopologicalOrderTests.path("d", "other")

    private func fileNar(_ text: String) -> [UInt8] {
        nar([.s("nix-archive-1"), .s("("), .s("type"), .s("regular"), .s("contents"), .raw(Array(text.utf8)), .s(")")])
    }

    /// app → lib → leaf, and an unrelated path; `lie` names a path whose NAR does not match
    /// its hash, `truncate` one whose NAR comes short.
    private func source(lie: StorePath? = nil, truncate: StorePath? = nil) -> MemorySource {
        MemorySource([(leaf, [leaf], fileNar("leaf xxxx")), (lib, [leaf], fileNar(String(repeating: "lib ", count: 100))),
                      (app, [lib, leaf], fileNar("app")), (other, [], fileNar("other"))], lie: lie, truncate: truncate)
    }

    private func pipeline(_ source: MemorySource, _ backend: MemoryBackend, jobs: Int = 3,
                          codec: any Codec = IdentityCodec()) -> Pipeline {
        Pipeline(source: source, codec: codec, backend: backend,
                 limiter: MemoryLimiter(budget: 64 << 20), jobs: jobs, logger: Logger(label: "test"))
    }

    @Test("copies the closure and publishes references first, in the same order every run") func order() async throws {
        var logs: Set<[String]> = []
        for _ in 0..<5 {
            let backend = MemoryBackend()
            let summary = try await pipeline(source(), backend).run(paths: [app, other])
            #expect(summary.copied == 4)
            #expect(summary.exitCode == 0)
            logs.insert(backend.log.filter { $0.hasPrefix("publish") })
        }
        #expect(logs == [["publish leaf", "publish other", "publish lib", "publish app"]])
    }

    @Test("publishes in batches of paths that do not refer to each other, each after its references")
    func batches() async throws {
        let src = source()
        for jobs in [1, 4] {
            let backend = MemoryBackend()
            _ = try await pipeline(src, backend, jobs: jobs).run(paths: [app, other])
            var published: Set<StorePath> = []
            for batch in backend.batches {
                for path in batch {
                    let refs = src.infos[path]!.references.subtracting([path])
                    #expect(refs.isSubset(of: published), "\(path.name) published before its references")
                }
                published.formUnion(batch)
            }
            #expect(published == [leaf, lib, app, other])
        }
    }

    @Test("into a cache copies start largest NAR first; into a store, references first")
    func copyOrder() async throws {
        let cache = MemoryBackend()
        _ = try await pipeline(source(), cache, jobs: 1).run(paths: [app, other])
        #expect(cache.log.filter { $0.hasPrefix("begin") }.first == "begin lib")
        let store = MemoryBackend(referencesFirst: true)
        _ = try await pipeline(source(), store, jobs: 1).run(paths: [app, other])
        #expect(store.log.filter { $0.hasPrefix("begin") } == ["begin leaf", "begin other", "begin lib", "begin app"])
    }

    @Test("NAR bytes arrive whole and unchanged") func bytes() async throws {
        let backend = MemoryBackend()
        let src = source()
        _ = try await pipeline(src, backend).run(paths: [app])
        #expect(backend.stored[lib] == src.nars[lib])
    }

    @Test("paths at the destination are skipped") func skips() async throws {
        let backend = MemoryBackend(present: [leaf, lib])
        let summary = try await pipeline(source(), backend).run(paths: [app])
        #expect(summary.skipped == 2)
        #expect(summary.copied == 1)
        #expect(backend.log == ["begin app", "commit app", "publish app"])
    }

    @Test("a NAR that does not match its NarHash is not published, nor is what refers to it; each gets a failed event")
    func mismatch() async throws {
        let backend = MemoryBackend()
        let failedEvents = Locked<[StorePath]>([])
        let summary = try await pipeline(source(lie: leaf), backend).run(paths: [app, other]) { event in
            if case .failed(let path, _) = event { failedEvents.withLock { $0.append(path) } }
        }
        #expect(summary.exitCode == 1)
        #expect(Set(summary.failed.map(\.path)) == [leaf, lib, app])
        #expect(failedEvents.withLock { $0 }.sorted() == summary.failed.map(\.path).sorted(), "one failed event per failed path")
        #expect(summary.failed.first { $0.path == leaf }?.error.contains("NarHash") == true)
        let log = backend.log
        #expect(log.contains("abort leaf"))
        #expect(!log.contains("publish leaf"))
        #expect(!log.contains("publish lib"))
        #expect(!log.contains("publish app"))
        #expect(log.contains("publish other"))
    }

    @Test("a NAR shorter than its NarSize is named as such, before a codec told its size fails on it")
    func shortNar() async throws {
        let summary = try await pipeline(source(truncate: other), MemoryBackend(), codec: SizeToldCodec()).run(paths: [other])
        let error = try #require(summary.failed.first { $0.path == other }?.error)
        #expect(error.contains("bytes but its NarSize is"), "\(error)")
    }

    @Test("without the closure, a path whose reference is neither at the destination nor copied is refused, as Nix refuses it")
    func referenceMissing() async throws {
        let empty = MemoryBackend()
        let refused = try await pipeline(source(), empty).run(paths: [app, leaf], selection: PathSelection(closure: false))
        #expect(refused.exitCode == 1)
        #expect(refused.failed.map(\.path) == [app])
        #expect(refused.failed.first?.error.contains("its reference \(lib) is not at") == true, "\(refused.failed)")
        #expect(empty.log == ["begin leaf", "commit leaf", "publish leaf"], "nothing of app is written")

        let holdingLib = MemoryBackend(present: [lib])
        let copied = try await pipeline(source(), holdingLib).run(paths: [app, leaf], selection: PathSelection(closure: false))
        #expect(copied.exitCode == 0)
        #expect(copied.copied == 2)
    }

    @Test("a store backend gets a path only after its references are in") func referencesFirst() async throws {
        let backend = MemoryBackend(referencesFirst: true)
        _ = try await pipeline(source(), backend, jobs: 4).run(paths: [app])
        let log = backend.log
        #expect(log.firstIndex(of: "publish leaf")! < log.firstIndex(of: "begin lib")!)
        #expect(log.firstIndex(of: "publish lib")! < log.firstIndex(of: "begin app")!)
    }

    @Test("compressors that keep processors busy never hold more than there are; others are not held back",
          arguments: [(streamCores: 2, mostOpen: 1), (streamCores: 1, mostOpen: 2), (streamCores: 0, mostOpen: 4)])
    func cores(streamCores: Int, mostOpen: Int) async throws {
        let codec = BusyCodec(cores: streamCores)
        let pipeline = Pipeline(source: source(), codec: codec, backend: MemoryBackend(),
                                limiter: MemoryLimiter(budget: 64 << 20), cores: CompressionCores(total: 2), jobs: 4,
                                logger: Logger(label: "test"))
        // leaf, lib and app refer to each other, but a cache takes NARs in any order.
        let summary = try await pipeline.run(paths: [app, other])
        #expect(summary.copied == 4)
        #expect(codec.mostOpen == mostOpen)
    }

    @Test("a requested path the source lacks stops the run before anything is copied") func missing() async throws {
        let backend = MemoryBackend()
        await #expect(throws: CopyError.self) {
            _ = try await pipeline(source(), backend).run(paths: [app, TopologicalOrderTests.path("f", "gone")])
        }
        #expect(backend.log.isEmpty)
    }
}
