import AsyncHTTPClient
import Foundation

/// Signs every request to an AWS service with SigV4: adds `Host`, `x-amz-date`, for S3
/// `x-amz-content-sha256` (the other services take the payload's hash only in the
/// signature), and the session token, then `Authorization` over all of them and
/// `Content-Type`.
struct SigV4Authorizer: RequestAuthorizer {
    let credentials: AWSCredentialProvider
    let region: String
    /// `s3`, or `sts` for the requests that assume a role.
    let service: String

    func authorize(_ request: inout HTTPClientRequest, url: URLParts, payloadSHA256: String) async throws {
        let keys = try await credentials.current()
        let signer = SigV4(accessKey: keys.accessKey, secretKey: keys.secretKey, region: region, service: service)
        let timestamp = SigV4.timestamp(Date())
        request.headers.replaceOrAdd(name: "Host", value: url.authority)
        request.headers.replaceOrAdd(name: "x-amz-date", value: timestamp)
        if service == "s3" { request.headers.replaceOrAdd(name: "x-amz-content-sha256", value: payloadSHA256) }
        if let token = keys.sessionToken { request.headers.replaceOrAdd(name: "x-amz-security-token", value: token) }
        let signed = request.headers.filter { name, _ in
            let lower = name.lowercased()
            return lower == "host" || lower == "content-type" || lower.hasPrefix("x-amz-")
        }
        let canonical = SigV4.Request(method: request.method.rawValue, path: url.path, query: url.query,
                                      headers: signed.map { ($0.name, $0.value) }, payloadHash: payloadSHA256)
        request.headers.replaceOrAdd(name: "Authorization", value: signer.authorization(canonical, timestamp: timestamp))
    }
}
