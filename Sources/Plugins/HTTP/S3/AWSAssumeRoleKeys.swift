import FerryCore
import Foundation
import Logging

/// Keys of a role assumed through STS's `AssumeRole`, signed with the keys of another
/// source: a profile's `role_arn` with `source_profile` (or `credential_source`). Each is
/// renewed five minutes before its own keys expire: the role's when it runs out, and the
/// source's when the role's renewal finds them due.
struct AWSAssumeRoleKeys: AWSKeyFetcher {
    let role: AWSProfileRole.AssumeRole
    let source: AWSCredentialProvider
    private let sts: STSClient

    init(_ role: AWSProfileRole.AssumeRole, source: AWSCredentialProvider, sts: URLParts, logger: Logger) throws(ConfigError) {
        self.role = role
        self.source = source
        self.sts = try STSClient(sts, authorizer: SigV4Authorizer(credentials: source, region: role.region, service: "sts"), logger: logger)
    }

    var origin: String { "role \(role.arn) assumed with \(source.fetcher.origin)" }

    /// What `AssumeRole` is sent besides its action.
    var parameters: [(String, String)] {
        [("RoleArn", role.arn), ("RoleSessionName", role.sessionName)]
            + (role.externalID.map { [("ExternalId", $0)] } ?? [])
            + (role.durationSeconds.map { [("DurationSeconds", $0)] } ?? [])
    }

    func fetch() async throws -> AWSKeyLease {
        do {
            return try await sts.keys("AssumeRole", parameters, for: origin)
        } catch {
            throw error as? CredentialsUnavailable ?? CredentialsUnavailable(reason: "\(origin): \(error)")
        }
    }
}
