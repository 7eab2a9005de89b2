/// A decompressor for a NAR file from a cache. Its own failure (the file does not decode)
/// names the file; what its output's sink throws (the NAR check) passes through as it is.
final class NarFileDecoder {
    private var decoder: (any ByteFilter)!
    private var sinkFailed = false
    private let path: StorePath
    /// The file, as errors name it: `nar/….nar.xz in file:///cache`.
    private let file: String
    private let compression: String

    init(_ codec: any Codec, for path: StorePath, file: String, writingTo sink: any AsyncByteSink) throws {
        self.path = path
        self.file = file
        compression = codec.compression
        // Only codecs that decompress are asked for one (a cache's, or a pass-through's).
        decoder = try codec.makeDecompressor(writingTo: ClosureSink { [unowned self] chunk in
            do { try await sink.write(chunk) } catch { sinkFailed = true; throw error }
        })!
    }

    func write(_ chunk: ArraySlice<UInt8>) async throws { try await naming { try await decoder.write(chunk) } }

    func finish() async throws { try await naming { try await decoder.finish() } }

    private func naming(_ step: () async throws -> Void) async throws {
        do { try await step() } catch where !sinkFailed && !(error is CancellationError) {
            throw CopyError.narMismatch(path, "\(file) does not decode as \(compression): \(error)")
        }
    }
}
