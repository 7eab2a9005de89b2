import AsyncHTTPClient
import FerryCore
import Foundation
import NIOCore
import NIOHTTP1
import Logging
import Synchronization

/// Sets what a request needs to be accepted: a bearer token, `.netrc` credentials, or an
/// S3 signature over its headers and payload hash.
protocol RequestAuthorizer: Sendable {
    /// `payloadSHA256` is the lowercase hex SHA-256 of the body (of nothing, for none).
    func authorize(_ request: inout HTTPClientRequest, url: URLParts, payloadSHA256: String) async throws
}

/// A request's body: nothing, a few bytes, or part of a spool streamed from memory or disk.
enum RequestBody {
    case empty
    case bytes([UInt8])
    case spool(SpoolChunks, sha256: Hash)

    static let emptySHA256 = Hash.sha256(of: [])

    var length: UInt64 {
        switch self {
        case .empty: 0
        case .bytes(let bytes): UInt64(bytes.count)
        case .spool(let chunks, _): chunks.length
        }
    }

    var sha256: Hash {
        switch self {
        case .empty: RequestBody.emptySHA256
        case .bytes(let bytes): Hash.sha256(of: bytes)
        case .spool(_, let hash): hash
        }
    }

    var clientBody: HTTPClientRequest.Body? {
        switch self {
        case .empty: nil
        case .bytes(let bytes): .bytes(ByteBuffer(bytes: bytes))
        case .spool(let chunks, _):
            .stream(chunks.map { ByteBuffer(bytes: $0) }, length: .known(Int64(chunks.length)))
        }
    }
}

/// The parts of a request URL that signing and messages need.
struct URLParts: Sendable {
    var scheme: String
    /// `host` or `host:port`, as the Host header carries it.
    var authority: String
    /// Already percent-encoded, starting with `/`.
    var path: String
    /// Decoded names and values.
    var query: [(String, String)] = []

    /// The path without a query a NAR URL may carry in it (a signed link's signature), for
    /// messages and logs.
    var pathForMessages: String { path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path }

    /// `GET /nar/x.nar.xz`: a request as messages name it.
    func request(_ method: String) -> String { "\(method) \(pathForMessages)" }

    var text: String {
        let encoded = query.map { "\(SigV4.encode($0.0))=\(SigV4.encode($0.1))" }.joined(separator: "&")
        return "\(scheme)://\(authority)\(path)" + (encoded.isEmpty ? "" : "?\(encoded)")
    }

    /// The same URL with `key` (a cache-relative name) appended to the path.
    func appending(key: String, query: [(String, String)] = []) -> URLParts {
        URLParts(scheme: scheme, authority: authority,
                 path: (path.hasSuffix("/") ? path : path + "/") + SigV4.encode(key, keepSlash: true), query: query)
    }
}

extension URLParts {
    /// An absolute `http(s)://host[:port][/path]` as written (path and query kept as they
    /// are), or nil for any other text.
    init?(absolute text: String) {
        guard let separator = text.range(of: "://") else { return nil }
        let scheme = text[..<separator.lowerBound]
        guard scheme == "http" || scheme == "https" else { return nil }
        let rest = text[separator.upperBound...]
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        guard slash > rest.startIndex else { return nil }
        self.init(scheme: String(scheme), authority: String(rest[..<slash]),
                  path: slash == rest.endIndex ? "/" : String(rest[slash...]))
    }
}

/// An HTTP(S) client for one cache: requests with timeouts and authorization, statuses
/// turned into answers (404 and 403 are "absent" for reads, as in Nix) or errors that
/// say what the server said.
final class HTTPTransport: Sendable {
    /// For requests that write, and for every request of a cache that signs them: never
    /// follows a redirect. A followed PUT may arrive as a GET (303) whose 200 reads as
    /// stored, and a signed request replayed to another host lands unsigned elsewhere.
    let client: HTTPClient
    /// For GET and HEAD of a cache that does not sign: follows up to five redirects.
    let readClient: HTTPClient
    let authorizer: (any RequestAuthorizer)?
    /// Every request is retried on a connection failure, a timeout, 5xx, 408 or 429.
    let retry: RetryPolicy
    let logger: Logger
    /// The name for messages: `https://cache.example.org`, `s3://bucket`.
    let cache: String
    /// The proxy the requests go through, for messages.
    let proxy: HTTPClient.Configuration.Proxy?

    /// Requests go to `origin`, through the proxy the environment names for it, if any.
    init(cache: String, origin: URLParts, authorizer: (any RequestAuthorizer)?, connectTimeout: Duration, ioTimeout: Duration,
         retry: RetryPolicy, logger: Logger, followReadRedirects: Bool) throws(ConfigError) {
        self.cache = cache
        self.authorizer = authorizer
        self.retry = retry
        self.logger = logger
        let proxy = try ProxySettings().proxy(for: origin)
        self.proxy = proxy
        client = HTTPTransport.client(ClientKey(connectTimeout: connectTimeout, ioTimeout: ioTimeout, followRedirects: false, proxy: proxy))
        readClient = followReadRedirects
            ? HTTPTransport.client(ClientKey(connectTimeout: connectTimeout, ioTimeout: ioTimeout, followRedirects: true, proxy: proxy))
            : client
    }

    /// Clients live as long as the process, one per pair of timeouts, way with redirects
    /// and proxy, and are shared by
    /// every cache that uses them: a client must be shut down before it is released, and
    /// a cache that failed half-way through being opened would otherwise release one.
    private static let clients = Mutex<[ClientKey: HTTPClient]>([:])

    private struct ClientKey: Hashable {
        let connectTimeout: Duration
        let ioTimeout: Duration
        let followRedirects: Bool
        let proxy: HTTPClient.Configuration.Proxy?
    }

    private static func client(_ key: ClientKey) -> HTTPClient {
        clients.withLock { clients in
            if let client = clients[key] { return client }
            var configuration = HTTPClient.Configuration()
            let io = TimeAmount.milliseconds(key.ioTimeout.milliseconds)
            configuration.timeout = .init(connect: .milliseconds(key.connectTimeout.milliseconds), read: io, write: io)
            configuration.decompression = .disabled
            configuration.redirectConfiguration = key.followRedirects ? .follow(max: 5, allowCycles: false) : .disallow
            configuration.proxy = key.proxy
            // A refused connection fails its request at once, to be retried (and logged) by
            // `retry` like any other failure; the pool would try again, silently, until
            // connect-timeout ran out, for every request to a server that is down.
            configuration.connectionPool.retryConnectionEstablishment = false
            // Without that retry, one failed connect fails every request queued for the
            // host (each then goes back to `retry`): room for the queries of 16 jobs at
            // once (4 a job), so they seldom queue.
            configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            clients[key] = client
            return client
        }
    }

    /// Sends a request, again after a transient failure; the response is the caller's to
    /// read to its end. Bodies come from memory or a spool, so they can be sent again.
    /// With `successOnly`, any other answer than 2xx is thrown, as the error of a request
    /// sent as often as it was.
    func send(_ method: HTTPMethod, _ url: URLParts, headers: [(String, String)] = [],
              body: RequestBody = .empty, successOnly: Bool = false) async throws -> HTTPClientResponse {
        var attempts = 0
        do {
            return try await retry.run({
                attempts += 1
                let began = ContinuousClock.now
                let response = try await sendOnce(method, url, headers: headers, body: body)
                let status = Int(response.status.code)
                // For -vv: each answer, timed to its headers (a download's body follows).
                logger.debug("\(method) \(url.scheme)://\(url.authority)\(url.pathForMessages)", metadata: ["status": "\(status)", "ms": "\((ContinuousClock.now - began).milliseconds)"])
                guard HTTPError.isTransient(status: status) || (successOnly && !(200..<300).contains(status)) else {
                    return response
                }
                throw await failure(response, method.rawValue, url)
            }) { attempt, error, wait in
                let request = url.request(method.rawValue)
                logger.notice("\(RetryPolicy.retryLine(request, attempt: attempt, error: "\(error)", wait: wait))",
                              metadata: ["request": "\(request)", "attempt": "\(attempt)"])
            }
        } catch var error as HTTPError where attempts > 1 {
            error.attempts = attempts
            throw error
        }
    }

    private func sendOnce(_ method: HTTPMethod, _ url: URLParts, headers: [(String, String)],
                          body: RequestBody) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url.text)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if body.length > 0 || method == .PUT || method == .POST {
            request.headers.replaceOrAdd(name: "Content-Length", value: String(body.length))
        }
        request.body = body.clientBody
        try await authorizer?.authorize(&request, url: url, payloadSHA256: body.sha256.encoded(.base16))
        do {
            let client = method == .GET || method == .HEAD ? readClient : client
            return try await client.execute(request, deadline: .distantFuture)
        } catch {
            // A stopped run is no failure that may pass: never retried, never "HTTP failed".
            if Task.isCancelled { throw CancellationError() }
            throw HTTPError(cache: cache, request: url.request(method.rawValue), reason: describe(error))
        }
    }

    /// The body of a small file, nil when absent. Nix reads 403 as absent too (S3 says so
    /// for a missing key of an unlistable bucket), but a 403 whose body says the
    /// signature or key is wrong must not pass for an empty cache.
    func read(_ url: URLParts) async throws -> [UInt8]? {
        guard let file = try await readEncoded(url) else { return nil }
        if let encoding = file.encoding { throw encodedFile(encoding, url) }
        return file.bytes
    }

    /// `read`, keeping a `Content-Encoding` for the caller to decode.
    func readEncoded(_ url: URLParts) async throws -> EncodedFile? {
        let response = try await send(.GET, url)
        if [.notFound, .forbidden].contains(response.status) {
            // Wrong keys or no bucket are the setup's fault, as a bad setting is (exit 2). A
            // body that cannot be read (a large error page) says neither: the file is absent.
            let body = (try? await response.body.collect(upTo: 64 << 10)).map { String(buffer: $0) } ?? ""
            if body.contains("<Code>NoSuchBucket</Code>") {
                throw ConfigError("\(cache): \(url.request("GET"))", "404 Not Found\(HTTPError.explanation(body)): create the bucket, or name one that exists")
            }
            guard response.status == .forbidden, HTTPError.authenticationCodes.contains(where: { body.contains("<Code>\($0)</Code>") })
            else { return nil }
            throw ConfigError("\(cache): \(url.request("GET"))", "403 Forbidden\(HTTPError.explanation(body)): the access key or secret is wrong")
        }
        try await expectSuccess(response, "GET", url)
        return EncodedFile(bytes: Array(buffer: try await response.body.collect(upTo: EncodedFile.sizeLimit)),
                           encoding: contentEncoding(of: response))
    }

    func exists(_ url: URLParts) async throws -> Bool {
        let response = try await send(.HEAD, url)
        if [.notFound, .forbidden].contains(response.status) { return false }
        try await expectSuccess(response, "HEAD", url)
        return true
    }

    func download(_ url: URLParts, into sink: (ArraySlice<UInt8>) async throws -> Void) async throws {
        let response = try await send(.GET, url)
        if [.notFound, .forbidden].contains(response.status) {
            throw CacheStorageError.notFound(url.pathForMessages, in: cache)
        }
        try await expectSuccess(response, "GET", url)
        try refuseEncoded(response, url)
        var body = response.body.makeAsyncIterator()
        var received = 0
        while true {
            let buffer: ByteBuffer?
            do {
                buffer = try await body.next()
            } catch where error is CancellationError || Task.isCancelled {
                throw CancellationError()  // a stop, not a broken connection
            } catch {
                // A connection lost mid-body is transient: the caller may try again.
                throw HTTPError(cache: cache, request: url.request("GET"),
                                reason: "the connection broke after \(ByteSize.format(received)) of the body: \(describe(error))")
            }
            guard let buffer else { return }
            received += buffer.readableBytes
            try await sink(Array(buffer.readableBytesView)[...])
        }
    }

    /// Throws when a file comes with a `Content-Encoding`, except where the caller decodes
    /// it (narinfos): Nix never encodes NARs or `nix-cache-info`, and Ferry would misread one.
    private func refuseEncoded(_ response: HTTPClientResponse, _ url: URLParts) throws {
        if let encoding = contentEncoding(of: response) { throw encodedFile(encoding, url) }
    }

    /// The response's `Content-Encoding`, nil for none (or `identity`).
    private func contentEncoding(of response: HTTPClientResponse) -> String? {
        response.headers.first(name: "Content-Encoding").flatMap { $0.lowercased() == "identity" ? nil : $0 }
    }

    private func encodedFile(_ encoding: String, _ url: URLParts) -> HTTPError {
        HTTPError(cache: cache, request: url.request("GET"), status: 200,
                  reason: "it comes with Content-Encoding: \(encoding), which Ferry decodes only for narinfos")
    }

    /// Sends a request whose answer must be a success; returns the body of the answer.
    @discardableResult
    func call(_ method: HTTPMethod, _ url: URLParts, headers: [(String, String)] = [],
              body: RequestBody = .empty) async throws -> HTTPClientResponse {
        try await send(method, url, headers: headers, body: body, successOnly: true)
    }

    /// Throws, with the status and the start of the server's explanation, unless 2xx.
    func expectSuccess(_ response: HTTPClientResponse, _ method: String, _ url: URLParts) async throws {
        guard !(200..<300).contains(response.status.code) else { return }
        throw await failure(response, method, url)
    }

    /// The error a response's status is, with the start of the server's explanation and
    /// its `Retry-After`.
    private func failure(_ response: HTTPClientResponse, _ method: String, _ url: URLParts) async -> HTTPError {
        let text = (try? await response.body.collect(upTo: 64 << 10)).map { String(buffer: $0) } ?? ""
        // Not for S3, which answers 501 NotImplemented, in XML, of a header it does not take.
        let takesNoUploads = method == "PUT" && [405, 501].contains(response.status.code) && !text.contains("<Error>")
        let hint = switch response.status.code {
        case _ where takesNoUploads: ": the server takes no uploads; write to one that does (nginx with WebDAV, an S3 bucket)"
        case 401: ": give credentials with netrc-file (default \(Netrc.defaultFile)) or bearer-token-file"
        case 300..<400: HTTPError.redirectHint(location: response.headers.first(name: "Location"),
                                               bucketRegion: response.headers.first(name: "x-amz-bucket-region"),
                                               endpoint: HTTPError.element("Endpoint", in: text))
        default: ""
        }
        return HTTPError(cache: cache, request: url.request(method), status: Int(response.status.code),
                         reason: "\(response.status.code) \(response.status.reasonPhrase)" + HTTPError.explanation(text) + hint,
                         retryAfter: response.headers.first(name: "Retry-After").flatMap(HTTPError.parseRetryAfter))
    }


    private func describe(_ error: any Error) -> String {
        let text = switch error {
        case let error as HTTPClientError where error == .connectTimeout: "no connection within connect-timeout"
        case let error as HTTPClientError where error == .readTimeout: "the server sent nothing within io-timeout"
        case let error as HTTPClientError where error == .writeTimeout: "the server took nothing within io-timeout"
        default:
            "\(error)".contains("Connection refused") ? "connection refused: is the server running, and is the port right?" : "\(error)"
        }
        return proxy.map { "\(text) (through the proxy \($0.host):\($0.port))" } ?? text
    }
}

/// An HTTP request that failed: which cache, which request, and what the server said.
/// Without a status the connection itself failed (refused, reset, timed out).
struct HTTPError: TransientError, CustomStringConvertible {
    let cache: String
    let request: String
    var status: Int? = nil
    let reason: String
    var retryAfter: Duration? = nil
    /// How often the request was sent. One that was retried already and still failed is
    /// not retried again with its whole path: `--retries 5` would mean 25 uploads.
    var attempts = 1

    var description: String { "\(cache): \(request): \(reason)" + (attempts > 1 ? " (sent \(attempts) times)" : "") }

    var isTransient: Bool { attempts == 1 && (status.map(HTTPError.isTransient(status:)) ?? true) }

    /// 5xx but 501 (Not Implemented: a method the server lacks) and 505 (HTTP Version Not
    /// Supported), which say the same to every attempt; 408 and 429.
    static func isTransient(status: Int) -> Bool {
        (status >= 500 && ![501, 505].contains(status)) || status == 408 || status == 429
    }

    /// `Retry-After` in seconds (the HTTP-date form is read as no hint).
    static func parseRetryAfter(_ value: String) -> Duration? {
        Int(value.trimmingCharacters(in: .whitespaces)).map { .seconds(max($0, 0)) }
    }

    /// S3 error codes that mean the credentials, not the request, are wrong.
    static let authenticationCodes = ["SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidToken", "ExpiredToken",
                                      "AuthorizationHeaderMalformed", "RequestTimeTooSkewed", "InvalidClientTokenId"]

    /// The text of the first `<name>` element of an XML body (S3's answers and errors).
    static func element(_ name: String, in xml: String) -> String? {
        guard let start = xml.range(of: "<\(name)>"), let end = xml.range(of: "</\(name)>", range: start.upperBound..<xml.endIndex)
        else { return nil }
        return String(xml[start.upperBound..<end.lowerBound])
    }

    /// What to change when a redirect was not followed: S3 names the bucket's region (a
    /// header) or endpoint (in the body), a web server the new address.
    static func redirectHint(location: String?, bucketRegion: String?, endpoint: String?) -> String {
        if let bucketRegion { return ": the bucket is in region \(bucketRegion); set region=\(bucketRegion)" }
        if let endpoint { return ": S3 asks for the endpoint \(endpoint)" }
        let target = location.map { "it points to \($0)" } ?? "it names no new address"
        return ": a redirect is followed only by reads of an http(s) cache; \(target), so give the address it points to"
    }

    /// The interesting part of an error body: S3's `<Code>` and `<Message>`, or the text.
    static func explanation(_ body: String) -> String {
        if let code = element("Code", in: body) {
            return " (\(code)" + (element("Message", in: body).map { ": \($0)" } ?? "") + ")"
        }
        let text = body.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty || text.hasPrefix("<") ? "" : " (\(text.prefix(200)))"
    }
}
