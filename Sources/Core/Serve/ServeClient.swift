/// A client of Nix's serve protocol over any `ServeTransport`.
///
/// Commands run one at a time, as Nix itself runs them: a connection is used by one
/// task at a time (a `ServeConnectionPool` lends it to one borrower), which is why it
/// may cross tasks although it has mutable state. Any failure in the middle of a command leaves the stream at an unknown
/// position, so the client marks itself broken and refuses further commands; open a
/// new connection instead.
public final class ServeClient: @unchecked Sendable {
    public let transport: any ServeTransport
    public let storeDir: String
    /// The version both sides speak: the lower of the two.
    public private(set) var protocolVersion: UInt64 = 0
    private let reader: WireReader
    private var out = WireEncoder(reservingCapacity: 4096)
    private var broken: String?

    private init(transport: any ServeTransport, storeDir: String) {
        self.transport = transport
        self.storeDir = storeDir
        reader = WireReader(source: transport)
    }

    /// Performs the handshake; the server must speak protocol 2.5 or later.
    public static func connect(over transport: any ServeTransport,
                               storeDir: String = StorePath.defaultStoreDir) async throws -> ServeClient {
        let client = ServeClient(transport: transport, storeDir: storeDir)
        do {
            try await client.handshake()
        } catch {
            // Nobody else holds the transport: a peer left waiting would outlive the run.
            await transport.close()
            throw error
        }
        return client
    }

    static let handshakeOperation = "handshake"

    private func handshake() async throws {
        try await exchange(ServeClient.handshakeOperation) {
            out.u64(ServeProtocol.magic1)
            out.u64(ServeProtocol.clientVersion)
            try await flush()
            guard try await reader.u64() == ServeProtocol.magic2 else {
                throw ServeFailure("the peer did not answer with the serve protocol's magic number")
            }
            let serverVersion = try await reader.u64()
            guard ServeProtocol.major(serverVersion) == 0x200,
                  serverVersion >= ServeProtocol.minimumServerVersion else {
                throw ServeFailure("the peer speaks serve protocol \(ServeProtocol.versionText(serverVersion)); Ferry needs 2.5 or later (Nix 2.1 or newer)")
            }
            protocolVersion = min(serverVersion, ServeProtocol.clientVersion)
        }
    }

    /// The subset of `paths` that is valid in the peer's store. With `lock`, the peer
    /// also keeps them from garbage collection until the connection closes.
    public func queryValidPaths(_ paths: [StorePath], lock: Bool = false,
                                substitute: Bool = false) async throws -> Set<StorePath> {
        try await exchange("QueryValidPaths") {
            out.u64(ServeProtocol.Command.queryValidPaths.rawValue)
            out.bool(lock)
            out.bool(substitute)
            writePaths(paths)
            try await flush()
            return try await readPaths()
        }
    }

    /// Path infos of the valid ones among `paths`; invalid paths are left out.
    public func queryPathInfos(_ paths: [StorePath]) async throws -> [PathInfo] {
        try await exchange("QueryPathInfos") {
            out.u64(ServeProtocol.Command.queryPathInfos.rawValue)
            writePaths(paths)
            try await flush()
            var infos: [PathInfo] = []
            while true {
                let path = try await reader.string(maxLength: ServeProtocol.maxPathLength)
                if path.isEmpty { return infos }
                infos.append(try await readPathInfo(path: path))
            }
        }
    }

    /// The closure of `paths` (every path they reference, directly or not, and themselves).
    public func queryClosure(_ paths: [StorePath], includeOutputs: Bool = false) async throws -> Set<StorePath> {
        try await exchange("QueryClosure") {
            out.u64(ServeProtocol.Command.queryClosure.rawValue)
            out.bool(includeOutputs)
            writePaths(paths)
            try await flush()
            return try await readPaths()
        }
    }

    /// Streams the NAR of `path` to `sink` as it arrives and returns its size. The NAR
    /// has no length prefix on the wire; it is parsed (and so fully validated) to find its end.
    @discardableResult
    public func dumpStorePath(_ path: StorePath, to sink: (ArraySlice<UInt8>) async throws -> Void) async throws -> UInt64 {
        try await exchange("DumpStorePath \(path)") {
            out.u64(ServeProtocol.Command.dumpStorePath.rawValue)
            out.string(path.path)
            try await flush()
            var parser = NarParser()
            var validator = NarValidationOnly()
            while !parser.isComplete {
                if reader.buffered.isEmpty { try await reader.fill() }
                let chunk = reader.buffered
                let used = try chunk.withUnsafeBytes { try parser.feed($0, to: &validator) }
                do {
                    try await sink(chunk.prefix(used))
                } catch {
                    throw ReaderFailure(error: error)
                }
                reader.consume(used)
            }
            return parser.offset
        }
    }

    /// Adds a path to the peer's store from its NAR, which `body` writes to the given
    /// sink: exactly `info.narSize` bytes. The peer checks NarHash and NarSize; signatures
    /// travel as they are, and only a peer behind a daemon that does not trust its user
    /// checks them. `ultimate` stays false unless asked for, as Nix leaves it when it copies.
    public func addToStoreNar(_ info: PathInfo, ultimate: Bool = false,
                              body: (NarUpload) async throws -> Void) async throws {
        let upload = try await beginAddToStoreNar(info, ultimate: ultimate)
        do {
            try await body(upload)
        } catch {
            broken = "an upload was abandoned half-way"
            throw error
        }
        try await finishAddToStoreNar(upload)
    }

    /// Sends AddToStoreNar's request; the NAR then goes to the returned sink, and
    /// `finishAddToStoreNar` completes the command. No other command may run between.
    public func beginAddToStoreNar(_ info: PathInfo, ultimate: Bool = false) async throws -> NarUpload {
        try await exchange("AddToStoreNar \(info.path)") {
            out.u64(ServeProtocol.Command.addToStoreNar.rawValue)
            out.string(info.path.path)
            out.string(info.deriver?.path ?? "")
            out.string(info.narHash.encoded(.base16))
            writePaths(info.sortedReferences)
            out.u64(0)  // registration time: the peer's own clock decides
            out.u64(info.narSize)
            out.bool(ultimate)
            out.strings(info.sortedSignatures)
            out.string(info.contentAddress ?? "")
            try await flush()
            return NarUpload(client: self, path: info.path, expected: info.narSize)
        }
    }

    /// Checks that the whole NAR was sent and waits for the peer to confirm the import.
    public func finishAddToStoreNar(_ upload: NarUpload) async throws {
        try await exchange("AddToStoreNar \(upload.path)") {
            try upload.finish()
            guard try await reader.u64() == 1 else { throw ServeFailure("the peer did not confirm the import") }
        }
    }

    /// Bytes of an upload's NAR. A peer that stops reading mid-NAR has usually refused the
    /// path and said why on its stderr (a daemon that wants signatures from an untrusted
    /// user), so the failed write is reported with that, not as a bare broken pipe.
    fileprivate func sendNar(_ bytes: ArraySlice<UInt8>, of path: StorePath) async throws {
        try await exchange("AddToStoreNar \(path)") {
            do {
                try await transport.write(bytes)
            } catch {
                await transport.close()  // its stderr is whole once it has exited
                throw error
            }
        }
    }

    /// Closes the connection; the peer drops its temporary GC roots. Transports close
    /// once, however often this is called.
    public func close() async {
        broken = broken ?? "the connection is closed"
        await transport.close()
    }

    // MARK: plumbing

    /// Runs one command; any error is wrapped with the operation and the peer's stderr,
    /// and leaves the client broken.
    private func exchange<R>(_ operation: String, _ body: () async throws -> R) async throws -> R {
        if let broken { throw ServeError(peer: transport.peer, operation: operation, reason: broken, peerDiagnostics: "") }
        do {
            return try await body()
        } catch let failure as ReaderFailure {
            broken = "a NAR's reader stopped half-way"
            out.removeAll()
            throw failure.error
        } catch {
            broken = "an earlier command failed"
            out.removeAll()
            throw await wrap(error, operation: operation)
        }
    }

    /// What the reader of a streamed NAR threw (the destination's full disk): its own
    /// error, not the peer's, and no reason to try the peer again.
    private struct ReaderFailure: Error {
        let error: any Error
    }

    private func wrap(_ error: any Error, operation: String) async -> any Error {
        if error is NarUploadError || error is CancellationError { return error }
        let reason: String
        switch error {
        case let failure as ServeFailure: reason = failure.reason
        case WireError.unexpectedEnd: reason = "the peer closed the connection"
        default:
            // Transport errors name their peer already; the ServeError names it once.
            let text = "\(error)"
            reason = text.hasPrefix(transport.peer + ": ") ? String(text.dropFirst(transport.peer.count + 2)) : text
        }
        if case WireError.unexpectedEnd = error {
            // The peer prints its error and exits; give its stderr a moment to arrive.
            await transport.close()
        }
        var wrapped = ServeError(peer: transport.peer, operation: operation, reason: reason,
                                 peerDiagnostics: transport.peerDiagnostics)
        // A lost or stalled connection may pass with a new one; a reply that breaks the
        // protocol will not, nor will a peer's refusal: it says the same to the next one.
        if wrapped.peerRefused {
            wrapped.isTransient = false
        } else if case WireError.unexpectedEnd = error {
            // At the handshake only a failed connection may pass; a login, host key or
            // missing nix-store that ended it would end the next one too.
            wrapped.isTransient = operation != ServeClient.handshakeOperation || wrapped.connectionFailed
        } else {
            wrapped.isTransient = RetryPolicy.isTransient(error) || error is SystemError
        }
        return wrapped
    }

    private func flush() async throws {
        guard !out.isEmpty else { return }
        try await transport.write(out.bytes)
        out.removeAll()
    }

    private func writePaths(_ paths: some Collection<StorePath>) {
        out.strings(paths.map(\.path))
    }

    private func parsePath(_ string: String) throws -> StorePath {
        try StorePath(string, storeDir: storeDir)
    }

    private func readPaths() async throws -> Set<StorePath> {
        Set(try await reader.strings(maxLength: ServeProtocol.maxPathLength).map(parsePath))
    }

    private func readPathInfo(path: String) async throws -> PathInfo {
        let storePath = try parsePath(path)
        let deriver = try await reader.string(maxLength: ServeProtocol.maxPathLength)
        let references = try await readPaths()
        _ = try await reader.u64()  // download size: the NAR size again
        let narSize = try await reader.u64()
        let narHash = try Hash(parsing: try await reader.string(maxLength: ServeProtocol.maxFieldLength))
        let ca = try await reader.string(maxLength: ServeProtocol.maxFieldLength)
        let sigs = try await reader.strings(maxLength: ServeProtocol.maxFieldLength, maxCount: 10_000)
        return PathInfo(path: storePath, deriver: deriver.isEmpty ? nil : try parsePath(deriver),
                        narHash: narHash, narSize: narSize, references: references,
                        signatures: Set(sigs), contentAddress: ca.isEmpty ? nil : ca)
    }
}

/// The NAR of an AddToStoreNar in flight: it counts what is written, so the peer
/// gets exactly the size it was promised.
public final class NarUpload: AsyncByteSink {
    private let client: ServeClient
    public let path: StorePath
    private let expected: UInt64
    public private(set) var written: UInt64 = 0

    init(client: ServeClient, path: StorePath, expected: UInt64) {
        self.client = client
        self.path = path
        self.expected = expected
    }

    public func write(_ bytes: ArraySlice<UInt8>) async throws {
        guard written + UInt64(bytes.count) <= expected else {
            throw NarUploadError(expected: expected, got: written + UInt64(bytes.count))
        }
        try await client.sendNar(bytes, of: path)
        written += UInt64(bytes.count)
    }

    func finish() throws {
        guard written == expected else { throw NarUploadError(expected: expected, got: written) }
    }
}

/// A NAR upload whose length is not the NarSize announced for it.
public struct NarUploadError: Error, CustomStringConvertible {
    public let expected: UInt64
    public let got: UInt64
    public var description: String { "the NAR has \(got) bytes but its path info says \(expected)" }
}

/// A reply that makes no sense, before it is given the operation and peer.
struct ServeFailure: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
