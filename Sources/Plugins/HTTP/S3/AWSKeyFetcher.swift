import FerryCore
import Foundation
import Logging
import NIOHTTP1

/// Somewhere S3 keys come from. `AWSCredentialProvider` fetches again before the keys
/// expire.
protocol AWSKeyFetcher: Sendable {
    /// Where the keys come from, for messages.
    var origin: String { get }
    func fetch() async throws -> AWSKeyLease
}

extension AWSKeyFetcher {
    /// A token kept in a file, read at each fetch: the files are rotated.
    func readToken(_ file: String) throws -> String {
        do {
            return try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw CredentialsUnavailable(reason: "\(origin): the token file \(file) cannot be read (\(error.localizedDescription))")
        }
    }
}

/// Keys, when they stop working, and when to fetch new ones: five minutes before that.
struct AWSKeyLease: Sendable {
    let credentials: AWSCredentials
    let expires: Date
    var renewAt: Date

    init(_ credentials: AWSCredentials, expires: Date) {
        self.credentials = credentials
        self.expires = expires
        renewAt = expires.addingTimeInterval(-300)
    }

    /// Keys as the AWS tools write them in JSON: `AccessKeyId`, `SecretAccessKey`, the
    /// session token under `tokenKey` (`Token` from an endpoint, `SessionToken` from a
    /// command) and an ISO 8601 `Expiration`; `otherwise` is when keys without one expire.
    /// With `version`, the JSON's `Version` must be it. An `Expiration` that cannot be
    /// read is an error: taken for none, keys would outlive it unrenewed.
    init(json text: String, tokenKey: String, version: Int? = nil, otherwise: Date, from origin: String) throws {
        func refuse(_ what: String) -> CredentialsUnavailable { CredentialsUnavailable(reason: "\(origin): \(what)") }
        guard let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw refuse("the answer is not a JSON object")
        }
        if let version, json["Version"] as? Int != version { throw refuse("the answer has no \"Version\": \(version)") }
        guard let key = json["AccessKeyId"] as? String, let secret = json["SecretAccessKey"] as? String else {
            throw refuse("the answer holds no AccessKeyId and SecretAccessKey")
        }
        var expires = otherwise
        if let expiration = json["Expiration"] {
            guard let date = (expiration as? String).flatMap(Self.date) else { throw refuse("its Expiration '\(expiration)' is not an ISO 8601 time") }
            expires = date
        }
        let token = (json[tokenKey] as? String).flatMap { $0.isEmpty ? nil : $0 }
        self.init(AWSCredentials(accessKey: key, secretKey: secret, sessionToken: token), expires: expires)
    }

    /// The keys in an answer of STS (`AssumeRole`, `AssumeRoleWithWebIdentity`): its
    /// `Credentials`' `AccessKeyId`, `SecretAccessKey`, `SessionToken` and `Expiration`.
    init(stsAnswer answer: String, from origin: String) throws {
        guard let key = HTTPError.element("AccessKeyId", in: answer),
              let secret = HTTPError.element("SecretAccessKey", in: answer),
              let expires = HTTPError.element("Expiration", in: answer).flatMap(AWSKeyLease.date) else {
            throw CredentialsUnavailable(reason: "\(origin): STS's answer holds no AccessKeyId, SecretAccessKey and Expiration")
        }
        self.init(AWSCredentials(accessKey: key, secretKey: secret, sessionToken: HTTPError.element("SessionToken", in: answer)),
                  expires: expires)
    }

    /// ISO 8601, with or without fractional seconds (endpoints write both).
    static func date(_ text: String) -> Date? {
        (try? Date.ISO8601FormatStyle().parse(text))
            ?? (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
    }
}

/// S3 keys that could not be fetched or renewed. Transient: an endpoint that failed may
/// answer on the next attempt.
struct CredentialsUnavailable: TransientError, CustomStringConvertible {
    let reason: String
    var description: String { "no S3 keys: \(reason)" }
}

/// Keys given as they are, which never expire.
struct FixedKeys: AWSKeyFetcher {
    let credentials: AWSCredentials
    /// Where they were written: `the AWS_* variables`, `the keys of profile base`.
    var origin = "fixed keys"
    func fetch() async throws -> AWSKeyLease { AWSKeyLease(credentials, expires: .distantFuture) }
}

extension HTTPTransport {
    /// A client for a service that hands out keys: quiet (a retry of it is no news worth a
    /// line), two attempts, no redirects.
    static func forKeys(from origin: String, at url: URLParts, authorizer: (any RequestAuthorizer)? = nil,
                        connectTimeout: Duration, ioTimeout: Duration, logger: Logger) throws(ConfigError) -> HTTPTransport {
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        return try HTTPTransport(cache: origin, origin: url, authorizer: authorizer, connectTimeout: connectTimeout, ioTimeout: ioTimeout,
                             retry: RetryPolicy(attempts: 2, initialDelay: .milliseconds(200)), logger: quiet,
                             followReadRedirects: false)
    }

    /// The whole answer to a request that must succeed, as trimmed text (at most 1 MiB).
    func text(_ method: HTTPMethod, _ url: URLParts, headers: [(String, String)] = [],
              body: RequestBody = .empty) async throws -> String {
        let response = try await call(method, url, headers: headers, body: body)
        return String(buffer: try await response.body.collect(upTo: 1 << 20)).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
