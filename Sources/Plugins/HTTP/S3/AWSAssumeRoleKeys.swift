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
    private let transport: HTTPTransport
    private let sts: URLParts

    init(_ role: AWSProfileRole.AssumeRole, source: AWSCredentialProvider, sts: URLParts, logger: Logger) throws(ConfigError) {
        self.role = role
        self.source = source
        self.sts = sts
        transport = try .forKeys(from: "STS \(sts.text)", at: sts, authorizer: SigV4Authorizer(credentials: source, region: role.region, service: "sts"),
                             connectTimeout: .seconds(10), ioTimeout: .seconds(30), logger: logger)
    }

    var origin: String { "role \(role.arn) assumed with \(source.fetcher.origin)" }

    func fetch() async throws -> AWSKeyLease {
        var form = [("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", role.arn), ("RoleSessionName", role.sessionName)]
        if let externalID = role.externalID { form.append(("ExternalId", externalID)) }
        if let duration = role.durationSeconds { form.append(("DurationSeconds", duration)) }
        let body = form.map { "\($0)=\(SigV4.encode($1))" }.joined(separator: "&")
        do {
            let answer = try await transport.text(.POST, sts, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                                  body: .bytes(Array(body.utf8)))
            return try AWSKeyLease(stsAnswer: answer, from: origin)
        } catch let error as CredentialsUnavailable {
            throw error
        } catch {
            throw CredentialsUnavailable(reason: "\(origin): \(error)")
        }
    }
}
