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
    let sts: URLParts
    private let transport: HTTPTransport

    init(role: String, tokenFile: String, sessionName: String, sts: URLParts, logger: Logger) throws(ConfigError) {
        self.role = role
        self.tokenFile = tokenFile
        self.sessionName = sessionName
        self.sts = sts
        transport = try .forKeys(from: "STS \(sts.text)", at: sts, connectTimeout: .seconds(10), ioTimeout: .seconds(30), logger: logger)
    }

    var origin: String { "role \(role) with the web identity token in \(tokenFile)" }

    func fetch() async throws -> AWSKeyLease {
        let token = try readToken(tokenFile)
        let form = [("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", role),
                    ("RoleSessionName", sessionName), ("WebIdentityToken", token)]
            .map { "\($0)=\(SigV4.encode($1))" }.joined(separator: "&")
        let answer = try await transport.text(.POST, sts, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                              body: .bytes(Array(form.utf8)))
        return try AWSKeyLease(stsAnswer: answer, from: origin)
    }
}
