import FerryCore
import Foundation

/// An access key pair (and session token).
///
/// `description` shows the key id only; the secret never reaches a message or a log.
struct AWSCredentials: Sendable, CustomStringConvertible {
    let accessKey: String
    let secretKey: String
    let sessionToken: String?

    var description: String { "access key \(accessKey)" }
}
