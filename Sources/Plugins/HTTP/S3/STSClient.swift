import FerryCore
import Logging

/// AWS STS at one URL, for the actions that hand out a role's keys: a form POSTed, keys
/// in the answer.
struct STSClient: Sendable {
    let url: URLParts
    private let transport: HTTPTransport

    /// `authorizer` signs the requests (`AssumeRole`); `AssumeRoleWithWebIdentity` takes none.
    init(_ url: URLParts, authorizer: (any RequestAuthorizer)? = nil, logger: Logger) throws(ConfigError) {
        self.url = url
        transport = try .forKeys(from: "STS \(url.text)", at: url, authorizer: authorizer,
                                 connectTimeout: .seconds(10), ioTimeout: .seconds(30), logger: logger)
    }

    /// The keys STS answers `action` with; `origin` names them in errors.
    func keys(_ action: String, _ parameters: [(String, String)], for origin: String) async throws -> AWSKeyLease {
        let form = ([("Action", action), ("Version", "2011-06-15")] + parameters)
            .map { "\($0)=\(SigV4.encode($1))" }.joined(separator: "&")
        let answer = try await transport.text(.POST, url, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                              body: .bytes(Array(form.utf8)))
        return try AWSKeyLease(stsAnswer: answer, from: origin)
    }
}
