import FerryCore
import Foundation

/// Keys printed by a profile's `credential_process`, run by `/bin/sh -c` as the AWS SDKs
/// run it: JSON with `Version` 1, `AccessKeyId`, `SecretAccessKey`, `SessionToken` and
/// `Expiration`. Keys without an `Expiration` never expire, so the command runs once.
struct AWSProcessKeys: AWSKeyFetcher {
    let command: String
    /// How long the command may take (it may ask for a second factor or a password).
    var timeLimit: Duration = .seconds(120)

    var origin: String { "credential_process '\(command)'" }

    func fetch() async throws -> AWSKeyLease {
        let child = try ChildProcess(arguments: ["/bin/sh", "-c", command], ioTimeout: timeLimit, ownProcessGroup: true)
        child.closeInput()
        var output: [UInt8] = []
        do {
            while case let bytes = try await child.output.read(maxLength: 64 << 10), !bytes.isEmpty {
                output += bytes
                guard output.count <= 1 << 20 else { throw CredentialsUnavailable(reason: "\(origin) printed more than 1 MiB") }
            }
        } catch {
            await child.terminate(grace: .zero)
            if error is StreamTimeoutError { throw CredentialsUnavailable(reason: "\(origin) printed nothing for \(timeLimit)") }
            throw error as? CredentialsUnavailable ?? CredentialsUnavailable(reason: "\(origin): \(error)")
        }
        let status = await child.wait()
        guard status == 0 else {
            let said = child.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            throw CredentialsUnavailable(reason: "\(origin) exited with status \(status >> 8)" + (said.isEmpty ? "" : ": \(said)"))
        }
        let text = String(decoding: output, as: UTF8.self)
        let version = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["Version"] as? Int
        guard version == 1 else {
            throw CredentialsUnavailable(reason: "\(origin) printed no JSON with \"Version\": 1")
        }
        return try AWSKeyLease(json: text, tokenKey: "SessionToken", otherwise: .distantFuture, from: origin)
    }
}
