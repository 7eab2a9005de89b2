import FerryCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Where a run's S3 keys come from, in the order the AWS SDKs (and so Nix) look: fixed
/// keys (`AWSCredentials.find`), else the container's credentials endpoint (ECS, EKS pod
/// identity: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `_FULL_URI`), else the EC2
/// instance's role through the instance metadata service (IMDSv2). Keys from an endpoint
/// expire; they are fetched again five minutes before, so a long upload keeps signing,
/// and a renewal that fails leaves the run on the keys it has while they last.
actor AWSCredentialProvider {
    enum Origin: Sendable {
        case fixed(AWSCredentials)
        /// A URL that answers with keys as JSON, and the `Authorization` it wants: a
        /// token, or a file holding one (read at each fetch: EKS rotates it).
        case container(URLParts, token: String?, tokenFile: String?)
        /// The instance metadata service's base URL.
        case instance(URLParts)
    }

    /// Keys, when to fetch new ones, and when they stop working.
    private struct Lease {
        let credentials: AWSCredentials
        let renewAt: Date
        let expires: Date
    }

    let origin: Origin
    /// For an endpoint origin.
    private let metadata: HTTPTransport?
    private let logger: Logger
    private var lease: Lease?
    /// The fetch under way, which every request that finds the keys due waits for: the
    /// jobs' requests come due together, and one fetch serves them all.
    private var renewing: Task<Lease, any Error>?

    private init(_ origin: Origin, logger: Logger) {
        self.origin = origin
        self.logger = logger
        let name: String
        switch origin {
        case .fixed(let credentials):
            lease = Lease(credentials: credentials, renewAt: .distantFuture, expires: .distantFuture)
            metadata = nil
            return
        case .container(let url, _, _): name = "the container credentials endpoint \(url.text)"
        case .instance(let url): name = "the instance metadata service \(url.text)"
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
    /// a configuration error, not a failure of every path. A profile the user chose (by
    /// `profile`, `AWS_PROFILE` or `AWS_DEFAULT_PROFILE`) must hold keys: signing as the
    /// instance's role instead would be another identity than the one asked for.
    static func find(profile: String?, location: String, environment: AWSEnvironment = AWSEnvironment(),
                     logger: Logger) async throws(ConfigError) -> AWSCredentialProvider {
        let search = AWSCredentials.find(profile: profile, environment: environment)
        if let found = search.found { return .fixed(found) }
        func failure(_ more: String) -> ConfigError { ConfigError(location, "no S3 credentials: \(search.looked)\(more)") }
        if search.profileChosen {
            throw failure(" (Ferry reads keys only; role_arn, credential_process and sso profiles are not supported)")
        }
        guard let origin = try endpoint(environment) else { throw failure(", and AWS_EC2_METADATA_DISABLED is set") }
        let provider = AWSCredentialProvider(origin, logger: logger)
        do {
            _ = try await provider.current()
        } catch {
            throw failure(", and \((error as? CredentialsUnavailable)?.reason ?? "\(error)")")
        }
        return provider
    }

    /// The container's endpoint when its variables are set, else the instance metadata
    /// service unless `AWS_EC2_METADATA_DISABLED` is true.
    private static func endpoint(_ environment: AWSEnvironment) throws(ConfigError) -> Origin? {
        let token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        let tokenFile = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] {
            return .container(try url("http://169.254.170.2" + relative), token: token, tokenFile: tokenFile)
        }
        if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] {
            return .container(try url(full), token: token, tokenFile: tokenFile)
        }
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" { return nil }
        return .instance(try url(environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? "http://169.254.169.254"))
    }

    private static func url(_ text: String) throws(ConfigError) -> URLParts {
        guard let url = URLParts(absolute: text) else { throw ConfigError("AWS credentials", "'\(text)' is not an http(s) URL") }
        return url
    }

    /// Keys valid for at least five more minutes, or, when fetching new ones failed, the
    /// old ones while they still work.
    func current() async throws -> AWSCredentials {
        if let lease, lease.renewAt > Date() { return lease.credentials }
        let started = renewing == nil
        let task = renewing ?? Task { try await self.fetchLease() }
        renewing = task
        do {
            let fresh = try await task.value
            if started { renewing = nil }
            lease = fresh
        } catch {
            if started { renewing = nil }
            guard let lease, lease.expires > Date() else { throw CredentialsUnavailable(reason: "\(error)") }
            if started {
                logger.warning("S3 keys not renewed; using the current ones until they expire",
                               metadata: ["error": "\(error)", "expires": "\(lease.expires)"])
                // Tried again in half a minute, not by every request meanwhile.
                self.lease = Lease(credentials: lease.credentials, renewAt: min(lease.expires, Date().addingTimeInterval(30)),
                                   expires: lease.expires)
            }
        }
        return lease!.credentials
    }

    private func fetchLease() async throws -> Lease {
        switch origin {
        case .fixed(let credentials):
            return Lease(credentials: credentials, renewAt: .distantFuture, expires: .distantFuture)
        case .container(let url, let token, let tokenFile):
            // As the SDKs: the file first, read anew each time.
            let authorization = try tokenFile.map {
                try String(contentsOfFile: $0, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            } ?? token
            return try await fetch(url, headers: authorization.map { [("Authorization", $0)] } ?? [])
        case .instance(let base):
            // IMDSv2: a session token first, then the role's name, then its keys.
            let token = try await text(.PUT, base.appending(key: "latest/api/token"),
                                       headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")])
            let header = [("X-aws-ec2-metadata-token", token)]
            let roles = base.appending(key: "latest/meta-data/iam/security-credentials/")
            guard let role = try await text(.GET, roles, headers: header).split(whereSeparator: \.isNewline).first else {
                throw CredentialsUnavailable(reason: "\(roles.text): the instance has no IAM role")
            }
            return try await fetch(roles.appending(key: String(role)), headers: header)
        }
    }

    private func text(_ method: HTTPMethod, _ url: URLParts, headers: [(String, String)]) async throws -> String {
        let response = try await metadata!.call(method, url, headers: headers)
        return String(buffer: try await response.body.collect(upTo: 1 << 20)).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Keys from an endpoint's JSON (`AccessKeyId`, `SecretAccessKey`, `Token`,
    /// `Expiration`), to be renewed five minutes before they expire; keys whose expiry
    /// cannot be read are renewed every ten minutes.
    private func fetch(_ url: URLParts, headers: [(String, String)]) async throws -> Lease {
        let body = try await text(.GET, url, headers: headers)
        guard let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
              let key = json["AccessKeyId"] as? String, let secret = json["SecretAccessKey"] as? String else {
            throw CredentialsUnavailable(reason: "\(url.text): the answer holds no AccessKeyId and SecretAccessKey")
        }
        let token = (json["Token"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        let credentials = AWSCredentials(accessKey: key, secretKey: secret, sessionToken: token)
        guard let expires = (json["Expiration"] as? String).flatMap(Self.date) else {
            return Lease(credentials: credentials, renewAt: Date().addingTimeInterval(600), expires: Date().addingTimeInterval(900))
        }
        return Lease(credentials: credentials, renewAt: expires.addingTimeInterval(-300), expires: expires)
    }

    /// ISO 8601, with or without fractional seconds (endpoints write both).
    private static func date(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions.insert(.withFractionalSeconds)
        return plain.date(from: text) ?? fractional.date(from: text)
    }
}

/// S3 keys that could not be fetched or renewed. Transient: an endpoint that failed may
/// answer on the next attempt.
struct CredentialsUnavailable: TransientError, CustomStringConvertible {
    let reason: String
    var description: String { "no S3 keys: \(reason)" }
}
