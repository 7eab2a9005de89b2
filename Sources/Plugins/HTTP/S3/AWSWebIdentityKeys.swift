import FerryCore
import Foundation
import Logging

/// Keys of a role assumed with a web identity token (EKS service accounts, CI systems'
/// OIDC tokens): the token file is read at each fetch (it is rotated) and sent to STS's
/// `AssumeRoleWithWebIdentity`, which needs no signature.
struct AWSWebIdentityKeys: AWSKeyFetcher {
    let role: String
    let tokenFile: String
    let sessionName: String
    private let sts: STSClient

    init(role: String, tokenFile: String, sessionName: String, sts: URLParts, logger: Logger) throws(ConfigError) {
        self.role = role
        self.tokenFile = tokenFile
        self.sessionName = sessionName
        self.sts = try STSClient(sts, logger: logger)
    }

    var origin: String { "role \(role) with the web identity token in \(tokenFile)" }

    func fetch() async throws -> AWSKeyLease {
        let token = try readToken(tokenFile)
        return try await sts.keys("AssumeRoleWithWebIdentity",
                                  [("RoleArn", role), ("RoleSessionName", sessionName), ("WebIdentityToken", token)], for: origin)
    }
}
