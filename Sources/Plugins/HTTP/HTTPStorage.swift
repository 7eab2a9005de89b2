import AsyncHTTPClient
import FerryCore
import Logging
import Foundation
import NIOHTTP1

/// A binary cache on an HTTP(S) server, read with GET and HEAD and written with PUT (a
/// WebDAV server, nginx with `dav_methods PUT`, or a cache service), as Nix's `http://`
/// store does. A NAR is PUT whole once its spool is complete, so the server never sees a
/// part of one under its final name.
final class HTTPStorage: CacheStorage {
    let base: URLParts
    let transport: HTTPTransport
    let spoolMemory: Int
    let spoolDirectory: String

    init(base: URLParts, authorizer: (any RequestAuthorizer)?, connectTimeout: Duration, ioTimeout: Duration,
         retry: RetryPolicy, logger: Logger, spoolMemory: Int, spoolDirectory: String) throws(ConfigError) {
        self.base = base
        transport = try HTTPTransport(cache: base.text, origin: base, authorizer: authorizer, connectTimeout: connectTimeout,
                                  ioTimeout: ioTimeout, retry: retry, logger: logger, followReadRedirects: true)
        self.spoolMemory = spoolMemory
        self.spoolDirectory = spoolDirectory
    }

    var description: String { base.text }

    func read(_ key: String) async throws -> [UInt8]? { try await transport.read(base.appending(key: key)) }

    func readEncoded(_ key: String) async throws -> EncodedFile? { try await transport.readEncoded(base.appending(key: key)) }

    func exists(_ key: String) async throws -> Bool { try await transport.exists(base.appending(key: key)) }

    func download(_ key: String, into sink: (ArraySlice<UInt8>) async throws -> Void) async throws {
        try await transport.download(try narURL(key), into: sink)
    }

    /// Where a narinfo's URL points, as Nix's http store takes it: an absolute http(s) URL
    /// as it stands, anything else below the cache as written, query and all (the keys
    /// Ferry itself makes need no encoding).
    private func narURL(_ url: String) throws -> URLParts {
        if let absolute = URLParts(absolute: url) { return absolute }
        guard !url.contains("://") else {
            throw CacheStorageError(cache: description, key: url, "an http cache fetches only http(s) NAR URLs")
        }
        return URLParts(scheme: base.scheme, authority: base.authority,
                        path: (base.path.hasSuffix("/") ? base.path : base.path + "/") + url)
    }

    func write(_ key: String, _ bytes: [UInt8], contentType: String) async throws {
        try await transport.call(.PUT, base.appending(key: key), headers: [("Content-Type", contentType)], body: .bytes(bytes))
    }

    func store(_ spool: Spool, as key: String, contentType: String) async throws {
        try await transport.call(.PUT, base.appending(key: key), headers: [("Content-Type", contentType)],
                                 body: .spool(spool.chunks(), sha256: spool.finish()))
    }

    func close() async {}
}

/// HTTP authorization: a bearer token, else the `.netrc` entry for the host (basic), sent
/// only to the cache's own scheme and host: a narinfo may point its NAR anywhere.
struct HTTPAuthorizer: RequestAuthorizer {
    let bearerToken: String?
    let netrc: Netrc.Entry?
    /// The cache's URL; only its scheme and authority count.
    let origin: URLParts

    func authorize(_ request: inout HTTPClientRequest, url: URLParts, payloadSHA256: String) async throws {
        guard url.scheme == origin.scheme && url.authority == origin.authority else { return }
        if let bearerToken {
            request.headers.replaceOrAdd(name: "Authorization", value: "Bearer \(bearerToken)")
        } else if let netrc, let login = netrc.login {
            let pair = Data("\(login):\(netrc.password ?? "")".utf8).base64EncodedString()
            request.headers.replaceOrAdd(name: "Authorization", value: "Basic \(pair)")
        }
    }
}
