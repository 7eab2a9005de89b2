import FerryCore
import Foundation
import Logging
import NIOHTTP1

/// Keys from an HTTP endpoint that hands them out as JSON: the container's credentials
/// endpoint (ECS, EKS pod identity) or the EC2 instance's role through the instance
/// metadata service (IMDSv2). Keys without an `Expiration` are fetched again every ten
/// minutes.
struct AWSEndpointKeys: AWSKeyFetcher {
    enum Kind: Sendable {
        /// A URL that answers with keys, and the `Authorization` it wants: a token, or a
        /// file holding one (read at each fetch: EKS rotates it; the file wins, as in the SDKs).
        case container(URLParts, token: String?, tokenFile: String?)
        /// The instance metadata service's base URL.
        case instance(URLParts)
    }

    let kind: Kind
    private let transport: HTTPTransport

    let origin: String

    init(_ kind: Kind, logger: Logger) throws(ConfigError) {
        self.kind = kind
        let url: URLParts
        switch kind {
        case .container(let endpoint, _, _): (url, origin) = (endpoint, "the container credentials endpoint \(endpoint.text)")
        case .instance(let service): (url, origin) = (service, "the instance metadata service \(service.text)")
        }
        // A metadata service answers at once or not at all (off EC2 there is none).
        transport = try .forKeys(from: origin, at: url, connectTimeout: .seconds(2), ioTimeout: .seconds(5), logger: logger)
    }

    func fetch() async throws -> AWSKeyLease {
        switch kind {
        case .container(let url, let token, let tokenFile):
            let authorization = try tokenFile.map(readToken) ?? token
            return try await keys(url, headers: authorization.map { [("Authorization", $0)] } ?? [])
        case .instance(let base):
            // IMDSv2: a session token first, then the role's name, then its keys.
            let token = try await transport.text(.PUT, base.appending(key: "latest/api/token"),
                                       headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")])
            let header = [("X-aws-ec2-metadata-token", token)]
            let roles = base.appending(key: "latest/meta-data/iam/security-credentials/")
            guard let role = try await transport.text(.GET, roles, headers: header).split(whereSeparator: \.isNewline).first else {
                throw CredentialsUnavailable(reason: "\(roles.text): the instance has no IAM role")
            }
            return try await keys(roles.appending(key: String(role)), headers: header)
        }
    }

    private func keys(_ url: URLParts, headers: [(String, String)]) async throws -> AWSKeyLease {
        try AWSKeyLease(json: try await transport.text(.GET, url, headers: headers), tokenKey: "Token",
                        otherwise: Date().addingTimeInterval(900), from: url.text)
    }
}
