#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file being assembled before it is stored: a compressed NAR, whose name in a cache
/// (its FileHash) is known only once its last byte is in.
///
/// It keeps up to `memoryLimit` bytes in memory, the part of the limiter's reservation
/// the backend asked for, and moves everything to a temporary file in `directory` once
/// it grows past that, so a NAR of any size costs no more memory than was reserved.
/// It hashes what it is given (SHA-256: the FileHash, and an S3 single PUT's payload hash),
/// unless that hash is known before the first byte: an uncompressed NAR's FileHash is its
/// NarHash, which the copy checks anyway (a second SHA-256 was a seventh of Ferry's CPU).
public final class Spool: AsyncByteSink {
    public let memoryLimit: Int
    public let directory: String
    private let name: String
    private var memory: [UInt8] = []
    /// The temporary file, once the contents outgrew `memoryLimit`.
    public private(set) var filePath: String?
    private var fd: Int32 = -1
    /// Nil when the hash was given.
    private var hasher: HashingCounter?
    private let knownHash: Hash?
    private var finished = false
    public private(set) var size: UInt64 = 0
    private let writeback: SpoolWriteback?
    /// How much of the file `writeback` has been given.
    private var writebackStarted: UInt64 = 0

    /// `name` goes into the temporary file's name, for whoever finds it (`<hash>.nar`).
    /// `knownHash` is the SHA-256 the contents will have; whoever passes it must check
    /// that they do before trusting the spool (`finish` returns it as it is). `writeback`
    /// is given the file's ranges as they are written, 8 MiB or more at a time.
    public init(memoryLimit: Int, directory: String, name: String, knownHash: Hash? = nil,
                writeback: SpoolWriteback? = nil) {
        self.memoryLimit = max(memoryLimit, 0)
        self.directory = directory
        self.name = name
        self.knownHash = knownHash
        self.writeback = writeback
        hasher = knownHash == nil ? HashingCounter() : nil
    }

    public func write(_ bytes: ArraySlice<UInt8>) async throws {
        precondition(!finished, "a finished spool takes no more bytes")
        if hasher != nil { bytes.withUnsafeBytes { hasher!.update($0) } }
        size += UInt64(bytes.count)
        if fd < 0 && memory.count + bytes.count <= memoryLimit {
            memory.append(contentsOf: bytes)
            return
        }
        if fd < 0 { try spill() }
        try bytes.withUnsafeBytes { try writeAll(fd, $0, subject: filePath!) }
        if let writeback, size - writebackStarted >= 8 << 20 {
            writeback(fd, Int64(writebackStarted), Int64(size - writebackStarted))
            writebackStarted = size
        }
    }

    /// Ends the contents and returns their SHA-256. A file is not flushed here: a folder
    /// cache makes its stored NARs durable in batches, and an upload only reads it back.
    public func finish() -> Hash {
        finished = true
        return knownHash ?? hasher!.finalize()
    }

    /// The whole contents when they stayed in memory.
    public var bytesInMemory: [UInt8]? { filePath == nil ? memory : nil }

    /// Reads `length` bytes from `offset`, at most `chunkSize` at a time, in order.
    public func chunks(offset: UInt64 = 0, length: UInt64? = nil, chunkSize: Int = 1 << 20) -> SpoolChunks {
        SpoolChunks(spool: self, start: offset, end: length.map { offset + $0 } ?? size, chunkSize: chunkSize)
    }

    func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        guard fd >= 0 else {
            let start = Int(offset)
            return Array(memory[start..<min(start + count, memory.count)])
        }
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = buffer.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw SystemError("read", filePath!) }
            filled += n
        }
        return buffer
    }

    /// Hands the temporary file over to whoever renames it into place; the spool then
    /// no longer removes it.
    public func takeFile() -> String? {
        defer { filePath = nil }
        return filePath
    }

    /// Removes the temporary file, if there is one (and it was not taken).
    public func discard() {
        if fd >= 0 { close(fd) }
        fd = -1
        if let filePath { unlink(filePath) }
        filePath = nil
        memory = []
    }

    deinit { discard() }

    private func spill() throws {
        let path = AtomicFile.temporaryName(for: "\(directory)/\(name)")
        let created = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard created >= 0 else { throw SystemError("create", path) }
        fd = created
        filePath = path
        try memory.withUnsafeBytes { try writeAll(fd, $0, subject: path) }
        memory = []
    }
}

/// Starts writing a range of a spool's file (descriptor, offset, length) to disk without
/// waiting: a folder cache, whose spool files become its NARs, flushes each batch before
/// its narinfos appear, and then waits only for what was not started (3 to 4 % of a
/// local zstd copy's time here).
public typealias SpoolWriteback = @Sendable (Int32, Int64, Int64) -> Void

/// The contents of a spool, or part of it, as a sequence of chunks: an upload's body.
public struct SpoolChunks: AsyncSequence, @unchecked Sendable {
    // Unchecked: a spool is read by the one upload that owns it, after it is finished.
    fileprivate let spool: Spool
    fileprivate let start: UInt64
    fileprivate let end: UInt64
    fileprivate let chunkSize: Int

    public var length: UInt64 { end - start }

    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate let chunks: SpoolChunks
        fileprivate var offset: UInt64

        public mutating func next() async throws -> [UInt8]? {
            guard offset < chunks.end else { return nil }
            let count = Int(Swift.min(UInt64(chunks.chunkSize), chunks.end - offset))
            let bytes = try chunks.spool.read(at: offset, count: count)
            offset += UInt64(count)
            return bytes
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(chunks: self, offset: start) }

    /// SHA-256 of these bytes (an S3 part's payload hash), read once more from the spool.
    public func sha256() async throws -> Hash {
        var hasher = HashingCounter()
        for try await chunk in self { chunk.withUnsafeBytes { hasher.update($0) } }
        return hasher.finalize()
    }
}
