import AsyncHTTPClient
import FerryCore
import Logging
import Foundation
import NIOCore
import NIOHTTP1

/// A binary cache in an S3 bucket (AWS or any S3-compatible server), addressed path-style
/// as Nix's `s3://` store does, every request signed with SigV4.
///
/// A NAR goes up in one PUT up to `multipartThreshold`, above it in parts read back from
/// its spool (so a part costs no memory of its own); a failed multipart upload is
/// aborted, so no part of it stays in the bucket.
final class S3Storage: CacheStorage {
    let bucket: String
    let transport: HTTPTransport
    let endpoint: URLParts
    let multipartThreshold: UInt64
    let minimumPartSize: UInt64
    let spoolMemory: Int
    let spoolDirectory: String
    let encodings: Encodings

    /// The codecs narinfos and listings are stored in, each file with its `Content-Encoding`
    /// (Nix's `narinfo-compression` and `ls-compression`); nil stores them as they are.
    struct Encodings {
        var narInfo: (any Codec)?
        var listing: (any Codec)?

        func codec(for key: String) -> (any Codec)? {
            key.hasSuffix(".narinfo") ? narInfo : key.hasSuffix(".ls") ? listing : nil
        }
    }

    /// S3 allows 10 000 parts; staying at 9 000 leaves room, as attic and niks3 do.
    static let maxParts: UInt64 = 9000
    static let minPartSize: UInt64 = 5 << 20
    static let maxPartSize: UInt64 = 5 << 30
    /// The largest object one PUT may carry.
    static let maxPutSize: UInt64 = 5 << 30

    init(bucket: String, endpoint: URLParts, credentials: AWSCredentialProvider, region: String, multipartThreshold: UInt64,
         partSize: UInt64, encodings: Encodings = Encodings(), connectTimeout: Duration, ioTimeout: Duration, retry: RetryPolicy = .none,
         logger: Logger = Logger(label: "ferry.s3"), spoolMemory: Int, spoolDirectory: String) throws(ConfigError) {
        self.bucket = bucket
        self.endpoint = endpoint
        self.multipartThreshold = multipartThreshold
        minimumPartSize = max(partSize, S3Storage.minPartSize)
        self.spoolMemory = spoolMemory
        self.spoolDirectory = spoolDirectory
        self.encodings = encodings
        transport = try HTTPTransport(cache: "s3://\(bucket)", origin: endpoint, authorizer: SigV4Authorizer(credentials: credentials, region: region, service: "s3"),
                                  connectTimeout: connectTimeout, ioTimeout: ioTimeout, retry: retry, logger: logger, followReadRedirects: false)
    }

    var description: String { "s3://\(bucket)" }

    private func url(_ key: String, query: [(String, String)] = []) -> URLParts {
        endpoint.appending(key: bucket).appending(key: key, query: query)
    }

    func read(_ key: String) async throws -> [UInt8]? { try await transport.read(url(key)) }

    func readEncoded(_ key: String) async throws -> EncodedFile? { try await transport.readEncoded(url(key)) }

    func exists(_ key: String) async throws -> Bool { try await transport.exists(url(key)) }

    func download(_ key: String, into sink: (ArraySlice<UInt8>) async throws -> Void) async throws {
        try await transport.download(url(key), into: sink)
    }

    func write(_ key: String, _ bytes: [UInt8], contentType: String) async throws {
        let codec = encodings.codec(for: key)
        try await transport.call(.PUT, url(key), headers: [("Content-Type", contentType)] + (codec.map { [("Content-Encoding", $0.compression)] } ?? []),
                                 body: .bytes(try await codec?.compress(smallFile: bytes) ?? bytes))
    }

    func store(_ spool: Spool, as key: String, contentType: String) async throws {
        let hash = spool.finish()
        if spool.size <= multipartThreshold {
            try await transport.call(.PUT, url(key), headers: [("Content-Type", contentType)],
                                     body: .spool(spool.chunks(), sha256: hash))
        } else {
            try await multipartUpload(spool, as: key, contentType: contentType)
        }
    }

    /// Parts of at least `minimumPartSize`, large enough that no object needs more than
    /// `maxParts`, in whole MiB.
    func partSize(for size: UInt64) -> UInt64 {
        let needed = (size + S3Storage.maxParts - 1) / S3Storage.maxParts
        let mib: UInt64 = 1 << 20
        return max(minimumPartSize, (needed + mib - 1) / mib * mib)
    }

    private func multipartUpload(_ spool: Spool, as key: String, contentType: String) async throws {
        let uploadID = try await beginUpload(key, contentType: contentType)
        do {
            try Task.checkCancellation()
            var parts: [(number: Int, etag: String)] = []
            let size = partSize(for: spool.size)
            var offset: UInt64 = 0
            while offset < spool.size {
                let chunks = spool.chunks(offset: offset, length: min(size, spool.size - offset))
                let number = parts.count + 1
                let response = try await transport.call(
                    .PUT, url(key, query: [("partNumber", String(number)), ("uploadId", uploadID)]),
                    body: .spool(chunks, sha256: try await chunks.sha256()))
                guard let etag = response.headers.first(name: "ETag") else {
                    throw HTTPError(cache: description, request: "PUT part \(number) of /\(bucket)/\(key)", reason: "no ETag in the answer")
                }
                _ = try await response.body.collect(upTo: 1 << 20)
                parts.append((number, etag))
                offset += chunks.length
            }
            let list = parts.map { "<Part><PartNumber>\($0.number)</PartNumber><ETag>\($0.etag)</ETag></Part>" }.joined()
            let completion: HTTPClientResponse
            do {
                completion = try await transport.call(
                    .POST, url(key, query: [("uploadId", uploadID)]), headers: [("Content-Type", "application/xml")],
                    body: .bytes(Array("<CompleteMultipartUpload>\(list)</CompleteMultipartUpload>".utf8)))
            } catch let error as HTTPError where error.attempts > 1 && error.status == 404 {
                // The answer to a completion was lost, so it was sent again, and S3 no longer
                // knows the upload it completed (NoSuchUpload). Whether the object is there
                // decides: what goes up in parts is a NAR, whose key is its file hash, so an
                // object of its size under that key is this one.
                guard try await storedWhole(key, size: spool.size) else { throw error }
                return
            }
            // S3 can answer 200 and still report an error in the body.
            let body = String(buffer: try await completion.body.collect(upTo: 1 << 20))
            if body.contains("<Error>") {
                throw HTTPError(cache: description, request: "POST /\(bucket)/\(key)?uploadId", reason: "completion failed\(HTTPError.explanation(body))")
            }
        } catch {
            // In a task of its own: an interrupted run's task is cancelled, and the abort
            // must still reach the server.
            let abort = url(key, query: [("uploadId", uploadID)])
            await Task { _ = try? await transport.send(.DELETE, abort) }.value
            throw error
        }
    }

    /// The ID of a new multipart upload of `key`. A stopped run still waits a few seconds
    /// for it, so that it can abort the upload: S3 keeps (and bills) the parts of an
    /// upload until it is completed or aborted, and one whose answer was never read is
    /// neither.
    private func beginUpload(_ key: String, contentType: String) async throws -> String {
        try Task.checkCancellation()
        let request = Task { [self] in
            let created = try await transport.call(.POST, url(key, query: [("uploads", "")]), headers: [("Content-Type", contentType)])
            let body = String(buffer: try await created.body.collect(upTo: 1 << 20))
            guard let uploadID = HTTPError.element("UploadId", in: body) else {
                throw HTTPError(cache: description, request: "POST /\(bucket)/\(key)?uploads", reason: "no UploadId in the answer")
            }
            return uploadID
        }
        return try await withTaskCancellationHandler {
            try await request.value
        } onCancel: {
            Task {
                try await Task.sleep(for: S3Storage.beginGrace)
                request.cancel()
            }
        }
    }

    /// How long a stopped run waits for the answer that begins an upload.
    static let beginGrace: Duration = .seconds(5)

    /// The object is there with `size` bytes.
    private func storedWhole(_ key: String, size: UInt64) async throws -> Bool {
        let response = try await transport.send(.HEAD, url(key))
        return response.status == .ok && response.headers.first(name: "Content-Length").flatMap { UInt64($0) } == size
    }

    func close() async {}
}
