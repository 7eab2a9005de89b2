import FerryCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Where a run's S3 keys come from, in the order the AWS SDKs (and so Nix) look: fixed
/// keys (`AWSCredentials.find`), else the container's credentials endpoint (ECS, EKS pod
/// identity: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `_FULL_URI`), else the EC2
/// instance's role through the instance metadata service (IMDSv2). Keys from an endpoint
/// expire; they are fetched again five minutes before, so a long upload keeps signing.
actor AWSCredentialProvider {
    enum Origin: Sendable {
        case fixed(AWSCredentials)
        /// A URL that answers with keys as JSON, and the `Authorization` it wants.
        case container(URLParts, authorization: String?)
        /// The instance metadata service's base URL.
        case instance(URLParts)
    }

    let origin: Origin
    private let metadata: HTTPTransport
    private var cached: (credentials: AWSCredentials, renewAt: Date)?
    /// The fetch under way, which every request that finds the keys due waits for: the
    /// jobs' requests come due together, and one fetch serves them all.
    private var renewing: Task<(credentials: AWSCredentials, renewAt: Date), any Error>?

    private init(_ origin: Origin, logger: Logger) {
        self.origin = origin
        let name = switch origin {
        case .fixed: "fixed keys"
        case .container(let url, _): "the container credentials endpoint \(url.text)"
        case .instance(let url): "the instance metadata service \(url.text)"
        }
        // A metadata service answers at once or not at all (off EC2 there is none, and a
        // retry there is no news worth a line).
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        metadata = HTTPTransport(cache: name, authorizer: nil, connectTimeout: .seconds(2), ioTimeout: .seconds(5),
                                 retry: RetryPolicy(attempts: 2, initialDelay: .milliseconds(200)), logger: quiet,
                                 followReadRedirects: false)
    }

    static func fixed(_ credentials: AWSCredentials) -> AWSCredentialProvider {
        AWSCredentialProvider(.fixed(credentials), logger: Logger(label: "ferry.s3"))
    }

    /// The first origin that has keys; an endpoint is asked at once, so a missing role is
    /// a configuration error, not a failure of every path.
    static func find(profile: String?, location: String, environment: AWSEnvironment = AWSEnvironment(),
                     logger: Logger) async throws(ConfigError) -> AWSCredentialProvider {
        let (found, looked) = AWSCredentials.find(profile: profile, environment: environment)
        if let found { return .fixed(found) }
        func failure(_ more: String) -> ConfigError { ConfigError(location, "no S3 credentials: \(looked)\(more)") }
        guard profile == nil, let origin = try endpoint(environment) else {
            throw failure(profile == nil ? ", and AWS_EC2_METADATA_DISABLED is set" : "")
        }
        let provider = AWSCredentialProvider(origin, logger: logger)
        do {
            _ = try await provider.current()
        } catch {
            throw failure(", and \(error)")
        }
        return provider
    }

    /// The container's endpoint when its variables are set, else the instance metadata
    /// service unless `AWS_EC2_METADATA_DISABLED` is true.
    private static func endpoint(_ environment: AWSEnvironment) throws(ConfigError) -> Origin? {
        let authorization = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
            ?? environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"].flatMap {
                try? String(contentsOfFile: $0, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            }
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] {
            return .container(try url("http://169.254.170.2" + relative), authorization: authorization)
        }
        if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] {
            return .container(try url(full), authorization: authorization)
        }
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" { return nil }
        return .instance(try url(environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? "http://169.254.169.254"))
    }

    private static func url(_ text: String) throws(ConfigError) -> URLParts {
        guard let url = URLParts(absolute: text) else { throw ConfigError("AWS credentials", "'\(text)' is not an http(s) URL") }
        return url
    }

    /// Keys valid for at least five more minutes.
    func current() async throws -> AWSCredentials {
        if let cached, cached.renewAt > Date() { return cached.credentials }
        if let renewing { return try await renewing.value.credentials }
        let task = Task { try await self.fetchAnew() }
        renewing = task
        defer { renewing = nil }
        let fresh = try await task.value
        cached = fresh
        return fresh.credentials
    }

    private func fetchAnew() async throws -> (credentials: AWSCredentials, renewAt: Date) {
        switch origin {
        case .fixed(let credentials):
            return (credentials, .distantFuture)
        case .container(let url, let authorization):
            return try await fetch(url, headers: authorization.map { [("Authorization", $0)] } ?? [])
        case .instance(let base):
            // IMDSv2: a session token first, then the role's name, then its keys.
            let token = try await text(.PUT, base.appending(key: "latest/api/token"),
                                       headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")])
            let header = [("X-aws-ec2-metadata-token", token)]
            let roles = base.appending(key: "latest/meta-data/iam/security-credentials/")
            guard let role = try await text(.GET, roles, headers: header).split(whereSeparator: \.isNewline).first else {
                throw HTTPError(cache: metadata.cache, request: "GET \(roles.path)", reason: "the instance has no IAM role")
            }
            return try await fetch(roles.appending(key: String(role)), headers: header)
        }
    }

    private func text(_ method: HTTPMethod, _ url: URLParts, headers: [(String, String)]) async throws -> String {
        let response = try await metadata.call(method, url, headers: headers)
        return String(buffer: try await response.body.collect(upTo: 1 << 20)).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Keys from an endpoint's JSON (`AccessKeyId`, `SecretAccessKey`, `Token`,
    /// `Expiration`), to be renewed five minutes before they expire.
    private func fetch(_ url: URLParts, headers: [(String, String)]) async throws -> (credentials: AWSCredentials, renewAt: Date) {
        let body = try await text(.GET, url, headers: headers)
        guard let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
              let key = json["AccessKeyId"] as? String, let secret = json["SecretAccessKey"] as? String else {
            throw HTTPError(cache: metadata.cache, request: "GET \(url.path)", reason: "the answer holds no AccessKeyId and SecretAccessKey")
        }
        let token = (json["Token"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        let expiry = (json["Expiration"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) } ?? .distantFuture
        return (AWSCredentials(accessKey: key, secretKey: secret, sessionToken: token), expiry.addingTimeInterval(-300))
    }
}
