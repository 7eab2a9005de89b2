import FerryCore
import Foundation
import Logging

/// The S3 keys a run signs with, from the first source that has them, in the order the
/// AWS SDKs (and so Nix) look: what `AWSKeySearch` finds (the key variables, the
/// profile's role, keys or `credential_process`, a web identity), else the container's
/// credentials endpoint (ECS, EKS pod identity: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`
/// or `_FULL_URI`), else the EC2 instance's role (IMDSv2).
///
/// Keys that expire are fetched again five minutes before, so a long upload keeps
/// signing, in one fetch that every request finding them due waits for; a renewal that
/// fails leaves the run on the keys it has while they last.
actor AWSCredentialProvider {
    let fetcher: any AWSKeyFetcher
    private let logger: Logger
    private var lease: AWSKeyLease?
    /// The fetch under way: the jobs' requests come due together, and one fetch serves them all.
    private var renewing: Task<AWSKeyLease, any Error>?

    init(_ fetcher: any AWSKeyFetcher, logger: Logger = Logger(label: "ferry.s3")) {
        self.fetcher = fetcher
        self.logger = logger
    }

    static func fixed(_ credentials: AWSCredentials) -> AWSCredentialProvider { AWSCredentialProvider(FixedKeys(credentials: credentials)) }

    /// The first source that has keys; its keys are fetched at once, so a missing role or
    /// a failing command is a configuration error, not a failure of every path. A profile
    /// the user chose (by `profile`, `AWS_PROFILE` or `AWS_DEFAULT_PROFILE`) must be the
    /// source: signing as the instance's role instead would be another identity than the
    /// one asked for.
    static func find(profile: String?, location: String, environment: EnvironmentVariables = EnvironmentVariables(),
                     logger: Logger) async throws(ConfigError) -> AWSCredentialProvider {
        let search = AWSKeySearch(profile: profile, environment: environment)
        func failure(_ more: String) -> ConfigError { ConfigError(location, "no S3 credentials: \(search.looked)\(more)") }
        let fetcher: any AWSKeyFetcher
        switch search.source {
        case let source?: fetcher = try Self.fetcher(source, environment: environment, location: location, logger: logger)
        case nil:
            if search.profileChosen {
                throw failure(" (a profile named must hold one of those; Ferry does not read sso profiles)")
            }
            guard let endpoint = try endpoint(environment, logger: logger) else {
                throw failure(", and AWS_EC2_METADATA_DISABLED is set")
            }
            fetcher = endpoint
        }
        let provider = AWSCredentialProvider(fetcher, logger: logger)
        do {
            _ = try await provider.current()
        } catch {
            let reason = (error as? CredentialsUnavailable)?.reason ?? "\(error)"
            // Where it looked matters only when it fell back to an endpoint.
            throw search.source == nil ? failure(", and \(reason)") : ConfigError(location, "no S3 credentials: \(reason)")
        }
        return provider
    }

    /// What fetches the keys of `source`; a role's source gets a provider of its own, so
    /// its keys too are renewed before they expire.
    private static func fetcher(_ source: AWSKeySearch.Source, environment: EnvironmentVariables, location: String,
                                logger: Logger) throws(ConfigError) -> any AWSKeyFetcher {
        switch source {
        case .keys(let credentials, let origin): return FixedKeys(credentials: credentials, origin: origin)
        case .process(let command): return AWSProcessKeys(command: command)
        case .webIdentity(let role, let tokenFile, let sessionName, let sts):
            return try AWSWebIdentityKeys(role: role, tokenFile: tokenFile, sessionName: sessionName, sts: try url(sts), logger: logger)
        case .assumeRole(let role, let from):
            let keys = AWSCredentialProvider(try fetcher(from, environment: environment, location: location, logger: logger), logger: logger)
            return try AWSAssumeRoleKeys(role, source: keys, sts: try url(role.sts), logger: logger)
        case .container:
            guard let container = try containerEndpoint(environment, logger: logger) else {
                throw ConfigError(location, "no S3 credentials: credential_source is EcsContainer, but neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor _FULL_URI is set")
            }
            return container
        case .instance:
            guard let instance = try instanceEndpoint(environment, logger: logger) else {
                throw ConfigError(location, "no S3 credentials: credential_source is Ec2InstanceMetadata, but AWS_EC2_METADATA_DISABLED is set")
            }
            return instance
        case .invalid(let reason):
            throw ConfigError(location, "no S3 credentials: \(reason)")
        }
    }

    /// The container's endpoint when its variables are set, else the instance metadata
    /// service unless `AWS_EC2_METADATA_DISABLED` is true.
    private static func endpoint(_ environment: EnvironmentVariables, logger: Logger) throws(ConfigError) -> AWSEndpointKeys? {
        if let container = try containerEndpoint(environment, logger: logger) { return container }
        return try instanceEndpoint(environment, logger: logger)
    }

    private static func containerEndpoint(_ environment: EnvironmentVariables, logger: Logger) throws(ConfigError) -> AWSEndpointKeys? {
        let token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        let tokenFile = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] {
            return try AWSEndpointKeys(.container(try url("http://169.254.170.2" + relative), token: token, tokenFile: tokenFile),
                                   logger: logger)
        }
        if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] {
            return try AWSEndpointKeys(.container(try url(full), token: token, tokenFile: tokenFile), logger: logger)
        }
        return nil
    }

    private static func instanceEndpoint(_ environment: EnvironmentVariables, logger: Logger) throws(ConfigError) -> AWSEndpointKeys? {
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" { return nil }
        return try AWSEndpointKeys(.instance(try url(environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? "http://169.254.169.254")),
                               logger: logger)
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
        let task = renewing ?? Task { try await fetcher.fetch() }
        renewing = task
        do {
            let fresh = try await task.value
            if started { renewing = nil }
            lease = fresh
        } catch {
            if started { renewing = nil }
            guard var kept = lease, kept.expires > Date() else {
                // Every fetcher's errors name where it fetched from.
                throw error as? CredentialsUnavailable ?? CredentialsUnavailable(reason: "\(error)")
            }
            if started {
                logger.warning("S3 keys not renewed; using the current ones until they expire",
                               metadata: ["error": "\(error)", "expires": "\(kept.expires)"])
                // Tried again in half a minute, not by every request meanwhile.
                kept.renewAt = min(kept.expires, Date().addingTimeInterval(30))
                lease = kept
            }
        }
        return lease!.credentials
    }
}
